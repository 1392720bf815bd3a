package orders

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// Review: wide exponents, places 0..18, coefficients at the int64
// and 18/19-digit edges, both signs. formatFixed must equal StringFixed
// whenever it says ok.
func TestFormatFixedWide(t *testing.T) {
	t.Parallel()
	edges := []int64{0, 1, 9, 10, 99, 100, 999999999999999999, 100000000000000000, 922337203685477580, 922337203685477581,
		92233720368547758, 92233720368547757, 9223372036854775807 / 100, 1 << 53, 1<<53 + 1, 999999999999999, 1000000000000000}
	check := func(d decimal.Decimal, places int32) {
		got, ok := formatFixed(d, places)
		if ok && got != d.StringFixed(places) {
			t.Fatalf("formatFixed(%s [coef %s exp %d], %d) = %q, StringFixed %q", d, d.Coefficient(), d.Exponent(), places, got, d.StringFixed(places))
		}
	}
	for _, c := range edges {
		for _, sign := range []int64{1, -1} {
			for exp := int32(-25); exp <= 25; exp++ {
				for places := int32(0); places <= 18; places++ {
					check(decimal.New(sign*c, exp), places)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(7, 9))
	for range 300000 {
		coef := r.Int64N(math.MaxInt64) >> r.IntN(63)
		if r.IntN(2) == 0 {
			coef = -coef
		}
		check(decimal.New(coef, int32(r.IntN(50))-25), int32(r.IntN(19)))
	}
	// big coefficients with trailing zeros (19+ digits that reduce)
	for _, s := range []string{"10000000000000000000", "-10000000000000000000", "123456789012345678900"} {
		b, _ := new(big.Int).SetString(s, 10)
		for exp := int32(-22); exp <= 3; exp++ {
			for places := int32(0); places <= 18; places++ {
				check(decimal.NewFromBigInt(b, exp), places)
			}
		}
	}
}

// Review: exp + places was int32 arithmetic: near MaxInt32 it wrapped
// negative, the scaling loop ran zero times and 5e2147483646 was written
// "0.05". formatFixed declines it (StringFixed, which would write its two
// billion digits, is not called here).
func TestFormatFixedExponentWrap(t *testing.T) {
	t.Parallel()
	d := decimal.New(5, math.MaxInt32-1) // 5e2147483646
	got, ok := formatFixed(d, 2)
	if ok {
		t.Errorf("formatFixed(5e%d, 2) = %q, ok; the value is 5 followed by 2,147,483,646 zeros (StringFixed's answer)", d.Exponent(), got)
	}
}
