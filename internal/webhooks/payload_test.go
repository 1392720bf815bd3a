package webhooks

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckPayload(t *testing.T) {
	t.Parallel()
	checkPayload := new(payloadChecker).check
	const shop = "shop-a.myshopify.com"
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	tests := []struct {
		topic, body string
		refused     string // a part of the reason; "" when accepted
	}{
		{"orders/updated", `{"id":450789469,"email":"bob@example.com"}`, ""},
		{"orders/updated", ``, "empty"},
		{"orders/updated", `garbage`, "not valid JSON"},
		{"orders/updated", `{"id":450789469`, "truncated"},
		{"orders/updated", `[{"id":1}]`, "not a JSON object"},
		{"orders/updated", `"id"`, "not a JSON object"},
		{"orders/updated", `null`, "not a JSON object"},
		{"orders/updated", `{"id":1}{"id":2}`, "more than one"},
		{"orders/updated", `{"id":1,"id":2}`, "appears twice"},
		{"orders/updated", deep, "nested deeper"},
		{"orders/updated", `{"id":1,"note":"a\u0000b"}`, "NUL"},
		{"orders/updated", "{\"id\":1,\"note\":\"\xff\"}", "UTF-8"},
		{"orders/updated", `{"id":1,"note":"\udc00"}`, "UTF-8"},
		{"orders/updated", `{"email":"bob@example.com"}`, "id is not a positive integer"},
		{"orders/updated", `{"id":"450789469"}`, "id is not a positive integer"},
		{"orders/updated", `{"id":-1}`, "id is not a positive integer"},
		{"orders/updated", `{"id":1.5}`, "id is not a positive integer"},
		{"orders/updated", `{"id":1e3}`, "id is not a positive integer"},
		{"orders/updated", `{"id":99999999999999999999}`, "id is not a positive integer"},
		{"orders/updated", `{"id":1,"total_weight":1e1000000}`, "number is out of range at /total_weight"},
		{"orders/updated", `{"id":1,"total_weight":1e-1001}`, "number is out of range"},
		{"orders/updated", `{"id":1,"total_weight":1e99999999999999999999}`, "number is out of range"},
		{"orders/updated", `{"id":1,"x":[1` + strings.Repeat("0", 64) + `]}`, "number is out of range at /x/0"},
		{"orders/updated", `{"id":1,"latitude":45.41634,"longitude":-75.6868,"total_weight":0,"w":1.5E+3,"v":2e-308}`, ""},
		// The members a topic needs are found in the one pass that checks
		// the form: at their own depth only, under escaped names too.
		{"orders/updated", `{"\u0069d":450789469}`, ""},
		{"orders/updated", `{"customer":{"id":1},"line_items":[{"id":2}]}`, "id is not a positive integer"},
		{"orders/updated", `{"line_items":[{"id":2}],"id":{"id":3}}`, "id is not a positive integer"},
		{"orders/updated", `{"a\u0000":1,"id":1}`, "NUL"},
		{"orders/updated", `{"id":1,"note":"\\u0000"}`, ""},
		{"orders/edited", `{"order_id":1,"order_edit":{"id":1}}`, "order_edit.order_id"},
		{"orders/edited", `{"x":{"order_id":1},"order_edit":{"id":1}}`, "order_edit.order_id"},
		{"orders/edited", `{"order_edit":{"id":1,"order_id":450789469}}`, ""},
		{"orders/edited", `{"order_edit":null}`, "order_edit.order_id"},
		{"refunds/create", `{"id":1,"order_id":450789469}`, ""},
		{"refunds/create", `{"id":1}`, "order_id"},
		{"fulfillment_events/create", `{"order_id":450789469,"status":"delivered"}`, ""},
		{"customers/redact", `{"shop_domain":"shop-a.myshopify.com","customer":{"id":207119551},"orders_to_redact":[1]}`, ""},
		{"customers/redact", `{"shop_domain":"SHOP-A.myshopify.com","customer":{"id":207119551}}`, ""},
		{"customers/redact", `{"shop_domain":"shop-b.myshopify.com","customer":{"id":207119551},"orders_to_redact":[1]}`, "shop_domain"},
		{"customers/redact", `{"customer":{"id":207119551},"orders_to_redact":[1]}`, "shop_domain"},
		{"customers/redact", `{"shop_domain":"shop-a.myshopify.com","customer":"bob"}`, "customer.id"},
		{"customers/data_request", `{"customer":{"id":1}}`, ""},
		{"shop/redact", `{"shop_id":1,"shop_domain":"shop-a.myshopify.com"}`, ""},
		{"shop/redact", `{"shop_id":1,"shop_domain":"shop-b.myshopify.com"}`, "shop_domain"},
		{"shop/redact", `{"shop_id":1}`, "shop_domain"},
	}
	for _, tt := range tests {
		got := checkPayload(tt.topic, shop, []byte(tt.body))
		if (tt.refused == "") != (got == "") || !strings.Contains(got, tt.refused) {
			t.Errorf("%s %.40q: %q, want %q", tt.topic, tt.body, got, tt.refused)
		}
		if strings.ContainsRune(got, 0) || len(got) > 200 {
			t.Errorf("reason %q cannot be recorded", got)
		}
	}
}

// FuzzCheckPayload: a signed body is refused with a printable reason, or
// it is one JSON object that Postgres's jsonb stores as it is (no NUL, no
// number out of range) naming, for an order topic, its order's id.
func FuzzCheckPayload(f *testing.F) {
	for _, s := range []string{
		`{"id":450789469,"email":"bob@example.com","customer":null,"total_weight":0,"latitude":45.41634}`, `{"id":1,"note":"a\u0000b"}`,
		`{"id":1,"w":1e1000000}`, `{"id":1,"w":1e-1001}`, `{"id":1,"id":2}`, `[{"id":1}]`, `{"id":1}{"id":2}`, "{\"id\":1,\"n\":\"\xff\"}", `{"id":"1"}`,
	} {
		f.Add("orders/updated", []byte(s))
	}
	f.Add("refunds/create", []byte(`{"id":1,"order_id":450789469}`))
	f.Add("shop/redact", []byte(`{"shop_domain":"shop-a.myshopify.com"}`))
	checkPayload := new(payloadChecker).check
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		reason := checkPayload(topic, "shop-a.myshopify.com", body)
		if reason != "" {
			if strings.ContainsFunc(reason, func(r rune) bool { return r < 0x20 || r == utf8.RuneError }) || len(reason) > 200 {
				t.Fatalf("reason %q cannot be recorded", reason)
			}
			return
		}
		var v map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Fatalf("accepted %q, which is not one JSON object: %v", body, err)
		}
		var walk func(x any)
		walk = func(x any) {
			switch x := x.(type) {
			case string:
				if strings.ContainsRune(x, 0) {
					t.Fatalf("accepted a NUL in %q", body)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(v)
		if slices.Contains([]string{"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled"}, topic) {
			if n, _ := v["id"].(json.Number); !positive(n.String()) {
				t.Fatalf("%s accepted without an order id: %q", topic, body)
			}
		}
	})
}

func positive(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0
}

// BenchmarkCheckPayload: the check of an orders/updated body the size of
// the bench's deliveries (a sandbox order, 1.6 kB).
func BenchmarkCheckPayload(b *testing.B) {
	body, err := os.ReadFile("testdata/order.json")
	if err != nil {
		b.Fatal(err)
	}
	checkPayload := new(payloadChecker).check
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if reason := checkPayload("orders/updated", "shop-a.myshopify.com", body); reason != "" {
			b.Fatal(reason)
		}
	}
}
