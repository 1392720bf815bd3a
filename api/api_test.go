package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"

	"log/slog"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	// Shop B has an order shop A's key must not see (its own Shopify has it).
	b := orders.Build(orders.ShopifyOrder{ID: int64(shopifysandbox.SecondPaidUnfulfilled), Name: "#1001", CreatedAt: now, UpdatedAt: now, Currency: "USD", TotalPrice: decimal.NewFromInt(5)}, now)
	if err := h.store.Orders().UpsertOrders(context.Background(), h.shopB.ID, []orders.Order{b}); err != nil {
		t.Fatal(err)
	}
	bPath := fmt.Sprintf("/orders/%d", shopifysandbox.SecondPaidUnfulfilled)
	t.Run("no key", func(t *testing.T) {
		r := h.get("/orders", "")
		problem(t, r, http.StatusUnauthorized, "unauthenticated")
		if !strings.HasPrefix(r.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", r.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		problem(t, h.get("/orders", "not-a-key"), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("wrong scheme", func(t *testing.T) {
		r := h.do(http.MethodGet, "/orders", "", nil, "Authorization", "Basic "+keyA)
		problem(t, r, http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("right key", func(t *testing.T) {
		if r := h.get("/orders", keyA); r.Code != http.StatusOK {
			t.Fatalf("status = %d: %s", r.Code, r.Body)
		}
	})
	t.Run("shop A's key gets 404 for shop B's order", func(t *testing.T) {
		problem(t, h.get(bPath, keyA), http.StatusNotFound, "not_found")
		if r := h.get(bPath, keyB); r.Code != http.StatusOK {
			t.Errorf("shop B's own key: status = %d", r.Code)
		}
		var list api.OrderListResponse
		h.get("/orders", keyA).decode(t, &list)
		for _, o := range list.Orders {
			if o.ID == int64(shopifysandbox.SecondPaidUnfulfilled) {
				t.Error("shop A's list shows shop B's order")
			}
		}
	})
	t.Run("open endpoints need no key", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs/index.html"} {
			if r := h.get(p, ""); r.Code != http.StatusOK {
				t.Errorf("GET %s = %d", p, r.Code)
			}
		}
	})
}

// panicky is an OrderService that fails the way bugs do.
type panicky struct{}

func (panicky) Get(context.Context, tenant.Shop, int64, bool) (orders.Order, error) {
	panic("secret internal state: db password hunter2")
}

func (panicky) PreviewCancel(context.Context, tenant.Shop, int64) (orders.CancelPreview, error) {
	panic("not reached")
}

func (panicky) PreviewRefund(context.Context, tenant.Shop, int64) (orders.RefundPreview, error) {
	panic("not reached")
}

func (panicky) Cancel(context.Context, tenant.Shop, int64, orders.ActionCall, orders.CancelRequest) (orders.ActionResult, error) {
	panic("secret internal state in an action")
}

func (panicky) Refund(context.Context, tenant.Shop, int64, orders.ActionCall, orders.RefundRequest) (orders.ActionResult, error) {
	return orders.ActionResult{}, fmt.Errorf("refund failed: %w", sql.ErrConnDone)
}

func (panicky) Actions(context.Context, tenant.Shop, int64) ([]orders.Action, error) {
	panic("not reached")
}

func (panicky) GetAction(context.Context, tenant.Shop, int64, string) (orders.Action, error) {
	panic("not reached")
}

func (panicky) Timeline(context.Context, tenant.Shop, int64, *orders.TimelineCursor, int) (orders.TimelinePage, error) {
	panic("not reached")
}

func (panicky) View(context.Context, tenant.Shop, int64, bool) (orders.OrderView, error) {
	panic("secret internal state: db password hunter2")
}

func (panicky) ListViews(context.Context, tenant.Shop, orders.ListFilter) (orders.ViewPage, error) {
	return orders.ViewPage{}, fmt.Errorf("query failed: %w", sql.ErrConnDone)
}

func TestProblemShapes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header []string
		status int
		code   string
	}{
		{"400 bad limit", "GET", "/orders?limit=abc", "", nil, 400, "invalid_query"},
		{"400 bad status filter (Shopify's value)", "GET", "/orders?status=closed", "", nil, 400, "invalid_query"},
		{"400 bad cursor", "GET", "/orders?cursor=garbage", "", nil, 400, "invalid_query"},
		{"400 bad updated_since", "GET", "/orders?updated_since=yesterday", "", nil, 400, "invalid_query"},
		{"400 bad id", "GET", "/orders/abc", "", nil, 400, "invalid_id"},
		{"400 bad refresh", "GET", "/orders/1?refresh=maybe", "", nil, 400, "invalid_query"},
		{"401", "GET", "/orders", "", []string{"Authorization", "Bearer nope"}, 401, "unauthenticated"},
		{"404 order", "GET", "/orders/1", "", nil, 404, "not_found"},
		{"404 route", "GET", "/nowhere", "", nil, 404, "route_not_found"},
		{"405", "DELETE", "/orders/1", "", nil, 405, "method_not_allowed"},
		{"413", "POST", "/orders", strings.Repeat("x", api.MaxBodyBytes+1), nil, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := keyA
			if tt.header != nil {
				key = ""
			}
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			} else {
				body = strings.NewReader("")
			}
			p := problem(t, h.do(tt.method, tt.path, key, body, tt.header...), tt.status, tt.code)
			if tt.status == 400 && len(p.Errors) == 0 && tt.code == "invalid_query" {
				t.Errorf("400 without field errors: %+v", p)
			}
		})
	}
	t.Run("500 hides the cause", func(t *testing.T) {
		hp := newHarness(t, harnessOpts{kind: "sqlite", orders: panicky{}})
		for _, path := range []string{"/orders/1", "/orders"} {
			r := hp.get(path, keyA)
			p := problem(t, r, http.StatusInternalServerError, "internal")
			if strings.Contains(r.Body.String(), "hunter2") || strings.Contains(r.Body.String(), "connection") || p.Detail != "" {
				t.Errorf("%s: 500 leaks internals: %s", path, r.Body)
			}
		}
	})
	t.Run("request id is echoed or generated", func(t *testing.T) {
		r := h.do("GET", "/orders/1", keyA, nil, "X-Request-Id", "crm-req-42")
		if r.Header().Get("X-Request-Id") != "crm-req-42" || !strings.Contains(r.Body.String(), "crm-req-42") {
			t.Errorf("request id not echoed: %q %s", r.Header().Get("X-Request-Id"), r.Body)
		}
		r = h.do("GET", "/orders/1", keyA, nil, "X-Request-Id", "bad id with spaces\n")
		if id := r.Header().Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
			t.Errorf("unsafe request id accepted: %q", id)
		}
	})
}

func TestReadinessWhenDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	// A database of its own, so it can be dropped under the service.
	admin, err := sql.Open("pgx", storetest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("orderdesk_ready_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, _ := url.Parse(storetest.PostgresURL())
	u.Path = "/" + name
	st, err := store.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	router, err := api.NewRouter(api.Deps{Log: slog.New(slog.DiscardHandler), Auth: tenant.NewService(st.Tenants()), Orders: panicky{}, Idempotency: idempotency.NewService(st.Idempotency()), Webhooks: webhooks.NewService(nil, nil, nil, nil, nil, nil), Ready: st.Ping, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec
	}
	if r := get(); r.Code != http.StatusOK {
		t.Fatalf("ready before: %d %s", r.Code, r.Body)
	}
	if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	r := get()
	problem(t, response{r}, http.StatusServiceUnavailable, "not_ready")
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("liveness must not depend on the database: %d", rec.Code)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	h.get("/orders/450789470", keyA)
	h.get("/orders/450789470", keyA)
	body := h.get("/metrics", "").Body.String()
	for _, want := range []string{
		`orderdesk_http_requests_total{method="GET",route="/orders/:id",status="200"} 2`,
		`orderdesk_http_request_duration_seconds_bucket{method="GET",route="/orders/:id",status="200"`,
		"go_goroutines",
		"process_resident_memory_bytes",
		`orderdesk_shopify_calls_total{api="graphql",op="Order",outcome="ok"} 1`,
		`orderdesk_shopify_rate_limit_wait_seconds_count{api="graphql"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestConcurrentViewsShareOneShopifyCall: 20 agents open the same order that
// orderdesk has not stored yet; Shopify is asked once.
func TestConcurrentViewsShareOneShopifyCall(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Latency: 200 * time.Millisecond})
			var wg sync.WaitGroup
			codes := make(chan int, 20)
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodGet, "/orders/450789470", nil)
					req.Header.Set("Authorization", "Bearer "+keyA)
					h.router.ServeHTTP(rec, req)
					codes <- rec.Code
				}()
			}
			wg.Wait()
			close(codes)
			for c := range codes {
				if c != http.StatusOK {
					t.Errorf("status %d", c)
				}
			}
			if n := h.sb.Calls(shopifysandbox.OpOrderGet); n != 1 {
				t.Errorf("Shopify order reads = %d, want 1", n)
			}
		})
	}
}
