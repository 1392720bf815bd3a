package orders

import (
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"
)

// MoneyPattern is the one syntax of an amount a client sends: digits
// without sign, spaces, exponent or leading zeros, and optionally a point
// followed by at most four decimals (no currency has more; the order's
// currency may allow fewer, see checkDecimals). The OpenAPI document
// carries it as the pattern of every money field.
const MoneyPattern = `^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$`

var moneyRe = regexp.MustCompile(MoneyPattern)

// ParseAmount reads an amount in the canonical syntax. The decimal keeps
// the decimals as written (its exponent), so "0.010" is told from "0.01"
// when the order's currency is known. Anything else is 422 invalid_amount.
func ParseAmount(field, s string) (decimal.Decimal, error) {
	if !moneyRe.MatchString(s) {
		return decimal.Decimal{}, &ValidationError{Code: "invalid_amount", Fields: []FieldError{{field,
			`must be a decimal string like "10.00": digits, optionally a point and the currency's decimals; no sign, spaces or exponent`}}}
	}
	d, err := decimal.NewFromString(s)
	if err != nil { // unreachable: the pattern admits only what decimal parses
		return decimal.Decimal{}, &ValidationError{Code: "invalid_amount", Fields: []FieldError{{field, "is not a decimal number"}}}
	}
	return d, nil
}

// checkDecimals refuses an amount written with more decimals than the
// currency has ("1.0" for JPY, "0.010" for USD). It applies to amounts
// from ParseAmount only: Shopify's own amounts may carry extra zeros.
func checkDecimals(field string, written decimal.Decimal, currency string) error {
	if scale := CurrencyScale(currency); -written.Exponent() > scale {
		return &ValidationError{Code: "invalid_amount", Fields: []FieldError{{field, fmt.Sprintf("%s takes at most %d decimals", currency, scale)}}}
	}
	return nil
}

// checkDecimals checks the agent's amount against the order's currency.
func (r CancelRequest) checkDecimals(currency string) error {
	if r.Amount == nil {
		return nil
	}
	return checkDecimals("refund.amount", *r.Amount, currency)
}

// checkDecimals checks the agent's amounts against the order's currency.
func (r RefundRequest) checkDecimals(currency string) error {
	if r.Amount != nil {
		if err := checkDecimals("amount", *r.Amount, currency); err != nil {
			return err
		}
	}
	if r.Shipping != nil && r.Shipping.Amount != nil {
		return checkDecimals("shipping.amount", *r.Shipping.Amount, currency)
	}
	return nil
}
