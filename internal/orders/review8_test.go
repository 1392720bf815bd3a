package orders

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestReview8CancelResendRefusedAsAlreadyCancelled: the first orderCancel
// gets no answer (a timeout), but Shopify's job for it runs on; the resume
// reads the order while that job is still running (not cancelled yet),
// sends the cancellation again, and Shopify refuses the re-send because
// the first one has cancelled the order in the meantime. The order was
// cancelled by this action: the action must succeed and, for a
// cancel+refund, make its refund — not fail as already_cancelled (stored
// as the key's 409 forever) with the customer's money never returned.
func TestReview8CancelResendRefusedAsAlreadyCancelled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, sh := newFakeStore(), newFakeShopify()
	s := newEngine(t, st, sh, time.Minute)
	sh.onCancel = func(n int) error {
		switch n {
		case 1:
			// Sent; Shopify's job is queued, the answer is lost.
			return fmt.Errorf("%w: answer lost", ErrShopifyTimeout)
		case 2:
			// The first send's job finishes just before the re-send lands.
			sh.mu.Lock()
			now := time.Now().UTC()
			sh.order.CancelledAt = &now
			sh.mu.Unlock()
		}
		return nil
	}
	a := Action{ID: "cancel-r8", ShopID: 1, OrderID: 1, Kind: ActionCancel, Status: ActionPending, AgentID: "7", Reason: "customer",
		RefundRequested: true, Plan: ActionPlan{Cancel: &CancelRequest{Reason: "customer", RefundMode: RefundFull, Restock: true}},
		RefundKey: refundKey("cancel-r8"), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if _, err := st.SubmitAction(ctx, Submission{Action: a}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Execute(ctx, testShop, a.ID)
	if got.Status.Final() {
		t.Fatalf("first run final without an answer: %+v", got)
	}
	for i := 0; i < 3 && !got.Status.Final(); i++ {
		got, _ = s.Execute(ctx, testShop, a.ID)
	}
	if got.Status != ActionSucceeded || !got.CancelDone || !got.RefundDone || sh.refunds != 1 {
		t.Fatalf("after resuming: status %s (%s %s), cancel done %v, refund done %v, refunds %d",
			got.Status, got.ErrorCode, got.Error, got.CancelDone, got.RefundDone, sh.refunds)
	}
}

// TestReview8FirstCancelRefusedAsAlreadyCancelled: the rules' answer is
// kept when this action never sent a cancellation before: an order
// cancelled by someone else is already_cancelled, nothing refunded.
func TestReview8FirstCancelRefusedAsAlreadyCancelled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, sh := newFakeStore(), newFakeShopify()
	s := newEngine(t, st, sh, time.Minute)
	sh.onCancel = func(n int) error {
		// Cancelled in Shopify's admin between the read and the send.
		sh.mu.Lock()
		now := time.Now().UTC()
		sh.order.CancelledAt = &now
		sh.mu.Unlock()
		return nil
	}
	a := Action{ID: "cancel-r8b", ShopID: 1, OrderID: 1, Kind: ActionCancel, Status: ActionPending, AgentID: "7", Reason: "customer",
		RefundRequested: true, Plan: ActionPlan{Cancel: &CancelRequest{Reason: "customer", RefundMode: RefundFull, Restock: true}},
		RefundKey: refundKey("cancel-r8b"), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if _, err := st.SubmitAction(ctx, Submission{Action: a}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Execute(ctx, testShop, a.ID)
	if got.Status != ActionFailed || got.ErrorCode != string(BlockedAlreadyCancelled) || sh.refunds != 0 {
		t.Fatalf("got %s (%s), refunds %d", got.Status, got.ErrorCode, sh.refunds)
	}
}
