package shopify

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// fixtureSandbox holds Shopify's documented REST payloads from testdata/
// (an order, its transactions, its fulfilment's events) in a sandbox,
// which serves them through GraphQL.
func fixtureSandbox(t *testing.T) *httptest.Server {
	t.Helper()
	read := func(path string, v any) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var o struct {
		Order goshopify.Order `json:"order"`
	}
	var txs struct {
		Transactions []goshopify.Transaction `json:"transactions"`
	}
	var evs struct {
		Events []goshopify.FulfillmentEvent `json:"fulfillment_events"`
	}
	read("testdata/order_partially_fulfilled.json", &o)
	read("testdata/transactions.json", &txs)
	read("testdata/fulfillment_events.json", &evs)
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: "shop.myshopify.com", Token: "tok"})
	sb.AddOrder(o.Order, txs.Transactions, map[uint64][]goshopify.FulfillmentEvent{255858046: evs.Events})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return srv
}

// TestMappingFromShopifyPayloads reads Shopify's documented order through
// GraphQL (the sandbox renders it) and checks what the CRM sees of it.
func TestMappingFromShopifyPayloads(t *testing.T) {
	t.Parallel()
	srv := fixtureSandbox(t)
	c, err := New(Config{APIVersion: "2026-10", BaseURL: srv.URL, Timeout: 2 * time.Second, Tokens: StaticTokens{"shop.myshopify.com": "tok"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	facts, err := c.Order(context.Background(), tenant.Shop{ID: 1, Domain: "shop.myshopify.com"}, 450789469)
	if err != nil {
		t.Fatalf("Order: %v", err)
	}
	o := orders.Build(facts, time.Now())

	// Times are normalised to UTC.
	if want := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC); !o.CreatedAt.Equal(want) || o.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at = %v", o.CreatedAt)
	}
	// Statuses: Shopify's "partial" and a partial refund.
	if o.Status != orders.StatusOpen || o.FinancialStatus != orders.FinancialPartiallyRefunded || o.FulfillmentStatus != orders.FulfillmentPartial {
		t.Errorf("statuses = %s/%s/%s", o.Status, o.FinancialStatus, o.FulfillmentStatus)
	}
	// Money strings: captured 598.94 (capture, not the authorisation) minus 209.00 refunded.
	if !o.TotalPrice.Equal(decimal.RequireFromString("598.94")) || !o.TotalRefunded.Equal(decimal.RequireFromString("209")) || !o.Refundable.Equal(decimal.RequireFromString("389.94")) {
		t.Errorf("money total=%s refunded=%s refundable=%s", o.TotalPrice, o.TotalRefunded, o.Refundable)
	}
	// The parts of the total, as in Shopify's documented order: 597.00 of
	// lines less a 10.00 code, free shipping, 11.94 tax on top.
	if !o.SubtotalPrice.Equal(decimal.RequireFromString("587")) || !o.TotalShipping.IsZero() || !o.TotalTax.Equal(decimal.RequireFromString("11.94")) ||
		!o.TotalDiscounts.Equal(decimal.RequireFromString("10")) || o.TaxesIncluded || !o.SubtotalPrice.Add(o.TotalShipping).Add(o.TotalTax).Equal(o.TotalPrice) {
		t.Errorf("parts subtotal=%s shipping=%s tax=%s discounts=%s", o.SubtotalPrice, o.TotalShipping, o.TotalTax, o.TotalDiscounts)
	}
	// The newest event (out of order in the payload) sets shipment and ETA.
	if o.Shipment == nil || o.Shipment.Status != orders.ShipmentInTransit || o.Shipment.EstimatedDeliveryAt == nil ||
		!o.Shipment.EstimatedDeliveryAt.Equal(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("shipment = %+v", o.Shipment)
	}
	if o.Labels.FulfillmentStatus != "Partially fulfilled · Arriving on 3 December 2026" || o.Labels.FinancialStatus != "Partially refunded" {
		t.Errorf("labels = %+v", o.Labels)
	}
	// Tracking sits on the shipped line item only; refunds count per line.
	byID := map[int64]orders.LineItem{}
	for _, li := range o.LineItems {
		byID[li.ID] = li
	}
	shipped := byID[466157049]
	if shipped.FulfilledQuantity != 1 || len(shipped.Tracking) != 1 || shipped.Tracking[0].Number != "1Z2345" ||
		shipped.Tracking[0].Company != "UPS" || !strings.Contains(shipped.Tracking[0].URL, "1Z2345") || shipped.Tracking[0].Status != orders.ShipmentInTransit {
		t.Errorf("shipped line = %+v", shipped)
	}
	if red := byID[518995019]; red.FulfilledQuantity != 0 || len(red.Tracking) != 0 {
		t.Errorf("unshipped line = %+v", red)
	}
	if black := byID[703073504]; black.RefundedQuantity != 1 {
		t.Errorf("refunded line = %+v", black)
	}
	// Customer and eligibility.
	if o.Customer == nil || o.Customer.ID != 207119551 || o.Customer.Phone != "+16136120707" {
		t.Errorf("customer = %+v", o.Customer)
	}
	if o.Actions.Cancel.BlockedReason != orders.BlockedOrderFulfilled || !o.Actions.Refund.Allowed || !o.Actions.Refund.RequiresReturn {
		t.Errorf("actions = %+v", o.Actions)
	}
	if len(o.Refunds) != 1 || !o.Refunds[0].Amount.Equal(decimal.RequireFromString("209")) {
		t.Errorf("refunds = %+v", o.Refunds)
	}
}

// TestDecodeOrderMoneyParts: a webhook's REST order carries the parts of
// its total; shipping is what the customer paid after shipping discounts
// (total_shipping_price_set is before them).
func TestDecodeOrderMoneyParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                               string
		body                               string
		subtotal, shipping, tax, discounts string
		included                           bool
	}{
		{"tax on top, free-shipping code", `{"id":1,"total_price":"18.50","subtotal_price":"18.50","total_tax":"0.00","total_discounts":"4.90",
			"total_shipping_price_set":{"shop_money":{"amount":"4.90","currency_code":"USD"}},
			"shipping_lines":[{"id":2,"title":"Standard","price":"4.90","discounted_price":"0.00"}]}`, "18.50", "0", "0", "4.90", false},
		{"VAT included", `{"id":1,"total_price":"89.00","subtotal_price":"89.00","total_tax":"14.83","total_discounts":"0.00","taxes_included":true}`, "89", "0", "14.83", "0", true},
		{"two shipping lines, one without discounted_price", `{"id":1,"total_price":"30.00","subtotal_price":"20.00","total_tax":"0.00",
			"shipping_lines":[{"id":2,"price":"4.00","discounted_price":"3.00"},{"id":3,"price":"7.00"}]}`, "20", "10", "0", "0", false},
		{"no shipping lines: the order's shipping total", `{"id":1,"total_price":"25.00","subtotal_price":"20.00","total_tax":"0.00",
			"total_shipping_price_set":{"shop_money":{"amount":"5.00","currency_code":"USD"}}}`, "20", "5", "0", "0", false},
	}
	for _, tt := range tests {
		o, err := DecodeOrder([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !o.SubtotalPrice.Equal(decimal.RequireFromString(tt.subtotal)) || !o.TotalShipping.Equal(decimal.RequireFromString(tt.shipping)) ||
			!o.TotalTax.Equal(decimal.RequireFromString(tt.tax)) || !o.TotalDiscounts.Equal(decimal.RequireFromString(tt.discounts)) || o.TaxesIncluded != tt.included {
			t.Errorf("%s: subtotal %s shipping %s tax %s discounts %s included %v", tt.name, o.SubtotalPrice, o.TotalShipping, o.TotalTax, o.TotalDiscounts, o.TaxesIncluded)
		}
	}
}
