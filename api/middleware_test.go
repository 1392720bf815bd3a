package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// Without a tracer provider no span is made per request, yet a caller's
// traceparent still names its trace in the problem's instance (as the
// no-op tracer's span carried it), and a request without one has none.
func TestUntracedRequestKeepsTheCallersTraceID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	p := problem(t, h.do(http.MethodGet, "/orders/1", "not-a-key", nil, "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01"), http.StatusUnauthorized, "unauthenticated")
	if !strings.HasSuffix(p.Instance, ";trace="+traceID) {
		t.Errorf("instance %q does not name the caller's trace", p.Instance)
	}
	p = problem(t, h.get("/orders/1", "not-a-key"), http.StatusUnauthorized, "unauthenticated")
	if strings.Contains(p.Instance, "trace=") {
		t.Errorf("instance %q names a trace no one started", p.Instance)
	}
	// The security headers are on every answer, each once.
	r := h.get("/healthz", "")
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := r.Header().Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}
