// Response shapes of orders and their conversion from the domain.

package api

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// OrderResponse is an order as the CRM sees it.
type OrderResponse struct {
	ID           int64             `json:"id" example:"450789469" format:"int64"`
	Name         string            `json:"name" example:"#1001"`
	OrderNumber  int               `json:"order_number" example:"1001"`
	CreatedAt    time.Time         `json:"created_at" example:"2026-11-20T10:00:00Z" format:"date-time"`
	UpdatedAt    time.Time         `json:"updated_at" example:"2026-11-21T08:30:00Z" format:"date-time"`
	ProcessedAt  *time.Time        `json:"processed_at" extensions:"x-nullable" format:"date-time" example:"2026-11-20T10:00:05Z"`
	CancelledAt  *time.Time        `json:"cancelled_at" extensions:"x-nullable" format:"date-time" example:"2026-11-22T09:15:00Z"`
	CancelReason *string           `json:"cancel_reason" extensions:"x-nullable" example:"customer"`
	ClosedAt     *time.Time        `json:"closed_at" extensions:"x-nullable" format:"date-time" example:"2026-11-22T09:15:00Z"`
	Customer     *CustomerResponse `json:"customer" extensions:"x-nullable"`
	Currency     string            `json:"currency" example:"USD"`
	// total_price = subtotal_price + total_shipping + total_tax (unless
	// taxes_included) + any duties and tips, which are not itemised.
	TotalPrice string `json:"total_price" example:"199.00" format:"decimal"`
	// The line items after their discounts, before shipping and tax.
	SubtotalPrice string `json:"subtotal_price" example:"189.00" format:"decimal"`
	// Shipping charged, after shipping discounts.
	TotalShipping string `json:"total_shipping" example:"10.00" format:"decimal"`
	// Tax charged; part of the prices when taxes_included.
	TotalTax string `json:"total_tax" example:"0.00" format:"decimal"`
	// Every discount (lines, order, shipping), already taken off subtotal_price and total_shipping.
	TotalDiscounts string `json:"total_discounts" example:"0.00" format:"decimal"`
	// Prices include tax (as in most of Europe): total_tax is not added on top.
	TaxesIncluded     bool              `json:"taxes_included" example:"false"`
	TotalRefunded     string            `json:"total_refunded" example:"0.00" format:"decimal"`
	RefundableAmount  string            `json:"refundable_amount" example:"199.00" format:"decimal"`
	Status            string            `json:"status" enums:"open,archived,cancelled" example:"open"`
	FinancialStatus   string            `json:"financial_status" enums:"pending,authorized,partially_paid,paid,partially_refunded,refunded,voided,expired" example:"paid"`
	FulfillmentStatus string            `json:"fulfillment_status" enums:"unfulfilled,partially_fulfilled,fulfilled,restocked" example:"partially_fulfilled"`
	Shipment          *ShipmentResponse `json:"shipment" extensions:"x-nullable"`
	// When the last parcel arrived, once everything shipped and every shipment is delivered.
	DeliveredAt  *time.Time            `json:"delivered_at" extensions:"x-nullable" format:"date-time" example:"2026-12-03T14:20:00Z"`
	Labels       LabelsResponse        `json:"labels"`
	LineItems    []LineItemResponse    `json:"line_items"`
	Fulfillments []FulfillmentResponse `json:"fulfillments"`
	Refunds      []RefundResponse      `json:"refunds"`
	Actions      OrderActionsResponse  `json:"actions"`
	SyncedAt     time.Time             `json:"synced_at" example:"2026-11-21T08:31:00Z" format:"date-time"`
} //	@name	Order

// CustomerResponse is the contact an order belongs to.
type CustomerResponse struct {
	ID        int64  `json:"id" example:"207119551" format:"int64"`
	Email     string `json:"email" example:"bob@example.com"`
	Phone     string `json:"phone" example:"+13125551212"`
	FirstName string `json:"first_name" example:"Bob"`
	LastName  string `json:"last_name" example:"Norman"`
} //	@name	Customer

// ShipmentResponse is the order's shipping progress.
type ShipmentResponse struct {
	// The shipment that most needs attention (failure, attempted delivery), else the least advanced.
	Status string `json:"status" enums:"label_created,ready_for_pickup,in_transit,out_for_delivery,attempted_delivery,delivered,failure" example:"in_transit"`
	// The carrier's estimate; null once delivered.
	EstimatedDeliveryAt *time.Time `json:"estimated_delivery_at" extensions:"x-nullable" format:"date-time" example:"2026-12-03T00:00:00Z"`
} //	@name	Shipment

