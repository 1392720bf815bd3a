// Package orders is orderdesk's domain: the order as the CRM sees it, the
// mapping from Shopify's facts to its statuses and labels, the eligibility
// rules for cancel and refund, and the Service that serves orders from the
// store with read-through to Shopify. It declares the Store and Shopify
// interfaces it consumes; adapters implement them.
package orders

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Status is the order's overall state.
type Status string

// Order statuses.
const (
	StatusOpen      Status = "open"
	StatusArchived  Status = "archived"
	StatusCancelled Status = "cancelled"
)

// FinancialStatus is the payment state.
type FinancialStatus string

// Payment statuses.
const (
	FinancialPending           FinancialStatus = "pending"
	FinancialAuthorized        FinancialStatus = "authorized"
	FinancialPartiallyPaid     FinancialStatus = "partially_paid"
	FinancialPaid              FinancialStatus = "paid"
	FinancialPartiallyRefunded FinancialStatus = "partially_refunded"
	FinancialRefunded          FinancialStatus = "refunded"
	FinancialVoided            FinancialStatus = "voided"
	FinancialExpired           FinancialStatus = "expired"
)

// FulfillmentStatus is the shipping state of the order as a whole.
type FulfillmentStatus string

// Fulfilment statuses.
const (
	FulfillmentUnfulfilled FulfillmentStatus = "unfulfilled"
	FulfillmentPartial     FulfillmentStatus = "partially_fulfilled"
	FulfillmentFulfilled   FulfillmentStatus = "fulfilled"
	FulfillmentRestocked   FulfillmentStatus = "restocked"
)

// ShipmentStatus is a shipment's progress with the carrier.
type ShipmentStatus string

// Shipment statuses.
const (
	ShipmentLabelCreated      ShipmentStatus = "label_created"
	ShipmentReadyForPickup    ShipmentStatus = "ready_for_pickup"
	ShipmentInTransit         ShipmentStatus = "in_transit"
	ShipmentOutForDelivery    ShipmentStatus = "out_for_delivery"
	ShipmentAttemptedDelivery ShipmentStatus = "attempted_delivery"
	ShipmentDelivered         ShipmentStatus = "delivered"
	ShipmentFailure           ShipmentStatus = "failure"
)

// Order is an order as the CRM sees it, derived from ShopifyOrder by Build.
type Order struct {
	ID           int64
	Name         string
	Number       int
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ProcessedAt  *time.Time
	CancelledAt  *time.Time
	CancelReason string
	ClosedAt     *time.Time
	Customer     *Customer

	Currency   string
	TotalPrice decimal.Decimal
	// The parts of TotalPrice, as ShopifyOrder documents them:
	// TotalPrice = SubtotalPrice + TotalShipping + TotalTax (unless
	// TaxesIncluded) + duties and tips; TotalDiscounts is already taken off.
	SubtotalPrice  decimal.Decimal
	TotalShipping  decimal.Decimal
	TotalTax       decimal.Decimal
	TotalDiscounts decimal.Decimal
	TaxesIncluded  bool
	Captured       decimal.Decimal
	TotalRefunded  decimal.Decimal
	Refundable     decimal.Decimal

	Status            Status
	FinancialStatus   FinancialStatus
	FulfillmentStatus FulfillmentStatus
	Shipment          *Shipment
	// DeliveredAt is when the last parcel arrived, once every item has
	// shipped and every shipment is delivered; nil before.
	DeliveredAt *time.Time
	Labels      Labels

	LineItems    []LineItem
	Fulfillments []Fulfillment
	Refunds      []Refund
	Actions      Actions

	SyncedAt time.Time
	// Source is the Shopify state everything above was derived from.
	Source ShopifyOrder
}

// Customer is the contact an order belongs to.
type Customer struct {
	ID        int64
	Email     string
	Phone     string
	FirstName string
	LastName  string
}

// Shipment is the order's shipping progress: the shipment that most needs
// attention, or the least advanced one.
type Shipment struct {
	Status              ShipmentStatus
	EstimatedDeliveryAt *time.Time
}

// Labels are the human words for the three statuses.
type Labels struct {
	Status            string
	FinancialStatus   string
	FulfillmentStatus string
}

// LineItem is one line with what happened to its quantity.
type LineItem struct {
	ID                int64
	Title             string
	VariantTitle      string
	SKU               string
	Quantity          int
	FulfilledQuantity int
	RefundedQuantity  int
	Price             decimal.Decimal
	Tracking          []Tracking
}

