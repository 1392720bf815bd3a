package api_test

import (
	"net/http"
	"testing"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestRefundShippingInParts: shipping refunded in parts is offered less
// by each part: 2.00 of 5.00 leaves 3.00, "full" then refunds those 3.00
// (not the 5.00 charged), and nothing is left after.
func TestRefundShippingInParts(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			id := shopifysandbox.OrderPaidUnfulfilled
			var prev api.RefundPreviewResponse
			res := result(t, h.post(path(id, "refund"), "p1", `{"shipping":{"amount":"2.00"}}`))
			if *res.Action.Amount != "2.00" {
				t.Errorf("first part refunded %s, want 2.00", *res.Action.Amount)
			}
			h.get(path(id, "refund"), keyA).decode(t, &prev)
			if prev.Shipping.MaxAmount != "3.00" {
				t.Fatalf("shipping offered after 2.00 of 5.00 = %s, want 3.00", prev.Shipping.MaxAmount)
			}
			problem(t, h.post(path(id, "refund"), "p2", `{"shipping":{"amount":"3.01"}}`), http.StatusUnprocessableEntity, "amount_too_large")
			res = result(t, h.post(path(id, "refund"), "p3", `{"shipping":{"full":true}}`))
			if *res.Action.Amount != "3.00" {
				t.Errorf("full after a part refunded %s, want the 3.00 left", *res.Action.Amount)
			}
			h.get(path(id, "refund"), keyA).decode(t, &prev)
			if prev.Shipping.MaxAmount != "0.00" {
				t.Errorf("shipping offered after all of it = %s, want 0.00", prev.Shipping.MaxAmount)
			}
			o, _ := h.sb.Order(id)
			if len(o.Refunds) != 2 {
				t.Fatalf("Shopify holds %d refunds, want 2", len(o.Refunds))
			}
			for i, want := range []string{"-2.00", "-3.00"} {
				if a := o.Refunds[i].OrderAdjustments; len(a) != 1 || a[0].Amount.StringFixed(2) != want {
					t.Errorf("refund %d adjustments = %+v, want one of %s", i, a, want)
				}
			}
		})
	}
}
