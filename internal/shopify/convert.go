package shopify

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
)

func toFacts(o goshopify.Order) orders.ShopifyOrder {
	f := orders.ShopifyOrder{
		ID:                int64(o.Id),
		Name:              o.Name,
		OrderNumber:       o.OrderNumber,
		Email:             o.Email,
		Phone:             o.Phone,
		CreatedAt:         timeOf(o.CreatedAt),
		UpdatedAt:         timeOf(o.UpdatedAt),
		ProcessedAt:       utcPtr(o.ProcessedAt),
		CancelledAt:       utcPtr(o.CancelledAt),
		CancelReason:      string(o.CancelReason),
		ClosedAt:          utcPtr(o.ClosedAt),
		Currency:          o.Currency,
		TotalPrice:        dec(o.TotalPrice),
		SubtotalPrice:     dec(o.SubtotalPrice),
		TotalTax:          dec(o.TotalTax),
		TotalDiscounts:    dec(o.TotalDiscounts),
		TaxesIncluded:     o.TaxesIncluded,
		FinancialStatus:   string(o.FinancialStatus),
		FulfillmentStatus: string(o.FulfillmentStatus),
		LineItems:         make([]orders.ShopifyLineItem, 0, len(o.LineItems)),
	}
	f.PresentmentCurrency = o.PresentmentCurrency // refunds are made in it
	if c := o.Customer; c != nil {
		f.Customer = &orders.ShopifyCustomer{ID: int64(c.Id), Email: c.Email, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName}
	}
	for _, li := range o.LineItems {
		f.LineItems = append(f.LineItems, orders.ShopifyLineItem{
			ID: int64(li.Id), Title: li.Title, VariantTitle: li.VariantTitle, SKU: li.SKU,
			Quantity: li.Quantity, Price: dec(li.Price),
		})
	}
	f.TotalShipping = totalShipping(o)
	for _, sl := range o.ShippingLines {
		f.ShippingLines = append(f.ShippingLines, orders.ShopifyShipping{ID: int64(sl.Id), Title: sl.Title, Price: dec(sl.Price), DiscountedPrice: shippingPaid(sl)})
	}
	for _, fl := range o.Fulfillments {
		f.Fulfillments = append(f.Fulfillments, toFulfillment(fl))
	}
	for _, r := range o.Refunds {
		f.Refunds = append(f.Refunds, toRefund(r))
	}
	if o.Transactions != nil {
		for _, t := range o.Transactions {
			f.Transactions = append(f.Transactions, toTransaction(t))
		}
	}
	return f
}

// totalShipping is the shipping the customer paid: the shipping lines
// after their discounts. The REST order's total_shipping_price_set is
// before discounts, so it only stands in when no line is listed.
func totalShipping(o goshopify.Order) decimal.Decimal {
	if len(o.ShippingLines) == 0 {
		if o.TotalShippingPriceSet != nil {
			return dec(o.TotalShippingPriceSet.ShopMoney.Amount)
		}
		return decimal.Zero
	}
	total := decimal.Zero
	for _, sl := range o.ShippingLines {
		total = total.Add(shippingPaid(sl))
	}
	return total
}

// shippingPaid is a shipping line's price after its discounts:
// discounted_price where Shopify gives it (it always does since 2019),
// else the price.
func shippingPaid(sl goshopify.ShippingLines) decimal.Decimal {
	if sl.DiscountedPrice != nil {
		return *sl.DiscountedPrice
	}
	return dec(sl.Price)
}

func toFulfillment(fl goshopify.Fulfillment) orders.ShopifyFulfillment {
	out := orders.ShopifyFulfillment{
		ID:              int64(fl.Id),
		Status:          fl.Status,
		LocationID:      int64(fl.LocationId),
		CreatedAt:       timeOf(fl.CreatedAt),
		UpdatedAt:       timeOf(fl.UpdatedAt),
		ShipmentStatus:  fl.ShipmentStatus,
		TrackingCompany: fl.TrackingCompany,
		TrackingNumbers: fl.TrackingNumbers,
		TrackingURLs:    fl.TrackingUrls,
	}
	// Older payloads carry only the singular fields.
	if len(out.TrackingNumbers) == 0 && fl.TrackingNumber != "" {
		out.TrackingNumbers = []string{fl.TrackingNumber}
	}
	if len(out.TrackingURLs) == 0 && fl.TrackingUrl != "" {
		out.TrackingURLs = []string{fl.TrackingUrl}
	}
	for _, li := range fl.LineItems {
		out.LineItems = append(out.LineItems, orders.ShopifyFulfilledItem{ID: int64(li.Id), Quantity: li.Quantity})
	}
	return out
}

func toRefund(r goshopify.Refund) orders.ShopifyRefund {
	out := orders.ShopifyRefund{ID: int64(r.Id), CreatedAt: timeOf(r.CreatedAt), Note: r.Note}
	for _, rl := range r.RefundLineItems {
		out.RefundLineItems = append(out.RefundLineItems, orders.ShopifyRefundLine{LineItemID: int64(rl.LineItemId), Quantity: rl.Quantity})
	}
	for _, t := range r.Transactions {
		out.Transactions = append(out.Transactions, toTransaction(t))
	}
	for _, a := range r.OrderAdjustments {
		out.Adjustments = append(out.Adjustments, orders.ShopifyAdjustment{Kind: string(a.Kind), Amount: dec(a.Amount)})
	}
	return out
}

func toTransaction(t goshopify.Transaction) orders.ShopifyTransaction {
	return orders.ShopifyTransaction{
		ID: int64(t.Id), ParentID: t.ParentId, Kind: t.Kind, Status: t.Status, Gateway: t.Gateway,
		Amount: dec(t.Amount), Currency: t.Currency, CreatedAt: timeOf(t.CreatedAt),
	}
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func dec(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Zero
	}
	return *d
}

// DecodeOrder reads an orders/* webhook body, which is Shopify's REST order.
func DecodeOrder(body []byte) (orders.ShopifyOrder, error) {
	var o goshopify.Order
	if err := json.Unmarshal(body, &o); err != nil {
		return orders.ShopifyOrder{}, fmt.Errorf("decode order: %w", err)
	}
	if o.Id == 0 {
		return orders.ShopifyOrder{}, errors.New("decode order: no id")
	}
	return toFacts(o), nil
}