// Tracking is a parcel carrying (some of) a line item.
type Tracking struct {
	Company string
	Number  string
	URL     string
	Status  ShipmentStatus
}

// Fulfillment is one shipment.
type Fulfillment struct {
	ID                  int64
	Status              string
	CreatedAt           time.Time
	ShipmentStatus      ShipmentStatus
	EstimatedDeliveryAt *time.Time
	DeliveredAt         *time.Time
	TrackingCompany     string
	TrackingNumbers     []string
	TrackingURLs        []string
}

// Refund is a refund already made.
type Refund struct {
	ID        int64
	CreatedAt time.Time
	Amount    decimal.Decimal
	Note      string
}

// Build derives the CRM's view of an order from Shopify's facts.
func Build(src ShopifyOrder, syncedAt time.Time) Order {
	o := Order{
		ID:             src.ID,
		Name:           src.Name,
		Number:         src.OrderNumber,
		CreatedAt:      src.CreatedAt,
		UpdatedAt:      src.UpdatedAt,
		ProcessedAt:    src.ProcessedAt,
		CancelledAt:    src.CancelledAt,
		CancelReason:   src.CancelReason,
		ClosedAt:       src.ClosedAt,
		Currency:       src.Currency,
		TotalPrice:     src.TotalPrice,
		SubtotalPrice:  src.SubtotalPrice,
		TotalShipping:  src.TotalShipping,
		TotalTax:       src.TotalTax,
		TotalDiscounts: src.TotalDiscounts,
		TaxesIncluded:  src.TaxesIncluded,
		SyncedAt:       syncedAt,
		Source:         src,
	}
	if c := src.Customer; c != nil {
		o.Customer = &Customer{ID: c.ID, Email: cmp.Or(c.Email, src.Email), Phone: cmp.Or(c.Phone, src.Phone), FirstName: c.FirstName, LastName: c.LastName}
	}
	o.Status = mapStatus(src)
	o.FinancialStatus = mapFinancialStatus(src.FinancialStatus)
	o.Fulfillments = mapFulfillments(src.Fulfillments)
	o.FulfillmentStatus = mapFulfillmentStatus(src)
	o.Shipment = orderShipment(o.Fulfillments)
	o.DeliveredAt = deliveredAt(o.FulfillmentStatus, o.Fulfillments)
	o.LineItems = mapLineItems(src, o.Fulfillments)
	o.Refunds = mapRefunds(src.Refunds)
	o.Captured, o.TotalRefunded = money(src)
	o.Refundable = decimal.Max(decimal.Zero, o.Captured.Sub(o.TotalRefunded))
	o.Labels = Labels{
		Status:            statusLabels[o.Status],
		FinancialStatus:   financialLabels[o.FinancialStatus],
		FulfillmentStatus: fulfillmentLabel(o.FulfillmentStatus, o.Shipment),
	}
	o.Actions = Eligibility(o)
	return o
}

// mapStatus: a cancelled order is also closed by Shopify; cancelled wins.
func mapStatus(src ShopifyOrder) Status {
	switch {
	case src.CancelledAt != nil:
		return StatusCancelled
	case src.ClosedAt != nil:
		return StatusArchived
	default:
		return StatusOpen
	}
}

func mapFinancialStatus(s string) FinancialStatus {
	switch fs := FinancialStatus(s); fs {
	case FinancialPending, FinancialAuthorized, FinancialPartiallyPaid, FinancialPaid,
		FinancialPartiallyRefunded, FinancialRefunded, FinancialVoided, FinancialExpired:
		return fs
	default:
		// Shopify omits the field on some draft-born orders: nothing is paid yet.
		return FinancialPending
	}
}

// mapFulfillmentStatus maps Shopify's order-level value (null, "partial",
// "fulfilled", "restocked"); when Shopify sent none but shipments exist, it
// is worked out from the shipped quantities.
func mapFulfillmentStatus(src ShopifyOrder) FulfillmentStatus {
	switch src.FulfillmentStatus {
	case "fulfilled":
		return FulfillmentFulfilled
	case "partial", "partially_fulfilled":
		return FulfillmentPartial
	case "restocked":
		return FulfillmentRestocked
	}
	shipped, ordered := 0, 0
	for _, li := range src.LineItems {
		ordered += li.Quantity
	}
	for _, f := range src.Fulfillments {
		if f.Status != "success" {
			continue
		}
		for _, li := range f.LineItems {
			shipped += li.Quantity
		}
	}
	switch {
	case shipped == 0:
		return FulfillmentUnfulfilled
	case shipped >= ordered:
		return FulfillmentFulfilled
	default:
		return FulfillmentPartial
	}
}

