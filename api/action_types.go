// Request and response shapes of cancel, refund and their previews.

package api

import (
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// CancelBody is an agent's cancellation.
type CancelBody struct {
	// Shopify's cancellation reason.
	Reason string            `json:"reason" enums:"customer,inventory,fraud,declined,staff,other" example:"customer"`
	Refund *CancelRefundBody `json:"refund,omitempty"`
	// Put the items back in stock (default true).
	Restock        *bool  `json:"restock,omitempty" example:"true"`
	NotifyCustomer bool   `json:"notify_customer,omitempty" example:"true"`
	StaffNote      string `json:"staff_note,omitempty" example:"Customer called to cancel"`
} //	@name	CancelRequest

// CancelRefundBody says whether cancelling also refunds (paid orders).
type CancelRefundBody struct {
	Mode string `json:"mode" enums:"none,full,amount" example:"amount"`
	// Decimal string in the order's currency; with mode "amount" only.
	Amount *string `json:"amount,omitempty" example:"10.00" format:"decimal"`
} //	@name	CancelRefund

// RefundBody is an agent's refund: an amount, or line items and/or shipping.
type RefundBody struct {
	// Decimal string in the order's currency.
	Amount    *string          `json:"amount,omitempty" example:"25.00" format:"decimal"`
	LineItems []RefundLineBody `json:"line_items,omitempty"`
	Shipping  *ShippingBody    `json:"shipping,omitempty"`
	Note      string           `json:"note,omitempty" example:"Damaged in transit"`
	// Send Shopify's refund notification.
	NotifyCustomer bool `json:"notify_customer,omitempty" example:"true"`
	// Required when shipped items are involved: the item is back ("received") or the shop does not need it back ("not_required").
	Return *string `json:"return,omitempty" enums:"received,not_required" example:"received"`
} //	@name	RefundRequest

// RefundLineBody refunds a quantity of a line item.
type RefundLineBody struct {
	LineItemID int64 `json:"line_item_id" example:"466157049" format:"int64"`
	Quantity   int   `json:"quantity" example:"1"`
	// Put the items back in stock: "cancel" for unshipped, "return" for received items.
	Restock bool `json:"restock,omitempty" example:"true"`
} //	@name	RefundLine

// ShippingBody refunds shipping: all of it, or an amount.
type ShippingBody struct {
	Full   bool    `json:"full,omitempty" example:"true"`
	Amount *string `json:"amount,omitempty" example:"5.00" format:"decimal"`
} //	@name	RefundShipping

// ActionResponse is one cancel or refund attempt.
type ActionResponse struct {
	ID      string `json:"id" example:"3f0e9c43-5d2b-4f3c-9a51-6a8e0f3b7c21"`
	OrderID int64  `json:"order_id" example:"450789469" format:"int64"`
	Kind    string `json:"kind" enums:"cancel,refund" example:"refund"`
	// unknown: Shopify gave no definite answer; reconciled within about 30 s.
	Status          string      `json:"status" enums:"pending,succeeded,failed,unknown" example:"succeeded"`
	AgentID         string      `json:"agent_id" example:"42"`
	Reason          *string     `json:"reason" extensions:"x-nullable" example:"customer"`
	Amount          *string     `json:"amount" extensions:"x-nullable" example:"10.00" format:"decimal"`
	Currency        *string     `json:"currency" extensions:"x-nullable" example:"USD"`
	Parts           ActionParts `json:"parts"`
	ShopifyRefundID *int64      `json:"shopify_refund_id" extensions:"x-nullable" example:"509562969" format:"int64"`
	Error           *string     `json:"error" extensions:"x-nullable" example:"not_paid: no payment has been captured on this order"`
	CreatedAt       time.Time   `json:"created_at" format:"date-time" example:"2026-11-20T10:00:00Z"`
	CompletedAt     *time.Time  `json:"completed_at" extensions:"x-nullable" format:"date-time" example:"2026-11-22T09:15:02Z"`
} //	@name	Action

// ActionParts says what happened to each part of an action.
type ActionParts struct {
	Cancel string `json:"cancel" enums:"not_requested,pending,succeeded,failed,unknown" example:"succeeded"`
	Refund string `json:"refund" enums:"not_requested,pending,succeeded,failed,unknown" example:"succeeded"`
} //	@name	ActionParts

// ActionResultResponse is an action and the order after it.
type ActionResultResponse struct {
	Action ActionResponse `json:"action"`
	Order  OrderResponse  `json:"order"`
} //	@name	ActionResult

// ActionListResponse is an order's actions, newest first.
type ActionListResponse struct {
	Actions []ActionResponse `json:"actions"`
} //	@name	ActionList

// ReasonResponse is a cancellation reason.
type ReasonResponse struct {
	Code  string `json:"code" example:"customer"`
	Label string `json:"label" example:"Customer changed or cancelled the order"`
} //	@name	CancelReason

// CancelPreviewResponse is what cancelling would do.
type CancelPreviewResponse struct {
	OrderID        int64               `json:"order_id" example:"450789470" format:"int64"`
	Cancellable    bool                `json:"cancellable" example:"true"`
	BlockedReason  *string             `json:"blocked_reason" extensions:"x-nullable" enums:"already_cancelled,order_fulfilled" example:"order_fulfilled"`
	Reasons        []ReasonResponse    `json:"reasons"`
	LineItems      []LineItemResponse  `json:"line_items"`
	Refund         CancelRefundOptions `json:"refund"`
	RestockDefault bool                `json:"restock_default" example:"true"`
} //	@name	CancelPreview

// CancelRefundOptions are the refund choices of a cancellation.
type CancelRefundOptions struct {
	Available bool     `json:"available" example:"true"`
	Modes     []string `json:"modes" example:"none,full,amount"`
	MaxAmount string   `json:"max_amount" example:"64.90" format:"decimal"`
	Currency  string   `json:"currency" example:"USD"`
} //	@name	CancelRefundOptions

// RefundPreviewResponse is what can be refunded.
type RefundPreviewResponse struct {
	OrderID        int64                 `json:"order_id" example:"450789481" format:"int64"`
	Refundable     bool                  `json:"refundable" example:"true"`
	BlockedReason  *string               `json:"blocked_reason" extensions:"x-nullable" enums:"not_paid,nothing_to_refund" example:"not_paid"`
	MaxAmount      string                `json:"max_amount" example:"99.95" format:"decimal"`
	Currency       string                `json:"currency" example:"USD"`
	RequiresReturn bool                  `json:"requires_return" example:"true"`
	LineItems      []RefundableLineResp  `json:"line_items"`
	Shipping       RefundShippingPreview `json:"shipping"`
} //	@name	RefundPreview

// RefundableLineResp is a line item that can still be refunded.
type RefundableLineResp struct {
	LineItemID int64  `json:"line_item_id" example:"4507894810" format:"int64"`
	Title      string `json:"title" example:"Coffee Grinder"`
	Quantity   int    `json:"quantity" example:"1"`
	Price      string `json:"price" example:"99.95" format:"decimal"`
	// Shipped: refunding it needs return "received" or "not_required".
	Shipped bool `json:"shipped" example:"true"`
} //	@name	RefundableLine

// RefundShippingPreview is the shipping that can still be refunded.
type RefundShippingPreview struct {
	MaxAmount string `json:"max_amount" example:"0.00" format:"decimal"`
} //	@name	RefundShippingPreview

// partState is what happened to one part of an action: a part not done
// shares the action's pending, failed or unknown.
func partState(requested, done bool, status orders.ActionStatus) string {
	switch {
	case !requested:
		return "not_requested"
	case done:
		return "succeeded"
	default:
		return string(status)
	}
}

func toActionResponse(a orders.Action) ActionResponse {
	r := ActionResponse{
		ID: a.ID, OrderID: a.OrderID, Kind: string(a.Kind), Status: string(a.Status), AgentID: a.AgentID,
		Reason: optString(a.Reason), Currency: optString(a.Currency), ShopifyRefundID: a.ShopifyRefundID,
		Error: optString(a.Error), CreatedAt: a.CreatedAt, CompletedAt: a.CompletedAt,
	}
	if a.Amount != nil {
		amount := orders.FormatMoney(*a.Amount, a.Currency)
		r.Amount = &amount
	}
	r.Parts = ActionParts{
		Cancel: partState(a.Kind == orders.ActionCancel, a.CancelDone, a.Status),
		Refund: partState(a.RefundRequested, a.RefundDone, a.Status),
	}
	return r
}
