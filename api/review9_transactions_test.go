package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// Review of issue 9: an order read from Shopify with no transactions (the
// adapter's empty, non-nil list: "fetched, none") was stored with the
// list omitted (omitempty), which reads back as "not fetched": captured is
// then inferred from the financial status. The document rendered when the
// order was written (nothing captured, nothing refundable) and what its
// stored facts render (the whole total refundable) differed; which one a
// view answered depended on whether a document of the current version was
// stored.
func TestStoredDocOfOrderWithoutTransactions(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.New(t, kind)
			render := api.OrderRenderer()
			st.RenderOrdersWith(render)
			sh, err := st.Tenants().EnsureShop(ctx, "no-transactions.myshopify.com")
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			src := orders.ShopifyOrder{ID: 77, Name: "#1077", OrderNumber: 1077, CreatedAt: at, UpdatedAt: at, Currency: "USD",
				TotalPrice: decimal.RequireFromString("25.00"), SubtotalPrice: decimal.RequireFromString("25.00"), FinancialStatus: "paid",
				LineItems:    []orders.ShopifyLineItem{{ID: 770, Title: "Mug", Quantity: 1, Price: decimal.RequireFromString("25.00")}},
				Transactions: []orders.ShopifyTransaction{}}
			if err := st.Orders().SaveOrders(ctx, sh.ID, []orders.Order{orders.Build(src, at)}, nil, false); err != nil {
				t.Fatal(err)
			}
			v, err := st.Orders().OrderView(ctx, sh.ID, 77)
			if err != nil || v.Doc == nil {
				t.Fatalf("view: %v, doc %v", err, v.Doc != nil)
			}
			facts, err := st.Orders().GetOrder(ctx, sh.ID, 77)
			if err != nil {
				t.Fatal(err)
			}
			fromFacts, err := render.Render(facts)
			if err != nil {
				t.Fatal(err)
			}
			if string(v.Doc) != string(fromFacts) {
				t.Errorf("stored document:\n%s\nwhat the stored facts render:\n%s", v.Doc, fromFacts)
			}
		})
	}
}
