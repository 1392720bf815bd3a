package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// An action is carried out by Execute, whoever calls it: the request that
// submitted it, its River job, or the sweep (Reconcile). Each run takes the
// order's lease under its own token, re-reads the order from Shopify, and
// continues from what the action row says was done:
//
//  1. plan (first run only): the rules on the fresh order, then the exact
//     Shopify inputs, written ahead to the row before anything is sent;
//  2. cancel: counted as attempted before it is sent; its job polled;
//  3. refund: found by its marker among the order's refunds, else sent
//     (again) with exactly the stored input under the same key;
//  4. the outcome, with its hooks, in one transaction.
//
// A definite no (the rules, Shopify's userErrors, a FAILED cancel job)
// makes the action failed. Anything else (no answer, 5xx, throttling, a
// failed save) leaves it pending, and the next run carries on.

// errAlreadyFinal stops a run that finds the action final.
var errAlreadyFinal = errors.New("the action is final")

// Execute drives one action toward its outcome. It returns the action as it
// stands; an error means it is still pending (or another executor has it:
// errLeaseBusy).
func (s *Service) Execute(ctx context.Context, shop tenant.Shop, actionID string) (Action, error) {
	a, err := s.actions.GetAction(ctx, shop.ID, actionID)
	if err != nil {
		return Action{}, fmt.Errorf("load action: %w", err)
	}
	if a.Status.Final() {
		return a, nil
	}
	l, wctx, cancel, err := s.acquire(ctx, shop, a)
	if err != nil {
		return a, err
	}
	defer cancel()
	defer func() {
		if err := l.release(ctx); err != nil {
			s.log.WarnContext(ctx, "release order lease", "order_id", a.OrderID, "err", err)
		}
	}()
	return s.run(wctx, shop, l, a.ID)
}

func (s *Service) run(ctx context.Context, shop tenant.Shop, l *lease, id string) (Action, error) {
	a, err := s.change(ctx, l, shop, id, func(a *Action) error { a.Executions++; return nil })
	if errors.Is(err, errAlreadyFinal) {
		return s.actions.GetAction(ctx, shop.ID, id)
	}
	if err != nil {
		return a, err
	}
	// The freshest state: eligibility is never decided on a stale copy, and
	// what Shopify did since the last run is read here.
	src, err := s.shopify.Order(ctx, shop, a.OrderID)
	if err != nil {
		return s.settle(ctx, shop, l, a, fmt.Errorf("read order %d before acting: %w", a.OrderID, err))
	}
	o := Build(src, s.now().UTC())
	if err := s.save(ctx, shop.ID, o); err != nil {
		s.log.WarnContext(ctx, "store fresh order", "order_id", o.ID, "err", err)
	}
	if a.CancelInput == nil && a.RefundInput == nil {
		if err := s.plan(ctx, shop, &a, o); err != nil {
			return s.settle(ctx, shop, l, a, err)
		}
		// Write ahead: the exact inputs are stored before the first call.
		if a, err = s.store1(ctx, l, shop, a); err != nil {
			return a, err
		}
	}
	if a.CancelInput != nil && !a.CancelDone {
		if err := s.cancelPart(ctx, shop, l, &a, o); err != nil {
			return s.settle(ctx, shop, l, a, err)
		}
	}
	if a.RefundInput != nil && !a.RefundDone {
		if err := s.refundPart(ctx, shop, l, &a, o); err != nil {
			return s.settle(ctx, shop, l, a, err)
		}
	}
	return s.finish(ctx, shop, l, a, nil)
}

// plan checks the rules on the fresh order and works out the Shopify
// inputs of the action's parts.
func (s *Service) plan(ctx context.Context, shop tenant.Shop, a *Action, o Order) error {
	switch {
	case a.Plan.Cancel != nil:
		return s.planCancel(a, o)
	case a.Plan.Refund != nil:
		return s.planRefund(ctx, shop, a, o)
	}
	return fmt.Errorf("action %s has no plan", a.ID)
}

