package orders_test

import (
	"testing"

	"github.com/orderdesk/orderdesk/internal/orders"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, region, want string
	}{
		{"+13125551212", "US", "+13125551212"},
		{"3125551212", "US", "+13125551212"},
		{"+1 312 555 1212", "US", "+13125551212"},
		{"(312) 555-1212", "US", "+13125551212"},
		{"312.555.1212", "US", "+13125551212"},
		{"1-312-555-1212", "US", "+13125551212"},
		{"001 312 555 1212", "FR", "+13125551212"},
		{"+1 312 555 1212", "GB", "+13125551212"}, // a country code wins over the region
		{"020 7123 4567", "GB", "+442071234567"},
		{"+44 (0)20 7123 4567", "US", "+442071234567"},
		{"01 42 68 53 00", "FR", "+33142685300"},
		{"03-1234-5678", "JP", "+81312345678"},
		{"3125551212", "gb", "+443125551212"}, // a national number is read in the region given
		{"abc", "US", ""},
		{"12", "US", ""},
		{"", "US", ""},
		{"+", "US", ""},
		{"+999 1234", "US", ""},
	}
	for _, tt := range tests {
		got, ok := orders.NormalizePhone(tt.raw, tt.region)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, ok, tt.want)
		}
	}
}
