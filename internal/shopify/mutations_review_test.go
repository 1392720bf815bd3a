package shopify

import (
	"context"
	"errors"
	"testing"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// TestMutationPartialAnswer: a top-level error beside a payload is not a
// refusal: the mutation ran (Shopify made the refund, started the cancel),
// so the payload is the answer. Read as ErrShopifyRejected, the engine
// settled the action as failed while the money had moved.
func TestMutationPartialAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	denied := `[{"message":"Access denied for a field","extensions":{"code":"ACCESS_DENIED"}}]`

	t.Run("refundCreate", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t, answer(`{"refundCreate":{"refund":{"id":"gid://shopify/Refund/77"},"userErrors":[]}}`, denied))
		id, err := c.CreateRefund(ctx, shop, orders.RefundCommand{OrderID: 5, IdempotencyKey: "k"})
		if errors.Is(err, orders.ErrShopifyRejected) {
			t.Fatalf("a refund Shopify made is read as refused: %v", err)
		}
		if err != nil || id != 77 {
			t.Errorf("CreateRefund = %d, %v; want the answer's refund 77", id, err)
		}
		if n := len(s.sent()); n != 1 {
			t.Errorf("sent %d times, want 1", n)
		}
	})

	t.Run("orderCancel", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t, answer(`{"orderCancel":{"job":{"id":"gid://shopify/OrderCancelJobResult/1","done":false},"orderCancelUserErrors":[]}}`, denied))
		job, err := c.CancelOrder(ctx, shop, orders.CancelCommand{OrderID: 5, Reason: "other"})
		if errors.Is(err, orders.ErrShopifyRejected) {
			t.Fatalf("a cancel Shopify started is read as refused: %v", err)
		}
		if err != nil || job != "gid://shopify/OrderCancelJobResult/1" {
			t.Errorf("CancelOrder = %q, %v; want the answer's job", job, err)
		}
		if n := len(s.sent()); n != 1 {
			t.Errorf("orderCancel sent %d times, want 1", n)
		}
	})

	t.Run("no payload is still a refusal", func(t *testing.T) {
		t.Parallel()
		_, c := newWire(t, answer(`null`, `[{"message":"Variable $input of type RefundInput! was provided invalid value","extensions":{"code":"INVALID_VARIABLE"}}]`))
		if _, err := c.CreateRefund(ctx, shop, orders.RefundCommand{OrderID: 5, IdempotencyKey: "k"}); !errors.Is(err, orders.ErrShopifyRejected) {
			t.Errorf("invalid variable: %v, want rejected", err)
		}
	})
}
