package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestOrderModel: every order of the catalogue shows the parts of its
// total and they add up; labels and shipment statuses per DESIGN.md.
func TestOrderModel(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			var list api.OrderListResponse
			h.get("/orders?limit=100", keyA).decode(t, &list)
			if len(list.Orders) != 15 {
				t.Fatalf("%d orders", len(list.Orders))
			}
			byName := map[string]api.OrderResponse{}
			for _, o := range list.Orders {
				byName[o.Name] = o
				sum := dec(t, o.SubtotalPrice).Add(dec(t, o.TotalShipping))
				if !o.TaxesIncluded {
					sum = sum.Add(dec(t, o.TotalTax))
				}
				if !sum.Equal(dec(t, o.TotalPrice)) {
					t.Errorf("%s: subtotal %s + shipping %s + tax %s (included %v) = %s, total %s", o.Name, o.SubtotalPrice, o.TotalShipping, o.TotalTax, o.TaxesIncluded, sum, o.TotalPrice)
				}
				lines := decimal.Zero
				for _, li := range o.LineItems {
					lines = lines.Add(dec(t, li.Price).Mul(decimal.NewFromInt(int64(li.Quantity))))
				}
				if shippingDiscount := o.Name == "#1011"; !shippingDiscount && !lines.Sub(dec(t, o.TotalDiscounts)).Equal(dec(t, o.SubtotalPrice)) {
					t.Errorf("%s: lines %s less discounts %s is not the subtotal %s", o.Name, lines, o.TotalDiscounts, o.SubtotalPrice)
				}
			}
			type money struct{ total, subtotal, shipping, tax, discounts string }
			for name, want := range map[string]money{
				"#1001": {"228.00", "218.00", "10.00", "0.00", "0.00"}, // the lines are 218.00: shipping makes the total
				"#1009": {"80.90", "67.50", "8.00", "5.40", "7.50"},    // a code, shipping, sales tax on top
				"#1010": {"46.20", "42.00", "0.00", "4.20", "0.00"},
				"#1011": {"18.50", "18.50", "0.00", "0.00", "4.90"}, // free shipping by code
				"#1014": {"89.00", "89.00", "0.00", "14.83", "0.00"},
				"#1015": {"3500", "3500", "0", "318", "0"},
			} {
				o := byName[name]
				if got := (money{o.TotalPrice, o.SubtotalPrice, o.TotalShipping, o.TotalTax, o.TotalDiscounts}); got != want {
					t.Errorf("%s: money %+v, want %+v", name, got, want)
				}
			}
			if !byName["#1014"].TaxesIncluded || !byName["#1015"].TaxesIncluded || byName["#1009"].TaxesIncluded {
				t.Errorf("taxes_included: EUR %v JPY %v USD %v", byName["#1014"].TaxesIncluded, byName["#1015"].TaxesIncluded, byName["#1009"].TaxesIncluded)
			}

			type ship struct{ status, label string }
			for name, want := range map[string]ship{
				"#1001": {"in_transit", "Partially fulfilled · Arriving on 3 December 2026"},
				"#1002": {"", "Unfulfilled"},
				"#1009": {"delivered", "Delivered"},
				"#1010": {"out_for_delivery", "Out for delivery"},
				"#1011": {"ready_for_pickup", "Ready for pickup"},
				"#1012": {"attempted_delivery", "Delivery attempted"},
				"#1013": {"delivered", "Delivered"},
			} {
				o := byName[name]
				got := ship{label: o.Labels.FulfillmentStatus}
				if o.Shipment != nil {
					got.status = o.Shipment.Status
				}
				if got != want {
					t.Errorf("%s: shipment %+v, want %+v", name, got, want)
				}
				if delivered := want.status == "delivered"; (o.DeliveredAt != nil) != delivered {
					t.Errorf("%s: delivered_at %v", name, o.DeliveredAt)
				}
			}
			if eta := byName["#1001"].Shipment.EstimatedDeliveryAt; eta == nil || !eta.Equal(shopifysandbox.InTransitETA) {
				t.Errorf("#1001 estimated delivery %v", eta)
			}
		})
	}
}

// TestShipmentFailureOnTimeline: a parcel that fails after an attempt
// says so on the order and the contact's timeline, and a label printed
// afterwards (a replayed scan) does not flip it back. The sandbox stamps
// all three events in one second: Shopify's id order settles them.
func TestShipmentFailureOnTimeline(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			for _, status := range []string{"failure", "label_printed"} {
				req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/sandbox/orders/%d/fulfillment_events", shopifysandbox.OrderAttemptedDelivery),
					strings.NewReader(fmt.Sprintf(`{"status":%q}`, status)))
				rec := httptest.NewRecorder()
				h.sb.ServeHTTP(rec, req)
				if rec.Code != http.StatusCreated {
					t.Fatalf("sandbox event %s: %d %s", status, rec.Code, rec.Body)
				}
			}
			var o api.OrderResponse
			h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderAttemptedDelivery), keyA).decode(t, &o)
			if o.Shipment == nil || o.Shipment.Status != "failure" || o.Labels.FulfillmentStatus != "Delivery failed" || o.DeliveredAt != nil {
				t.Errorf("shipment %+v label %q delivered_at %v", o.Shipment, o.Labels.FulfillmentStatus, o.DeliveredAt)
			}
			var page api.TimelineResponse
			h.get(fmt.Sprintf("/customers/%d/timeline?limit=100", shopifysandbox.Bob.Id), keyA).decode(t, &page)
			seen := map[string]bool{}
			for _, e := range page.Events {
				if e.OrderID == int64(shopifysandbox.OrderAttemptedDelivery) {
					seen[e.Type] = true
				}
			}
			for _, typ := range []string{"shipment.in_transit", "shipment.out_for_delivery", "shipment.attempted_delivery", "shipment.failure"} {
				if !seen[typ] {
					t.Errorf("no %s on the timeline of #1012: %v", typ, seen)
				}
			}
		})
	}
}

func dec(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatalf("money %q: %v", s, err)
	}
	return d
}
