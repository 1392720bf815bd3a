package orders

import (
	"testing"
	"time"
)

// TestShipmentProgress holds the shipment rules: the newest carrier event
// by time decides, Shopify's order (happened_at, then id) settles equal
// times, and nothing earlier than delivered or failure flips them back.
func TestShipmentProgress(t *testing.T) {
	t.Parallel()
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	eta := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	ev := func(id int64, status string, at time.Time) ShopifyFulfillmentEvent {
		return ShopifyFulfillmentEvent{ID: id, Status: status, HappenedAt: at}
	}
	withETA := func(e ShopifyFulfillmentEvent) ShopifyFulfillmentEvent { e.EstimatedDeliveryAt = &eta; return e }
	tracked := ShopifyFulfillment{ID: 1, Status: "success", TrackingCompany: "UPS", TrackingNumbers: []string{"1Z1"}}
	with := func(f ShopifyFulfillment, opts ...func(*ShopifyFulfillment)) ShopifyFulfillment {
		for _, o := range opts {
			o(&f)
		}
		return f
	}
	events := func(es ...ShopifyFulfillmentEvent) func(*ShopifyFulfillment) {
		return func(f *ShopifyFulfillment) { f.Events = es }
	}
	status := func(s string) func(*ShopifyFulfillment) { return func(f *ShopifyFulfillment) { f.ShipmentStatus = s } }
	delivered := day(25, 14)
	tests := []struct {
		name      string
		f         ShopifyFulfillment
		want      ShipmentStatus
		eta       *time.Time
		delivered *time.Time
	}{
		{"confirmed is label created", with(tracked, events(ev(1, "confirmed", day(20, 9)))), ShipmentLabelCreated, nil, nil},
		{"label printed is label created", with(tracked, events(ev(1, "label_printed", day(20, 9)))), ShipmentLabelCreated, nil, nil},
		{"label purchased is label created", with(tracked, status("label_purchased")), ShipmentLabelCreated, nil, nil},
		{"tracking but no word from the carrier: Shopify's CONFIRMED default", tracked, ShipmentLabelCreated, nil, nil},
		{"no tracking, no events: nothing known", ShopifyFulfillment{ID: 1, Status: "success"}, "", nil, nil},
		{"in transit with its estimate", with(tracked, events(ev(1, "confirmed", day(20, 9)), withETA(ev(2, "in_transit", day(21, 9))))), ShipmentInTransit, &eta, nil},
		{"newest by time, listed out of order", with(tracked, events(ev(3, "out_for_delivery", day(24, 8)), withETA(ev(2, "in_transit", day(21, 9))), ev(1, "confirmed", day(20, 9)))), ShipmentOutForDelivery, &eta, nil},
		{"equal times: the later event by id, as Shopify sorts", with(tracked, events(ev(8, "delivered", day(25, 14)), ev(7, "out_for_delivery", day(25, 14)))), ShipmentDelivered, nil, &delivered},
		{"equal times: the later id even when it is an earlier stage", with(tracked, events(ev(7, "attempted_delivery", day(25, 14)), ev(8, "out_for_delivery", day(25, 14)))), ShipmentOutForDelivery, nil, nil},
		{"equal times without ids: the further stage", with(tracked, events(ev(0, "out_for_delivery", day(24, 8)), ev(0, "in_transit", day(24, 8)))), ShipmentOutForDelivery, nil, nil},
		{"a label printed after a failure does not flip it back", with(tracked, events(ev(1, "in_transit", day(21, 9)), ev(2, "failure", day(23, 9)), ev(3, "label_printed", day(24, 9)))), ShipmentFailure, nil, nil},
		{"an in-transit scan after delivery does not flip it back", with(tracked, events(ev(1, "delivered", delivered), withETA(ev(2, "in_transit", day(26, 9))))), ShipmentDelivered, nil, &delivered},
		{"delivered after a failure: redelivered", with(tracked, events(ev(1, "failure", day(23, 9)), ev(2, "delivered", delivered))), ShipmentDelivered, nil, &delivered},
		{"a failure after delivery is the news", with(tracked, events(ev(1, "delivered", delivered), ev(2, "failure", day(26, 9)))), ShipmentFailure, nil, nil},
		{"an attempt, then back in transit", with(tracked, events(ev(1, "attempted_delivery", day(23, 9)), ev(2, "in_transit", day(24, 9)))), ShipmentInTransit, nil, nil},
		{"GraphQL's spelling", with(tracked, events(withETA(ev(1, "IN_TRANSIT", day(21, 9))))), ShipmentInTransit, &eta, nil},
		{"delayed is still in transit", with(tracked, events(ev(1, "delayed", day(21, 9)))), ShipmentInTransit, nil, nil},
		{"picked up by the carrier is in transit", with(tracked, events(ev(1, "carrier_picked_up", day(21, 9)))), ShipmentInTransit, nil, nil},
		{"picked up by the customer is delivered", with(tracked, events(ev(1, "ready_for_pickup", day(21, 9)), ev(2, "picked_up", delivered))), ShipmentDelivered, nil, &delivered},
		{"unknown event statuses are skipped", with(tracked, events(ev(1, "in_transit", day(21, 9)), ev(2, "something_new", day(22, 9)))), ShipmentInTransit, nil, nil},
		{"shipment_status alone", with(tracked, status("attempted_delivery")), ShipmentAttemptedDelivery, nil, nil},
		{"events outrank a stale shipment_status", with(tracked, status("in_transit"), events(ev(1, "delivered", delivered))), ShipmentDelivered, nil, &delivered},
		{"delivered by shipment_status, time unknown", with(tracked, status("delivered")), ShipmentDelivered, nil, nil},
		{"delivered by shipment_status: timed by updated_at", with(tracked, status("delivered"), func(f *ShopifyFulfillment) { f.UpdatedAt = delivered }), ShipmentDelivered, nil, &delivered},
		{"a stale delivered shipment_status does not time a later failure", with(tracked, status("delivered"), events(ev(1, "failure", day(26, 9))), func(f *ShopifyFulfillment) { f.UpdatedAt = delivered }), ShipmentFailure, nil, nil},
		{"Shopify's deliveredAt wins over the event's time", with(tracked, events(ev(1, "delivered", delivered)), func(f *ShopifyFulfillment) { at := day(25, 15); f.DeliveredAt = &at }), ShipmentDelivered, nil, ptr(day(25, 15))},
	}
	for _, tt := range tests {
		s, eta, at := progress(tt.f)
		if s != tt.want || !sameTime(eta, tt.eta) || !sameTime(at, tt.delivered) {
			t.Errorf("%s: got %q eta %v delivered %v, want %q %v %v", tt.name, s, eta, at, tt.want, tt.eta, tt.delivered)
		}
	}
}

