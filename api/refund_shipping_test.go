package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestRefundShippingOnce: a refund that includes shipping is refunded
// shipping on the next read (Shopify's refundShippingLines), the shipping
// is no longer offered, and a second refund cannot give it back again,
// neither in full nor in part.
func TestRefundShippingOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			id := shopifysandbox.OrderPaidUnfulfilled
			var prev api.RefundPreviewResponse
			h.get(path(id, "refund"), keyA).decode(t, &prev)
			if prev.Shipping.MaxAmount != "5.00" {
				t.Fatalf("shipping offered before = %s, want 5.00", prev.Shipping.MaxAmount)
			}
			body := fmt.Sprintf(`{"line_items":[{"line_item_id":%d,"quantity":1,"restock":true}],"shipping":{"full":true}}`, id*10)
			res := result(t, h.post(path(id, "refund"), "k1", body))
			if *res.Action.Amount != "24.90" {
				t.Errorf("refunded %s, want 24.90 (19.90 mug + 5.00 shipping)", *res.Action.Amount)
			}
			o, _ := h.sb.Order(id)
			if len(o.Refunds) != 1 || len(o.Refunds[0].OrderAdjustments) != 1 || o.Refunds[0].OrderAdjustments[0].Kind != "shipping_refund" ||
				o.Refunds[0].OrderAdjustments[0].Amount.StringFixed(2) != "-5.00" {
				t.Fatalf("Shopify's refunds = %+v, want one with a -5.00 shipping_refund", o.Refunds)
			}
			h.get(path(id, "refund"), keyA).decode(t, &prev)
			if prev.Shipping.MaxAmount != "0.00" {
				t.Errorf("shipping offered after = %s, want 0.00", prev.Shipping.MaxAmount)
			}
			problem(t, h.post(path(id, "refund"), "k2", `{"shipping":{"full":true}}`), http.StatusConflict, "nothing_to_refund")
			problem(t, h.post(path(id, "refund"), "k3", `{"shipping":{"amount":"1.00"}}`), http.StatusUnprocessableEntity, "amount_too_large")
			if n := h.sb.Calls(shopifysandbox.OpRefundCreate); n != 1 {
				t.Errorf("refundCreate calls = %d, want 1", n)
			}
			if o, _ := h.sb.Order(id); len(o.Refunds) != 1 {
				t.Errorf("Shopify holds %d refunds, want 1", len(o.Refunds))
			}
		})
	}
}
