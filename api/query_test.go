package api

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/orderdesk/orderdesk/internal/textinput"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	allowed := []string{"customer_id", "email", "limit"}
	tests := []struct {
		raw   string
		want  map[string]string
		field string // the parameter the first error names
	}{
		{"", map[string]string{}, ""},
		{"customer_id=1&email=bob%40example.com", map[string]string{"customer_id": "1", "email": "bob@example.com"}, ""},
		{"email=a+b", map[string]string{"email": "a b"}, ""},
		{"limit=5&&", map[string]string{"limit": "5"}, ""},
		{"customer_id=%zz", nil, "customer_id"},
		{"customer_id=%2", nil, "customer_id"},
		{"custom%zzer_id=1", nil, "custom%zzer_id"},
		{"customer_id=1&customer_id=2", nil, "customer_id"},
		{"customer_id=1&customer_id=1", nil, "customer_id"},
		{"customer_id=", nil, "customer_id"},
		{"customer_id", nil, "customer_id"},
		{"nope=1", nil, "nope"},
		{"CUSTOMER_ID=1", nil, "CUSTOMER_ID"},
		{"email=a%00b", nil, "email"},
		{"email=%ff%fe", nil, "email"},
		{"email=a%0Ab", nil, "email"},
		{"email=" + strings.Repeat("a", maxQueryValue+1), nil, "email"},
		{"email=a;limit=1", nil, "email"},
		{"%00=1", nil, "%00"},
	}
	for _, tt := range tests {
		got, errs := parseQuery(tt.raw, allowed)
		switch {
		case tt.field == "" && len(errs) > 0:
			t.Errorf("%q: refused: %v", tt.raw, errs)
		case tt.field == "" && !maps.Equal(got, tt.want):
			t.Errorf("%q = %v, want %v", tt.raw, got, tt.want)
		case tt.field != "" && (len(errs) == 0 || errs[0].Field != tt.field):
			t.Errorf("%q: errors = %v, want one naming %q", tt.raw, errs, tt.field)
		}
	}
	if _, errs := parseQuery("a=1", nil); len(errs) != 1 || !strings.Contains(errs[0].Message, "takes none") {
		t.Errorf("a route without parameters: %v", errs)
	}
}

// FuzzParseQuery: a query string is refused naming a parameter, or every
// value is one the route takes, is valid text, and survives a re-encoding.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"customer_id=1", "customer_id=%zz", "email=a%00b", "name=%ff%fe", "limit=1&limit=2", "a=1;b=2", "cursor=abc&refresh=true", "x"} {
		f.Add(s)
	}
	allowed := []string{"customer_id", "email", "name", "limit", "cursor", "refresh"}
	f.Fuzz(func(t *testing.T, raw string) {
		got, errs := parseQuery(raw, allowed)
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Field == "" || e.Message == "" || textinput.Problem(e.Field, 64) != "" {
					t.Fatalf("%q: error %+v does not name a printable field", raw, e)
				}
			}
			return
		}
		vals := url.Values{}
		for k, v := range got {
			if !slices.Contains(allowed, k) || strings.TrimSpace(v) == "" || textinput.Problem(v, maxQueryValue) != "" {
				t.Fatalf("%q: accepted %q=%q", raw, k, v)
			}
			vals.Set(k, v)
		}
		again, errs := parseQuery(vals.Encode(), allowed)
		if len(errs) > 0 || !maps.Equal(again, got) {
			t.Fatalf("%q: re-encoded as %q gives %v, %v", raw, vals.Encode(), again, errs)
		}
	})
}
