package orders

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestTimelineCarrierEvents(t *testing.T) {
	t.Parallel()
	at := func(d int) time.Time { return time.Date(2026, 11, d, 9, 0, 0, 0, time.UTC) }
	o := Build(facts(financial("paid"), fulfillment("fulfilled"), func(o *ShopifyOrder) {
		o.Customer = &ShopifyCustomer{ID: 7}
		o.CreatedAt = at(18)
		o.Fulfillments = []ShopifyFulfillment{{ID: 9, Status: "success", CreatedAt: at(19), TrackingCompany: "UPS", TrackingNumbers: []string{"1Z"},
			LineItems: []ShopifyFulfilledItem{{ID: 10, Quantity: 2}},
			Events: []ShopifyFulfillmentEvent{
				{ID: 4, Status: "failure", HappenedAt: at(23)},
				{ID: 1, Status: "label_printed", HappenedAt: at(19)},
				{ID: 3, Status: "attempted_delivery", HappenedAt: at(22)},
				{ID: 2, Status: "in_transit", HappenedAt: at(20)},
			}}}
	}), at(24))
	got := map[string]time.Time{}
	for _, e := range TimelineFor(o) {
		got[e.Type] = e.OccurredAt
	}
	for typ, when := range map[string]time.Time{EventShipmentAttemptedDelivery: at(22), EventShipmentFailure: at(23), EventShipmentInTransit: at(20), EventFulfilled: at(19)} {
		if !got[typ].Equal(when) {
			t.Errorf("%s at %v, want %v (timeline %v)", typ, got[typ], when, got)
		}
	}
	if o.Shipment == nil || o.Shipment.Status != ShipmentFailure || o.Labels.FulfillmentStatus != "Delivery failed" {
		t.Errorf("shipment %+v label %q", o.Shipment, o.Labels.FulfillmentStatus)
	}
}

// TestTimelineOrderOfOneInstant: events of one timestamp come out in the
// story's order, newest first, whatever order they were derived or
// stored in.
func TestTimelineOrderOfOneInstant(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	want := []TimelineEvent{
		{ID: "order:1:fulfillment:9:delivered", Type: EventShipmentDelivered, OccurredAt: at},
		{ID: "order:1:fulfillment:9", Type: EventFulfilled, OccurredAt: at},
		{ID: "order:1:refund:5", Type: EventRefunded, OccurredAt: at},
		{ID: "order:1:cancelled", Type: EventCancelled, OccurredAt: at},
		{ID: "action:f0", Type: EventActionRefund, OccurredAt: at},
		{ID: "action:0a", Type: EventActionCancel, OccurredAt: at},
		{ID: "order:1:paid", Type: EventPaid, OccurredAt: at},
		{ID: "order:1:placed", Type: EventPlaced, OccurredAt: at},
		{ID: "order:1:placed", Type: EventPlaced, OccurredAt: at.Add(-time.Second)},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		got := slices.Clone(want)
		r.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		slices.SortFunc(got, CompareTimeline)
		for i := range got {
			if got[i].ID != want[i].ID || !got[i].OccurredAt.Equal(want[i].OccurredAt) {
				t.Fatalf("at %d: %s, want %s", i, got[i].ID, want[i].ID)
			}
		}
	}
	// The order's own derivation is sorted the same way: placed and paid
	// share the processing time, paid comes first.
	o := Build(facts(financial("paid"), func(o *ShopifyOrder) {
		o.Customer = &ShopifyCustomer{ID: 7}
		o.CreatedAt, o.ProcessedAt = at, &at
		o.Transactions = nil
	}), at)
	evs := TimelineFor(o)
	if len(evs) != 2 || evs[0].Type != EventPaid || evs[1].Type != EventPlaced {
		t.Errorf("timeline = %+v", evs)
	}
}

func TestTimelineCursorCarriesRank(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := TimelineCursor{At: at, Rank: TimelineRank(EventPaid), ID: "order:1:paid"}
	got, err := DecodeTimelineCursor(c.Encode())
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for _, key := range []string{"order:1:paid", "x|order:1:paid", "99|order:1:paid", "-1|a", "01|a", "1|"} {
		if _, err := DecodeTimelineCursor(encodeCursor(at, key)); err == nil {
			t.Errorf("cursor key %q accepted", key)
		}
	}
	if TimelineRank("something.new") <= TimelineRank(EventShipmentFailure) {
		t.Errorf("unknown types must rank after known ones")
	}
}
