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

	Currency      string
	TotalPrice    decimal.Decimal
	Captured      decimal.Decimal
	TotalRefunded decimal.Decimal
	Refundable    decimal.Decimal

	Status            Status
	FinancialStatus   FinancialStatus
	FulfillmentStatus FulfillmentStatus
	Shipment          *Shipment
	Labels            Labels

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
		ID:           src.ID,
		Name:         src.Name,
		Number:       src.OrderNumber,
		CreatedAt:    src.CreatedAt,
		UpdatedAt:    src.UpdatedAt,
		ProcessedAt:  src.ProcessedAt,
		CancelledAt:  src.CancelledAt,
		CancelReason: src.CancelReason,
		ClosedAt:     src.ClosedAt,
		Currency:     src.Currency,
		TotalPrice:   src.TotalPrice,
		SyncedAt:     syncedAt,
		Source:       src,
	}
	if c := src.Customer; c != nil {
		o.Customer = &Customer{ID: c.ID, Email: cmp.Or(c.Email, src.Email), Phone: cmp.Or(c.Phone, src.Phone), FirstName: c.FirstName, LastName: c.LastName}
	}
	o.Status = mapStatus(src)
	o.FinancialStatus = mapFinancialStatus(src.FinancialStatus)
	o.Fulfillments = mapFulfillments(src.Fulfillments)
	o.FulfillmentStatus = mapFulfillmentStatus(src)
	o.Shipment = orderShipment(o.Fulfillments)
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

// shipmentStatus maps Shopify's shipment_status and fulfilment event
// statuses onto orderdesk's six. Pre-carrier states (label printed, confirmed)
// count as in transit: the parcel has left the merchant's hands.
func shipmentStatus(s string) ShipmentStatus {
	switch s {
	case "ready_for_pickup":
		return ShipmentReadyForPickup
	case "in_transit", "confirmed", "label_printed", "label_purchased", "picked_up", "carrier_picked_up":
		return ShipmentInTransit
	case "out_for_delivery":
		return ShipmentOutForDelivery
	case "attempted_delivery", "delayed":
		return ShipmentAttemptedDelivery
	case "delivered":
		return ShipmentDelivered
	case "failure":
		return ShipmentFailure
	default:
		return ""
	}
}

func mapFulfillments(src []ShopifyFulfillment) []Fulfillment {
	out := make([]Fulfillment, 0, len(src))
	for _, f := range src {
		mf := Fulfillment{
			ID:              f.ID,
			Status:          f.Status,
			CreatedAt:       f.CreatedAt,
			ShipmentStatus:  shipmentStatus(f.ShipmentStatus),
			TrackingCompany: f.TrackingCompany,
			TrackingNumbers: f.TrackingNumbers,
			TrackingURLs:    f.TrackingURLs,
		}
		// The newest carrier event is the freshest word on the parcel.
		events := slices.Clone(f.Events)
		slices.SortStableFunc(events, func(a, b ShopifyFulfillmentEvent) int { return a.HappenedAt.Compare(b.HappenedAt) })
		for _, e := range events {
			if s := shipmentStatus(e.Status); s != "" {
				mf.ShipmentStatus = s
			}
			if e.EstimatedDeliveryAt != nil {
				mf.EstimatedDeliveryAt = e.EstimatedDeliveryAt
			}
		}
		if f.Status == "success" && mf.ShipmentStatus == "" && mf.TrackingCompany+firstOr(f.TrackingNumbers) != "" {
			mf.ShipmentStatus = ShipmentInTransit
		}
		out = append(out, mf)
	}
	return out
}

// shipmentPriority orders shipment states: problems first, then the least
// advanced, so the order-level status shows what work remains.
var shipmentPriority = map[ShipmentStatus]int{
	ShipmentFailure:           0,
	ShipmentAttemptedDelivery: 1,
	ShipmentInTransit:         2,
	ShipmentOutForDelivery:    3,
	ShipmentReadyForPickup:    4,
	ShipmentDelivered:         5,
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
	s := &Shipment{Status: best.ShipmentStatus}
	if best.ShipmentStatus != ShipmentDelivered {
		s.EstimatedDeliveryAt = best.EstimatedDeliveryAt
	}
	return s
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
	ShipmentReadyForPickup:    "Ready for pickup",
	ShipmentInTransit:         "In transit",
	ShipmentOutForDelivery:    "Out for delivery",
	ShipmentAttemptedDelivery: "Delivery attempted",
	ShipmentDelivered:         "Delivered",
	ShipmentFailure:           "Delivery failed",
}

// fulfillmentLabel prefers the shipment's progress once something shipped:
// "Arriving on 3 December 2026" tells an agent more than "Fulfilled".
func fulfillmentLabel(fs FulfillmentStatus, s *Shipment) string {
	if s == nil || (fs != FulfillmentFulfilled && fs != FulfillmentPartial) {
		return fulfillmentLabels[fs]
	}
	if s.Status == ShipmentInTransit && s.EstimatedDeliveryAt != nil {
		d := s.EstimatedDeliveryAt.UTC()
		return fmt.Sprintf("Arriving on %d %s %d", d.Day(), d.Month(), d.Year())
	}
	return shipmentLabels[s.Status]
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
