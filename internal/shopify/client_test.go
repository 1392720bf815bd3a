package shopify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

const (
	testShop  = "sandbox.myshopify.com"
	testToken = "shpat_test"
)

var shop = tenant.Shop{ID: 1, Domain: testShop}

// newSandbox starts a seeded sandbox and an adapter pointed at it.
func newSandbox(t *testing.T, sbOpts shopifysandbox.Options, cfg Config) (*shopifysandbox.Sandbox, *Client) {
	t.Helper()
	sbOpts.Shop, sbOpts.Token = testShop, testToken
	sb := shopifysandbox.New(sbOpts)
	sb.Seed(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cfg.APIVersion, cfg.BaseURL = "2026-10", srv.URL
	if cfg.Tokens == nil {
		cfg.Tokens = StaticTokens{testShop: testToken}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = 10 * time.Millisecond
	}
	c, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return sb, c
}

func TestReadFaults(t *testing.T) {
	t.Parallel()
	id := int64(shopifysandbox.OrderPaidUnfulfilled)
	tests := []struct {
		name      string
		fault     shopifysandbox.Fault
		cfg       Config
		wantErr   error
		wantCalls int
	}{
		{"429 burst is absorbed", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: 429, Times: 2}, Config{}, nil, 3},
		{"500 then success", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: 500}, Config{}, nil, 2},
		{"503 then success", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: 503}, Config{}, nil, 2},
		{"slow but in time", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Latency: 50 * time.Millisecond}, Config{}, nil, 1},
		{"persistent 500 is unavailable", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: 500, Times: 10}, Config{MaxAttempts: 3}, orders.ErrShopifyUnavailable, 3},
		{"timeout is a timeout", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Latency: 5 * time.Second, Times: 10}, Config{Timeout: 100 * time.Millisecond, MaxAttempts: 2}, orders.ErrShopifyTimeout, 2},
		{"read budget caps retries", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Latency: 5 * time.Second, Times: 10}, Config{Timeout: time.Second, MaxAttempts: 10, ReadBudget: 300 * time.Millisecond}, orders.ErrShopifyTimeout, 1},
		{"401 is an auth error, not retried", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: 401}, Config{}, orders.ErrShopifyAuth, 1},
		{"persistent 429 is rate limited", shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: 429, Times: 10}, Config{MaxAttempts: 2}, orders.ErrShopifyRateLimited, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb, c := newSandbox(t, shopifysandbox.Options{}, tt.cfg)
			sb.Inject(tt.fault)
			o, err := c.Order(context.Background(), shop, id)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && o.ID != id {
				t.Errorf("order id = %d", o.ID)
			}
			if got := sb.Calls(shopifysandbox.OpOrderGet); got != tt.wantCalls {
				t.Errorf("shopify saw %d order reads, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestWrongTokenAndUnknownOrder(t *testing.T) {
	t.Parallel()
	_, c := newSandbox(t, shopifysandbox.Options{}, Config{Tokens: StaticTokens{testShop: "revoked"}})
	if _, err := c.Order(context.Background(), shop, int64(shopifysandbox.OrderPending)); !errors.Is(err, orders.ErrShopifyAuth) {
		t.Errorf("revoked token: err = %v", err)
	}
	_, c = newSandbox(t, shopifysandbox.Options{}, Config{})
	if _, err := c.Order(context.Background(), shop, 1); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("unknown order: err = %v", err)
	}
	if _, err := c.Order(context.Background(), tenant.Shop{ID: 2, Domain: "other.myshopify.com"}, 1); !errors.Is(err, orders.ErrShopifyAuth) {
		t.Errorf("shop without token: err = %v", err)
	}
}

func TestCancelledContextStopsRetries(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{BaseBackoff: time.Second})
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: 500, Times: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Order(ctx, shop, int64(shopifysandbox.OrderPending))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v: the backoff ignored the context", err, time.Since(start))
	}
}