// change runs an UpdateAction under the lease: nothing is saved once the
// lease is lost, and nothing changes a final action.
func (s *Service) change(ctx context.Context, l *lease, shop tenant.Shop, id string, f func(*Action) error) (Action, error) {
	if err := l.check(ctx); err != nil {
		return Action{}, err
	}
	return s.actions.UpdateAction(ctx, shop.ID, id, func(a *Action) error {
		if a.Status.Final() {
			return errAlreadyFinal
		}
		a.UpdatedAt = s.now().UTC()
		return f(a)
	})
}

// store1 saves the executor's copy of the action (it holds the lease, so
// its copy is the newest).
func (s *Service) store1(ctx context.Context, l *lease, shop tenant.Shop, a Action) (Action, error) {
	saved, err := s.change(ctx, l, shop, a.ID, func(cur *Action) error {
		updated := cur.UpdatedAt
		*cur = a
		cur.UpdatedAt = updated
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("save action progress: %w", err)
	}
	return saved, nil
}

// settle ends a run that stopped on err: a definite no makes the action
// failed; anything else leaves it pending, saying why, for the next run.
func (s *Service) settle(ctx context.Context, shop tenant.Shop, l *lease, a Action, err error) (Action, error) {
	if isDefinite(err, a) {
		return s.finish(ctx, shop, l, a, err)
	}
	a.Error = publicError(err) + "; retrying until Shopify answers"
	if saved, serr := s.store1(ctx, l, shop, a); serr == nil {
		a = saved
	}
	return a, err
}

// finish records the outcome (failed when failure is set), puts the
// action on the timeline when it went to Shopify, and refreshes the order
// first, so whoever sees the outcome sees the order it left.
func (s *Service) finish(ctx context.Context, shop tenant.Shop, l *lease, a Action, failure error) (Action, error) {
	var order Order
	if !a.SentToShopify() {
		// Nothing changed at Shopify: the copy read for this run stands.
		if stored, err := s.store.GetOrder(ctx, shop.ID, a.OrderID); err == nil {
			order = stored
		}
	} else if src, err := s.shopify.Order(ctx, shop, a.OrderID); err == nil {
		order = Build(src, s.now().UTC())
		if err := s.save(ctx, shop.ID, order); err != nil {
			s.log.WarnContext(ctx, "store order after action", "order_id", order.ID, "err", err)
		}
	} else if stored, err := s.store.GetOrder(ctx, shop.ID, a.OrderID); err == nil {
		order = stored
	}
	pending := a
	now := s.now().UTC()
	a.CompletedAt = &now
	if failure == nil {
		a.Status, a.ErrorCode, a.Error = ActionSucceeded, "", ""
	} else {
		a.Status, a.ErrorCode, a.Error = ActionFailed, errorCode(failure), publicError(failure)
	}
	// The contact's timeline first: once the outcome is recorded the
	// action never runs again, so an entry written after it could be lost
	// to a crash. Written (or rewritten, it is keyed by the action) here,
	// the next run writes it again if anything below fails.
	if a.SentToShopify() && order.Name != "" {
		if err := s.recordAction(ctx, shop, a, order); err != nil {
			return pending, err
		}
	}
	final, err := s.store1(ctx, l, shop, a)
	if err != nil {
		// Not recorded: the action stays pending (and is returned so, for
		// its job to carry on) and the next run records it (a Shopify
		// success is never turned into a failure).
		return pending, fmt.Errorf("record outcome: %w", err)
	}
	return final, nil
}

// isDefinite reports an error that settles the action as failed: a no from
// the rules or Shopify, or (before anything was sent) an order Shopify does
// not have or a shop that cannot be reached at all.
func isDefinite(err error, a Action) bool {
	if errors.Is(err, ErrRuleViolation) || errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrShopifyRejected) {
		return true
	}
	if a.SentToShopify() {
		return false
	}
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrShopifyAuth) || errors.Is(err, tenant.ErrShopUninstalled)
}

