package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// TestCreateEventEndpointIdempotent: a creation retried after its answer
// was lost (same Idempotency-Key, same body) answers the endpoint the
// first one made and its secret again, marked replayed, and creates no
// second endpoint; concurrent retries make one; the key with another body
// is a 422; another API key's same key is its own; and without a key each
// request creates one.
func TestCreateEventEndpointIdempotent(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			body := `{"url":"https://crm.example.com/hook","types":["order.refunded"]}`
			create := func(key, idem, body string) response {
				return h.do(http.MethodPost, "/event-endpoints", key, strings.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", idem)
			}
			count := func(key string) int {
				var l api.EventEndpointListResponse
				h.get("/event-endpoints", key).decode(t, &l)
				return len(l.Endpoints)
			}
			first := create(keyA, "ep-1", body)
			if first.Code != http.StatusCreated || first.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("first: %d %v %s", first.Code, first.Header(), first.Body)
			}
			var made api.EventEndpointSecretResponse
			first.decode(t, &made)

			// The answer is lost; the CRM retries, several at once.
			var wg sync.WaitGroup
			answers := make([]response, 4)
			for i := range answers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = create(keyA, "ep-1", `{"types":["order.refunded"], "url":"https://crm.example.com/hook"}`)
				}()
			}
			wg.Wait()
			for _, again := range answers {
				if again.Code == http.StatusConflict {
					problem(t, again, http.StatusConflict, "idempotency_key_in_use")
					continue
				}
				var got api.EventEndpointSecretResponse
				again.decode(t, &got)
				if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" ||
					got.Endpoint.ID != made.Endpoint.ID || got.Secret != made.Secret {
					t.Errorf("retry: %d %v %+v, want endpoint %s and its secret again", again.Code, again.Header(), got, made.Endpoint.ID)
				}
			}
			if n := count(keyA); n != 1 {
				t.Errorf("%d endpoints after retries, want 1", n)
			}
			problem(t, create(keyA, "ep-1", `{"url":"https://crm.example.com/other"}`), http.StatusUnprocessableEntity, "idempotency_key_reused")
			problem(t, create(keyA, "", body), http.StatusBadRequest, "idempotency_key_required")

			// Another shop's key with the same Idempotency-Key is its own.
			if r := create(keyB, "ep-1", body); r.Code != http.StatusCreated || r.Header().Get("Idempotent-Replayed") != "" {
				t.Errorf("shop B: %d %v", r.Code, r.Header())
			}
			if n := count(keyB); n != 1 {
				t.Errorf("shop B has %d endpoints, want 1", n)
			}

			// Deleted since: the key's endpoint is gone, and none is made.
			if r := h.do(http.MethodDelete, "/event-endpoints/"+made.Endpoint.ID, keyA, nil); r.Code != http.StatusNoContent {
				t.Fatalf("delete: %d", r.Code)
			}
			p := problem(t, create(keyA, "ep-1", body), http.StatusNotFound, "not_found")
			if !strings.Contains(p.Title, "event endpoint") {
				t.Errorf("404 title %q does not name an event endpoint", p.Title)
			}
			if n := count(keyA); n != 0 {
				t.Errorf("%d endpoints after the deleted one's key was retried, want 0", n)
			}

			// Without a key, each request creates an endpoint.
			for range 2 {
				if r := h.do(http.MethodPost, "/event-endpoints", keyA, strings.NewReader(body), "Content-Type", "application/json"); r.Code != http.StatusCreated {
					t.Fatalf("no key: %d %s", r.Code, r.Body)
				}
			}
			if n := count(keyA); n != 2 {
				t.Errorf("%d endpoints, want 2", n)
			}
		})
	}
}

// TestEventAPINotFoundSaysWhat: a missing (or another shop's) endpoint or
// event is a 404 problem naming what was not found, not "order".
func TestEventAPINotFoundSaysWhat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	for _, tc := range []struct {
		method, path, want string
	}{
		{http.MethodGet, "/event-endpoints/ep_nope", "event endpoint"},
		{http.MethodDelete, "/event-endpoints/ep_nope", "event endpoint"},
		{http.MethodPost, "/event-endpoints/ep_nope/enable", "event endpoint"},
		{http.MethodPost, "/event-endpoints/ep_nope/rotate-secret", "event endpoint"},
		{http.MethodPost, "/events/evt_nope/redeliver", "event in"},
	} {
		p := problem(t, h.do(tc.method, tc.path, keyA, nil), http.StatusNotFound, "not_found")
		if !strings.Contains(p.Title, tc.want) {
			t.Errorf("%s %s: title %q, want it to name the %s", tc.method, tc.path, p.Title, tc.want)
		}
	}
}
