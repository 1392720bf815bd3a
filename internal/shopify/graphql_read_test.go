package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestWebhookAndGraphQLBuildTheSameOrder: the REST-shaped webhook body of
// a sandbox order (what the sandbox sends as orders/updated) and the
// GraphQL read of the same order build the same domain Order, for every
// catalogue order. A webhook body carries no transactions and no carrier
// events (Shopify's REST order has neither; the domain keeps the stored
// ones), so those two are taken from the read before comparing.
func TestWebhookAndGraphQLBuildTheSameOrder(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	addShippingRefunded(t, sb)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, id := range catalogue {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			rest, ok := sb.Order(id)
			if !ok {
				t.Fatal("catalogue order missing")
			}
			body, err := json.Marshal(rest)
			if err != nil {
				t.Fatal(err)
			}
			hook, err := DecodeOrder(body)
			if err != nil {
				t.Fatal(err)
			}
			read, err := c.Order(context.Background(), shop, int64(id))
			if err != nil {
				t.Fatal(err)
			}
			if hook.Transactions != nil {
				t.Fatalf("a webhook body has no transactions, decoded %v", hook.Transactions)
			}
			hook.Transactions = read.Transactions
			if len(hook.Fulfillments) != len(read.Fulfillments) {
				t.Fatalf("fulfillments: webhook %d, read %d", len(hook.Fulfillments), len(read.Fulfillments))
			}
			for i := range hook.Fulfillments {
				hook.Fulfillments[i].Events = read.Fulfillments[i].Events
			}
			want, got := orders.Build(hook, at), orders.Build(read, at)
			want.Source, got.Source = orders.ShopifyOrder{}, orders.ShopifyOrder{}
			// As JSON: decimals compare by value, times by instant.
			w, _ := json.MarshalIndent(want, "", "  ")
			g, _ := json.MarshalIndent(got, "", "  ")
			if string(w) != string(g) {
				t.Errorf("webhook and GraphQL read differ:\n%s", lineDiff(string(w), string(g)))
			}
		})
	}
}

// TestCustomerWith600Orders: a customer's orders are paged by cursor to
// the end, none left out and none twice, with no REST call.
func TestCustomerWith600Orders(t *testing.T) {
	t.Parallel()
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: testShop, Token: testToken})
	sb.AddGenerated(600, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := New(Config{APIVersion: "2026-10", BaseURL: srv.URL, Tokens: StaticTokens{testShop: testToken}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.CustomerOrders(context.Background(), shop, int64(shopifysandbox.Bob.Id))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for i, o := range list {
		if seen[o.ID] {
			t.Fatalf("order %d listed twice", o.ID)
		}
		seen[o.ID] = true
		if i > 0 && o.ID > list[i-1].ID {
			t.Fatalf("order %d after %d: not newest first", o.ID, list[i-1].ID)
		}
	}
	if len(list) != 600 {
		t.Errorf("listed %d orders, want 600", len(list))
	}
	if pages, want := sb.Calls(shopifysandbox.OpCustomerOrders), (600+OrdersPageSize-1)/OrdersPageSize; pages != want {
		t.Errorf("%d customer-order pages, want %d", pages, want)
	}
	if n := sb.RESTCalls(); n != 0 {
		t.Errorf("%d REST calls", n)
	}
	if _, err := c.CustomerOrders(context.Background(), shop, 1); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("unknown customer: %v, want ErrNotFound", err)
	}
}

// TestListedOrderWithMoreLinesIsReadAlone: a list asks for few nested
// entries per order; an order with more is read again through the view
// query rather than cut.
func TestListedOrderWithMoreLinesIsReadAlone(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	o, _ := sb.Order(shopifysandbox.OrderPaidUnfulfilled)
	base := o.LineItems[0]
	o.LineItems = nil
	for i := range listBounds.lines + 2 {
		li := base
		li.Id = base.Id*100 + uint64(i)
		o.LineItems = append(o.LineItems, li)
	}
	txs := []goshopify.Transaction{}
	sb.AddOrder(o, txs, nil)
	list, err := c.CustomerOrders(context.Background(), shop, int64(o.Customer.Id))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, got := range list {
		if got.ID == int64(o.Id) {
			found = true
			if len(got.LineItems) != listBounds.lines+2 {
				t.Errorf("order read with %d lines, want %d", len(got.LineItems), listBounds.lines+2)
			}
		}
	}
	if !found {
		t.Fatal("order missing from the list")
	}
	if n := sb.Calls(shopifysandbox.OpOrderGet); n != 1 {
		t.Errorf("%d order(id:) reads, want 1 (the long order alone)", n)
	}
}

// TestDocumentCosts holds every read under Shopify's 1,000-point limit on
// one query's requested cost, with the bounds the adapter sends.
func TestDocumentCosts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		op, doc string
		vars    map[string]any
	}{
		{"Order", Order_Operation, map[string]any{"id": "gid://shopify/Order/1", "lines": viewBounds.lines, "events": viewBounds.events}},
		{"CustomerOrders", CustomerOrders_Operation, map[string]any{"id": "gid://shopify/Customer/1", "first": OrdersPageSize, "lines": listBounds.lines, "events": listBounds.events}},
		{"Orders", Orders_Operation, map[string]any{"first": OrdersPageSize, "lines": listBounds.lines, "events": listBounds.events}},
	} {
		cost, err := shopifysandbox.QueryCost("2026-10", tt.doc, tt.op, tt.vars)
		if err != nil {
			t.Fatalf("%s: %v", tt.op, err)
		}
		if cost > 1000 {
			t.Errorf("%s requests %d points, over Shopify's 1,000", tt.op, cost)
		}
		t.Logf("%s: %d points", tt.op, cost)
	}
}

