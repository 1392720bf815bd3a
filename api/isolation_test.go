package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// tenantSide is one shop of the isolation suite: its keys (the bootstrap
// one and a managed one), its Shopify, and the things of its own a key of
// the other shop reaches for.
type tenantSide struct {
	name     string
	domain   string
	shop     tenant.Shop
	keys     []string
	sb       *shopifysandbox.Sandbox
	order    uint64 // paid, unfulfilled: cancellable and refundable
	pending  uint64 // payment pending: cancellable
	orderIDs []uint64
	customer uint64
	email    string
	actionID string // a refund made on order with the shop's own key
	endpoint string // an event endpoint of the shop
}

// isolation is the suite's world: two shops behind one sandbox front.
type isolation struct {
	h       *harness
	a, b    *tenantSide
	replays uint64 // orders made for the webhook replays
}

func newIsolation(t *testing.T, kind string) *isolation {
	t.Helper()
	h := newHarness(t, harnessOpts{kind: kind})
	ctx := context.Background()
	h.backfill()
	if _, err := h.syncer.SyncOrders(ctx, h.shopB, time.Time{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	a := &tenantSide{name: "A", domain: shopA, shop: h.shopA, keys: []string{keyA}, sb: h.sb,
		order: shopifysandbox.OrderPaidUnfulfilled, pending: shopifysandbox.OrderPending, customer: shopifysandbox.Bob.Id, email: shopifysandbox.Bob.Email,
		orderIDs: []uint64{shopifysandbox.OrderInTransit, shopifysandbox.OrderPaidUnfulfilled, shopifysandbox.OrderPending, shopifysandbox.OrderAuthorized,
			shopifysandbox.OrderPartiallyRefunded, shopifysandbox.OrderRefunded, shopifysandbox.OrderDelivered, shopifysandbox.OrderEUR, shopifysandbox.OrderJPY}}
	b := &tenantSide{name: "B", domain: shopB, shop: h.shopB, keys: []string{keyB}, sb: h.sbB,
		order: shopifysandbox.SecondPaidUnfulfilled, pending: shopifysandbox.SecondPending, customer: shopifysandbox.Dana.Id, email: shopifysandbox.Dana.Email,
		orderIDs: []uint64{shopifysandbox.SecondPaidUnfulfilled, shopifysandbox.SecondInTransit, shopifysandbox.SecondPending,
			shopifysandbox.SecondPartiallyRefunded, shopifysandbox.SecondDelivered}}
	for _, s := range []*tenantSide{a, b} {
		_, key, err := tenant.NewKeys(h.store.Tenants()).Create(ctx, s.domain, "crm-"+s.name)
		if err != nil {
			t.Fatal(err)
		}
		s.keys = append(s.keys, key)
		r := h.do(http.MethodPost, path(s.order, "refund"), s.keys[0], strings.NewReader(`{"amount":"1.00"}`),
			"Content-Type", "application/json", "Idempotency-Key", uuid.NewString(), "X-Agent-Id", "agent-"+s.name)
		s.actionID = result(t, r).Action.ID
	}
	return &isolation{h: h, a: a, b: b}
}

// leaks reports what of the other shop an answer holds: an order id (line
// item, fulfilment and transaction ids start with it), a customer id, an
// email, the domain or an access token.
func leaks(body string, other *tenantSide, otherToken string) []string {
	var out []string
	for _, id := range other.orderIDs {
		if strings.Contains(body, fmt.Sprint(id)) {
			out = append(out, fmt.Sprint(id))
		}
	}
	for _, s := range []string{fmt.Sprint(other.customer), other.email, other.domain, otherToken} {
		if strings.Contains(body, s) {
			out = append(out, s)
		}
	}
	return out
}

// isolationCase runs one route for a key of `own` against `other`'s
// things and says, for the matrix, what the key got.
type isolationCase func(t *testing.T, w *isolation, own, other *tenantSide, key string) string

func notFound(t *testing.T, r response) {
	t.Helper()
	if r.Code == http.StatusForbidden {
		t.Fatalf("another shop's resource is a 403 (it tells the resource exists): %s", r.Body)
	}
	problem(t, r, http.StatusNotFound, "not_found")
}

func ok(t *testing.T, r response) {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("own shop: %d %s", r.Code, r.Body)
	}
}

// mutationsAt counts what a shop's Shopify was asked to change.
func mutationsAt(sb *shopifysandbox.Sandbox) int {
	return sb.Calls(shopifysandbox.OpRefundCreate) + sb.Calls(shopifysandbox.OpOrderCancel)
}

// staticCase: a public document (the OpenAPI document, Swagger UI) whose
// examples are Shopify's sample ids: it answers every caller, with any key
// or none, byte for byte the same.
func staticCase(path string) isolationCase {
	return func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		r, anon := w.h.get(path, key), w.h.get(path, "")
		if r.Code != anon.Code || r.Body.String() != anon.Body.String() {
			t.Errorf("GET %s answers a key of shop %s differently from a caller without one", path, own.name)
		}
		return fmt.Sprintf("%d, same for every caller", r.Code)
	}
}