// shipmentStatus maps Shopify's FulfillmentEventStatus (and the REST
// fulfilment's shipment_status, which takes the same values), in either
// spelling, onto orderdesk's seven. Shopify documents CONFIRMED as the
// value "when no other information is available": with a label bought or
// printed it is label_created, the parcel has not reached the carrier.
// PICKED_UP is a pickup order collected by the customer: delivered.
// DELAYED is still on its way.
func shipmentStatus(s string) ShipmentStatus {
	switch strings.ToLower(s) {
	case "confirmed", "label_printed", "label_purchased":
		return ShipmentLabelCreated
	case "ready_for_pickup":
		return ShipmentReadyForPickup
	case "in_transit", "carrier_picked_up", "delayed":
		return ShipmentInTransit
	case "out_for_delivery":
		return ShipmentOutForDelivery
	case "attempted_delivery":
		return ShipmentAttemptedDelivery
	case "delivered", "picked_up":
		return ShipmentDelivered
	case "failure":
		return ShipmentFailure
	default:
		return ""
	}
}

// final reports a shipment status a parcel does not leave for an earlier
// stage: a label printed after a failure is a late or replayed carrier
// scan, not a parcel going back to the warehouse.
func (s ShipmentStatus) final() bool { return s == ShipmentDelivered || s == ShipmentFailure }

// shipmentStage orders statuses along a parcel's way. It only breaks ties
// between events Shopify cannot order (same time, no ids).
var shipmentStage = map[ShipmentStatus]int{
	ShipmentLabelCreated:      1,
	ShipmentInTransit:         2,
	ShipmentReadyForPickup:    3,
	ShipmentOutForDelivery:    3,
	ShipmentAttemptedDelivery: 4,
	ShipmentDelivered:         5,
	ShipmentFailure:           5,
}

// compareEvents orders carrier events oldest first the way Shopify sorts
// them (FulfillmentEventSortKeys: HAPPENED_AT, then ID, ids growing with
// creation), then by stage for events that carry no id.
func compareEvents(a, b ShopifyFulfillmentEvent) int {
	return cmp.Or(
		a.HappenedAt.Compare(b.HappenedAt),
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(shipmentStage[shipmentStatus(a.Status)], shipmentStage[shipmentStatus(b.Status)]),
	)
}

// progress is a fulfilment's shipment status, estimated delivery and
// delivery time. The newest carrier event by compareEvents decides, except
// that once a parcel is delivered or failed only another final event
// (a redelivery, a loss after delivery) changes it. Without events,
// Shopify's shipment_status stands; a shipment with tracking but neither is
// label_created, Shopify's CONFIRMED default. Delivered is timed by
// Shopify's deliveredAt, else the delivered event, else (no events) the
// fulfilment's updated_at.
func progress(f ShopifyFulfillment) (status ShipmentStatus, eta, delivered *time.Time) {
	status = shipmentStatus(f.ShipmentStatus)
	events := slices.Clone(f.Events)
	slices.SortStableFunc(events, compareEvents)
	fromEvents := ShipmentStatus("")
	var eventDelivered *time.Time
	for _, e := range events {
		s := shipmentStatus(e.Status)
		if s == "" || (fromEvents.final() && !s.final()) {
			continue
		}
		fromEvents = s
		if e.EstimatedDeliveryAt != nil {
			eta = e.EstimatedDeliveryAt
		}
		eventDelivered = nil
		if s == ShipmentDelivered {
			at := e.HappenedAt
			eventDelivered = &at
		}
	}
	if fromEvents != "" {
		status = fromEvents
	}
	if status == "" && f.Status == "success" && f.TrackingCompany+firstOr(f.TrackingNumbers) != "" {
		status = ShipmentLabelCreated
	}
	if status == ShipmentDelivered {
		delivered = cmp.Or(f.DeliveredAt, eventDelivered)
		if delivered == nil && fromEvents == "" && !f.UpdatedAt.IsZero() {
			// A REST listing's fulfilment says delivered without its
			// events: Shopify stamps updated_at when shipment_status
			// changes, the closest time it gives.
			at := f.UpdatedAt
			delivered = &at
		}
		eta = nil
	}
	return status, eta, delivered
}

