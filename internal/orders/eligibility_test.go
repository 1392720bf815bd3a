package orders

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// facts builds an order's Shopify facts for a rule row.
type factsOpt func(*ShopifyOrder)

func paid(amount string) factsOpt {
	return func(o *ShopifyOrder) {
		o.Transactions = append(o.Transactions, ShopifyTransaction{ID: 1, Kind: "sale", Status: "success", Amount: d(amount)})
	}
}

func refunded(amount string) factsOpt {
	return func(o *ShopifyOrder) {
		o.Refunds = append(o.Refunds, ShopifyRefund{ID: 2, Transactions: []ShopifyTransaction{{ID: 3, Kind: "refund", Status: "success", Amount: d(amount)}}})
	}
}

func shipped(qty int) factsOpt {
	return func(o *ShopifyOrder) {
		o.Fulfillments = append(o.Fulfillments, ShopifyFulfillment{ID: 9, Status: "success", ShipmentStatus: "in_transit", LineItems: []ShopifyFulfilledItem{{ID: 10, Quantity: qty}}})
	}
}

func financial(s string) factsOpt   { return func(o *ShopifyOrder) { o.FinancialStatus = s } }
func fulfillment(s string) factsOpt { return func(o *ShopifyOrder) { o.FulfillmentStatus = s } }
func cancelled() factsOpt {
	return func(o *ShopifyOrder) {
		at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		o.CancelledAt, o.ClosedAt = &at, &at
	}
}

func facts(opts ...factsOpt) ShopifyOrder {
	o := ShopifyOrder{
		ID: 1, Name: "#1001", Currency: "USD", TotalPrice: d("100.00"), Transactions: []ShopifyTransaction{},
		LineItems: []ShopifyLineItem{{ID: 10, Title: "Mug", Quantity: 2, Price: d("50.00")}},
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// TestEligibility covers every row of DESIGN.md's rule table.
func TestEligibility(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		order          ShopifyOrder
		cancelAllowed  bool
		cancelBlocked  BlockedReason
		cancelRefund   bool
		refundAllowed  bool
		refundBlocked  BlockedReason
		maxAmount      string
		requiresReturn bool
	}{
		{"already cancelled, paid, not refunded: refund only", facts(financial("paid"), paid("100.00"), cancelled()),
			false, BlockedAlreadyCancelled, false, true, "", "100", false},
		{"already cancelled, fully refunded", facts(financial("refunded"), paid("100.00"), refunded("100.00"), cancelled()),
			false, BlockedAlreadyCancelled, false, false, BlockedNothingToRefund, "0", false},
		{"already cancelled, voided", facts(financial("voided"), cancelled()),
			false, BlockedAlreadyCancelled, false, false, BlockedNothingToRefund, "0", false},
		{"fulfilled", facts(financial("paid"), paid("100.00"), fulfillment("fulfilled"), shipped(2)),
			false, BlockedOrderFulfilled, false, true, "", "100", true},
		{"partially fulfilled", facts(financial("paid"), paid("100.00"), fulfillment("partial"), shipped(1)),
			false, BlockedOrderFulfilled, false, true, "", "100", true},
		{"unfulfilled, pending", facts(financial("pending")),
			true, "", false, false, BlockedNotPaid, "0", false},
		{"unfulfilled, authorized", facts(financial("authorized"), func(o *ShopifyOrder) {
			o.Transactions = []ShopifyTransaction{{ID: 1, Kind: "authorization", Status: "success", Amount: d("100.00")}}
		}), true, "", false, false, BlockedNotPaid, "0", false},
		{"unfulfilled, expired", facts(financial("expired")),
			true, "", false, false, BlockedNotPaid, "0", false},
		{"unfulfilled, paid: cancel with refund", facts(financial("paid"), paid("100.00")),
			true, "", true, true, "", "100", false},
		{"unfulfilled, partially paid", facts(financial("partially_paid"), paid("40.00")),
			true, "", true, true, "", "40", false},
		{"partially refunded", facts(financial("partially_refunded"), paid("100.00"), refunded("30.00")),
			true, "", true, true, "", "70", false},
		{"fully refunded, not cancelled, unfulfilled: cancel only", facts(financial("refunded"), paid("100.00"), refunded("100.00")),
			true, "", false, false, BlockedNothingToRefund, "0", false},
		{"voided, not cancelled", facts(financial("voided")),
			true, "", false, false, BlockedNothingToRefund, "0", false},
		{"shipped items already refunded need no return", facts(financial("partially_refunded"), paid("100.00"), fulfillment("partial"), shipped(1), refunded("50.00"), func(o *ShopifyOrder) {
			o.Refunds[0].RefundLineItems = []ShopifyRefundLine{{LineItemID: 10, Quantity: 1}}
		}), false, BlockedOrderFulfilled, false, true, "", "50", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Build(tt.order, time.Now()).Actions
			if a.Cancel.Allowed != tt.cancelAllowed || a.Cancel.BlockedReason != tt.cancelBlocked || a.Cancel.RefundAvailable != tt.cancelRefund {
				t.Errorf("cancel = %+v, want allowed=%v blocked=%q refund=%v", a.Cancel, tt.cancelAllowed, tt.cancelBlocked, tt.cancelRefund)
			}
			if a.Refund.Allowed != tt.refundAllowed || a.Refund.BlockedReason != tt.refundBlocked || !a.Refund.MaxAmount.Equal(d(tt.maxAmount)) || a.Refund.RequiresReturn != tt.requiresReturn {
				t.Errorf("refund = allowed=%v blocked=%q max=%s return=%v, want allowed=%v blocked=%q max=%s return=%v",
					a.Refund.Allowed, a.Refund.BlockedReason, a.Refund.MaxAmount, a.Refund.RequiresReturn,
					tt.refundAllowed, tt.refundBlocked, tt.maxAmount, tt.requiresReturn)
			}
		})
	}
}

func TestStatusMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		order       ShopifyOrder
		status      Status
		financial   FinancialStatus
		fulfillment FulfillmentStatus
	}{
		{"open unfulfilled (null fulfillment_status)", facts(financial("paid")), StatusOpen, FinancialPaid, FulfillmentUnfulfilled},
		{"cancelled wins over closed", facts(financial("voided"), cancelled()), StatusCancelled, FinancialVoided, FulfillmentUnfulfilled},
		{"closed is archived", facts(financial("paid"), func(o *ShopifyOrder) { at := time.Now(); o.ClosedAt = &at }), StatusArchived, FinancialPaid, FulfillmentUnfulfilled},
		{"partial", facts(fulfillment("partial")), StatusOpen, FinancialPending, FulfillmentPartial},
		{"restocked", facts(fulfillment("restocked")), StatusOpen, FinancialPending, FulfillmentRestocked},
		{"missing fulfillment_status worked out from shipments", facts(shipped(2)), StatusOpen, FinancialPending, FulfillmentFulfilled},
		{"unknown financial status is pending", facts(financial("something_new")), StatusOpen, FinancialPending, FulfillmentUnfulfilled},
	}
	for _, tt := range tests {
		o := Build(tt.order, time.Now())
		if o.Status != tt.status || o.FinancialStatus != tt.financial || o.FulfillmentStatus != tt.fulfillment {
			t.Errorf("%s: got %s/%s/%s, want %s/%s/%s", tt.name, o.Status, o.FinancialStatus, o.FulfillmentStatus, tt.status, tt.financial, tt.fulfillment)
		}
	}
}

func TestShipmentAndLabels(t *testing.T) {
	t.Parallel()
	eta := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	ev := func(status string, at int, eta *time.Time) ShopifyFulfillmentEvent {
		return ShopifyFulfillmentEvent{Status: status, HappenedAt: time.Date(2026, 11, at, 0, 0, 0, 0, time.UTC), EstimatedDeliveryAt: eta}
	}
	withEvents := func(events ...ShopifyFulfillmentEvent) factsOpt {
		return func(o *ShopifyOrder) { o.Fulfillments[0].Events = events }
	}
	tests := []struct {
		name     string
		order    ShopifyOrder
		shipment ShipmentStatus
		label    string
	}{
		{"in transit with eta", facts(fulfillment("partial"), shipped(1), withEvents(ev("in_transit", 2, &eta))), ShipmentInTransit, "Partially fulfilled · Arriving on 3 December 2026"},
		{"in transit without eta", facts(fulfillment("fulfilled"), shipped(2)), ShipmentInTransit, "In transit"},
		{"latest event wins, out of order", facts(fulfillment("fulfilled"), shipped(2), withEvents(ev("out_for_delivery", 5, nil), ev("in_transit", 2, &eta))), ShipmentOutForDelivery, "Out for delivery"},
		{"delivered", facts(fulfillment("fulfilled"), shipped(2), withEvents(ev("in_transit", 2, &eta), ev("delivered", 4, nil))), ShipmentDelivered, "Delivered"},
		{"attempted", facts(fulfillment("fulfilled"), shipped(2), withEvents(ev("attempted_delivery", 4, nil))), ShipmentAttemptedDelivery, "Delivery attempted"},
		{"ready for pickup", facts(fulfillment("fulfilled"), shipped(2), withEvents(ev("ready_for_pickup", 4, nil))), ShipmentReadyForPickup, "Ready for pickup"},
		{"failure", facts(fulfillment("fulfilled"), shipped(2), withEvents(ev("failure", 4, nil))), ShipmentFailure, "Delivery failed"},
		{"unfulfilled has no shipment", facts(), "", "Unfulfilled"},
	}
	for _, tt := range tests {
		o := Build(tt.order, time.Now())
		got := ShipmentStatus("")
		if o.Shipment != nil {
			got = o.Shipment.Status
		}
		if got != tt.shipment || o.Labels.FulfillmentStatus != tt.label {
			t.Errorf("%s: shipment %q label %q, want %q %q", tt.name, got, o.Labels.FulfillmentStatus, tt.shipment, tt.label)
		}
	}
}

