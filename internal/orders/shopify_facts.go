package orders

import (
	"time"

	"github.com/shopspring/decimal"
)

// ShopifyOrder is what orderdesk knows of an order as Shopify reported it:
// the subset of Shopify's REST order resource the domain reads, with the same
// JSON field names, plus the fulfilment events and transactions that Shopify
// serves from their own endpoints. Adapters fill it; the store persists it as
// the order's JSON; Build derives everything the CRM sees from it.
type ShopifyOrder struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name"`
	OrderNumber  int             `json:"order_number"`
	Email        string          `json:"email,omitempty"`
	Phone        string          `json:"phone,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	ProcessedAt  *time.Time      `json:"processed_at,omitempty"`
	CancelledAt  *time.Time      `json:"cancelled_at,omitempty"`
	CancelReason string          `json:"cancel_reason,omitempty"`
	ClosedAt     *time.Time      `json:"closed_at,omitempty"`
	Currency     string          `json:"currency"`
	TotalPrice   decimal.Decimal `json:"total_price"`
	// The parts of the total: TotalPrice = SubtotalPrice + TotalShipping +
	// TotalTax (unless TaxesIncluded) + duties and tips, which orderdesk
	// does not itemise. SubtotalPrice is the lines after their discounts,
	// TotalShipping the shipping after its discounts, TotalDiscounts every
	// discount (lines, order and shipping), already taken off the others.
	SubtotalPrice     decimal.Decimal      `json:"subtotal_price"`
	TotalShipping     decimal.Decimal      `json:"total_shipping"`
	TotalTax          decimal.Decimal      `json:"total_tax"`
	TotalDiscounts    decimal.Decimal      `json:"total_discounts"`
	TaxesIncluded     bool                 `json:"taxes_included,omitempty"`
	FinancialStatus   string               `json:"financial_status,omitempty"`
	FulfillmentStatus string               `json:"fulfillment_status,omitempty"`
	Customer          *ShopifyCustomer     `json:"customer,omitempty"`
	LineItems         []ShopifyLineItem    `json:"line_items"`
	ShippingLines     []ShopifyShipping    `json:"shipping_lines,omitempty"`
	Fulfillments      []ShopifyFulfillment `json:"fulfillments,omitempty"`
	Refunds           []ShopifyRefund      `json:"refunds,omitempty"`
	// PresentmentCurrency is the currency the customer paid in, when the
	// adapter knows it; refunds are made in it.
	PresentmentCurrency string `json:"presentment_currency,omitempty"`
	// Transactions come from /orders/{id}/transactions.json; nil when not
	// fetched (a webhook body has none), which is not the same as empty:
	// omitzero keeps an empty list in the stored JSON, so the stored copy
	// says what the order read said (the document rendered when it was
	// written is what its facts render).
	Transactions []ShopifyTransaction `json:"transactions,omitzero"`
}

// ShopifyCustomer is the contact an order belongs to.
type ShopifyCustomer struct {
	ID        int64  `json:"id"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

// ShopifyLineItem is one line of an order.
type ShopifyLineItem struct {
	ID           int64           `json:"id"`
	Title        string          `json:"title"`
	VariantTitle string          `json:"variant_title,omitempty"`
	SKU          string          `json:"sku,omitempty"`
	Quantity     int             `json:"quantity"`
	Price        decimal.Decimal `json:"price"`
}

// ShopifyShipping is a shipping line, its price and what the customer
// paid for it after shipping discounts.
type ShopifyShipping struct {
	ID              int64           `json:"id"`
	Title           string          `json:"title"`
	Price           decimal.Decimal `json:"price"`
	DiscountedPrice decimal.Decimal `json:"discounted_price"`
}

// ShopifyFulfillment is one shipment of some of an order's line items.
type ShopifyFulfillment struct {
	ID             int64     `json:"id"`
	Status         string    `json:"status"` // pending, open, success, cancelled, error, failure
	LocationID     int64     `json:"location_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ShipmentStatus string    `json:"shipment_status,omitempty"`
	// DeliveredAt is Shopify's delivery time where it gives one (GraphQL's
	// Fulfillment.deliveredAt); otherwise the delivered event's time is used.
	DeliveredAt     *time.Time                `json:"delivered_at,omitempty"`
	TrackingCompany string                    `json:"tracking_company,omitempty"`
	TrackingNumbers []string                  `json:"tracking_numbers,omitempty"`
	TrackingURLs    []string                  `json:"tracking_urls,omitempty"`
	LineItems       []ShopifyFulfilledItem    `json:"line_items"`
	Events          []ShopifyFulfillmentEvent `json:"events,omitempty"`
}

// ShopifyFulfilledItem is a line item as listed inside a fulfilment.
type ShopifyFulfilledItem struct {
	ID       int64 `json:"id"`
	Quantity int   `json:"quantity"`
}

// ShopifyFulfillmentEvent is a carrier update on a fulfilment. Status is
// Shopify's FulfillmentEventStatus in either spelling (in_transit,
// IN_TRANSIT); ID orders events of one time, as Shopify's own sort does.
type ShopifyFulfillmentEvent struct {
	ID                  int64      `json:"id"`
	Status              string     `json:"status"`
	HappenedAt          time.Time  `json:"happened_at"`
	EstimatedDeliveryAt *time.Time `json:"estimated_delivery_at,omitempty"`
	Message             string     `json:"message,omitempty"`
}

// ShopifyRefund is a refund already made on the order.
type ShopifyRefund struct {
	ID              int64                `json:"id"`
	CreatedAt       time.Time            `json:"created_at"`
	Note            string               `json:"note,omitempty"`
	RefundLineItems []ShopifyRefundLine  `json:"refund_line_items,omitempty"`
	Transactions    []ShopifyTransaction `json:"transactions,omitempty"`
	Adjustments     []ShopifyAdjustment  `json:"order_adjustments,omitempty"`
}

// ShopifyRefundLine is a line item quantity returned by a refund.
type ShopifyRefundLine struct {
	LineItemID  int64  `json:"line_item_id"`
	Quantity    int    `json:"quantity"`
	RestockType string `json:"restock_type,omitempty"`
}

// ShopifyAdjustment is an order adjustment of a refund (e.g. shipping).
type ShopifyAdjustment struct {
	Kind   string          `json:"kind"`
	Amount decimal.Decimal `json:"amount"`
}

// ShopifyTransaction is a money movement: sale, authorization, capture, void, refund.
type ShopifyTransaction struct {
	ID        int64           `json:"id"`
	ParentID  *int64          `json:"parent_id,omitempty"`
	Kind      string          `json:"kind"`
	Status    string          `json:"status"`
	Gateway   string          `json:"gateway,omitempty"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}
