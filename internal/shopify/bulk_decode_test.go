package shopify

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestBulkDecodeEdgeCasesMatchEncodingJSON: lines that encoding/json (the
// paged reads' decoder) accepts decode the same through the export's
// decoder: invalid UTF-8 and lone surrogate escapes (U+FFFD), a name given
// twice (the last), names in another case, as well as nulls, unknown
// members, big and precise numbers and escaped slashes. json v2's defaults
// failed the first three, and a failed line fails the backfill there on
// every resume.
func TestBulkDecodeEdgeCasesMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	const head = `{"id":"gid://shopify/Order/1",`
	lines := map[string]string{
		"lone surrogate":       head + `"name":"#1001 \ud83d","email":"a\udc00b@example.com"}`,
		"surrogate pair":       head + `"name":"#1001 \ud83d\ude00 caf\u00e9"}`,
		"invalid UTF-8":        head + "\"name\":\"Jos\xe9\"}",
		"duplicate name":       head + `"name":"#1","name":"#2"}`,
		"other case":           head + `"Name":"#1","CurrencyCode":"EUR"}`,
		"snake case":           head + `"currency_code":"EUR"}`,
		"nulls":                head + `"name":null,"number":null,"createdAt":null,"totalPriceSet":{"shopMoney":null},"customer":null,"transactions":null}`,
		"unknown members":      head + `"unknown":{"a":[1,2,{"b":null}]},"__parentId":"gid://shopify/Order/2"}`,
		"big amount":           head + `"totalPriceSet":{"shopMoney":{"amount":"123456789012345678901234567890.123456789","currencyCode":"EUR"}}}`,
		"escaped slashes":      `{"id":"gid:\/\/shopify\/Order\/1","name":"\u0023\u0031"}`,
		"fractional timestamp": head + `"createdAt":"2026-11-01T10:00:00.123456789+01:00"}`,
	}
	for name, line := range lines {
		t.Run(name, func(t *testing.T) {
			var want, got OrderFacts
			werr := json.Unmarshal([]byte(line), &want)
			gerr := newBulkDecoder().decode([]byte(line), &got)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("encoding/json err = %v, bulk decoder err = %v", werr, gerr)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("decodes differently:\nencoding/json %+v\nbulk decoder  %+v", want, got)
			}
		})
	}
}
