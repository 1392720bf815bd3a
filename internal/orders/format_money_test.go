package orders

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// formatFixed, FormatMoney's fast path, writes what StringFixed writes,
// or declines; it never writes something else.
func TestFormatFixedIsStringFixed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in     string
		places int32
		want   string // "" when the fast path declines
	}{
		{"0", 2, "0.00"},
		{"0", 0, "0"},
		{"19.9", 2, "19.90"},
		{"19.90", 2, "19.90"},
		{"-5", 2, "-5.00"},
		{"-0.05", 2, "-0.05"},
		{"0.5", 3, "0.500"},
		{"1200", 0, "1200"},
		{"1.2e3", 2, "1200.00"},
		{"999999999999999999", 0, "999999999999999999"},
		{"9999999999999999.99", 2, "9999999999999999.99"},
		{"99999999999999999.99", 2, ""},   // 19 digits
		{"5.455", 2, ""},                  // needs rounding: StringFixed's
		{"9999999999999999999", 0, ""},    // 19 digits
		{"99999999999999999", 2, ""},      // 19 digits once scaled
		{"12345678901234567890.5", 2, ""}, // beyond int64
	}
	for _, c := range cases {
		d := decimal.RequireFromString(c.in)
		got, ok := formatFixed(d, c.places)
		if c.want == "" {
			if ok {
				t.Errorf("formatFixed(%s, %d) = %q; want it to decline", c.in, c.places, got)
			}
		} else if !ok || got != c.want {
			t.Errorf("formatFixed(%s, %d) = %q, %v; want %q", c.in, c.places, got, ok, c.want)
		}
		if s := FormatMoney(d, map[int32]string{0: "JPY", 2: "USD", 3: "KWD"}[c.places]); c.places != 1 && s != d.StringFixed(c.places) {
			t.Errorf("FormatMoney(%s) = %q, StringFixed %q", c.in, s, d.StringFixed(c.places))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		coef := r.Int64N(1<<62) >> r.IntN(62)
		if r.IntN(2) == 0 {
			coef = -coef
		}
		d := decimal.New(coef, int32(r.IntN(12))-8)
		places := int32(r.IntN(4))
		if got, ok := formatFixed(d, places); ok && got != d.StringFixed(places) {
			t.Fatalf("formatFixed(%s, %d) = %q, StringFixed %q", d, places, got, d.StringFixed(places))
		}
	}
}

func BenchmarkFormatMoney(b *testing.B) {
	d := decimal.RequireFromString("1234.5")
	for b.Loop() {
		_ = FormatMoney(d, "USD")
	}
}