func TestOrderShipmentPrefersWhatNeedsAttention(t *testing.T) {
	t.Parallel()
	o := facts(fulfillment("fulfilled"), func(o *ShopifyOrder) {
		o.Fulfillments = []ShopifyFulfillment{
			{ID: 1, Status: "success", ShipmentStatus: "delivered"},
			{ID: 2, Status: "success", ShipmentStatus: "in_transit"},
			{ID: 3, Status: "cancelled", ShipmentStatus: "failure"}, // cancelled shipments do not count
		}
	})
	if s := Build(o, time.Now()).Shipment; s == nil || s.Status != ShipmentInTransit {
		t.Errorf("shipment = %+v, want in_transit", s)
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                           string
		order                          ShopifyOrder
		captured, refunded, refundable string
	}{
		{"sale minus refund", facts(financial("partially_refunded"), paid("100.00"), refunded("25.50")), "100", "25.5", "74.5"},
		{"capture after authorization", facts(financial("paid"), func(o *ShopifyOrder) {
			o.Transactions = []ShopifyTransaction{
				{ID: 1, Kind: "authorization", Status: "success", Amount: d("100.00")},
				{ID: 2, Kind: "capture", Status: "success", Amount: d("60.00")},
				{ID: 3, Kind: "capture", Status: "failure", Amount: d("40.00")},
			}
		}), "60", "0", "60"},
		{"refund listed only among transactions", facts(financial("partially_refunded"), paid("100.00"), func(o *ShopifyOrder) {
			o.Transactions = append(o.Transactions, ShopifyTransaction{ID: 4, Kind: "refund", Status: "success", Amount: d("10")})
		}), "100", "10", "90"},
		{"no transactions fetched: paid means total captured", facts(financial("paid"), func(o *ShopifyOrder) { o.Transactions = nil }), "100", "0", "100"},
		{"no transactions fetched: pending captured nothing", facts(financial("pending"), func(o *ShopifyOrder) { o.Transactions = nil }), "0", "0", "0"},
	}
	for _, tt := range tests {
		o := Build(tt.order, time.Now())
		if !o.Captured.Equal(d(tt.captured)) || !o.TotalRefunded.Equal(d(tt.refunded)) || !o.Refundable.Equal(d(tt.refundable)) {
			t.Errorf("%s: captured %s refunded %s refundable %s, want %s %s %s", tt.name, o.Captured, o.TotalRefunded, o.Refundable, tt.captured, tt.refunded, tt.refundable)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	tests := []struct{ amount, currency, want string }{
		{"19.9", "USD", "19.90"},
		{"3500", "JPY", "3500"},
		{"89", "EUR", "89.00"},
		{"1.5", "KWD", "1.500"},
		{"7", "XXX", "7.00"},
	}
	for _, tt := range tests {
		if got := FormatMoney(d(tt.amount), tt.currency); got != tt.want {
			t.Errorf("FormatMoney(%s, %s) = %s, want %s", tt.amount, tt.currency, got, tt.want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := Cursor{CreatedAt: time.Date(2026, 11, 20, 10, 0, 0, 500, time.UTC), ID: 450789469}
	got, err := DecodeCursor(c.Encode())
	if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "!!!", "bm90LWEtY3Vyc29y", "MjAyNi0xMS0yMHxub3RhbnVtYmVy"} {
		if _, err := DecodeCursor(bad); err == nil {
			t.Errorf("DecodeCursor(%q) accepted", bad)
		}
	}
}
