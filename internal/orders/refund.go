package orders

import (
	"context"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// planRefund checks the rules and works out the refund's exact input: an
// amount allocated over the order's payments, or line items and shipping
// as Shopify's suggestedRefund reckons them.
func (s *Service) planRefund(ctx context.Context, shop tenant.Shop, a *Action, o Order) error {
	req := *a.Plan.Refund
	if err := req.checkDecimals(moneyBack(o)); err != nil {
		return err
	}
	if !o.Actions.Refund.Allowed {
		return ruleError(o.Actions.Refund.BlockedReason)
	}
	amount, lines, shipping, touchesShipped, err := refundAmount(o, req)
	if err != nil {
		return err
	}
	if touchesShipped && req.Return == ReturnNone {
		return ruleError(BlockedReturnRequired)
	}
	var txs []RefundTransaction
	if len(req.LineItems) > 0 || req.Shipping != nil {
		// Shopify reckons line refunds with their taxes and discounts.
		sug, err := s.shopify.SuggestRefund(ctx, shop, o.ID, lines, shipping)
		if err != nil {
			return fmt.Errorf("refund suggestion for order %d: %w", o.ID, err)
		}
		amount, txs = sug.Amount, sug.Transactions
		if err := checkAmount("amount", amount, o.Refundable, moneyBack(o)); err != nil {
			return err
		}
	} else {
		if err := checkAmount("amount", amount, o.Refundable, moneyBack(o)); err != nil {
			return err
		}
		if txs, err = allocate(o, amount); err != nil {
			return err
		}
	}
	a.Amount, a.Currency = &amount, moneyBack(o)
	a.RefundInput = &RefundCommand{
		OrderID: o.ID, IdempotencyKey: a.RefundKey, Note: withMarker(req.Note, a.ID), NotifyCustomer: req.NotifyCustomer,
		Currency: refundCurrency(o), Lines: lines, Shipping: shipping, Transactions: txs,
	}
	return nil
}

// moneyBack is the currency a refund of o is made in, and so the one its
// amounts are written, checked and reported in: the presentment currency
// when the customer paid in another currency than the shop's.
func moneyBack(o Order) string {
	if c := refundCurrency(o); c != "" {
		return c
	}
	return o.Currency
}

// refundCurrency is RefundInput.currency: required when the order was paid
// in a presentment currency other than the shop's (the amounts are then in
// it); empty otherwise.
func refundCurrency(o Order) string {
	if p := o.Source.PresentmentCurrency; p != "" && p != o.Source.Currency {
		return p
	}
	return ""
}

// refundPart makes the action's refund, once. Its identity is its key and
// its marker, never its amount or time: a refund carrying the marker is
// this action's; otherwise the stored input is sent (again) under the same
// key, and Shopify answers a repeat with the refund it made the first time.
func (s *Service) refundPart(ctx context.Context, shop tenant.Shop, l *lease, a *Action, o Order) error {
	if id, ok := ownRefund(o, a.ID); ok {
		a.RefundDone, a.ShopifyRefundID = true, &id
		saved, err := s.store1(ctx, l, shop, *a)
		*a = saved
		return err
	}
	a.RefundAttempts++
	saved, err := s.store1(ctx, l, shop, *a) // counted before it is sent
	if err != nil {
		return err
	}
	*a = saved
	if err := l.check(ctx); err != nil {
		return err
	}
	id, err := s.shopify.CreateRefund(ctx, shop, *a.RefundInput)
	if err != nil && a.RefundAttempts > 1 && isDefinite(err, *a) {
		// A refusal of a re-send: an earlier send may have made the refund
		// (its answer lost). Only the order tells; until it does, pending.
		src, rerr := s.shopify.Order(ctx, shop, o.ID)
		if rerr != nil {
			return fmt.Errorf("refund order %d refused on a re-send; reading the order: %w", o.ID, rerr)
		}
		if found, ok := ownRefund(Build(src, s.now().UTC()), a.ID); ok {
			id, err = found, nil
		}
	}
	if err != nil {
		return fmt.Errorf("refund order %d at shopify: %w", o.ID, err)
	}
	a.RefundDone, a.ShopifyRefundID = true, &id
	// A failed save leaves the action pending: the next run finds the
	// refund by its marker (or Shopify by its key) and records it.
	if saved, err = s.store1(ctx, l, shop, *a); err != nil {
		return err
	}
	*a = saved
	return nil
}

// ownRefund finds the refund an action made by the marker in its note.
func ownRefund(o Order, actionID string) (int64, bool) {
	m := marker(actionID)
	for _, r := range o.Source.Refunds {
		if strings.Contains(r.Note, m) {
			return r.ID, true
		}
	}
	return 0, false
}

// refundAmount checks a refund request against the order and works out its
// Shopify lines (with restock types), its shipping, whether it touches
// shipped items, and its money: exact for an amount, price × quantity for
// lines (Shopify's suggestion, with taxes and discounts, replaces that).
func refundAmount(o Order, req RefundRequest) (decimal.Decimal, []RefundCommandLine, *decimal.Decimal, bool, error) {
	if req.Amount != nil {
		return *req.Amount, nil, nil, o.Actions.Refund.RequiresReturn, nil
	}
	amount := decimal.Zero
	touchesShipped := false
	var lines []RefundCommandLine
	for i, rl := range req.LineItems {
		field := fmt.Sprintf("line_items[%d]", i)
		idx := -1
		for j, li := range o.LineItems {
			if li.ID == rl.LineItemID {
				idx = j
			}
		}
		if idx < 0 {
			return decimal.Zero, nil, nil, false, &ValidationError{Code: "invalid_line_item", Fields: []FieldError{{field + ".line_item_id", "is not a line item of this order"}}}
		}
		li := o.LineItems[idx]
		if left := li.Quantity - li.RefundedQuantity; rl.Quantity > left {
			return decimal.Zero, nil, nil, false, &ValidationError{Code: "invalid_quantity", Fields: []FieldError{{field + ".quantity", fmt.Sprintf("at most %d can be refunded", left)}}}
		}
		unshipped := max(0, li.Quantity-li.FulfilledQuantity-li.RefundedQuantity)
		shipped := rl.Quantity > unshipped
		touchesShipped = touchesShipped || shipped
		restock := "no_restock"
		switch {
		case rl.Restock && !shipped:
			restock = "cancel"
		case rl.Restock && req.Return == ReturnReceived:
			restock = "return"
		}
		line := RefundCommandLine{LineItemID: li.ID, Quantity: rl.Quantity, RestockType: restock}
		if restock == "return" {
			line.LocationID = shippedFrom(o, li.ID)
		}
		lines = append(lines, line)
		amount = amount.Add(li.Price.Mul(decimal.NewFromInt(int64(rl.Quantity))))
	}
	var shipping *decimal.Decimal
	if s := req.Shipping; s != nil {
		left := shippingLeft(o)
		sh := left
		if !s.Full {
			sh = *s.Amount
			if err := checkAmount("shipping.amount", sh, left, moneyBack(o)); err != nil {
				return decimal.Zero, nil, nil, false, err
			}
		} else if !left.IsPositive() {
			return decimal.Zero, nil, nil, false, &ValidationError{Code: "nothing_to_refund", Fields: []FieldError{{"shipping", "no shipping is left to refund"}}}
		}
		shipping = &sh
		amount = amount.Add(sh)
	}
	return amount, lines, shipping, touchesShipped, nil
}

// shippedFrom is the location of the newest shipment carrying a line item.
func shippedFrom(o Order, lineItemID int64) int64 {
	var loc int64
	for _, f := range o.Source.Fulfillments {
		if f.Status != "success" {
			continue
		}
		for _, li := range f.LineItems {
			if li.ID == lineItemID {
				loc = f.LocationID
			}
		}
	}
	return loc
}