// TestFulfillmentLabels: a partially shipped order says so first and is
// never labelled Delivered; the order's delivered_at waits for the last
// parcel of a fully shipped order.
func TestFulfillmentLabels(t *testing.T) {
	t.Parallel()
	eta := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	first := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	last := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	parcel := func(id int64, qty int, es ...ShopifyFulfillmentEvent) ShopifyFulfillment {
		return ShopifyFulfillment{ID: id, Status: "success", TrackingCompany: "UPS", TrackingNumbers: []string{"1Z"},
			LineItems: []ShopifyFulfilledItem{{ID: 10, Quantity: qty}}, Events: es}
	}
	transit := ShopifyFulfillmentEvent{ID: 1, Status: "in_transit", HappenedAt: first, EstimatedDeliveryAt: &eta}
	arrived := func(at time.Time) ShopifyFulfillmentEvent {
		return ShopifyFulfillmentEvent{ID: 2, Status: "delivered", HappenedAt: at}
	}
	ships := func(fs ...ShopifyFulfillment) factsOpt { return func(o *ShopifyOrder) { o.Fulfillments = fs } }
	tests := []struct {
		name      string
		order     ShopifyOrder
		shipment  ShipmentStatus
		label     string
		delivered *time.Time
	}{
		{"fulfilled, in transit", facts(fulfillment("fulfilled"), ships(parcel(1, 2, transit))), ShipmentInTransit, "Arriving on 3 December 2026", nil},
		{"partial, in transit", facts(fulfillment("partial"), ships(parcel(1, 1, transit))), ShipmentInTransit, "Partially fulfilled · Arriving on 3 December 2026", nil},
		{"partial, label created", facts(fulfillment("partial"), ships(parcel(1, 1))), ShipmentLabelCreated, "Partially fulfilled · Label created", nil},
		{"partial, out for delivery", facts(fulfillment("partial"), ships(parcel(1, 1, ShopifyFulfillmentEvent{ID: 3, Status: "out_for_delivery", HappenedAt: last}))), ShipmentOutForDelivery, "Partially fulfilled · Out for delivery", nil},
		{"partial, shipped part delivered: never Delivered", facts(fulfillment("partial"), ships(parcel(1, 1, transit, arrived(first)))), ShipmentDelivered, "Partially fulfilled", nil},
		{"fulfilled, label created", facts(fulfillment("fulfilled"), ships(parcel(1, 2))), ShipmentLabelCreated, "Label created", nil},
		{"fulfilled, delivered", facts(fulfillment("fulfilled"), ships(parcel(1, 2, transit, arrived(first)))), ShipmentDelivered, "Delivered", &first},
		{"two parcels, one still on its way", facts(fulfillment("fulfilled"), ships(parcel(1, 1, transit, arrived(first)), parcel(2, 1, transit))), ShipmentInTransit, "Arriving on 3 December 2026", nil},
		{"two parcels delivered: the last arrival", facts(fulfillment("fulfilled"), ships(parcel(1, 1, arrived(last)), parcel(2, 1, arrived(first)))), ShipmentDelivered, "Delivered", &last},
		{"failure needs attention first", facts(fulfillment("fulfilled"), ships(parcel(1, 1, arrived(first)), parcel(2, 1, ShopifyFulfillmentEvent{ID: 4, Status: "failure", HappenedAt: last}))), ShipmentFailure, "Delivery failed", nil},
		{"attempted delivery", facts(fulfillment("fulfilled"), ships(parcel(1, 2, ShopifyFulfillmentEvent{ID: 4, Status: "attempted_delivery", HappenedAt: last}))), ShipmentAttemptedDelivery, "Delivery attempted", nil},
		{"marked fulfilled without tracking", facts(fulfillment("fulfilled"), ships(ShopifyFulfillment{ID: 1, Status: "success", LineItems: []ShopifyFulfilledItem{{ID: 10, Quantity: 2}}})), "", "Fulfilled", nil},
		{"a cancelled parcel is no shipment", facts(ships(ShopifyFulfillment{ID: 1, Status: "cancelled", ShipmentStatus: "in_transit", TrackingNumbers: []string{"1Z"}})), "", "Unfulfilled", nil},
	}
	for _, tt := range tests {
		o := Build(tt.order, time.Now())
		got := ShipmentStatus("")
		if o.Shipment != nil {
			got = o.Shipment.Status
			if got == ShipmentDelivered && o.Shipment.EstimatedDeliveryAt != nil {
				t.Errorf("%s: a delivered shipment keeps an estimate", tt.name)
			}
		}
		if got != tt.shipment || o.Labels.FulfillmentStatus != tt.label || !sameTime(o.DeliveredAt, tt.delivered) {
			t.Errorf("%s: shipment %q label %q delivered_at %v, want %q %q %v", tt.name, got, o.Labels.FulfillmentStatus, o.DeliveredAt, tt.shipment, tt.label, tt.delivered)
		}
	}
}

func TestMoneyParts(t *testing.T) {
	t.Parallel()
	o := Build(facts(func(o *ShopifyOrder) {
		o.TotalPrice, o.SubtotalPrice, o.TotalShipping, o.TotalTax, o.TotalDiscounts = d("80.90"), d("67.50"), d("8.00"), d("5.40"), d("7.50")
	}), time.Now())
	if !o.SubtotalPrice.Equal(d("67.50")) || !o.TotalShipping.Equal(d("8")) || !o.TotalTax.Equal(d("5.4")) || !o.TotalDiscounts.Equal(d("7.5")) || o.TaxesIncluded {
		t.Errorf("parts = %s %s %s %s %v", o.SubtotalPrice, o.TotalShipping, o.TotalTax, o.TotalDiscounts, o.TaxesIncluded)
	}
	if sum := o.SubtotalPrice.Add(o.TotalShipping).Add(o.TotalTax); !sum.Equal(o.TotalPrice) {
		t.Errorf("parts add up to %s, total %s", sum, o.TotalPrice)
	}
}

func ptr[T any](v T) *T { return &v }

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
