package shopify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// ErrTruncated is a nested list of an order that Shopify says has more
// entries than the OrderFacts fragment asks for: the order is refused
// rather than silently cut (a refund or a shipment left out would change
// what is refundable).
var ErrTruncated = errors.New("order has more entries than read")

// The bounds of OrderFacts' plain lists (graphql/order_facts.graphql).
const (
	maxFulfillments = 10
	maxTransactions = 50
	maxRefunds      = 20
	maxTracking     = 5
)

// OrderFromGraphQL converts one order read through the OrderFacts fragment
// (the order view, a customer's orders, the paged and bulk syncs) into the
// domain's Shopify facts: the same facts a REST-shaped webhook body of the
// same order gives (DecodeOrder), so both build the same orders.Order.
// Totals are in the shop's currency, transactions in the customer's (the
// currency refunds are made in), as on the REST order.
func OrderFromGraphQL(o *OrderFacts) (orders.ShopifyOrder, error) {
	if o == nil {
		return orders.ShopifyOrder{}, errors.New("graphql order: none")
	}
	id, err := gidNumber(o.Id)
	if err != nil {
		return orders.ShopifyOrder{}, fmt.Errorf("graphql order: %w", err)
	}
	fail := func(what string, err error) (orders.ShopifyOrder, error) {
		return orders.ShopifyOrder{}, fmt.Errorf("graphql order %d: %s: %w", id, what, err)
	}
	// Plain lists say nothing of what they left out: one as long as the
	// fragment's bound may have been cut.
	for what, more := range map[string]bool{
		"lineItems":     o.LineItems.PageInfo.HasNextPage,
		"shippingLines": o.ShippingLines.PageInfo.HasNextPage,
		"fulfillments":  len(o.Fulfillments) >= maxFulfillments,
		"transactions":  len(o.Transactions) >= maxTransactions,
		"refunds":       len(o.Refunds) >= maxRefunds,
	} {
		if more {
			return fail(what, ErrTruncated)
		}
	}
	f := orders.ShopifyOrder{
		ID:                id,
		Name:              o.Name,
		OrderNumber:       o.Number,
		Email:             deref(o.Email),
		Phone:             deref(o.Phone),
		CreatedAt:         o.CreatedAt.UTC(),
		UpdatedAt:         o.UpdatedAt.UTC(),
		ProcessedAt:       utcPtr(nonZero(o.ProcessedAt)),
		CancelledAt:       utcPtr(o.CancelledAt),
		ClosedAt:          utcPtr(o.ClosedAt),
		Currency:          string(o.CurrencyCode),
		TotalPrice:        o.TotalPriceSet.ShopMoney.Amount,
		TaxesIncluded:     o.TaxesIncluded,
		FulfillmentStatus: fulfillmentStatusOf(o.DisplayFulfillmentStatus),
		LineItems:         make([]orders.ShopifyLineItem, 0, len(o.LineItems.Nodes)),
		Transactions:      make([]orders.ShopifyTransaction, 0, len(o.Transactions)),
	}
	if p := string(o.PresentmentCurrencyCode); p != f.Currency {
		f.PresentmentCurrency = p
	}
	if o.CancelReason != nil {
		f.CancelReason = strings.ToLower(string(*o.CancelReason))
	}
	if o.DisplayFinancialStatus != nil {
		f.FinancialStatus = strings.ToLower(string(*o.DisplayFinancialStatus))
	}
	if m := o.SubtotalPriceSet; m != nil {
		f.SubtotalPrice = m.ShopMoney.Amount
	}
	if m := o.TotalTaxSet; m != nil {
		f.TotalTax = m.ShopMoney.Amount
	}
	if m := o.TotalDiscountsSet; m != nil {
		f.TotalDiscounts = m.ShopMoney.Amount
	}
	if c := o.Customer; c != nil {
		cid, err := gidNumber(c.Id)
		if err != nil {
			return fail("customer", err)
		}
		f.Customer = &orders.ShopifyCustomer{ID: cid, FirstName: deref(c.FirstName), LastName: deref(c.LastName)}
		if e := c.DefaultEmailAddress; e != nil {
			f.Customer.Email = e.EmailAddress
		}
		if p := c.DefaultPhoneNumber; p != nil {
			f.Customer.Phone = p.PhoneNumber
		}
	}
	for _, li := range o.LineItems.Nodes {
		lid, err := gidNumber(li.Id)
		if err != nil {
			return fail("line item", err)
		}
		f.LineItems = append(f.LineItems, orders.ShopifyLineItem{
			ID: lid, Title: li.Title, VariantTitle: deref(li.VariantTitle), SKU: deref(li.Sku),
			Quantity: li.Quantity, Price: li.OriginalUnitPriceSet.ShopMoney.Amount,
		})
	}
	// The shipping the customer paid: the lines after their discounts;
	// totalShippingPriceSet only stands in when no line is listed.
	f.TotalShipping = decimal.Zero
	for _, sl := range o.ShippingLines.Nodes {
		var sid int64
		if sl.Id != nil {
			if sid, err = gidNumber(*sl.Id); err != nil {
				return fail("shipping line", err)
			}
		}
		paid := sl.DiscountedPriceSet.ShopMoney.Amount
		f.ShippingLines = append(f.ShippingLines, orders.ShopifyShipping{ID: sid, Title: sl.Title, Price: sl.OriginalPriceSet.ShopMoney.Amount, DiscountedPrice: paid})
		f.TotalShipping = f.TotalShipping.Add(paid)
	}
	if len(o.ShippingLines.Nodes) == 0 {
		f.TotalShipping = o.TotalShippingPriceSet.ShopMoney.Amount
	}
	for _, fl := range o.Fulfillments {
		out, err := fulfillmentFromGraphQL(fl)
		if err != nil {
			return fail("fulfillment", err)
		}
		f.Fulfillments = append(f.Fulfillments, out)
	}
	for _, t := range o.Transactions {
		tx, err := transactionFromGraphQL(t.Transaction)
		if err != nil {
			return fail("transaction", err)
		}
		f.Transactions = append(f.Transactions, tx)
	}
	for _, r := range o.Refunds {
		out, err := refundFromGraphQL(r)
		if err != nil {
			return fail("refund", err)
		}
		f.Refunds = append(f.Refunds, out)
	}
	return f, nil
}

