package shopify

import (
	"context"
	"errors"
	"testing"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// paidRefund is a refund of the whole of the sandbox's paid order.
func paidRefund(t *testing.T, c *Client, key string) orders.RefundCommand {
	t.Helper()
	o, err := c.Order(context.Background(), shop, int64(shopifysandbox.OrderPaidUnfulfilled))
	if err != nil {
		t.Fatal(err)
	}
	return orders.RefundCommand{OrderID: o.ID, IdempotencyKey: key,
		Transactions: []orders.RefundTransaction{{ParentID: o.Transactions[0].ID, Amount: o.TotalPrice, Gateway: o.Transactions[0].Gateway}}}
}

// TestReview8TopLevelErrorsOnKeyedMutations: a top-level
// INTERNAL_SERVER_ERROR or THROTTLED on refundCreate (keyed) is retried
// under the same key, and an answer lost after Shopify made the refund
// yields that refund, once; on orderCancel (not keyed) an
// INTERNAL_SERVER_ERROR is not sent again and is no answer (not a refusal).
func TestReview8TopLevelErrorsOnKeyedMutations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, code := range []string{"INTERNAL_SERVER_ERROR", "THROTTLED"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			sb, c := newSandbox(t, shopifysandbox.Options{}, Config{MaxAttempts: 4})
			cmd := paidRefund(t, c, "k-"+code)
			// Made at Shopify, then the answer is the top-level error.
			sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, TopLevel: code, ApplyFirst: true})
			id, err := c.CreateRefund(ctx, shop, cmd)
			if err != nil || id == 0 {
				t.Fatalf("refund after a top-level %s: %d, %v", code, id, err)
			}
			if n := len(sb.Ledger()); n != 1 {
				t.Errorf("sandbox made %d refunds", n)
			}
			if n := sb.Calls(shopifysandbox.OpRefundCreate); n != 2 {
				t.Errorf("refundCreate calls = %d, want 2 (the error, then the same key again)", n)
			}
		})
	}
	t.Run("orderCancel INTERNAL_SERVER_ERROR", func(t *testing.T) {
		t.Parallel()
		sb, c := newSandbox(t, shopifysandbox.Options{}, Config{MaxAttempts: 4})
		sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, TopLevel: "INTERNAL_SERVER_ERROR"})
		_, err := c.CancelOrder(ctx, shop, orders.CancelCommand{OrderID: int64(shopifysandbox.OrderPaidUnfulfilled), Reason: "customer"})
		if !errors.Is(err, orders.ErrShopifyUnavailable) || errors.Is(err, orders.ErrShopifyRejected) {
			t.Errorf("err = %v, want unavailable (no definite answer)", err)
		}
		if n := sb.Calls(shopifysandbox.OpOrderCancel); n != 1 {
			t.Errorf("orderCancel calls = %d: an unkeyed mutation was sent again", n)
		}
	})
}

// TestReview8RefundInProgressIsNoAnswer: refundCreate's userErrors carry
// no code; the @idempotent key's "request is currently in progress"
// (IDEMPOTENCY_CONCURRENT_REQUEST in the schema's other @idempotent
// mutations) means an earlier send under the same key is still running at
// Shopify and may yet make the refund. It is no answer (the action stays
// pending and sends again), never a refusal: read as shopify_rejected, a
// re-send racing the first (the adapter's own retry after a client
// timeout, or a resume after a crash) fails the action while Shopify
// makes the refund. A previous attempt that failed stays a refusal.
func TestReview8RefundInProgressIsNoAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	cmd := paidRefund(t, c, "k-busy")
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, UserErrors: []shopifysandbox.UserError{{Message: "This request is currently in progress, please try again."}}})
	_, err := c.CreateRefund(ctx, shop, cmd)
	if errors.Is(err, orders.ErrShopifyRejected) || errors.Is(err, orders.ErrRuleViolation) || errors.Is(err, orders.ErrInvalidInput) || !errors.Is(err, orders.ErrShopifyUnavailable) {
		t.Errorf("in progress: %v, want unavailable (no definite answer)", err)
	}
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, UserErrors: []shopifysandbox.UserError{{Message: "A previous request with this idempotency key failed. Retry with a new idempotency key."}}})
	if _, err := c.CreateRefund(ctx, shop, cmd); !errors.Is(err, orders.ErrShopifyRejected) {
		t.Errorf("previous attempt failed: %v, want rejected", err)
	}
}
