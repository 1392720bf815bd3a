package orders

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Timeline event types, as the CRM receives them.
const (
	EventPlaced             = "order.placed"
	EventPaid               = "order.paid"
	EventPartiallyPaid      = "order.partially_paid"
	EventFulfilled          = "order.fulfilled"
	EventPartiallyFulfilled = "order.partially_fulfilled"
	EventCancelled          = "order.cancelled"
	EventRefunded           = "order.refunded"
)

// Shipment timeline event types.
const (
	EventShipmentInTransit         = "shipment.in_transit"
	EventShipmentOutForDelivery    = "shipment.out_for_delivery"
	EventShipmentReadyForPickup    = "shipment.ready_for_pickup"
	EventShipmentAttemptedDelivery = "shipment.attempted_delivery"
	EventShipmentDelivered         = "shipment.delivered"
	EventShipmentFailure           = "shipment.failure"
	EventActionCancel              = "action.cancel"
	EventActionRefund              = "action.refund"
)

// shipmentEvents are the carrier updates that go on the timeline (a label
// being created is already the fulfilment's own event).
var shipmentEvents = map[ShipmentStatus]string{
	ShipmentInTransit:         EventShipmentInTransit,
	ShipmentOutForDelivery:    EventShipmentOutForDelivery,
	ShipmentReadyForPickup:    EventShipmentReadyForPickup,
	ShipmentAttemptedDelivery: EventShipmentAttemptedDelivery,
	ShipmentDelivered:         EventShipmentDelivered,
	ShipmentFailure:           EventShipmentFailure,
}

// TimelineRanks place events of one instant in the order of the story: an
// order is placed, then paid; an agent's action comes before the
// cancellation or refund it made; a parcel ships before the carrier
// reports on it. Newest first, the higher rank comes first. The store
// sorts by the same ranks (occurred_at, rank, id), so a page boundary
// between two events of one second never repeats or skips one.
var TimelineRanks = map[string]int{
	EventPlaced:                    0,
	EventPartiallyPaid:             1,
	EventPaid:                      1,
	EventActionCancel:              2,
	EventActionRefund:              2,
	EventCancelled:                 3,
	EventRefunded:                  4,
	EventPartiallyFulfilled:        5,
	EventFulfilled:                 5,
	EventShipmentInTransit:         6,
	EventShipmentReadyForPickup:    7,
	EventShipmentOutForDelivery:    7,
	EventShipmentAttemptedDelivery: 8,
	EventShipmentDelivered:         9,
	EventShipmentFailure:           9,
}

// TimelineRank is an event type's rank; types orderdesk does not know
// rank after all others.
func TimelineRank(typ string) int {
	if r, ok := TimelineRanks[typ]; ok {
		return r
	}
	return len(TimelineRanks)
}

// CompareTimeline orders events newest first: by time, then rank, then
// id, all descending. It is the store's ORDER BY.
func CompareTimeline(a, b TimelineEvent) int {
	return cmp.Or(
		b.OccurredAt.Compare(a.OccurredAt),
		cmp.Compare(TimelineRank(b.Type), TimelineRank(a.Type)),
		strings.Compare(b.ID, a.ID),
	)
}

