// Package events is orderdesk's outbound events to the CRM: what an event
// says (derived from an order's facts and from actions' outcomes), how it is
// signed (Standard Webhooks), and how it is delivered (per endpoint, at
// least once, in each order's sequence, with backoff over days). The store
// writes events in the transaction of the change they report (an outbox);
// River jobs deliver them.
package events

import (
	"encoding/json"
	"time"
)

// Event types.
const (
	TypeOrderPlaced             = "order.placed"
	TypeOrderPaid               = "order.paid"
	TypeOrderPartiallyPaid      = "order.partially_paid"
	TypeOrderFulfilled          = "order.fulfilled"
	TypeOrderPartiallyFulfilled = "order.partially_fulfilled"
	TypeShipmentReadyForPickup  = "shipment.ready_for_pickup"
	TypeShipmentInTransit       = "shipment.in_transit"
	TypeShipmentOutForDelivery  = "shipment.out_for_delivery"
	TypeShipmentAttempted       = "shipment.attempted_delivery"
	TypeShipmentDelivered       = "shipment.delivered"
	TypeShipmentFailure         = "shipment.failure"
	TypeOrderCancelled          = "order.cancelled"
	TypeOrderRefunded           = "order.refunded"
	TypeActionSucceeded         = "action.succeeded"
	TypeActionFailed            = "action.failed"
)

// Types lists every event type, for endpoint filters and documentation.
var Types = []string{
	TypeOrderPlaced, TypeOrderPaid, TypeOrderPartiallyPaid, TypeOrderFulfilled, TypeOrderPartiallyFulfilled,
	TypeShipmentReadyForPickup, TypeShipmentInTransit, TypeShipmentOutForDelivery, TypeShipmentAttempted,
	TypeShipmentDelivered, TypeShipmentFailure, TypeOrderCancelled, TypeOrderRefunded,
	TypeActionSucceeded, TypeActionFailed,
}

// KnownType reports whether t is an event type.
func KnownType(t string) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Event is one outbound event. Marshalled, it is the body a receiver gets
// (and GET /events shows); Key and Silent stay inside orderdesk.
type Event struct {
	ID         string       `json:"id"`
	Type       string       `json:"type"`
	OccurredAt time.Time    `json:"occurred_at"`
	CreatedAt  time.Time    `json:"created_at"`
	Sequence   int64        `json:"sequence"`
	Shop       Shop         `json:"shop"`
	Contact    Contact      `json:"contact"`
	Order      OrderSummary `json:"order"`

	// The part that changed: one of these, by type.
	Payment      *Payment      `json:"payment,omitempty"`
	Fulfillment  *Fulfillment  `json:"fulfillment,omitempty"`
	Shipment     *Shipment     `json:"shipment,omitempty"`
	Cancellation *Cancellation `json:"cancellation,omitempty"`
	Refund       *Refund       `json:"refund,omitempty"`
	Action       *Action       `json:"action,omitempty"`

	// Key names the fact the event reports, unique in its shop: deriving an
	// order's facts again never makes a second event for one fact.
	Key string `json:"-"`
	// Silent events record facts learned as history (a backfill, a
	// contact's first read); they are never delivered or listed.
	Silent bool `json:"-"`
}

// Shop is the shop an event belongs to.
type Shop struct {
	ID     int64  `json:"id"`
	Domain string `json:"domain"`
}

// Contact is the customer the event concerns; zero values when the order
// has no customer (a guest checkout keeps its email and phone).
type Contact struct {
	CustomerID *int64 `json:"customer_id"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
}

// OrderSummary is the order as it stood after the change.
type OrderSummary struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	OrderNumber       int    `json:"order_number"`
	Status            string `json:"status"`
	FinancialStatus   string `json:"financial_status"`
	FulfillmentStatus string `json:"fulfillment_status"`
	Currency          string `json:"currency"`
	TotalPrice        string `json:"total_price"`
	TotalRefunded     string `json:"total_refunded"`
	RefundableAmount  string `json:"refundable_amount"`
}

// Payment is the money captured (order.paid, order.partially_paid).
type Payment struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Fulfillment is a shipment made (order.fulfilled, order.partially_fulfilled).
type Fulfillment struct {
	FulfillmentID   int64      `json:"fulfillment_id"`
	TrackingCompany string     `json:"tracking_company,omitempty"`
	TrackingNumbers []string   `json:"tracking_numbers"`
	TrackingURLs    []string   `json:"tracking_urls"`
	LineItems       []ItemPart `json:"line_items"`
}

// ItemPart is a quantity of a line item.
type ItemPart struct {
	LineItemID  int64  `json:"line_item_id"`
	Title       string `json:"title,omitempty"`
	Quantity    int    `json:"quantity"`
	RestockType string `json:"restock_type,omitempty"`
}

// Shipment is a carrier status a shipment reached (shipment.*).
type Shipment struct {
	FulfillmentID       int64      `json:"fulfillment_id"`
	Status              string     `json:"status"`
	EstimatedDeliveryAt *time.Time `json:"estimated_delivery_at,omitempty"`
	TrackingNumbers     []string   `json:"tracking_numbers"`
}

// Cancellation is an order's cancellation (order.cancelled).
type Cancellation struct {
	Reason string `json:"reason,omitempty"`
}

// Refund is a refund made at Shopify (order.refunded), by an agent's action
// or anywhere else.
type Refund struct {
	ShopifyRefundID int64      `json:"shopify_refund_id"`
	Amount          string     `json:"amount"`
	Currency        string     `json:"currency"`
	Shipping        string     `json:"shipping"`
	LineItems       []ItemPart `json:"line_items"`
	Note            string     `json:"note,omitempty"`
}

// Action is an agent's cancel or refund that reached its end
// (action.succeeded, action.failed).
type Action struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Status  string          `json:"status"`
	AgentID string          `json:"agent_id"`
	Request json.RawMessage `json:"request"`
	Outcome ActionOutcome   `json:"outcome"`
}

// ActionOutcome is what the action did.
type ActionOutcome struct {
	Cancelled       bool       `json:"cancelled"`
	Refunded        bool       `json:"refunded"`
	Amount          *string    `json:"amount,omitempty"`
	Currency        string     `json:"currency,omitempty"`
	ShopifyRefundID *int64     `json:"shopify_refund_id,omitempty"`
	Error           string     `json:"error,omitempty"`
	CompletedAt     *time.Time `json:"completed_at,omitempty"`
}