// errorCode is the stable code of a failure: the API's problem code.
func errorCode(err error) string {
	var rule *RuleError
	var verr *ValidationError
	switch {
	case errors.As(err, &rule):
		return string(rule.Reason)
	case errors.As(err, &verr):
		return verr.Code
	case errors.Is(err, ErrShopifyRejected):
		return "shopify_rejected"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrShopifyAuth):
		return "shopify_auth"
	case errors.Is(err, tenant.ErrShopUninstalled):
		return "shop_uninstalled"
	}
	return "internal"
}

// Failure is a failed action's outcome as an error of the domain, for the
// API's one error table; nil unless the action failed.
func (a Action) Failure() error {
	if a.Status != ActionFailed {
		return nil
	}
	switch a.ErrorCode {
	case string(BlockedAlreadyCancelled), string(BlockedOrderFulfilled), string(BlockedNotPaid), string(BlockedNothingToRefund), string(BlockedReturnRequired):
		detail := a.Error
		if _, d, ok := strings.Cut(a.Error, ": "); ok {
			detail = d
		}
		return &RuleError{Reason: BlockedReason(a.ErrorCode), Detail: detail}
	case "shopify_rejected":
		return fmt.Errorf("%w: %s", ErrShopifyRejected, a.Error)
	case "not_found":
		return fmt.Errorf("order %d: %w", a.OrderID, ErrNotFound)
	case "shopify_auth":
		return ErrShopifyAuth
	case "shop_uninstalled":
		return tenant.ErrShopUninstalled
	case "internal", "":
		return errors.New(a.Error)
	}
	field, msg, ok := strings.Cut(strings.TrimPrefix(a.Error, "invalid input: "), ": ")
	if !ok {
		field, msg = "", a.Error
	}
	return &ValidationError{Code: a.ErrorCode, Fields: []FieldError{{Field: field, Message: msg}}}
}

// publicError is what the action row says about a failure: the rule or
// Shopify's words, never internal details.
func publicError(err error) string {
	var rule *RuleError
	var verr *ValidationError
	switch {
	case errors.As(err, &rule):
		return rule.Error()
	case errors.As(err, &verr):
		return verr.Error()
	case errors.Is(err, ErrShopifyRejected):
		return err.Error()
	case errors.Is(err, ErrShopifyTimeout), errors.Is(err, context.DeadlineExceeded):
		return "Shopify did not answer in time"
	case errors.Is(err, ErrShopifyUnavailable):
		return "Shopify failed"
	case errors.Is(err, ErrNotFound):
		return "Shopify does not know this order"
	case errors.Is(err, ErrShopifyRateLimited):
		return "Shopify is rate limiting this shop"
	case errors.Is(err, ErrShopifyAuth):
		return "Shopify refused the shop's access token"
	case errors.Is(err, tenant.ErrShopUninstalled):
		return "the shop has uninstalled the app"
	case errors.Is(err, errLeaseLost):
		return "the order's lease ran out"
	default:
		return "internal error"
	}
}

// Reconcile is the sweep: it carries on pending actions that nobody is
// working on (their last run stopped, or their process died), so every
// action settles once Shopify answers again without a new request. It
// returns how many it settled.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	list, err := s.actions.PendingActions(ctx, s.now().UTC().Add(-s.settleAfter), 50)
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	settled := 0
	for _, sa := range list {
		actx, cancel := context.WithTimeout(ctx, s.runTimeout)
		a, err := s.Execute(actx, sa.Shop, sa.Action.ID)
		cancel()
		if err != nil && !errors.Is(err, errLeaseBusy) {
			s.log.WarnContext(ctx, "reconcile action", "action_id", sa.Action.ID, "err", err)
		}
		if a.Status.Final() {
			settled++
		}
	}
	return settled, nil
}