// TestPagingFollowsTheCursor: a search's pages follow Shopify's cursor
// (the page token keeps the search with it), each order once.
func TestPagingFollowsTheCursor(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{BucketSize: 400, LeakPerSecond: 20}, Config{})
	sb.AddGenerated(30, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	seen := map[int64]bool{}
	req := orders.PageRequest{Limit: 10, UpdatedAtMin: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	for pages := 1; ; pages++ {
		page, err := c.OrdersPage(context.Background(), shop, req)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, o := range page.Orders {
			if seen[o.ID] {
				t.Fatalf("order %d seen twice", o.ID)
			}
			seen[o.ID] = true
		}
		if page.NextPageInfo == "" {
			break
		}
		req = orders.PageRequest{Limit: 10, PageInfo: page.NextPageInfo}
	}
	if len(seen) != 45 {
		t.Errorf("paged through %d orders, want 45 (15 seeded + 30)", len(seen))
	}
}

func TestSandboxRefusesFiltersWithPageInfo(t *testing.T) {
	t.Parallel()
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: testShop, Token: testToken})
	req := httptest.NewRequest(http.MethodGet, "/admin/api/2026-10/orders.json?status=any&page_info=abc", nil)
	req.Header.Set("X-Shopify-Access-Token", testToken)
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d, want 400 like Shopify", rec.Code)
	}
}

func TestGraphQLThrottlingIsRetried(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, Status: 429})
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Status: 429, Times: 2})
	ctx := context.Background()
	if _, err := c.CancelOrder(ctx, shop, orders.CancelCommand{OrderID: int64(shopifysandbox.OrderPending), Reason: "customer"}); err != nil {
		t.Fatalf("cancel after a throttle: %v", err)
	}
	if n := sb.Calls(shopifysandbox.OpOrderCancel); n != 2 {
		t.Errorf("orderCancel calls = %d, want 2 (throttled, then run)", n)
	}
	o, err := c.Order(ctx, shop, int64(shopifysandbox.OrderPaidUnfulfilled))
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateRefund(ctx, shop, orders.RefundCommand{
		OrderID: o.ID, IdempotencyKey: "k", Transactions: []orders.RefundTransaction{{ParentID: o.Transactions[0].ID, Amount: o.TotalPrice, Gateway: o.Transactions[0].Gateway}},
	})
	if err != nil || id == 0 {
		t.Fatalf("refund after throttles: %d, %v", id, err)
	}
	if n := len(sb.RefundInputs()); n != 1 {
		t.Errorf("refund inputs = %d: a throttled call is not a refund", n)
	}
	budget := c.limiters.forShop(testShop)
	budget.mu.Lock()
	level := budget.level
	budget.mu.Unlock()
	if level < 1 {
		t.Errorf("the GraphQL budget did not take in extensions.cost (level %.1f)", level)
	}
}

func TestRefundInputSentToShopify(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	ctx := context.Background()
	_, err := c.CreateRefund(ctx, shop, orders.RefundCommand{
		OrderID: 5, IdempotencyKey: "k1", Note: "n", NotifyCustomer: true,
		Lines:        []orders.RefundCommandLine{{LineItemID: 7, Quantity: 2, RestockType: "return"}},
		Transactions: []orders.RefundTransaction{{ParentID: 9, Amount: decimal.RequireFromString("12.50"), Gateway: "shopify_payments"}},
	})
	if err == nil {
		t.Fatal("a refund of an order the sandbox lacks succeeded")
	}
	in := string(sb.RefundInputs()[0])
	for _, want := range []string{`"orderId":"gid://shopify/Order/5"`, `"lineItemId":"gid://shopify/LineItem/7"`, `"restockType":"RETURN"`,
		`"parentId":"gid://shopify/OrderTransaction/9"`, `"amount":"12.5"`, `"gateway":"shopify_payments"`, `"kind":"REFUND"`, `"notify":true`} {
		if !strings.Contains(in, want) {
			t.Errorf("refund input lacks %s: %s", want, in)
		}
	}
}