// LabelsResponse are human words for the three statuses.
type LabelsResponse struct {
	Status          string `json:"status" example:"Open"`
	FinancialStatus string `json:"financial_status" example:"Paid"`
	// With the shipment's progress once something shipped; a partially shipped order says so first.
	FulfillmentStatus string `json:"fulfillment_status" example:"Partially fulfilled · Arriving on 3 December 2026"`
} //	@name	Labels

// LineItemResponse is one line of an order.
type LineItemResponse struct {
	ID                int64              `json:"id" example:"466157049" format:"int64"`
	Title             string             `json:"title" example:"IPod Nano - 8gb"`
	VariantTitle      string             `json:"variant_title" example:"green"`
	SKU               string             `json:"sku" example:"IPOD2008GREEN"`
	Quantity          int                `json:"quantity" example:"1"`
	FulfilledQuantity int                `json:"fulfilled_quantity" example:"1"`
	RefundedQuantity  int                `json:"refunded_quantity" example:"0"`
	Price             string             `json:"price" example:"199.00" format:"decimal"`
	Tracking          []TrackingResponse `json:"tracking"`
} //	@name	LineItem

// TrackingResponse is a parcel carrying the line item.
type TrackingResponse struct {
	Company string `json:"company" example:"UPS"`
	Number  string `json:"number" example:"1Z2345"`
	URL     string `json:"url" example:"https://www.ups.com/track?tracknum=1Z2345"`
	Status  string `json:"status" enums:"label_created,ready_for_pickup,in_transit,out_for_delivery,attempted_delivery,delivered,failure" example:"in_transit"`
} //	@name	Tracking

// FulfillmentResponse is one shipment.
type FulfillmentResponse struct {
	ID        int64     `json:"id" example:"255858046" format:"int64"`
	Status    string    `json:"status" example:"success"`
	CreatedAt time.Time `json:"created_at" format:"date-time" example:"2026-11-20T10:00:00Z"`
	// One of the Shipment statuses (label_created … failure); empty when Shopify knows nothing of the parcel (no tracking, no carrier events).
	ShipmentStatus      string     `json:"shipment_status" example:"in_transit"`
	EstimatedDeliveryAt *time.Time `json:"estimated_delivery_at" extensions:"x-nullable" format:"date-time" example:"2026-12-03T00:00:00Z"`
	DeliveredAt         *time.Time `json:"delivered_at" extensions:"x-nullable" format:"date-time" example:"2026-12-03T14:20:00Z"`
	TrackingCompany     string     `json:"tracking_company" example:"UPS"`
	TrackingNumbers     []string   `json:"tracking_numbers" example:"1Z2345"`
	TrackingURLs        []string   `json:"tracking_urls" example:"https://www.ups.com/track?tracknum=1Z2345"`
} //	@name	Fulfillment

// RefundResponse is a refund already made.
type RefundResponse struct {
	ID        int64     `json:"id" example:"509562969" format:"int64"`
	CreatedAt time.Time `json:"created_at" format:"date-time" example:"2026-11-20T10:00:00Z"`
	Amount    string    `json:"amount" example:"10.00" format:"decimal"`
	Note      string    `json:"note" example:"damaged"`
} //	@name	Refund

// OrderActionsResponse says what an agent may do now.
type OrderActionsResponse struct {
	Cancel CancelActionResponse `json:"cancel"`
	Refund RefundActionResponse `json:"refund"`
} //	@name	OrderActions

// CancelActionResponse is whether the order can be cancelled now.
type CancelActionResponse struct {
	Allowed bool `json:"allowed" example:"false"`
	// Why not, when not allowed.
	BlockedReason *string `json:"blocked_reason" extensions:"x-nullable" enums:"already_cancelled,order_fulfilled" example:"order_fulfilled"`
	// The order is paid: cancel may refund in the same action.
	RefundAvailable bool `json:"refund_available" example:"false"`
} //	@name	CancelEligibility

// RefundActionResponse is whether money can be refunded now, and how much.
type RefundActionResponse struct {
	Allowed       bool    `json:"allowed" example:"true"`
	BlockedReason *string `json:"blocked_reason" extensions:"x-nullable" enums:"not_paid,nothing_to_refund" example:"not_paid"`
	MaxAmount     string  `json:"max_amount" example:"199.00" format:"decimal"`
	// Shipped items are involved: a refund touching them needs return "received" or "not_required".
	RequiresReturn bool `json:"requires_return" example:"true"`
} //	@name	RefundEligibility