// TimelineFor derives an order's story from its facts. Event ids are
// stable, so deriving again (a webhook, a re-read, a backfill) replaces the
// same events instead of adding copies, whatever order deliveries arrive in.
func TimelineFor(o Order) []TimelineEvent {
	if o.Customer == nil || o.Customer.ID == 0 {
		return nil // the timeline is a contact's: no contact, no timeline
	}
	money := func(s string) string { return s + " " + o.Currency }
	var out []TimelineEvent
	add := func(key, typ string, at time.Time, summary string, data map[string]any) {
		if at.IsZero() {
			at = o.CreatedAt
		}
		if data == nil {
			data = map[string]any{}
		}
		out = append(out, TimelineEvent{
			ID: fmt.Sprintf("order:%d:%s", o.ID, key), CustomerID: o.Customer.ID, OrderID: o.ID, OrderName: o.Name,
			Type: typ, OccurredAt: at, Summary: summary, Data: data,
		})
	}
	add("placed", EventPlaced, o.CreatedAt, fmt.Sprintf("Order %s placed: %s", o.Name, money(FormatMoney(o.TotalPrice, o.Currency))),
		map[string]any{"total_price": FormatMoney(o.TotalPrice, o.Currency), "currency": o.Currency})

	switch o.FinancialStatus {
	case FinancialPaid, FinancialPartiallyRefunded, FinancialRefunded:
		add("paid", EventPaid, paidAt(o), fmt.Sprintf("Order %s paid: %s", o.Name, money(FormatMoney(o.Captured, o.Currency))),
			map[string]any{"amount": FormatMoney(o.Captured, o.Currency), "currency": o.Currency})
	case FinancialPartiallyPaid:
		add("partially_paid", EventPartiallyPaid, paidAt(o), fmt.Sprintf("Order %s partially paid: %s of %s", o.Name, FormatMoney(o.Captured, o.Currency), money(FormatMoney(o.TotalPrice, o.Currency))),
			map[string]any{"amount": FormatMoney(o.Captured, o.Currency), "currency": o.Currency})
	}

	shipped := 0
	for i, f := range o.Fulfillments {
		src := o.Source.Fulfillments[i]
		if f.Status != "success" {
			continue
		}
		items := 0
		for _, li := range src.LineItems {
			items += li.Quantity
		}
		shipped++
		typ := EventPartiallyFulfilled
		if o.FulfillmentStatus == FulfillmentFulfilled && shipped == countSuccessful(o.Fulfillments) {
			typ = EventFulfilled
		}
		tracking := strings.Join(f.TrackingNumbers, ", ")
		summary := fmt.Sprintf("Order %s: %d item(s) shipped", o.Name, items)
		if f.TrackingCompany != "" || tracking != "" {
			summary += fmt.Sprintf(" with %s %s", f.TrackingCompany, tracking)
		}
		add(fmt.Sprintf("fulfillment:%d", f.ID), typ, f.CreatedAt, strings.TrimSpace(summary), map[string]any{
			"fulfillment_id": f.ID, "tracking_company": f.TrackingCompany, "tracking_numbers": f.TrackingNumbers, "tracking_urls": f.TrackingURLs,
		})
		// Carrier updates, one event per status reached, at its first report.
		seen := map[ShipmentStatus]bool{}
		events := slices.Clone(src.Events)
		slices.SortStableFunc(events, compareEvents)
		for _, e := range events {
			st := shipmentStatus(e.Status)
			if typ, ok := shipmentEvents[st]; ok && !seen[st] {
				seen[st] = true
				data := map[string]any{"fulfillment_id": f.ID, "tracking_numbers": f.TrackingNumbers}
				if e.EstimatedDeliveryAt != nil {
					data["estimated_delivery_at"] = e.EstimatedDeliveryAt.UTC().Format(time.RFC3339)
				}
				add(fmt.Sprintf("fulfillment:%d:%s", f.ID, st), typ, e.HappenedAt, shipmentSummary(o.Name, st, e.EstimatedDeliveryAt), data)
			}
		}
		if typ, ok := shipmentEvents[f.ShipmentStatus]; ok && !seen[f.ShipmentStatus] {
			add(fmt.Sprintf("fulfillment:%d:%s", f.ID, f.ShipmentStatus), typ, src.UpdatedAt, shipmentSummary(o.Name, f.ShipmentStatus, f.EstimatedDeliveryAt),
				map[string]any{"fulfillment_id": f.ID, "tracking_numbers": f.TrackingNumbers})
		}
	}

	if o.CancelledAt != nil {
		summary := fmt.Sprintf("Order %s cancelled", o.Name)
		if o.CancelReason != "" {
			summary += " (" + o.CancelReason + ")"
		}
		add("cancelled", EventCancelled, *o.CancelledAt, summary, map[string]any{"reason": o.CancelReason})
	}
	for _, r := range o.Refunds {
		add(fmt.Sprintf("refund:%d", r.ID), EventRefunded, r.CreatedAt, fmt.Sprintf("Order %s refunded: %s", o.Name, money(FormatMoney(r.Amount, o.Currency))),
			map[string]any{"refund_id": r.ID, "amount": FormatMoney(r.Amount, o.Currency), "currency": o.Currency, "note": r.Note})
	}
	slices.SortStableFunc(out, CompareTimeline)
	return out
}

