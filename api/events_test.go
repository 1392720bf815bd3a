package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// crm is a receiver verifying every delivery with the Standard Webhooks
// library.
type crm struct {
	t   *testing.T
	mu  sync.Mutex
	wh  *standardwebhooks.Webhook
	got []api.EventPayload
	ids []string
}

func (c *crm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wh == nil {
		w.WriteHeader(503)
		return
	}
	if err := c.wh.Verify(body, r.Header); err != nil {
		c.t.Errorf("delivery not verified: %v", err)
		w.WriteHeader(400)
		return
	}
	var ev api.EventPayload
	if err := json.Unmarshal(body, &ev); err != nil {
		c.t.Errorf("body: %v", err)
	}
	c.got = append(c.got, ev)
	c.ids = append(c.ids, r.Header.Get("webhook-id"))
	w.WriteHeader(204)
}

func (c *crm) types() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.got {
		out = append(out, e.Type)
	}
	return out
}

// TestEventsAPI: an endpoint made through the API receives a refund's
// order.refunded and action.succeeded, signed; its attempts are listed;
// GET /events pages with filters; a redelivery keeps the webhook-id; bad
// input is a 4xx problem.
func TestEventsAPI(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			rcv := &crm{t: t}
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)

			for body, code := range map[string]string{
				`{"url":"ftp://crm.example.com/x"}`: "invalid_url",
				`{"url":""}`:                        "invalid_url",
				`{"url":"https://crm.example.com/x","types":["order.eaten"]}`: "invalid_event_type",
			} {
				problem(t, h.do(http.MethodPost, "/event-endpoints", keyA, strings.NewReader(body), "Content-Type", "application/json"), 422, code)
			}
			problem(t, h.do(http.MethodPost, "/event-endpoints", keyA, strings.NewReader(`{"url":"x","secret":"mine"}`), "Content-Type", "application/json"), 400, "unknown_field")

			r := h.do(http.MethodPost, "/event-endpoints", keyA, strings.NewReader(`{"url":"`+srv.URL+`","types":["order.refunded","action.succeeded"]}`), "Content-Type", "application/json")
			if r.Code != http.StatusCreated {
				t.Fatalf("create: %d %s", r.Code, r.Body)
			}
			var made api.EventEndpointSecretResponse
			r.decode(t, &made)
			if !strings.HasPrefix(made.Secret, "whsec_") || made.Endpoint.State != "enabled" {
				t.Fatalf("made %+v", made)
			}
			wh, err := standardwebhooks.NewWebhook(made.Secret)
			if err != nil {
				t.Fatal(err)
			}
			rcv.mu.Lock()
			rcv.wh = wh
			rcv.mu.Unlock()
			if strings.Contains(h.get("/event-endpoints/"+made.Endpoint.ID, keyA).Body.String(), made.Secret) {
				t.Error("the secret is shown again")
			}

			res := h.post(fmt.Sprintf("/orders/%d/refund", shopifysandbox.OrderPaidUnfulfilled), "events-refund-1", `{"amount":"5.00"}`)
			if res.Code != http.StatusOK {
				t.Fatalf("refund: %d %s", res.Code, res.Body)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(rcv.types()) < 2 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			got := rcv.types()
			if strings.Join(got, ",") != "order.refunded,action.succeeded" && strings.Join(got, ",") != "action.succeeded,order.refunded" {
				t.Fatalf("received %v, want the refund's order.refunded and action.succeeded (the filter drops the rest)", got)
			}
			rcv.mu.Lock()
			for _, e := range rcv.got {
				if e.Order.ID != int64(shopifysandbox.OrderPaidUnfulfilled) || e.Shop.ID != h.shopA.ID {
					t.Errorf("event %+v", e)
				}
				if e.Type == "order.refunded" && (e.Refund == nil || e.Refund.Amount != "5.00") {
					t.Errorf("order.refunded without its refund: %+v", e.Refund)
				}
				if e.Type == "action.succeeded" && (e.Action == nil || e.Action.Kind != "refund" || e.Action.AgentID != "agent-42") {
					t.Errorf("action.succeeded: %+v", e.Action)
				}
			}
			firstID := rcv.ids[0]
			rcv.mu.Unlock()

			// The last attempt is recorded just after its answer.
			var detail api.EventEndpointDetailResponse
			for len(detail.RecentAttempts) < 2 && time.Now().Before(deadline) {
				h.get("/event-endpoints/"+made.Endpoint.ID, keyA).decode(t, &detail)
				time.Sleep(10 * time.Millisecond)
			}
			if len(detail.RecentAttempts) != 2 || detail.RecentAttempts[0].Status == nil || *detail.RecentAttempts[0].Status != 204 {
				t.Errorf("attempts %+v", detail.RecentAttempts)
			}

			// GET /events: filters and pages.
			var page api.EventListResponse
			h.get(fmt.Sprintf("/events?order_id=%d&type=order.refunded", shopifysandbox.OrderPaidUnfulfilled), keyA).decode(t, &page)
			if len(page.Events) != 1 || page.Events[0].Type != "order.refunded" {
				t.Errorf("filtered: %+v", page.Events)
			}
			h.get("/events?limit=1", keyA).decode(t, &page)
			if len(page.Events) != 1 || page.NextCursor == nil {
				t.Fatalf("page 1: %+v", page)
			}
			var page2 api.EventListResponse
			h.get("/events?limit=1&cursor="+*page.NextCursor, keyA).decode(t, &page2)
			if len(page2.Events) != 1 || page2.Events[0].ID == page.Events[0].ID {
				t.Errorf("page 2: %+v", page2)
			}
			problem(t, h.get("/events?cursor=nope", keyA), 400, "invalid_query")
			problem(t, h.get("/events?type=order.eaten", keyA), 400, "invalid_query")

			// Redelivery: the same webhook-id.
			r = h.do(http.MethodPost, "/events/"+firstID+"/redeliver", keyA, nil)
			if r.Code != http.StatusAccepted {
				t.Fatalf("redeliver: %d %s", r.Code, r.Body)
			}
			for len(rcv.types()) < 3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			rcv.mu.Lock()
			if len(rcv.ids) != 3 || rcv.ids[2] != firstID {
				t.Errorf("redelivery ids %v, want %s again", rcv.ids, firstID)
			}
			rcv.mu.Unlock()
			problem(t, h.do(http.MethodPost, "/events/evt_nope/redeliver", keyA, nil), 404, "not_found")

			if r := h.do(http.MethodDelete, "/event-endpoints/"+made.Endpoint.ID, keyA, nil); r.Code != http.StatusNoContent {
				t.Errorf("delete: %d", r.Code)
			}
			problem(t, h.get("/event-endpoints/"+made.Endpoint.ID, keyA), 404, "not_found")
		})
	}
}
