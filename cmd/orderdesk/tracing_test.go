package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// span is what the console exporter writes for one span (one JSON line).
type span struct {
	Name        string
	SpanKind    int
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct {
		TraceID, SpanID string
		Remote          bool
	}
}

// spansAndLogs splits serve's stderr into spans and log lines.
func spansAndLogs(t *testing.T, out string) ([]span, []map[string]any) {
	t.Helper()
	var spans []span
	var logs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, []byte(`"SpanContext"`)) {
			var s span
			if err := json.Unmarshal(line, &s); err != nil {
				t.Fatalf("span line: %v: %s", err, line)
			}
			spans = append(spans, s)
			continue
		}
		var l map[string]any
		if json.Unmarshal(line, &l) == nil {
			logs = append(logs, l)
		}
	}
	return spans, logs
}

// A traced refund and the webhooks Shopify sends about it: one trace from
// the CRM's traceparent through the HTTP span to the Shopify calls and the
// database statements; a delivery's River job is a child of the delivery's
// HTTP span; the trace id is in the request's log lines and in a problem's
// instance. On both databases.
func TestTracesAcrossHTTPShopifyRiverDatabase(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testTraces(t, kind)
		})
	}
}

func testTraces(t *testing.T, kind string) {
	const (
		shop, token, key, secret = "trace.myshopify.com", "shpat_trace", "trace-key-0123456789", "trace-secret"
		traceID                  = "4bf92f3577b34da6a3ce929d0e0e4736"
	)
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: shop, Token: token})
	sb.Seed(time.Now())
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "trace.db")
	if kind == "postgres" {
		dbURL, _ = storetest.SchemaURL(t)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := map[string]string{
		"ORDERDESK_HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "ORDERDESK_DATABASE_URL": dbURL,
		"ORDERDESK_API_KEY": key, "SHOPIFY_SHOP": shop, "SHOPIFY_ACCESS_TOKEN": token, "SHOPIFY_BASE_URL": sbSrv.URL,
		"SHOPIFY_API_SECRET": secret, "OTEL_TRACES_EXPORTER": "console",
	}
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sw := &syncWriter{w: &out}
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, sw) }()
	waitFor(t, base+"/healthz")
	sb.SetWebhookTarget(base+"/webhooks/shopify", secret)

	send := func(method, path, body string, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		for i := 0; i < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := send(http.MethodPost, fmt.Sprintf("/orders/%d/refund", shopifysandbox.OrderPaidUnfulfilled), `{"amount":"1.00"}`,
		"Content-Type", "application/json", "X-Agent-Id", "agent-7", "Idempotency-Key", "trace-refund-1")
	if status != http.StatusOK && status != http.StatusAccepted {
		t.Fatalf("refund: %d %s", status, body)
	}
	status, body = send(http.MethodGet, "/orders/1", "")
	if status != http.StatusNotFound || !strings.Contains(body, `;trace=`+traceID+`"`) {
		t.Errorf("404's instance does not name the trace: %d %s", status, body)
	}
	// The sandbox's webhooks about the refund are applied by River jobs.
	var spans []span
	deadline := time.Now().Add(15 * time.Second)
	for {
		spans, _ = spansAndLogs(t, sw.String())
		if hasSpan(spans, func(s span) bool { return strings.HasPrefix(s.Name, "river.work/apply_webhook") }) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	spans, logs := spansAndLogs(t, sw.String())
	byID := map[string]span{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID] = s
	}
	inTrace := func(s span) bool { return s.SpanContext.TraceID == traceID }
	server, ok := find(spans, func(s span) bool { return inTrace(s) && s.Name == "POST /orders/:id/refund" })
	if !ok {
		t.Fatalf("no server span of the refund in trace %s; spans: %v", traceID, names(spans))
	}
	if server.Parent.SpanID != "00f067aa0ba902b7" || !server.Parent.Remote {
		t.Errorf("the refund's span is not the child of the caller's traceparent: %+v", server.Parent)
	}
	// descends says whether s is under ancestor in the span tree.
	descends := func(s span, ancestor string) bool {
		for i := 0; i < 50 && s.Parent.SpanID != ""; i++ {
			if s.Parent.SpanID == ancestor {
				return true
			}
			s = byID[s.Parent.SpanID]
		}
		return false
	}
	under := func(prefix, ancestor string) bool {
		return hasSpan(spans, func(s span) bool { return strings.HasPrefix(s.Name, prefix) && descends(s, ancestor) })
	}
	if !under("shopify POST /admin/api/", server.SpanContext.SpanID) {
		t.Errorf("no Shopify call under the refund's span; spans: %v", names(spans))
	}
	if !under("sql.", server.SpanContext.SpanID) {
		t.Errorf("no database statement under the refund's span; spans: %v", names(spans))
	}
	work, ok := find(spans, func(s span) bool { return strings.HasPrefix(s.Name, "river.work/apply_webhook") })
	if !ok {
		t.Fatalf("no River work span for the sandbox's webhooks; spans: %v", names(spans))
	}
	// HTTP → river.insert_many (the job inserted with the delivery) → river.work.
	if p := byID[work.Parent.SpanID]; p.Name != "river.insert_many" || byID[p.Parent.SpanID].Name != "POST /webhooks/shopify" {
		t.Errorf("the apply job's span is not under its delivery's HTTP span: parent %+v, grandparent %+v", p, byID[p.Parent.SpanID])
	}
	if !under("sql.", work.SpanContext.SpanID) {
		t.Errorf("no database statement under the apply job's span; spans: %v", names(spans))
	}
	// The refund's access log line carries the trace.
	logged := false
	for _, l := range logs {
		if l["msg"] == "http request" && l["route"] == "/orders/:id/refund" {
			logged = l["trace_id"] == traceID && l["span_id"] == server.SpanContext.SpanID
		}
	}
	if !logged {
		t.Errorf("the refund's access log line lacks its trace_id/span_id")
	}
	if hasSpan(spans, func(s span) bool { return strings.HasPrefix(s.Name, "GET /healthz") }) {
		t.Error("probes are traced")
	}
}

// String is what was written so far, read under the writer's lock: the
// server's goroutines keep writing while the test reads.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

func find(spans []span, f func(span) bool) (span, bool) {
	for _, s := range spans {
		if f(s) {
			return s, true
		}
	}
	return span{}, false
}

func hasSpan(spans []span, f func(span) bool) bool { _, ok := find(spans, f); return ok }

func names(spans []span) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