// publicCase: a route without an API key; it must hold no shop's data.
// endpointOf is an event endpoint of the side's shop, made once.
func endpointOf(t *testing.T, w *isolation, side *tenantSide) string {
	t.Helper()
	if side.endpoint == "" {
		ep, err := w.h.events.CreateEndpoint(context.Background(), side.shop.ID, events.NewEndpoint{URL: "https://crm.example.com/" + side.domain})
		if err != nil {
			t.Fatal(err)
		}
		side.endpoint = ep.ID
	}
	return side.endpoint
}

func mustEndpoints(t *testing.T, w *isolation, side *tenantSide) []events.Endpoint {
	t.Helper()
	eps, err := w.h.events.Endpoints(context.Background(), side.shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// eventOf is an event of the side's shop (its refund's).
func eventOf(t *testing.T, w *isolation, side *tenantSide) string {
	t.Helper()
	evs, err := w.h.events.Events(context.Background(), side.shop.ID, events.Filter{Limit: 1})
	if err != nil || len(evs) == 0 {
		t.Fatalf("shop %s has no event: %v", side.name, err)
	}
	return evs[0].Event.ID
}

func publicCase(path string) isolationCase {
	return func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		r := w.h.get(path, key)
		if r.Code >= 500 {
			t.Fatalf("GET %s: %d", path, r.Code)
		}
		if l := append(leaks(r.Body.String(), other, tokenOf(other)), leaks(r.Body.String(), own, tokenOf(own))...); len(l) > 0 {
			t.Errorf("GET %s (public) shows shop data: %v", path, l)
		}
		return fmt.Sprintf("%d, no shop data", r.Code)
	}
}

func tokenOf(s *tenantSide) string {
	if s.name == "A" {
		return tokenA
	}
	return tokenB
}

// isolationCases covers every route of the router; TestTenantIsolation
// fails on a route without one.
var isolationCases = map[string]isolationCase{
	"GET /healthz":      publicCase("/healthz"),
	"GET /readyz":       publicCase("/readyz"),
	"GET /metrics":      publicCase("/metrics"),
	"GET /openapi.json": staticCase("/openapi.json"),
	"GET /docs":         staticCase("/docs"),
	"GET /docs/*any":    staticCase("/docs/index.html"),
	"GET /shopify/install": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		// Not configured in this harness (a 404); the OAuth install with
		// two shops is TestOAuthInstallAgainstTheSandbox.
		return publicCase("/shopify/install?shop="+other.domain)(t, w, own, other, key)
	},
	"GET /shopify/callback": publicCase("/shopify/callback?shop=" + shopB + "&code=x&state=y&hmac=z"),
	"GET /orders": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		var list api.OrderListResponse
		r := w.h.get("/orders?limit=100", key)
		ok(t, r)
		r.decode(t, &list)
		if !slices.ContainsFunc(list.Orders, func(o api.OrderResponse) bool { return o.ID == int64(own.order) }) {
			t.Errorf("own list lacks own order %d", own.order)
		}
		for _, q := range []string{fmt.Sprintf("customer_id=%d", other.customer), "email=" + other.email, "name=%231001", "status=open", "financial_status=paid"} {
			r := w.h.get("/orders?"+q, key)
			ok(t, r)
			if l := leaks(r.Body.String(), other, tokenOf(other)); len(l) > 0 {
				t.Errorf("GET /orders?%s shows the other shop's %v", q, l)
			}
		}
		return fmt.Sprintf("own %d orders; other 0 (6 filters)", len(list.Orders))
	},
	"GET /orders/:id": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		ok(t, w.h.get(fmt.Sprintf("/orders/%d", own.order), key))
		for _, id := range other.orderIDs {
			notFound(t, w.h.get(fmt.Sprintf("/orders/%d", id), key))
		}
		notFound(t, w.h.get(fmt.Sprintf("/orders/%d?refresh=true", other.order), key))
		return fmt.Sprintf("own 200; other 404 ×%d (+refresh)", len(other.orderIDs))
	},
	"GET /orders/:id/cancel": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		ok(t, w.h.get(path(own.order, "cancel"), key))
		notFound(t, w.h.get(path(other.order, "cancel"), key))
		return "own 200; other 404"
	},
	"GET /orders/:id/refund": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		ok(t, w.h.get(path(own.order, "refund"), key))
		notFound(t, w.h.get(path(other.order, "refund"), key))
		return "own 200; other 404"
	},
	"POST /orders/:id/cancel": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		before := mutationsAt(other.sb)
		for _, id := range []uint64{other.order, other.pending} {
			notFound(t, w.h.do(http.MethodPost, path(id, "cancel"), key, strings.NewReader(`{"reason":"customer","refund":{"mode":"none"}}`),
				"Content-Type", "application/json", "Idempotency-Key", uuid.NewString(), "X-Agent-Id", "agent-x"))
		}
		if o, _ := other.sb.Order(other.pending); o.CancelledAt != nil || mutationsAt(other.sb) != before {
			t.Errorf("the other shop's Shopify was asked to change")
		}
		return "other 404, Shopify untouched"
	},
	"POST /orders/:id/refund": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		before := mutationsAt(other.sb)
		n, _ := refunds(t, other.sb, other.order)
		notFound(t, w.h.do(http.MethodPost, path(other.order, "refund"), key, strings.NewReader(`{"amount":"1.00"}`),
			"Content-Type", "application/json", "Idempotency-Key", uuid.NewString(), "X-Agent-Id", "agent-x"))
		if m, _ := refunds(t, other.sb, other.order); m != n || mutationsAt(other.sb) != before {
			t.Errorf("the other shop's Shopify was asked to refund")
		}
		return "own 200 (setup); other 404, Shopify untouched"
	},
	"GET /orders/:id/actions": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		var acts api.ActionListResponse
		r := w.h.get(path(own.order, "actions"), key)
		ok(t, r)
		r.decode(t, &acts)
		if !slices.ContainsFunc(acts.Actions, func(a api.ActionResponse) bool { return a.ID == own.actionID }) {
			t.Errorf("own action %s not listed", own.actionID)
		}
		notFound(t, w.h.get(path(other.order, "actions"), key))
		return "own 200; other 404"
	},
	"GET /orders/:id/actions/:action_id": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		ok(t, w.h.get(path(own.order, "actions/"+own.actionID), key))
		notFound(t, w.h.get(path(other.order, "actions/"+other.actionID), key))
		notFound(t, w.h.get(path(own.order, "actions/"+other.actionID), key))
		return "own 200; other 404 (its order, or its action id under an own order)"
	},
	"GET /customers/:id/timeline": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		var page api.TimelineResponse
		r := w.h.get(fmt.Sprintf("/customers/%d/timeline?limit=100", own.customer), key)
		ok(t, r)
		r.decode(t, &page)
		if !slices.ContainsFunc(page.Events, func(e api.TimelineEventResponse) bool { return e.OrderID == int64(own.order) }) {
			t.Errorf("own timeline lacks own order")
		}
		r = w.h.get(fmt.Sprintf("/customers/%d/timeline?limit=100", other.customer), key)
		notFound(t, r)
		if l := leaks(r.Body.String(), other, tokenOf(other)); len(l) > 0 {
			t.Errorf("the other shop's customer's timeline shows %v", l)
		}
		return fmt.Sprintf("own 200 (%d events); other shop's customer 404", len(page.Events))
	},
	"GET /event-endpoints": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		var list api.EventEndpointListResponse
		r := w.h.get("/event-endpoints", key)
		ok(t, r)
		r.decode(t, &list)
		if !slices.ContainsFunc(list.Endpoints, func(e api.EventEndpointResponse) bool { return e.ID == endpointOf(t, w, own) }) {
			t.Errorf("own endpoint not listed")
		}
		if strings.Contains(r.Body.String(), endpointOf(t, w, other)) || strings.Contains(r.Body.String(), "whsec_") {
			t.Errorf("the list shows the other shop's endpoint or a secret: %s", r.Body)
		}
		return fmt.Sprintf("own %d endpoints; other's 0", len(list.Endpoints))
	},
	"POST /event-endpoints": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		r := w.h.do(http.MethodPost, "/event-endpoints", key, strings.NewReader(`{"url":"https://crm.example.com/`+own.name+`","types":["order.refunded"]}`), "Content-Type", "application/json")
		if r.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Code, r.Body)
		}
		var made api.EventEndpointSecretResponse
		r.decode(t, &made)
		for _, e := range mustEndpoints(t, w, other) {
			if e.ID == made.Endpoint.ID {
				t.Errorf("an endpoint made with %s's key belongs to the other shop", own.name)
			}
		}
		return "201, own shop's"
	},
	"GET /event-endpoints/:id": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		ok(t, w.h.get("/event-endpoints/"+endpointOf(t, w, own), key))
		notFound(t, w.h.get("/event-endpoints/"+endpointOf(t, w, other), key))
		return "own 200; other 404"
	},
	"DELETE /event-endpoints/:id": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		notFound(t, w.h.do(http.MethodDelete, "/event-endpoints/"+endpointOf(t, w, other), key, nil))
		if _, err := w.h.events.Endpoint(context.Background(), other.shop.ID, endpointOf(t, w, other), 1); err != nil {
			t.Errorf("the other shop's endpoint is gone: %v", err)
		}
		ep, err := w.h.events.CreateEndpoint(context.Background(), own.shop.ID, events.NewEndpoint{URL: "https://crm.example.com/tmp"})
		if err != nil {
			t.Fatal(err)
		}
		if r := w.h.do(http.MethodDelete, "/event-endpoints/"+ep.ID, key, nil); r.Code != http.StatusNoContent {
			t.Errorf("own delete: %d %s", r.Code, r.Body)
		}
		return "own 204; other 404"
	},
	"POST /event-endpoints/:id/enable": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		ok(t, w.h.do(http.MethodPost, "/event-endpoints/"+endpointOf(t, w, own)+"/enable", key, nil))
		notFound(t, w.h.do(http.MethodPost, "/event-endpoints/"+endpointOf(t, w, other)+"/enable", key, nil))
		return "own 200; other 404"
	},
	"POST /event-endpoints/:id/rotate-secret": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		before, _ := w.h.store.Events().Endpoint(context.Background(), endpointOf(t, w, other))
		notFound(t, w.h.do(http.MethodPost, "/event-endpoints/"+endpointOf(t, w, other)+"/rotate-secret", key, nil))
		after, _ := w.h.store.Events().Endpoint(context.Background(), endpointOf(t, w, other))
		if !slices.Equal(before.Secrets, after.Secrets) {
			t.Errorf("the other shop's secret was rotated")
		}
		ok(t, w.h.do(http.MethodPost, "/event-endpoints/"+endpointOf(t, w, own)+"/rotate-secret", key, nil))
		return "own 200; other 404"
	},
	"GET /events": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		var page api.EventListResponse
		r := w.h.get("/events?limit=100", key)
		ok(t, r)
		r.decode(t, &page)
		if len(page.Events) == 0 {
			t.Errorf("own shop has no events (its refund's)")
		}
		for _, e := range page.Events {
			if e.Shop.ID != own.shop.ID {
				t.Errorf("event %s of shop %d listed", e.ID, e.Shop.ID)
			}
		}
		r = w.h.get(fmt.Sprintf("/events?order_id=%d", other.order), key)
		ok(t, r)
		if l := leaks(r.Body.String(), other, tokenOf(other)); len(l) > 0 || strings.Contains(r.Body.String(), eventOf(t, w, other)) {
			t.Errorf("?order_id= of the other shop's order shows %v", l)
		}
		return fmt.Sprintf("own %d events; other 0", len(page.Events))
	},
	"POST /events/:id/redeliver": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		notFound(t, w.h.do(http.MethodPost, "/events/"+eventOf(t, w, other)+"/redeliver", key, nil))
		if r := w.h.do(http.MethodPost, "/events/"+eventOf(t, w, own)+"/redeliver", key, nil); r.Code != http.StatusAccepted {
			t.Errorf("own redeliver: %d %s", r.Code, r.Body)
		}
		return "own 202; other 404"
	},
	"POST /webhooks/shopify": func(t *testing.T, w *isolation, own, other *tenantSide, key string) string {
		// The other shop's signed orders/create, resent under this shop's
		// domain: as a duplicate of its webhook id, and with a new one.
		created := now.Add(2 * time.Hour)
		w.replays++
		id := 880000000 + w.replays
		o := goshopify.Order{Id: id, Name: "#9001", Currency: "USD", CreatedAt: &created, UpdatedAt: &created, FinancialStatus: "paid",
			Customer: &goshopify.Customer{Id: other.customer, Email: other.email}}
		other.sb.AddOrder(o, nil, nil)
		body := orderJSON(t, o)
		hookID := uuid.NewString()
		ack(t, w.h.hookAs(other.domain, "orders/create", hookID, body), "accepted")
		eventually(t, 5*time.Second, "the order in its own shop", func() bool {
			_, err := w.h.store.Orders().GetOrder(context.Background(), other.shop.ID, int64(id))
			return err == nil
		})
		ack(t, w.h.hookAs(own.domain, "orders/create", hookID, body), "duplicate")
		done := w.h.finishedJobs()
		ack(t, w.h.hookAs(own.domain, "orders/create", uuid.NewString(), body), "accepted")
		eventually(t, 5*time.Second, "the replay's job ran", func() bool { return w.h.finishedJobs() > done })
		if _, err := w.h.store.Orders().GetOrder(context.Background(), own.shop.ID, int64(id)); err == nil {
			t.Fatalf("shop %s's order landed in shop %s", other.name, own.name)
		}
		notFound(t, w.h.get(fmt.Sprintf("/orders/%d", id), key))
		return "replay refused (duplicate id; new id → confirmed through own token: not stored, 404)"
	},
}

