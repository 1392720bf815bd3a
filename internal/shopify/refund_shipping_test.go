package shopify

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// refundedShipping is the shipping an order's refunds gave back, as
// orderdesk reads it (shipping_refund adjustments are negative).
func refundedShipping(o orders.ShopifyOrder) decimal.Decimal {
	sum := decimal.Zero
	for _, r := range o.Refunds {
		for _, a := range r.Adjustments {
			if a.Kind == "shipping_refund" {
				sum = sum.Sub(a.Amount)
			}
		}
	}
	return sum
}

// TestRefundShippingAtShopify: refundCreate's shipping
// (ShippingRefundInput.amount) is refunded once: it shows as refunded
// shipping on the next read, a resend under the same key makes nothing
// more, and no later refund gives back more shipping than was paid.
func TestRefundShippingAtShopify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	o, err := c.Order(ctx, shop, int64(shopifysandbox.OrderPaidUnfulfilled))
	if err != nil {
		t.Fatal(err)
	}
	if !o.TotalShipping.Equal(decimal.RequireFromString("5")) || !refundedShipping(o).IsZero() {
		t.Fatalf("seeded order: shipping %s, refunded %s", o.TotalShipping, refundedShipping(o))
	}
	tx := o.Transactions[0]
	refund := func(key, shipping string) (int64, error) {
		sh := decimal.RequireFromString(shipping)
		return c.CreateRefund(ctx, shop, orders.RefundCommand{
			OrderID: o.ID, IdempotencyKey: key, Note: "shipping orderdesk:" + key, Shipping: &sh,
			Transactions: []orders.RefundTransaction{{ParentID: tx.ID, Amount: sh, Gateway: tx.Gateway}},
		})
	}

	first, err := refund("ship-1", "2.00")
	if err != nil {
		t.Fatalf("refund of 2.00 shipping: %v", err)
	}
	// The answer is lost after Shopify made it: the same key again.
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, ApplyFirst: true, Status: 502})
	second, err := refund("ship-2", "3.00")
	if err != nil {
		t.Fatalf("refund of 3.00 shipping after a lost answer: %v", err)
	}
	again, err := refund("ship-2", "3.00")
	if err != nil || again != second || first == second {
		t.Fatalf("resend under ship-2 = %d, %v; want refund %d again", again, err, second)
	}

	o, err = c.Order(ctx, shop, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := refundedShipping(o); !got.Equal(decimal.RequireFromString("5")) {
		t.Errorf("refunded shipping on the next read = %s, want 5.00 (2.00 + 3.00, once each)", got)
	}
	if len(o.Refunds) != 2 || len(sb.Ledger()) != 2 {
		t.Errorf("refunds = %d, ledger = %d; want 2", len(o.Refunds), len(sb.Ledger()))
	}
	for _, r := range o.Refunds {
		if len(r.Adjustments) != 1 {
			t.Errorf("refund %d has %d shipping adjustments, want 1", r.ID, len(r.Adjustments))
		}
	}

	// Nothing is left: a new key cannot refund the shipping again.
	_, err = refund("ship-3", "0.01")
	var ve *orders.ValidationError
	if !errors.As(err, &ve) || ve.Code != "amount_too_large" {
		t.Errorf("a third shipping refund: %v, want amount_too_large (Shopify: exceeds the refundable shipping)", err)
	}
	if n := len(sb.Ledger()); n != 2 {
		t.Errorf("ledger = %d refunds after a refused one", n)
	}
}

// TestSandboxFullShippingRefund: ShippingRefundInput.fullRefund refunds
// all the shipping left, amount overriding it, as the sandbox reads it.
func TestSandboxFullShippingRefund(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	id := int64(shopifysandbox.OrderPaidUnfulfilled)
	o, err := c.Order(ctx, shop, id)
	if err != nil {
		t.Fatal(err)
	}
	tx := o.Transactions[0]
	full := true
	input := RefundInput{
		OrderId: gid("Order", id), Shipping: &ShippingRefundInput{FullRefund: &full},
		RefundLineItems: []RefundLineItemInput{},
		Transactions:    []OrderTransactionInput{{OrderId: gid("Order", id), Amount: decimal.RequireFromString("5"), Gateway: tx.Gateway, Kind: OrderTransactionKindRefund}},
	}
	resp, err := refundCreate(ctx, c.mutator(shop, true), input, "full-1")
	if err != nil || resp.RefundCreate == nil || len(resp.RefundCreate.UserErrors) > 0 {
		t.Fatalf("fullRefund: %+v, %v", resp, err)
	}
	if o, err = c.Order(ctx, shop, id); err != nil {
		t.Fatal(err)
	}
	if got := refundedShipping(o); !got.Equal(decimal.RequireFromString("5")) {
		t.Errorf("refunded shipping = %s, want all 5.00", got)
	}
	resp, err = refundCreate(ctx, c.mutator(shop, true), input, "full-2")
	if err != nil || resp.RefundCreate == nil {
		t.Fatal(err)
	}
	// All of nothing left is nothing: no shipping refunded again.
	if o, err = c.Order(ctx, shop, id); err != nil {
		t.Fatal(err)
	}
	if got := refundedShipping(o); !got.Equal(decimal.RequireFromString("5")) {
		t.Errorf("refunded shipping after a second fullRefund = %s, want 5.00", got)
	}
}