// TestSandboxRefusesInvalidDocuments: a document with a field the schema
// lacks, or a deprecated one, is refused as Shopify refuses it (a GraphQL
// error, nothing run), so a typo fails here.
func TestSandboxRefusesInvalidDocuments(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{MaxAttempts: 1})
	for name, doc := range map[string]string{
		"wrong field":      strings.Replace(Order_Operation, "displayFinancialStatus", "displayFinancialStatuz", 1),
		"deprecated field": strings.Replace(Order_Operation, "taxesIncluded", "taxesIncluded totalPrice", 1),
	} {
		var out json.RawMessage
		err := c.graphql(context.Background(), shop, "Order", doc, map[string]any{"id": gid("Order", int64(shopifysandbox.OrderPending)), "lines": 1, "events": 1}, &out, true)
		if !errors.Is(err, orders.ErrShopifyRejected) {
			t.Errorf("%s: err = %v, want a refusal", name, err)
		}
	}
	refused := sb.RefusedDocuments()
	if len(refused) != 2 || !strings.Contains(strings.Join(refused, " "), "displayFinancialStatuz") || !strings.Contains(strings.Join(refused, " "), "deprecated") {
		t.Errorf("refused documents: %q", refused)
	}
	if n := sb.Calls(shopifysandbox.OpOrderGet); n != 0 {
		t.Errorf("a refused document ran (%d order reads)", n)
	}
}

// TestReadsMakeNoRESTCall: the view, a customer's orders, paged and
// incremental syncs and the backfill's count go through GraphQL only.
func TestReadsMakeNoRESTCall(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	ctx := context.Background()
	if _, err := c.Order(ctx, shop, int64(shopifysandbox.OrderInTransit)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CustomerOrders(ctx, shop, int64(shopifysandbox.Bob.Id)); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	page, err := c.OrdersPage(ctx, shop, orders.PageRequest{UpdatedAtMin: since, Limit: 250})
	if err != nil || len(page.Orders) == 0 || page.NextPageInfo == "" {
		t.Fatalf("first page: %d orders, next %q, %v", len(page.Orders), page.NextPageInfo, err)
	}
	if _, err := c.OrdersPage(ctx, shop, orders.PageRequest{PageInfo: page.NextPageInfo, Limit: 250}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OrdersPage(ctx, shop, orders.PageRequest{PageInfo: "not a token"}); !errors.Is(err, orders.ErrInvalidInput) {
		t.Errorf("bad page token: %v, want ErrInvalidInput", err)
	}
	if n := sb.RESTCalls(); n != 0 {
		t.Errorf("%d REST calls", n)
	}
}

// TestIncrementalSyncSearch: orders(query: "updated_at:>=...") lists only
// orders changed since then, oldest change first.
func TestIncrementalSyncSearch(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	o, _ := sb.Order(shopifysandbox.OrderPending)
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := since.Add(time.Hour)
	o.UpdatedAt = &at
	txs := []goshopify.Transaction{}
	sb.AddOrder(o, txs, nil)
	page, err := c.OrdersPage(context.Background(), shop, orders.PageRequest{UpdatedAtMin: since, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Orders) != 1 || page.Orders[0].ID != int64(o.Id) || page.NextPageInfo != "" {
		t.Errorf("changed since %s: %d orders, next %q", since, len(page.Orders), page.NextPageInfo)
	}
}

// TestRegisterWebhooksThroughGraphQL: subscriptions are listed and made
// through GraphQL, existing ones kept; a compliance topic is refused
// before anything is created (the API's topic list lacks it), and the
// sandbox refuses it too, as an invalid WebhookSubscriptionTopic.
func TestRegisterWebhooksThroughGraphQL(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	ctx := context.Background()
	const addr = "https://orderdesk.example.com/webhooks/shopify"
	created, kept, err := c.RegisterWebhooks(ctx, shop, addr, []string{"orders/create", "refunds/create"})
	if err != nil || len(created) != 2 || len(kept) != 0 {
		t.Fatalf("first: created %v kept %v, %v", created, kept, err)
	}
	created, kept, err = c.RegisterWebhooks(ctx, shop, addr, []string{"orders/create", "refunds/create", "app/uninstalled"})
	if err != nil || fmt.Sprint(created) != "[app/uninstalled]" || fmt.Sprint(kept) != "[orders/create refunds/create]" {
		t.Fatalf("second: created %v kept %v, %v", created, kept, err)
	}
	if _, _, err := c.RegisterWebhooks(ctx, shop, addr, []string{"orders/paid", "shop/redact"}); !errors.Is(err, orders.ErrInvalidInput) {
		t.Errorf("compliance topic: %v, want ErrInvalidInput", err)
	}
	if n := len(sb.Webhooks()); n != 3 {
		t.Errorf("%d subscriptions, want 3 (nothing made when a topic is refused)", n)
	}
	if _, err := WebhookSubscriptionCreate(ctx, c.transport(shop, false), WebhookSubscriptionTopic("SHOP_REDACT"), addr); !errors.Is(err, orders.ErrShopifyRejected) {
		t.Errorf("sandbox took SHOP_REDACT: %v", err)
	}
	if n := sb.RESTCalls(); n != 0 {
		t.Errorf("%d REST calls", n)
	}
}
