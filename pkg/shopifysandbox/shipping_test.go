package shopifysandbox

import (
	"fmt"
	"testing"
)

// TestSuggestedRefundShipping: suggestedRefund's refundShipping suggests
// all the shipping left, shippingAmount overriding it; after a refund of
// the shipping, refundShipping suggests nothing. (The sandbox reads a
// mutation's or suggestion's inputs from variables named as orderdesk
// names them.)
func TestSuggestedRefundShipping(t *testing.T) {
	t.Parallel()
	_, base := newBulkSandbox(t)
	id := fmt.Sprintf("gid://shopify/Order/%d", OrderPaidUnfulfilled)
	suggest := func(vars map[string]any) string {
		t.Helper()
		out := gql(t, base, "2026-10", `query suggestedRefund($id: ID!, $refundShipping: Boolean, $shippingAmount: Money) {
  order(id: $id) { suggestedRefund(refundShipping: $refundShipping, shippingAmount: $shippingAmount) { amountSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } } } }
}`, vars)
		data, _ := out["data"].(map[string]any)
		order, _ := data["order"].(map[string]any)
		sr, _ := order["suggestedRefund"].(map[string]any)
		set, _ := sr["amountSet"].(map[string]any)
		shop, _ := set["shopMoney"].(map[string]any)
		amount, _ := shop["amount"].(string)
		if amount == "" {
			t.Fatalf("no suggestion: %v", out)
		}
		return amount
	}
	if got := suggest(map[string]any{"id": id, "refundShipping": true}); got != "5" {
		t.Errorf("refundShipping: %s, want all 5.00 of the shipping", got)
	}
	if got := suggest(map[string]any{"id": id, "refundShipping": true, "shippingAmount": "2.50"}); got != "2.5" {
		t.Errorf("shippingAmount with refundShipping: %s, want 2.50 (the amount overrides)", got)
	}
	out := gql(t, base, "2026-10", `mutation refundCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) { refund { id } userErrors { field message } }
}`, map[string]any{"idempotencyKey": "k", "input": map[string]any{"orderId": id, "shipping": map[string]any{"fullRefund": true}, "transactions": []any{}}})
	data, _ := out["data"].(map[string]any)
	if p, _ := data["refundCreate"].(map[string]any); p == nil || p["refund"] == nil {
		t.Fatalf("full shipping refund: %v", out)
	}
	if got := suggest(map[string]any{"id": id, "refundShipping": true}); got != "0" {
		t.Errorf("refundShipping after the shipping was refunded: %s, want 0", got)
	}
}