func countSuccessful(fs []Fulfillment) int {
	n := 0
	for _, f := range fs {
		if f.Status == "success" {
			n++
		}
	}
	return n
}

// paidAt is when money was last captured, or when the order was processed.
func paidAt(o Order) time.Time {
	var at time.Time
	for _, t := range o.Source.Transactions {
		if t.Status == "success" && (t.Kind == "sale" || t.Kind == "capture") && t.CreatedAt.After(at) {
			at = t.CreatedAt
		}
	}
	if at.IsZero() && o.ProcessedAt != nil {
		at = *o.ProcessedAt
	}
	return at
}

func shipmentSummary(name string, st ShipmentStatus, eta *time.Time) string {
	if st == ShipmentInTransit && eta != nil {
		return fmt.Sprintf("Order %s in transit, arriving on %s", name, formatDay(*eta))
	}
	return fmt.Sprintf("Order %s: %s", name, strings.ToLower(shipmentLabels[st]))
}

// TimelineCursor is a position in a newest-first timeline: the last
// event's time, rank and id.
type TimelineCursor struct {
	At   time.Time
	Rank int
	ID   string
}

// Encode makes the opaque string handed to clients.
func (c TimelineCursor) Encode() string {
	return encodeCursor(c.At, strconv.Itoa(c.Rank)+"|"+c.ID)
}

// DecodeTimelineCursor parses a client's cursor.
func DecodeTimelineCursor(s string) (TimelineCursor, error) {
	at, key, err := decodeCursor(s)
	if err != nil {
		return TimelineCursor{}, err
	}
	r, id, ok := strings.Cut(key, "|")
	rank, rerr := strconv.Atoi(r)
	if !ok || rerr != nil || id == "" || rank < 0 || rank > len(TimelineRanks) || strconv.Itoa(rank) != r {
		return TimelineCursor{}, errBadCursor
	}
	return TimelineCursor{At: at, Rank: rank, ID: id}, nil
}

// TimelinePage is a page of a contact's events.
type TimelinePage struct {
	Events []TimelineEvent
	Next   *TimelineCursor
}

// Timeline returns a contact's activity, newest first. A contact whose
// orders were never read is read through from Shopify first; a stale one
// is served and refreshed in the background, as the order list is.
func (s *Service) Timeline(ctx context.Context, shop tenant.Shop, customerID int64, after *TimelineCursor, limit int) (TimelinePage, error) {
	if after == nil {
		s.customerFreshness(ctx, shop, customerID)
	}
	events, err := s.store.Timeline(ctx, shop.ID, customerID, after, limit+1)
	if err != nil {
		return TimelinePage{}, fmt.Errorf("timeline: %w", err)
	}
	if after == nil && len(events) == 0 {
		// A contact this shop has no order of (another shop's customer,
		// or one Shopify does not know) is not found, as another shop's
		// order is, rather than an empty timeline.
		mine, err := s.store.ListOrders(ctx, shop.ID, ListFilter{CustomerID: customerID, Limit: 1})
		if err != nil {
			return TimelinePage{}, fmt.Errorf("timeline: %w", err)
		}
		if len(mine) == 0 {
			return TimelinePage{}, fmt.Errorf("timeline of customer %d: no order of this customer in this shop: %w", customerID, ErrNotFound)
		}
	}
	page := TimelinePage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		last := page.Events[limit-1]
		page.Next = &TimelineCursor{At: last.OccurredAt, Rank: TimelineRank(last.Type), ID: last.ID}
	}
	return page, nil
}