// TestTenantIsolation runs every route of the router with two shops and
// two keys each: a key never reads, lists, previews, acts on, or sees the
// actions or timeline entries of the other shop (404, not 403), no answer
// holds the other shop's data, and the other shop's signed webhook resent
// under this shop's domain is refused. A route without a case fails the
// test: new endpoints must say how they keep shops apart.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			w := newIsolation(t, kind)
			var routes []string
			for _, r := range w.h.router.(*gin.Engine).Routes() {
				routes = append(routes, r.Method+" "+r.Path)
			}
			slices.Sort(routes)
			for _, route := range routes {
				if isolationCases[route] == nil {
					t.Errorf("route %s has no isolation case: add one to isolationCases (api/isolation_test.go)", route)
				}
			}
			matrix := []string{"| endpoint | " + strings.Join([]string{"key A1 (bootstrap)", "key A2 (managed)", "key B1 (bootstrap)", "key B2 (managed)"}, " | ") + " |", "|---|---|---|---|---|"}
			for _, route := range routes {
				c := isolationCases[route]
				if c == nil {
					continue
				}
				row := []string{route}
				for _, pair := range [][2]*tenantSide{{w.a, w.b}, {w.b, w.a}} {
					own, other := pair[0], pair[1]
					for i, key := range own.keys {
						cell := "FAILED"
						t.Run(fmt.Sprintf("%s/key %s%d", route, own.name, i+1), func(t *testing.T) {
							cell = c(t, w, own, other, key)
						})
						row = append(row, cell)
					}
				}
				matrix = append(matrix, "| `"+route+"` | "+strings.Join(row[1:], " | ")+" |")
			}
			t.Logf("endpoint × key matrix (%s):\n%s", kind, strings.Join(matrix, "\n"))
		})
	}
}