func mapFulfillments(src []ShopifyFulfillment) []Fulfillment {
	out := make([]Fulfillment, 0, len(src))
	for _, f := range src {
		status, eta, delivered := progress(f)
		out = append(out, Fulfillment{
			ID:                  f.ID,
			Status:              f.Status,
			CreatedAt:           f.CreatedAt,
			ShipmentStatus:      status,
			EstimatedDeliveryAt: eta,
			DeliveredAt:         delivered,
			TrackingCompany:     f.TrackingCompany,
			TrackingNumbers:     f.TrackingNumbers,
			TrackingURLs:        f.TrackingURLs,
		})
	}
	return out
}

// shipmentPriority orders shipment states: problems first, then the least
// advanced, so the order-level status shows what work remains.
var shipmentPriority = map[ShipmentStatus]int{
	ShipmentFailure:           0,
	ShipmentAttemptedDelivery: 1,
	ShipmentLabelCreated:      2,
	ShipmentInTransit:         3,
	ShipmentOutForDelivery:    4,
	ShipmentReadyForPickup:    5,
	ShipmentDelivered:         6,
}

func orderShipment(fs []Fulfillment) *Shipment {
	var best *Fulfillment
	for i := range fs {
		f := &fs[i]
		if f.Status != "success" || f.ShipmentStatus == "" {
			continue
		}
		if best == nil || shipmentPriority[f.ShipmentStatus] < shipmentPriority[best.ShipmentStatus] {
			best = f
		}
	}
	if best == nil {
		return nil
	}
	return &Shipment{Status: best.ShipmentStatus, EstimatedDeliveryAt: best.EstimatedDeliveryAt}
}

// deliveredAt is when the last parcel of a fully shipped order arrived: nil
// while anything is unshipped or on its way, or when a delivery time is
// unknown.
func deliveredAt(fs FulfillmentStatus, fulfillments []Fulfillment) *time.Time {
	if fs != FulfillmentFulfilled {
		return nil
	}
	var last *time.Time
	for _, f := range fulfillments {
		if f.Status != "success" {
			continue
		}
		if f.ShipmentStatus != ShipmentDelivered || f.DeliveredAt == nil {
			return nil
		}
		if last == nil || f.DeliveredAt.After(*last) {
			last = f.DeliveredAt
		}
	}
	return last
}

// mapLineItems adds shipped and refunded quantities and maps tracking, which
// Shopify keeps on fulfilments, to the line items each fulfilment carries.
// mapped is mapFulfillments(src.Fulfillments), index for index.
func mapLineItems(src ShopifyOrder, mapped []Fulfillment) []LineItem {
	fulfilled := map[int64]int{}
	tracking := map[int64][]Tracking{}
	for i, f := range src.Fulfillments {
		if f.Status != "success" {
			continue
		}
		for _, li := range f.LineItems {
			fulfilled[li.ID] += li.Quantity
			tracking[li.ID] = append(tracking[li.ID], mapped[i].tracking()...)
		}
	}
	refunded := map[int64]int{}
	for _, r := range src.Refunds {
		for _, rl := range r.RefundLineItems {
			refunded[rl.LineItemID] += rl.Quantity
		}
	}
	out := make([]LineItem, 0, len(src.LineItems))
	for _, li := range src.LineItems {
		out = append(out, LineItem{
			ID:                li.ID,
			Title:             li.Title,
			VariantTitle:      li.VariantTitle,
			SKU:               li.SKU,
			Quantity:          li.Quantity,
			FulfilledQuantity: fulfilled[li.ID],
			RefundedQuantity:  refunded[li.ID],
			Price:             li.Price,
			Tracking:          tracking[li.ID],
		})
	}
	return out
}

// tracking lists one entry per tracking number (Shopify pairs numbers and
// URLs by position).
func (f Fulfillment) tracking() []Tracking {
	if len(f.TrackingNumbers) == 0 {
		if f.TrackingCompany == "" {
			return nil
		}
		return []Tracking{{Company: f.TrackingCompany, URL: firstOr(f.TrackingURLs), Status: f.ShipmentStatus}}
	}
	out := make([]Tracking, 0, len(f.TrackingNumbers))
	for i, n := range f.TrackingNumbers {
		t := Tracking{Company: f.TrackingCompany, Number: n, Status: f.ShipmentStatus}
		if i < len(f.TrackingURLs) {
			t.URL = f.TrackingURLs[i]
		}
		out = append(out, t)
	}
	return out
}

