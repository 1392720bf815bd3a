package orders

import (
	"math"
	"strconv"

	"github.com/shopspring/decimal"
	"golang.org/x/text/currency"
)

// BlockedReason is the stable code saying why an action is not allowed.
type BlockedReason string

// Reasons an action is refused; they double as problem codes (409).
const (
	BlockedAlreadyCancelled BlockedReason = "already_cancelled"
	BlockedOrderFulfilled   BlockedReason = "order_fulfilled"
	BlockedNotPaid          BlockedReason = "not_paid"
	BlockedNothingToRefund  BlockedReason = "nothing_to_refund"
	BlockedReturnRequired   BlockedReason = "return_required"
)

// Actions says what an agent may do with an order now.
type Actions struct {
	Cancel CancelEligibility
	Refund RefundEligibility
}

// CancelEligibility is whether the order can be cancelled, and whether money
// can be given back in the same action.
type CancelEligibility struct {
	Allowed       bool
	BlockedReason BlockedReason
	// RefundAvailable: the order is paid, so cancel may refund all or part.
	RefundAvailable bool
}

// RefundEligibility is whether money can be refunded, and how much.
type RefundEligibility struct {
	Allowed       bool
	BlockedReason BlockedReason
	MaxAmount     decimal.Decimal
	// RequiresReturn: shipped items are involved, so a refund touching them
	// needs return "received" or "not_required".
	RequiresReturn bool
}

// Eligibility applies DESIGN.md's rules to an order. It is pure: the same
// order always gives the same answer, and callers must pass the freshest
// Shopify state before a mutation.
func Eligibility(o Order) Actions {
	return Actions{Cancel: cancelEligibility(o), Refund: refundEligibility(o)}
}

func cancelEligibility(o Order) CancelEligibility {
	switch {
	case o.Status == StatusCancelled:
		return CancelEligibility{BlockedReason: BlockedAlreadyCancelled}
	case o.FulfillmentStatus == FulfillmentFulfilled || o.FulfillmentStatus == FulfillmentPartial:
		// Shopify refuses to cancel an order with shipped items.
		return CancelEligibility{BlockedReason: BlockedOrderFulfilled}
	}
	return CancelEligibility{Allowed: true, RefundAvailable: o.Refundable.IsPositive()}
}

func refundEligibility(o Order) RefundEligibility {
	switch o.FinancialStatus {
	case FinancialRefunded, FinancialVoided:
		return RefundEligibility{BlockedReason: BlockedNothingToRefund, MaxAmount: decimal.Zero}
	case FinancialPending, FinancialAuthorized, FinancialExpired:
		return RefundEligibility{BlockedReason: BlockedNotPaid, MaxAmount: decimal.Zero}
	}
	if !o.Refundable.IsPositive() {
		if o.Captured.IsPositive() {
			return RefundEligibility{BlockedReason: BlockedNothingToRefund, MaxAmount: decimal.Zero}
		}
		return RefundEligibility{BlockedReason: BlockedNotPaid, MaxAmount: decimal.Zero}
	}
	return RefundEligibility{Allowed: true, MaxAmount: o.Refundable, RequiresReturn: hasShippedItems(o)}
}

// hasShippedItems reports whether any shipped quantity has not been refunded.
func hasShippedItems(o Order) bool {
	for _, li := range o.LineItems {
		if li.FulfilledQuantity > li.RefundedQuantity {
			return true
		}
	}
	return false
}

// CurrencyScale is the number of decimals a currency's amounts carry: 2 for
// USD and EUR, 0 for JPY, 3 for KWD. Unknown codes get 2.
func CurrencyScale(code string) int32 {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(unit)
	return int32(scale)
}

// FormatMoney writes an amount with exactly the currency's decimals.
func FormatMoney(d decimal.Decimal, currencyCode string) string {
	places := CurrencyScale(currencyCode)
	if s, ok := formatFixed(d, places); ok {
		return s
	}
	return d.StringFixed(places)
}

// formatFixed is d.StringFixed(places) for the amounts that need no
// rounding at places and whose digits, scaled to places, fit an int64:
// nearly every amount. StringFixed rounds through math/big, and a backfill
// formats every amount of every order (9% of its CPU). ok is false for the
// rest, which StringFixed formats.
func formatFixed(d decimal.Decimal, places int32) (string, bool) {
	scale := int64(d.Exponent()) + int64(places) // zeros to append: int64, as exp may be near MaxInt32
	if places < 0 || places > 18 || scale < 0 || scale > 18 || d.NumDigits() > 18 {
		return "", false
	}
	c := d.CoefficientInt64() // exact: at most 18 digits
	for range scale {
		if c > math.MaxInt64/10 || c < -math.MaxInt64/10 {
			return "", false
		}
		c *= 10
	}
	neg := c < 0
	if neg {
		c = -c
	}
	var buf [24]byte
	digits := strconv.AppendUint(buf[:0], uint64(c), 10)
	for len(digits) <= int(places) { // a zero before the point
		digits = append([]byte{'0'}, digits...)
	}
	out := make([]byte, 0, len(digits)+2)
	if neg {
		out = append(out, '-')
	}
	split := len(digits) - int(places)
	out = append(out, digits[:split]...)
	if places > 0 {
		out = append(out, '.')
		out = append(out, digits[split:]...)
	}
	return string(out), true
}
