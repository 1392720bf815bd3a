package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// Review of issue 8 (branch review-8): Shopify facts the engine must
// handle, through the real router on both databases.

// reseed replaces the sandbox's paid unfulfilled order with one paid by a
// single sale through gateway, in presentment (the customer's currency;
// empty: the shop's).
func reseed(t *testing.T, sb *shopifysandbox.Sandbox, gateway, presentment string) goshopify.Order {
	t.Helper()
	o, ok := sb.Order(shopifysandbox.OrderPaidUnfulfilled)
	if !ok {
		t.Fatal("no paid order in the sandbox")
	}
	cur := o.Currency
	if presentment != "" {
		o.PresentmentCurrency, cur = presentment, presentment
	}
	at := time.Now().Add(-time.Hour)
	sb.AddOrder(o, []goshopify.Transaction{{Id: 777000, OrderId: o.Id, Kind: "sale", Status: "success", Gateway: gateway,
		Amount: o.TotalPrice, Currency: cur, CreatedAt: &at}}, nil)
	return o
}

// TestReview8ManualPaymentLineRefund: suggestedRefund names no parent
// transaction for a manual payment (parentTransaction is nullable); the
// line refund is still made, once, without a parentId.
func TestReview8ManualPaymentLineRefund(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		o := reseed(t, h.sb, "manual", "")
		p := path(o.Id, "refund")
		res := result(t, h.post(p, "manual-line", fmt.Sprintf(`{"line_items":[{"line_item_id":%d,"quantity":1}]}`, o.LineItems[0].Id)))
		if res.Action.Status != "succeeded" || res.Action.ShopifyRefundID == nil {
			t.Fatalf("action = %+v", res.Action)
		}
		ledger := h.sb.Ledger()
		if len(ledger) != 1 || !ledger[0].Amount.Equal(*o.LineItems[0].Price) {
			t.Fatalf("ledger = %+v, want one refund of %s", ledger, o.LineItems[0].Price)
		}
		if ins := h.sb.RefundInputs(); len(ins) != 1 || strings.Contains(string(ins[0]), `"parentId"`) {
			t.Errorf("refund input names a parent Shopify did not suggest: %s", ins)
		}
	})
}

// TestReview8MultiCurrencyRefund: an order paid in EUR on a USD shop:
// RefundInput carries currency EUR (required), the amounts are the
// customer's, and the action reports the currency the money went back in.
func TestReview8MultiCurrencyRefund(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		o := reseed(t, h.sb, "shopify_payments", "EUR")
		if o.Currency == "EUR" {
			t.Fatal("the order must be in another currency than EUR")
		}
		res := result(t, h.post(path(o.Id, "refund"), "mc", `{"amount":"10.00"}`))
		ledger := h.sb.Ledger()
		if len(ledger) != 1 || ledger[0].Currency != "EUR" || !ledger[0].Amount.Equal(decimal.RequireFromString("10.00")) {
			t.Fatalf("ledger = %+v, want one refund of 10.00 EUR", ledger)
		}
		if res.Action.Status != "succeeded" || res.Action.Amount == nil || *res.Action.Amount != "10.00" || res.Action.Currency == nil || *res.Action.Currency != ledger[0].Currency {
			t.Errorf("action says %v %v, Shopify refunded %s %s", deref(res.Action.Amount), deref(res.Action.Currency), ledger[0].Amount, ledger[0].Currency)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
