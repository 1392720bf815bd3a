package api

import (
	"time"
)

// EventPayload is one outbound event: the body of a delivery to an event
// endpoint (signed per Standard Webhooks; webhook-id is id) and an entry of
// GET /events. One of payment, fulfillment, shipment, cancellation, refund
// or action is set, by type.
type EventPayload struct {
	ID   string `json:"id" example:"evt_01936f0e-8a4b-7c2d-9e1f-2a3b4c5d6e7f"`
	Type string `json:"type" enums:"order.placed,order.paid,order.partially_paid,order.fulfilled,order.partially_fulfilled,shipment.ready_for_pickup,shipment.in_transit,shipment.out_for_delivery,shipment.attempted_delivery,shipment.delivered,shipment.failure,order.cancelled,order.refunded,action.succeeded,action.failed" example:"order.refunded"`
	// When the change happened (at Shopify, or the action's end).
	OccurredAt time.Time `json:"occurred_at" format:"date-time" example:"2026-11-22T09:15:00Z"`
	// When orderdesk wrote the event (with the change, in one transaction).
	CreatedAt time.Time `json:"created_at" format:"date-time" example:"2026-11-22T09:15:00Z"`
	// The order's event count: a receiver drops an event whose sequence is
	// not above the last it applied for that order.
	Sequence     int64                `json:"sequence" example:"5"`
	Shop         EventShop            `json:"shop"`
	Contact      EventContact         `json:"contact"`
	Order        EventOrderSummary    `json:"order"`
	Payment      *EventPayment        `json:"payment,omitempty"`
	Fulfillment  *EventFulfillment    `json:"fulfillment,omitempty"`
	Shipment     *EventShipment       `json:"shipment,omitempty"`
	Cancellation *EventCancellation   `json:"cancellation,omitempty"`
	Refund       *EventRefund         `json:"refund,omitempty"`
	Action       *EventActionOutcomes `json:"action,omitempty"`
} //	@name	EventPayload

// EventShop is the shop the event belongs to.
type EventShop struct {
	ID     int64  `json:"id" example:"1" format:"int64"`
	Domain string `json:"domain" example:"example.myshopify.com"`
} //	@name	EventShop

// EventContact is the customer concerned (a guest checkout: no id).
type EventContact struct {
	CustomerID *int64 `json:"customer_id" extensions:"x-nullable" example:"207119551" format:"int64"`
	Email      string `json:"email,omitempty" example:"bob@example.com"`
	Phone      string `json:"phone,omitempty" example:"+13125551212"`
} //	@name	EventContact

// EventOrderSummary is the order as it stood after the change.
type EventOrderSummary struct {
	ID                int64  `json:"id" example:"450789469" format:"int64"`
	Name              string `json:"name" example:"#1001"`
	OrderNumber       int    `json:"order_number" example:"1001"`
	Status            string `json:"status" enums:"open,archived,cancelled" example:"open"`
	FinancialStatus   string `json:"financial_status" example:"partially_refunded"`
	FulfillmentStatus string `json:"fulfillment_status" example:"unfulfilled"`
	Currency          string `json:"currency" example:"USD"`
	TotalPrice        string `json:"total_price" example:"199.00" format:"decimal"`
	TotalRefunded     string `json:"total_refunded" example:"10.00" format:"decimal"`
	RefundableAmount  string `json:"refundable_amount" example:"189.00" format:"decimal"`
} //	@name	EventOrderSummary

// EventPayment is the money captured (order.paid, order.partially_paid).
type EventPayment struct {
	Amount   string `json:"amount" example:"199.00" format:"decimal"`
	Currency string `json:"currency" example:"USD"`
} //	@name	EventPayment

// EventFulfillment is a shipment made (order.fulfilled, order.partially_fulfilled).
type EventFulfillment struct {
	FulfillmentID   int64           `json:"fulfillment_id" example:"255858046" format:"int64"`
	TrackingCompany string          `json:"tracking_company,omitempty" example:"UPS"`
	TrackingNumbers []string        `json:"tracking_numbers" example:"1Z2345"`
	TrackingURLs    []string        `json:"tracking_urls" example:"https://www.ups.com/track?tracknum=1Z2345"`
	LineItems       []EventItemPart `json:"line_items"`
} //	@name	EventFulfillment

// EventItemPart is a quantity of a line item.
type EventItemPart struct {
	LineItemID  int64  `json:"line_item_id" example:"466157049" format:"int64"`
	Title       string `json:"title,omitempty" example:"IPod Nano - 8gb"`
	Quantity    int    `json:"quantity" example:"1"`
	RestockType string `json:"restock_type,omitempty" example:"return"`
} //	@name	EventItemPart

// EventShipment is a carrier status reached (shipment.*).
type EventShipment struct {
	FulfillmentID       int64      `json:"fulfillment_id" example:"255858046" format:"int64"`
	Status              string     `json:"status" enums:"ready_for_pickup,in_transit,out_for_delivery,attempted_delivery,delivered,failure" example:"in_transit"`
	EstimatedDeliveryAt *time.Time `json:"estimated_delivery_at,omitempty" format:"date-time" example:"2026-11-22T09:15:00Z"`
	TrackingNumbers     []string   `json:"tracking_numbers" example:"1Z2345"`
} //	@name	EventShipment

// EventCancellation is an order's cancellation (order.cancelled).
type EventCancellation struct {
	Reason string `json:"reason,omitempty" example:"customer"`
} //	@name	EventCancellation

// EventRefund is a refund made at Shopify (order.refunded), by an agent's
// action or elsewhere.
type EventRefund struct {
	ShopifyRefundID int64           `json:"shopify_refund_id" example:"509562969" format:"int64"`
	Amount          string          `json:"amount" example:"10.00" format:"decimal"`
	Currency        string          `json:"currency" example:"USD"`
	Shipping        string          `json:"shipping" example:"0.00" format:"decimal"`
	LineItems       []EventItemPart `json:"line_items"`
	Note            string          `json:"note,omitempty" example:"returned"`
} //	@name	EventRefund

// EventActionOutcomes is an agent's cancel or refund that reached its end
// (action.succeeded, action.failed).
type EventActionOutcomes struct {
	ID      string `json:"id" example:"0193a0c4-7f1e-7b7a-9c55-3d1f0e2b4a6c"`
	Kind    string `json:"kind" enums:"cancel,refund" example:"refund"`
	Status  string `json:"status" enums:"succeeded,failed" example:"succeeded"`
	AgentID string `json:"agent_id" example:"42"`
	// The request as the agent made it (the cancel or refund body).
	Request map[string]any     `json:"request"`
	Outcome EventActionOutcome `json:"outcome"`
} //	@name	EventAction

// EventActionOutcome is what the action did.
type EventActionOutcome struct {
	Cancelled       bool       `json:"cancelled" example:"false"`
	Refunded        bool       `json:"refunded" example:"true"`
	Amount          *string    `json:"amount,omitempty" example:"10.00" format:"decimal"`
	Currency        string     `json:"currency,omitempty" example:"USD"`
	ShopifyRefundID *int64     `json:"shopify_refund_id,omitempty" example:"509562969" format:"int64"`
	Error           string     `json:"error,omitempty" example:"Shopify refused the refund: amount exceeds refundable"`
	CompletedAt     *time.Time `json:"completed_at,omitempty" format:"date-time" example:"2026-11-22T09:15:00Z"`
} //	@name	EventActionOutcome