func fulfillmentFromGraphQL(fl OrderFactsFulfillmentsFulfillment) (orders.ShopifyFulfillment, error) {
	id, err := gidNumber(fl.Id)
	if err != nil {
		return orders.ShopifyFulfillment{}, err
	}
	if fl.FulfillmentLineItems.PageInfo.HasNextPage || fl.Events.PageInfo.HasNextPage || len(fl.TrackingInfo) >= maxTracking {
		return orders.ShopifyFulfillment{}, fmt.Errorf("fulfillment %d: %w", id, ErrTruncated)
	}
	out := orders.ShopifyFulfillment{
		ID:          id,
		Status:      strings.ToLower(string(fl.Status)),
		CreatedAt:   fl.CreatedAt.UTC(),
		UpdatedAt:   fl.UpdatedAt.UTC(),
		DeliveredAt: utcPtr(fl.DeliveredAt),
		LineItems:   make([]orders.ShopifyFulfilledItem, 0, len(fl.FulfillmentLineItems.Nodes)),
	}
	if fl.DisplayStatus != nil {
		out.ShipmentStatus = shipmentStatusOf(*fl.DisplayStatus)
	}
	if l := fl.Location; l != nil {
		if out.LocationID, err = gidNumber(l.Id); err != nil {
			return orders.ShopifyFulfillment{}, err
		}
	}
	for _, ti := range fl.TrackingInfo {
		if out.TrackingCompany == "" {
			out.TrackingCompany = deref(ti.Company)
		}
		if n := deref(ti.Number); n != "" {
			out.TrackingNumbers = append(out.TrackingNumbers, n)
		}
		if u := deref(ti.Url); u != "" {
			out.TrackingURLs = append(out.TrackingURLs, u)
		}
	}
	for _, li := range fl.FulfillmentLineItems.Nodes {
		lid, err := gidNumber(li.LineItem.Id)
		if err != nil {
			return orders.ShopifyFulfillment{}, err
		}
		q := 0
		if li.Quantity != nil {
			q = *li.Quantity
		}
		out.LineItems = append(out.LineItems, orders.ShopifyFulfilledItem{ID: lid, Quantity: q})
	}
	for _, e := range fl.Events.Nodes {
		eid, err := gidNumber(e.Id)
		if err != nil {
			return orders.ShopifyFulfillment{}, err
		}
		out.Events = append(out.Events, orders.ShopifyFulfillmentEvent{
			ID: eid, Status: strings.ToLower(string(e.Status)), HappenedAt: e.HappenedAt.UTC(),
			EstimatedDeliveryAt: utcPtr(e.EstimatedDeliveryAt), Message: deref(e.Message),
		})
	}
	return out, nil
}