func mapRefunds(src []ShopifyRefund) []Refund {
	out := make([]Refund, 0, len(src))
	for _, r := range src {
		amount := decimal.Zero
		for _, t := range r.Transactions {
			if t.Kind == "refund" && t.Status == "success" {
				amount = amount.Add(t.Amount)
			}
		}
		out = append(out, Refund{ID: r.ID, CreatedAt: r.CreatedAt, Amount: amount, Note: r.Note})
	}
	return out
}

// money works out what was captured and refunded. The REST order has no
// total-refunded field, so both come from transactions: sale and capture
// minus refund. When the transactions were not fetched (webhook bodies carry
// none), captured is inferred from the financial status and total price.
func money(src ShopifyOrder) (captured, refunded decimal.Decimal) {
	for _, r := range src.Refunds {
		for _, t := range r.Transactions {
			if t.Kind == "refund" && t.Status == "success" {
				refunded = refunded.Add(t.Amount)
			}
		}
	}
	if src.Transactions == nil {
		switch FinancialStatus(src.FinancialStatus) {
		case FinancialPaid, FinancialPartiallyRefunded, FinancialRefunded:
			return src.TotalPrice, refunded
		}
		return decimal.Zero, refunded
	}
	fromTransactions := decimal.Zero
	for _, t := range src.Transactions {
		if t.Status != "success" {
			continue
		}
		switch t.Kind {
		case "sale", "capture":
			captured = captured.Add(t.Amount)
		case "refund":
			fromTransactions = fromTransactions.Add(t.Amount)
		}
	}
	return captured, decimal.Max(refunded, fromTransactions)
}

var statusLabels = map[Status]string{
	StatusOpen:      "Open",
	StatusArchived:  "Archived",
	StatusCancelled: "Cancelled",
}

var financialLabels = map[FinancialStatus]string{
	FinancialPending:           "Payment pending",
	FinancialAuthorized:        "Authorized",
	FinancialPartiallyPaid:     "Partially paid",
	FinancialPaid:              "Paid",
	FinancialPartiallyRefunded: "Partially refunded",
	FinancialRefunded:          "Refunded",
	FinancialVoided:            "Voided",
	FinancialExpired:           "Expired",
}

var fulfillmentLabels = map[FulfillmentStatus]string{
	FulfillmentUnfulfilled: "Unfulfilled",
	FulfillmentPartial:     "Partially fulfilled",
	FulfillmentFulfilled:   "Fulfilled",
	FulfillmentRestocked:   "Restocked",
}

var shipmentLabels = map[ShipmentStatus]string{
	ShipmentLabelCreated:      "Label created",
	ShipmentReadyForPickup:    "Ready for pickup",
	ShipmentInTransit:         "In transit",
	ShipmentOutForDelivery:    "Out for delivery",
	ShipmentAttemptedDelivery: "Delivery attempted",
	ShipmentDelivered:         "Delivered",
	ShipmentFailure:           "Delivery failed",
}

// fulfillmentLabel adds the shipment's progress once something shipped:
// "Arriving on 3 December 2026" tells an agent more than "Fulfilled". A
// partially shipped order says so first, and never "Delivered": items are
// still to ship.
func fulfillmentLabel(fs FulfillmentStatus, s *Shipment) string {
	if s == nil || (fs != FulfillmentFulfilled && fs != FulfillmentPartial) {
		return fulfillmentLabels[fs]
	}
	progress := shipmentLabels[s.Status]
	if s.Status == ShipmentInTransit && s.EstimatedDeliveryAt != nil {
		progress = "Arriving on " + formatDay(*s.EstimatedDeliveryAt)
	}
	if fs == FulfillmentPartial {
		if s.Status == ShipmentDelivered {
			return fulfillmentLabels[fs]
		}
		return fulfillmentLabels[fs] + " · " + progress
	}
	return progress
}

// formatDay writes a date as the CRM shows it: "3 December 2026". Shopify
// gives estimated deliveries as a UTC instant, midnight for a day.
func formatDay(t time.Time) string {
	d := t.UTC()
	return fmt.Sprintf("%d %s %d", d.Day(), d.Month(), d.Year())
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
