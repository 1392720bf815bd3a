package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// NewID makes an event id: time-ordered, unique, and kept by every
// redelivery (it is the webhook-id receivers deduplicate on).
func NewID() string { return "evt_" + uuid.Must(uuid.NewV7()).String() }

// ForOrder derives the events an order's facts tell, each keyed by its
// fact: the store writes the ones not written before, in the transaction
// that stores the order. Facts only accumulate at Shopify (a payment, a
// shipment, a carrier status, a cancellation, a refund), so an older copy
// of an order never tells a fact the newer one did not.
func ForOrder(shop Shop, o orders.Order, now time.Time) []Event {
	base := func(key, typ string, at time.Time) Event {
		if at.IsZero() {
			at = o.CreatedAt
		}
		return Event{
			ID: NewID(), Type: typ, OccurredAt: at.UTC(), CreatedAt: now.UTC(), Shop: shop,
			Contact: contactOf(o), Order: SummaryOf(o), Key: fmt.Sprintf("order:%d:%s", o.ID, key),
		}
	}
	money := func(d decimal.Decimal) string { return orders.FormatMoney(d, o.Currency) }
	out := []Event{base("placed", TypeOrderPlaced, o.CreatedAt)}

	switch o.FinancialStatus {
	case orders.FinancialPaid, orders.FinancialPartiallyRefunded, orders.FinancialRefunded:
		e := base("paid", TypeOrderPaid, orders.PaidAt(o))
		e.Payment = &Payment{Amount: money(o.Captured), Currency: o.Currency}
		out = append(out, e)
	case orders.FinancialPartiallyPaid:
		e := base("partially_paid", TypeOrderPartiallyPaid, orders.PaidAt(o))
		e.Payment = &Payment{Amount: money(o.Captured), Currency: o.Currency}
		out = append(out, e)
	}

	successful := 0
	for _, f := range o.Fulfillments {
		if f.Status == "success" {
			successful++
		}
	}
	shipped := 0
	for i, f := range o.Fulfillments {
		src := o.Source.Fulfillments[i]
		if f.Status != "success" {
			continue
		}
		shipped++
		typ := TypeOrderPartiallyFulfilled
		if o.FulfillmentStatus == orders.FulfillmentFulfilled && shipped == successful {
			typ = TypeOrderFulfilled
		}
		e := base(fmt.Sprintf("fulfillment:%d", f.ID), typ, f.CreatedAt)
		items := make([]ItemPart, 0, len(src.LineItems))
		for _, li := range src.LineItems {
			items = append(items, ItemPart{LineItemID: li.ID, Title: titleOf(o, li.ID), Quantity: li.Quantity})
		}
		e.Fulfillment = &Fulfillment{FulfillmentID: f.ID, TrackingCompany: f.TrackingCompany,
			TrackingNumbers: orEmpty(f.TrackingNumbers), TrackingURLs: orEmpty(f.TrackingURLs), LineItems: items}
		out = append(out, e)

		// One event per carrier status reached.
		seen := map[orders.ShipmentStatus]bool{}
		ship := func(st orders.ShipmentStatus, at time.Time, eta *time.Time) {
			typ, ok := shipmentTypes[st]
			if !ok || seen[st] {
				return
			}
			seen[st] = true
			e := base(fmt.Sprintf("fulfillment:%d:%s", f.ID, st), typ, at)
			e.Shipment = &Shipment{FulfillmentID: f.ID, Status: string(st), EstimatedDeliveryAt: utc(eta), TrackingNumbers: orEmpty(f.TrackingNumbers)}
			out = append(out, e)
		}
		for _, ev := range src.Events {
			ship(orders.ShipmentStatusOf(ev.Status), ev.HappenedAt, ev.EstimatedDeliveryAt)
		}
		ship(f.ShipmentStatus, src.UpdatedAt, f.EstimatedDeliveryAt)
	}

	if o.CancelledAt != nil {
		e := base("cancelled", TypeOrderCancelled, *o.CancelledAt)
		e.Cancellation = &Cancellation{Reason: o.CancelReason}
		out = append(out, e)
	}
	for i, r := range o.Refunds {
		src := o.Source.Refunds[i]
		e := base(fmt.Sprintf("refund:%d", r.ID), TypeOrderRefunded, r.CreatedAt)
		shipping := decimal.Zero
		for _, a := range src.Adjustments {
			if a.Kind == "shipping_refund" {
				shipping = shipping.Sub(a.Amount) // recorded as negative adjustments
			}
		}
		items := make([]ItemPart, 0, len(src.RefundLineItems))
		for _, rl := range src.RefundLineItems {
			items = append(items, ItemPart{LineItemID: rl.LineItemID, Title: titleOf(o, rl.LineItemID), Quantity: rl.Quantity, RestockType: rl.RestockType})
		}
		e.Refund = &Refund{ShopifyRefundID: r.ID, Amount: money(r.Amount), Currency: o.Currency, Shipping: money(shipping), LineItems: items, Note: r.Note}
		out = append(out, e)
	}
	// The order's sequence follows when things happened.
	slices.SortStableFunc(out, func(a, b Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
	return out
}

// ForAction is the event of an action that reached its end; o is the order
// as stored (nil when it is not), for the contact and summary.
func ForAction(shop Shop, a orders.Action, o *orders.Order, now time.Time) (Event, bool) {
	typ := ""
	switch a.Status {
	case orders.ActionSucceeded:
		typ = TypeActionSucceeded
	case orders.ActionFailed:
		typ = TypeActionFailed
	default:
		return Event{}, false
	}
	at := now
	if a.CompletedAt != nil {
		at = *a.CompletedAt
	}
	req := json.RawMessage(a.Request)
	if !json.Valid(req) {
		req = json.RawMessage("{}")
	}
	e := Event{
		ID: NewID(), Type: typ, OccurredAt: at.UTC(), CreatedAt: now.UTC(), Shop: shop,
		Order: OrderSummary{ID: a.OrderID, Currency: a.Currency},
		Key:   fmt.Sprintf("action:%s", a.ID),
		Action: &Action{ID: a.ID, Kind: string(a.Kind), Status: string(a.Status), AgentID: a.AgentID, Request: req,
			Outcome: ActionOutcome{Cancelled: a.CancelDone, Refunded: a.RefundDone, Currency: a.Currency,
				ShopifyRefundID: a.ShopifyRefundID, Error: a.Error, CompletedAt: utc(a.CompletedAt)}},
	}
	if a.Amount != nil {
		s := orders.FormatMoney(*a.Amount, a.Currency)
		e.Action.Outcome.Amount = &s
	}
	if o != nil {
		e.Contact, e.Order = contactOf(*o), SummaryOf(*o)
	}
	return e, true
}

// SummaryOf is the order part of every event.
func SummaryOf(o orders.Order) OrderSummary {
	return OrderSummary{
		ID: o.ID, Name: o.Name, OrderNumber: o.Number, Status: string(o.Status), FinancialStatus: string(o.FinancialStatus),
		FulfillmentStatus: string(o.FulfillmentStatus), Currency: o.Currency,
		TotalPrice:       orders.FormatMoney(o.TotalPrice, o.Currency),
		TotalRefunded:    orders.FormatMoney(o.TotalRefunded, o.Currency),
		RefundableAmount: orders.FormatMoney(o.Refundable, o.Currency),
	}
}

func contactOf(o orders.Order) Contact {
	if c := o.Customer; c != nil {
		id := c.ID
		return Contact{CustomerID: &id, Email: c.Email, Phone: c.Phone}
	}
	return Contact{Email: o.Source.Email, Phone: o.Source.Phone}
}

var shipmentTypes = map[orders.ShipmentStatus]string{
	orders.ShipmentReadyForPickup:    TypeShipmentReadyForPickup,
	orders.ShipmentInTransit:         TypeShipmentInTransit,
	orders.ShipmentOutForDelivery:    TypeShipmentOutForDelivery,
	orders.ShipmentAttemptedDelivery: TypeShipmentAttempted,
	orders.ShipmentDelivered:         TypeShipmentDelivered,
	orders.ShipmentFailure:           TypeShipmentFailure,
}

func titleOf(o orders.Order, lineItemID int64) string {
	for _, li := range o.LineItems {
		if li.ID == lineItemID {
			return li.Title
		}
	}
	return ""
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
