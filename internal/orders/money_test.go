package orders

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// amountFor is what the service does with an agent's amount: the syntax
// first, then the decimals of the order's currency.
func amountFor(s, currency string) (decimal.Decimal, error) {
	d, err := ParseAmount("amount", s)
	if err != nil {
		return d, err
	}
	return d, checkDecimals("amount", d, currency)
}

func TestMoneySyntax(t *testing.T) {
	t.Parallel()
	// Spelled the same in every currency: refused by the syntax.
	refusedEverywhere := []string{
		"", " ", " 0.01", "0.01 ", "+0.01", "-0.01", "-1", ".01", "1.", ".", "00.01", "01", "007",
		"1e2", "1E2", "1.0e1", "0x10", "1,00", "1 000", "1_000", "１", "Inf", "NaN", "0.01\x00",
		"1.00000", "1..0", "1.2.3", "9999999999999999", "1000000000000000000000000",
	}
	tests := []struct {
		currency string
		accepted []string
		refused  []string // by the currency's decimals
	}{
		{"USD", []string{"0", "0.01", "0.1", "1", "10", "10.5", "10.50", "199.00", "999999999999999.99"}, []string{"0.010", "1.000", "0.001", "1.0000"}},
		{"EUR", []string{"0.01", "25.00", "25", "1.5"}, []string{"0.010", "25.001"}},
		{"JPY", []string{"0", "1", "3500", "100000"}, []string{"1.0", "1.5", "3500.00", "0.1"}},
		{"KWD", []string{"0.001", "1.250", "1.25", "1", "12.5"}, []string{"0.0001", "1.2500"}},
	}
	for _, tt := range tests {
		t.Run(tt.currency, func(t *testing.T) {
			t.Parallel()
			for _, s := range tt.accepted {
				d, err := amountFor(s, tt.currency)
				if err != nil {
					t.Errorf("%q refused: %v", s, err)
					continue
				}
				if want, _ := decimal.NewFromString(s); !d.Equal(want) {
					t.Errorf("%q = %s", s, d)
				}
			}
			for _, s := range append(tt.refused, refusedEverywhere...) {
				_, err := amountFor(s, tt.currency)
				var verr *ValidationError
				if !errors.As(err, &verr) || verr.Code != "invalid_amount" || verr.Fields[0].Field != "amount" {
					t.Errorf("%q: err = %v, want invalid_amount on amount", s, err)
				}
			}
		})
	}
	_, err := amountFor("1.0", "JPY")
	if err == nil || !strings.Contains(err.Error(), "JPY takes at most 0 decimals") {
		t.Errorf("JPY error = %v", err)
	}
}

// FuzzParseAmount: a string is refused as invalid_amount, or it is an
// amount that the API writes back the same (in a currency of its decimals).
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0.01", " 0.01", "+0.01", ".01", "1.", "00.01", "0.010", "1.0", "1e2", "3500", "1.250", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAmount("amount", s)
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || verr.Code != "invalid_amount" {
				t.Fatalf("%q: err = %v, want invalid_amount", s, err)
			}
			return
		}
		if d.IsNegative() {
			t.Fatalf("%q parsed negative: %s", s, d)
		}
		if got := d.StringFixed(-d.Exponent()); got != s {
			t.Fatalf("%q re-encodes as %q", s, got)
		}
		again, err := ParseAmount("amount", d.StringFixed(-d.Exponent()))
		if err != nil || !again.Equal(d) || again.Exponent() != d.Exponent() {
			t.Fatalf("%q does not parse back: %s, %v", s, again, err)
		}
	})
}
