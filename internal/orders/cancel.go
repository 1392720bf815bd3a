package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// shopifyStaffNoteLimit is orderCancel's staffNote limit (characters).
const shopifyStaffNoteLimit = 255

// MaxStaffNote is the longest staff note an agent may send: Shopify's limit
// less orderdesk's marker of the action, which it appends.
const MaxStaffNote = shopifyStaffNoteLimit - len(" orderdesk:") - 36

// marker names the action in what it leaves at Shopify (the refund's note,
// the cancellation's staff note): the durable fallback of its identity.
func marker(actionID string) string { return "orderdesk:" + actionID }

// refundKey is the refund's @idempotent key, derived from the action id.
func refundKey(actionID string) string { return "orderdesk-refund-" + actionID }

// withMarker appends the action's marker to a note.
func withMarker(note, actionID string) string {
	if note = strings.TrimSpace(note); note == "" {
		return marker(actionID)
	}
	return note + " " + marker(actionID)
}

// CancelJobStatus is what Shopify says of an orderCancel job.
type CancelJobStatus struct {
	Done bool
	// Status is SUCCEEDED, FAILED or STARTED (OrderCancelStatus).
	Status string
	Errors []string
}

// planCancel checks the rules and works out the cancel's arguments and,
// when asked, the refund after it. The refund is planned before anything
// changes, so a refund that cannot be made stops the action before the
// cancellation.
func (s *Service) planCancel(a *Action, o Order) error {
	req := *a.Plan.Cancel
	if err := req.checkDecimals(moneyBack(o)); err != nil {
		return err
	}
	if !o.Actions.Cancel.Allowed {
		return ruleError(o.Actions.Cancel.BlockedReason)
	}
	if req.RefundMode != RefundNone {
		if !o.Actions.Refund.Allowed {
			return ruleError(o.Actions.Refund.BlockedReason)
		}
		amount := o.Refundable
		if req.RefundMode == RefundAmount {
			amount = *req.Amount
		}
		if err := checkAmount("refund.amount", amount, o.Refundable, moneyBack(o)); err != nil {
			return err
		}
		txs, err := allocate(o, amount)
		if err != nil {
			return err
		}
		a.Amount, a.Currency = &amount, moneyBack(o)
		a.RefundInput = &RefundCommand{
			OrderID: o.ID, IdempotencyKey: a.RefundKey, Note: withMarker("Order cancelled ("+req.Reason+")", a.ID),
			NotifyCustomer: req.NotifyCustomer, Currency: refundCurrency(o), Transactions: txs,
		}
	}
	a.CancelInput = &CancelCommand{
		OrderID: o.ID, Reason: req.Reason, Restock: req.Restock, NotifyCustomer: req.NotifyCustomer,
		StaffNote: withMarker(req.StaffNote, a.ID),
	}
	return nil
}

// cancelPart cancels the order unless this action already did. The order
// being cancelled after this action sent its cancellation is this action's
// doing: one action at a time holds the order, and a cancellation is the
// same state whoever asked for it. Cancelled without the action having sent
// anything is the rules' already_cancelled.
func (s *Service) cancelPart(ctx context.Context, shop tenant.Shop, l *lease, a *Action, o Order) error {
	if o.Status == StatusCancelled {
		if a.CancelAttempts == 0 {
			return ruleError(BlockedAlreadyCancelled)
		}
		return s.cancelled(ctx, l, shop, a)
	}
	if a.ShopifyJobID == "" {
		a.CancelAttempts++
		saved, err := s.store1(ctx, l, shop, *a) // counted before it is sent
		if err != nil {
			return err
		}
		*a = saved
		if err := l.check(ctx); err != nil {
			return err
		}
		job, err := s.shopify.CancelOrder(ctx, shop, *a.CancelInput)
		if err != nil && a.CancelAttempts > 1 && isDefinite(err, *a) {
			// A refusal of a re-send: an earlier send (its answer lost)
			// may have cancelled the order since it was read, its job
			// having run on at Shopify. Only the order tells.
			src, rerr := s.shopify.Order(ctx, shop, o.ID)
			if rerr != nil {
				return fmt.Errorf("cancel order %d refused on a re-send; reading the order: %w", o.ID, rerr)
			}
			if Build(src, s.now().UTC()).Status == StatusCancelled {
				return s.cancelled(ctx, l, shop, a)
			}
		}
		if err != nil {
			return fmt.Errorf("cancel order %d at shopify: %w", o.ID, err)
		}
		a.ShopifyJobID = job
		if saved, err = s.store1(ctx, l, shop, *a); err != nil {
			return err
		}
		*a = saved
	}
	st, err := s.awaitCancel(ctx, shop, a.ShopifyJobID)
	switch {
	case errors.Is(err, ErrNotFound):
		// The job is gone: the next run decides from the order.
		a.ShopifyJobID = ""
		if saved, serr := s.store1(ctx, l, shop, *a); serr == nil {
			*a = saved
		}
		return fmt.Errorf("cancel job vanished: %w", ErrShopifyUnavailable)
	case err != nil:
		return err
	case st.Status == "FAILED":
		// Definitely not cancelled: the action fails, and no refund follows.
		return fmt.Errorf("%w: the cancellation failed: %s", ErrShopifyRejected, strings.Join(st.Errors, "; "))
	}
	return s.cancelled(ctx, l, shop, a)
}

// cancelled records the cancel part done: the order is cancelled after
// this action sent its cancellation.
func (s *Service) cancelled(ctx context.Context, l *lease, shop tenant.Shop, a *Action) error {
	a.CancelDone = true
	saved, err := s.store1(ctx, l, shop, *a)
	*a = saved
	return err
}

// awaitCancel polls the cancel's job until it is done or s.jobWait passes
// (then the outcome is not known yet: a timeout, and the next run polls on).
func (s *Service) awaitCancel(ctx context.Context, shop tenant.Shop, jobID string) (CancelJobStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, s.jobWait)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		st, err := s.shopify.CancelJob(ctx, shop, jobID)
		if err != nil {
			if ctx.Err() != nil {
				return CancelJobStatus{}, fmt.Errorf("cancel job %s: %w", jobID, ErrShopifyTimeout)
			}
			return CancelJobStatus{}, err
		}
		if st.Done || st.Status == "SUCCEEDED" || st.Status == "FAILED" {
			return st, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return CancelJobStatus{}, fmt.Errorf("cancel job %s not done in %s: %w", jobID, s.jobWait, ErrShopifyTimeout)
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}