func refundFromGraphQL(r OrderFactsRefundsRefund) (orders.ShopifyRefund, error) {
	id, err := gidNumber(r.Id)
	if err != nil {
		return orders.ShopifyRefund{}, err
	}
	if r.RefundLineItems.PageInfo.HasNextPage || r.RefundShippingLines.PageInfo.HasNextPage || r.Transactions.PageInfo.HasNextPage {
		return orders.ShopifyRefund{}, fmt.Errorf("refund %d: %w", id, ErrTruncated)
	}
	out := orders.ShopifyRefund{ID: id, CreatedAt: timeOf(r.CreatedAt), Note: deref(r.Note)}
	for _, rl := range r.RefundLineItems.Nodes {
		lid, err := gidNumber(rl.LineItem.Id)
		if err != nil {
			return orders.ShopifyRefund{}, err
		}
		out.RefundLineItems = append(out.RefundLineItems, orders.ShopifyRefundLine{LineItemID: lid, Quantity: rl.Quantity, RestockType: strings.ToLower(string(rl.RestockType))})
	}
	for _, t := range r.Transactions.Nodes {
		tx, err := transactionFromGraphQL(t.Transaction)
		if err != nil {
			return orders.ShopifyRefund{}, err
		}
		out.Transactions = append(out.Transactions, tx)
	}
	// Refunded shipping is the refund's shipping lines (the REST
	// order_adjustments are deprecated); the domain keeps it as the REST
	// shipping_refund adjustment, a negative amount, which webhook bodies
	// still carry.
	for _, sl := range r.RefundShippingLines.Nodes {
		out.Adjustments = append(out.Adjustments, orders.ShopifyAdjustment{Kind: "shipping_refund", Amount: sl.SubtotalAmountSet.ShopMoney.Amount.Neg()})
	}
	return out, nil
}

func transactionFromGraphQL(t Transaction) (orders.ShopifyTransaction, error) {
	id, err := gidNumber(t.Id)
	if err != nil {
		return orders.ShopifyTransaction{}, err
	}
	out := orders.ShopifyTransaction{
		ID: id, Kind: strings.ToLower(string(t.Kind)), Status: strings.ToLower(string(t.Status)), Gateway: deref(t.Gateway),
		Amount: t.AmountSet.PresentmentMoney.Amount, Currency: string(t.AmountSet.PresentmentMoney.CurrencyCode), CreatedAt: t.CreatedAt.UTC(),
	}
	if p := t.ParentTransaction; p != nil {
		pid, err := gidNumber(p.Id)
		if err != nil {
			return orders.ShopifyTransaction{}, err
		}
		out.ParentID = &pid
	}
	return out, nil
}

// fulfillmentStatusOf maps the order's display fulfilment status onto the
// REST values the domain reads ("fulfilled", "partial", "restocked", or
// none, from which the domain works the status out of the shipments).
func fulfillmentStatusOf(s OrderDisplayFulfillmentStatus) string {
	switch s {
	case OrderDisplayFulfillmentStatusFulfilled:
		return "fulfilled"
	case OrderDisplayFulfillmentStatusPartiallyFulfilled:
		return "partial"
	case OrderDisplayFulfillmentStatusRestocked:
		return "restocked"
	}
	return ""
}

// shipmentStatusOf keeps the display statuses that are a carrier's word
// on the parcel (the REST shipment_status values, CONFIRMED included);
// the others (FULFILLED, CANCELED, SUBMITTED, ...) say nothing about where
// it is.
func shipmentStatusOf(s FulfillmentDisplayStatus) string {
	switch s {
	case FulfillmentDisplayStatusConfirmed, FulfillmentDisplayStatusLabelPrinted, FulfillmentDisplayStatusLabelPurchased, FulfillmentDisplayStatusCarrierPickedUp,
		FulfillmentDisplayStatusInTransit, FulfillmentDisplayStatusDelayed, FulfillmentDisplayStatusOutForDelivery,
		FulfillmentDisplayStatusAttemptedDelivery, FulfillmentDisplayStatusReadyForPickup, FulfillmentDisplayStatusPickedUp,
		FulfillmentDisplayStatusDelivered, FulfillmentDisplayStatusFailure:
		return strings.ToLower(string(s))
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