// OrderListResponse is a page of orders.
type OrderListResponse struct {
	Orders []OrderResponse `json:"orders"`
	// Pass as cursor for the next page; null on the last page.
	NextCursor *string `json:"next_cursor" extensions:"x-nullable" example:"MjAyNi0xMS0yMFQxMDowMDowMFp8NDUwNzg5NDY5"`
	// False while the customer's orders (customer_id) are still being read from Shopify, the first time that
	// contact is listed: orderdesk answers with what it has read (newest first) and reads the rest in the
	// background. Orders still to come are older than every order listed so far, so the pages already served
	// never change: keep following next_cursor (a page may be short, even empty, until the read gets there)
	// or list again later. True otherwise.
	Complete bool `json:"complete" example:"true"`
} //	@name	OrderList

func toOrderResponse(o orders.Order) OrderResponse {
	money := func(d decimal.Decimal) string { return orders.FormatMoney(d, o.Currency) }
	r := OrderResponse{
		ID:                o.ID,
		Name:              o.Name,
		OrderNumber:       o.Number,
		CreatedAt:         o.CreatedAt,
		UpdatedAt:         o.UpdatedAt,
		ProcessedAt:       o.ProcessedAt,
		CancelledAt:       o.CancelledAt,
		CancelReason:      optString(o.CancelReason),
		ClosedAt:          o.ClosedAt,
		Currency:          o.Currency,
		TotalPrice:        money(o.TotalPrice),
		SubtotalPrice:     money(o.SubtotalPrice),
		TotalShipping:     money(o.TotalShipping),
		TotalTax:          money(o.TotalTax),
		TotalDiscounts:    money(o.TotalDiscounts),
		TaxesIncluded:     o.TaxesIncluded,
		TotalRefunded:     money(o.TotalRefunded),
		RefundableAmount:  money(o.Refundable),
		Status:            string(o.Status),
		FinancialStatus:   string(o.FinancialStatus),
		FulfillmentStatus: string(o.FulfillmentStatus),
		DeliveredAt:       o.DeliveredAt,
		Labels:            LabelsResponse(o.Labels),
		LineItems:         make([]LineItemResponse, 0, len(o.LineItems)),
		Fulfillments:      make([]FulfillmentResponse, 0, len(o.Fulfillments)),
		Refunds:           make([]RefundResponse, 0, len(o.Refunds)),
		Actions: OrderActionsResponse{
			Cancel: CancelActionResponse{
				Allowed:         o.Actions.Cancel.Allowed,
				BlockedReason:   optString(string(o.Actions.Cancel.BlockedReason)),
				RefundAvailable: o.Actions.Cancel.RefundAvailable,
			},
			Refund: RefundActionResponse{
				Allowed:        o.Actions.Refund.Allowed,
				BlockedReason:  optString(string(o.Actions.Refund.BlockedReason)),
				MaxAmount:      money(o.Actions.Refund.MaxAmount),
				RequiresReturn: o.Actions.Refund.RequiresReturn,
			},
		},
		SyncedAt: o.SyncedAt,
	}
	if c := o.Customer; c != nil {
		r.Customer = &CustomerResponse{ID: c.ID, Email: c.Email, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName}
	}
	if sh := o.Shipment; sh != nil {
		r.Shipment = &ShipmentResponse{Status: string(sh.Status), EstimatedDeliveryAt: sh.EstimatedDeliveryAt}
	}
	for _, li := range o.LineItems {
		r.LineItems = append(r.LineItems, toLineItemResponse(li, o.Currency))
	}
	for _, f := range o.Fulfillments {
		r.Fulfillments = append(r.Fulfillments, FulfillmentResponse{
			ID: f.ID, Status: f.Status, CreatedAt: f.CreatedAt, ShipmentStatus: string(f.ShipmentStatus),
			EstimatedDeliveryAt: f.EstimatedDeliveryAt, DeliveredAt: f.DeliveredAt, TrackingCompany: f.TrackingCompany,
			TrackingNumbers: nonNil(f.TrackingNumbers), TrackingURLs: nonNil(f.TrackingURLs),
		})
	}
	for _, rf := range o.Refunds {
		r.Refunds = append(r.Refunds, RefundResponse{ID: rf.ID, CreatedAt: rf.CreatedAt, Amount: money(rf.Amount), Note: rf.Note})
	}
	return r
}

func toLineItemResponse(li orders.LineItem, currency string) LineItemResponse {
	lr := LineItemResponse{
		ID: li.ID, Title: li.Title, VariantTitle: li.VariantTitle, SKU: li.SKU, Quantity: li.Quantity,
		FulfilledQuantity: li.FulfilledQuantity, RefundedQuantity: li.RefundedQuantity, Price: orders.FormatMoney(li.Price, currency),
		Tracking: make([]TrackingResponse, 0, len(li.Tracking)),
	}
	for _, t := range li.Tracking {
		lr.Tracking = append(lr.Tracking, TrackingResponse{Company: t.Company, Number: t.Number, URL: t.URL, Status: string(t.Status)})
	}
	return lr
}
