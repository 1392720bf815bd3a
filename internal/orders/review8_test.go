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
	a := submitCancelRefund(t, st, "cancel-r8")
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
	a := submitCancelRefund(t, st, "cancel-r8b")
	got, _ := s.Execute(ctx, testShop, a.ID)
	if got.Status != ActionFailed || got.ErrorCode != string(BlockedAlreadyCancelled) || sh.refunds != 0 {
		t.Fatalf("got %s (%s), refunds %d", got.Status, got.ErrorCode, sh.refunds)
	}
}

// TestReview8CancelRefundCrashAtEachStep: a cancel+refund that crashes (or
// meets an outage) before or after each Shopify call and at each save
// ends succeeded, the order cancelled once and refunded once.
func TestReview8CancelRefundCrashAtEachStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	failSave := func(st *fakeStore, when func(before, after Action) bool) {
		failed := false
		st.failUpdate = func(before, after Action) error {
			if !failed && when(before, after) {
				failed = true
				return errCrash
			}
			return nil
		}
	}
	steps := []struct {
		name string
		arm  func(st *fakeStore, sh *fakeShopify)
	}{
		{"write-ahead save fails", func(st *fakeStore, _ *fakeShopify) {
			failSave(st, func(b, a Action) bool { return b.CancelInput == nil && a.CancelInput != nil })
		}},
		{"attempt counted, orderCancel never sent", func(st *fakeStore, _ *fakeShopify) {
			failSave(st, func(b, a Action) bool { return b.CancelAttempts == 0 && a.CancelAttempts == 1 })
		}},
		{"orderCancel 503 before Shopify ran it", func(_ *fakeStore, sh *fakeShopify) {
			sh.onCancel = func(n int) error {
				if n == 1 {
					return fmt.Errorf("%w: 503", ErrShopifyUnavailable)
				}
				return nil
			}
		}},
		{"orderCancel ran, answer lost", func(_ *fakeStore, sh *fakeShopify) {
			sh.onCancel = func(n int) error {
				if n == 1 {
					sh.mu.Lock()
					now := time.Now().UTC()
					sh.order.CancelledAt = &now
					sh.mu.Unlock()
					return fmt.Errorf("%w: answer lost", ErrShopifyTimeout)
				}
				return nil
			}
		}},
		{"cancel done, its save fails", func(st *fakeStore, _ *fakeShopify) {
			failSave(st, func(b, a Action) bool { return !b.CancelDone && a.CancelDone })
		}},
		{"refund attempt counted, never sent", func(st *fakeStore, _ *fakeShopify) {
			failSave(st, func(b, a Action) bool { return b.RefundAttempts == 0 && a.RefundAttempts == 1 })
		}},
		{"refund made, answer lost", func(_ *fakeStore, sh *fakeShopify) {
			sh.afterMade = func(n int) error {
				if n == 1 {
					return fmt.Errorf("%w: answer lost", ErrShopifyTimeout)
				}
				return nil
			}
		}},
		{"refund made, its save fails", func(st *fakeStore, _ *fakeShopify) {
			failSave(st, func(b, a Action) bool { return !b.RefundDone && a.RefundDone })
		}},
		{"outcome save fails", func(st *fakeStore, _ *fakeShopify) {
			failSave(st, func(_, a Action) bool { return a.Status.Final() })
		}},
	}
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			t.Parallel()
			st, sh := newFakeStore(), newFakeShopify()
			s := newEngine(t, st, sh, time.Minute)
			step.arm(st, sh)
			id := fmt.Sprintf("cr-%d", i)
			a := submitCancelRefund(t, st, id)
			got, err := s.Execute(ctx, testShop, a.ID)
			if err == nil && got.Status.Final() && got.Status != ActionSucceeded {
				t.Fatalf("first run ended %s (%s)", got.Status, got.Error)
			}
			for j := 0; j < 4 && !got.Status.Final(); j++ {
				got, _ = s.Execute(ctx, testShop, a.ID)
			}
			if got.Status != ActionSucceeded || !got.CancelDone || !got.RefundDone || got.ShopifyRefundID == nil {
				t.Fatalf("after resuming: %s (%s %s) cancel %v refund %v", got.Status, got.ErrorCode, got.Error, got.CancelDone, got.RefundDone)
			}
			if sh.order.CancelledAt == nil || sh.refunds != 1 {
				t.Errorf("Shopify: cancelled %v, %d refunds", sh.order.CancelledAt != nil, sh.refunds)
			}
		})
	}
}

// TestReview8OutcomeSaveFailureKeepsTheJob: when the outcome's save fails
// after Shopify refunded, the action is still pending in the store, so its
// job must not be told it is done (the River worker then completes the job
// and only the sweep is left to record the outcome).
func TestReview8OutcomeSaveFailureKeepsTheJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, sh := newFakeStore(), newFakeShopify()
	s := newEngine(t, st, sh, time.Minute)
	failed := false
	st.failUpdate = func(_, after Action) error {
		if after.Status.Final() && !failed {
			failed = true
			return errCrash
		}
		return nil
	}
	a := submitRefund(t, s, st, "3.00")
	done, err := s.ExecuteAction(ctx, testShop, a.ID)
	stored, _ := st.GetAction(ctx, 1, a.ID)
	if stored.Status != ActionPending {
		t.Fatalf("stored = %s", stored.Status)
	}
	if done || err == nil {
		t.Errorf("job told done=%v err=%v while the action is pending", done, err)
	}
	if done, err = s.ExecuteAction(ctx, testShop, a.ID); !done || err != nil {
		t.Fatalf("second run: done=%v err=%v", done, err)
	}
	if got, _ := st.GetAction(ctx, 1, a.ID); got.Status != ActionSucceeded || sh.refunds != 1 {
		t.Errorf("final %s, refunds %d", got.Status, sh.refunds)
	}
}

// TestReview8TimelineEntryIsNotLost: the contact's timeline entry of an
// action that went to Shopify is written before its outcome is recorded,
// and a failed write keeps the action pending for the next run: written
// after the outcome and only logged when it failed, a database blip or a
// crash between the two left a refunded action off the timeline for good
// (a final action never runs again).
func TestReview8TimelineEntryIsNotLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, sh := newFakeStore(), newFakeShopify()
	s := newEngine(t, st, sh, time.Minute)
	failed := false
	st.failTimeline = func() error {
		if !failed {
			failed = true
			return errCrash
		}
		return nil
	}
	a := submitRefund(t, s, st, "4.00")
	got, _ := s.Execute(ctx, testShop, a.ID)
	for i := 0; i < 3 && !got.Status.Final(); i++ {
		got, _ = s.Execute(ctx, testShop, a.ID)
	}
	ev, ok := st.timeline["action:"+a.ID]
	if got.Status != ActionSucceeded || !ok || ev.Data["status"] != string(ActionSucceeded) || sh.refunds != 1 {
		t.Fatalf("action %s, timeline entry %v %+v, refunds %d", got.Status, ok, ev.Data, sh.refunds)
	}
}

// submitCancelRefund records a pending cancellation with a full refund.
func submitCancelRefund(t *testing.T, st *fakeStore, id string) Action {
	t.Helper()
	a := Action{ID: id, ShopID: 1, OrderID: 1, Kind: ActionCancel, Status: ActionPending, AgentID: "7", Reason: "customer",
		RefundRequested: true, Plan: ActionPlan{Cancel: &CancelRequest{Reason: "customer", RefundMode: RefundFull, Restock: true}},
		RefundKey: refundKey(id), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if _, err := st.SubmitAction(context.Background(), Submission{Action: a}, nil); err != nil {
		t.Fatal(err)
	}
	return a
}
