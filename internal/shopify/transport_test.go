package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// TestTransport runs a generated operation through go-shopify: the query
// and variables genqlient built reach Shopify's endpoint with the token,
// the answer decodes into the generated types, the cost feeds the budget,
// and top-level errors are Shopify refusing the request.
func TestTransport(t *testing.T) {
	t.Parallel()
	var got struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	answer := `{"data":{"ordersCount":{"count":42,"precision":"EXACT"}},"extensions":{"cost":{"requestedQueryCost":1,"actualQueryCost":1,"throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":1500,"restoreRate":100}}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/api/2026-10/graphql.json" || r.Header.Get("X-Shopify-Access-Token") != testToken {
			http.Error(w, "wrong path or token", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &got)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c, err := New(Config{APIVersion: "2026-10", BaseURL: srv.URL, Tokens: StaticTokens{testShop: testToken}, MaxAttempts: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	q := "updated_at:>='2026-11-01T00:00:00Z'"
	resp, err := OrdersCount(context.Background(), c.transport(shop, true), &q)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OrdersCount == nil || resp.OrdersCount.Count != 42 || resp.OrdersCount.Precision != CountPrecisionExact {
		t.Fatalf("decoded %+v", resp.OrdersCount)
	}
	if !strings.Contains(got.Query, "query OrdersCount") || got.Variables["query"] != q {
		t.Fatalf("sent %q with %v", got.Query, got.Variables)
	}
	budget := c.limiters.forShop(testShop)
	budget.mu.Lock()
	level := budget.level
	budget.mu.Unlock()
	if level < 499 {
		t.Errorf("budget level %v after Shopify reported 500 points used", level)
	}

	answer = `{"errors":[{"message":"Field 'x' doesn't exist on type 'QueryRoot'"}]}`
	_, err = OrdersCount(context.Background(), c.transport(shop, true), &q)
	if !errors.Is(err, orders.ErrShopifyRejected) {
		t.Fatalf("top-level error: %v, want ErrShopifyRejected", err)
	}
}
