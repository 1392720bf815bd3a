package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// IdempotencyClaim is a request's Idempotency-Key as the action store
// claims it, in the transaction that records the action.
type IdempotencyClaim struct {
	ShopID      int64
	APIKeyID    int64
	Key         string
	RequestHash string
	ExpiresAt   time.Time
}

// Submission is a new action and the key that asks for it.
type Submission struct {
	Claim  IdempotencyClaim
	Action Action
}

// StoredAnswer is the first final answer stored for a key.
type StoredAnswer struct {
	Status int
	Body   []byte
}

// Submitted is what a submission found or made: a new action (Created),
// the action a key already names, and its stored answer if it has one.
type Submitted struct {
	Action  Action
	Created bool
	Answer  *StoredAnswer
}

// EnqueueFunc inserts an action's job inside tx, the transaction that
// records the action (a *sql.Tx).
type EnqueueFunc func(ctx context.Context, tx any, a Action) error

// OutcomeHook runs inside the transaction that makes an action final
// (succeeded or failed), with that transaction (a *sql.Tx); an error rolls
// the outcome back, and the action's job tries again.
type OutcomeHook func(ctx context.Context, tx any, a Action) error

// ActionQueue puts an action's durable job in the queue, inside the
// submitting transaction.
type ActionQueue interface {
	EnqueueAction(ctx context.Context, tx any, shop tenant.Shop, actionID string) error
}

// ActionStore is what the action engine keeps: actions, their keys, and
// their changes, each change one transaction.
type ActionStore interface {
	// SubmitAction claims the key, records the action and enqueues its job
	// in one transaction; see Submitted. Another pending action on the
	// order is ErrActionInProgress, a key used for another request
	// idempotency.ErrKeyReused; neither claims anything.
	SubmitAction(ctx context.Context, sub Submission, enqueue EnqueueFunc) (Submitted, error)
	// UpdateAction reads, changes and writes an action in one transaction;
	// an error from change is returned as it is and changes nothing.
	UpdateAction(ctx context.Context, shopID int64, id string, change func(*Action) error) (Action, error)
	// GetAction returns one of the shop's actions, or ErrNotFound.
	GetAction(ctx context.Context, shopID int64, id string) (Action, error)
	// ListActions returns an order's actions, newest first.
	ListActions(ctx context.Context, shopID, orderID int64) ([]Action, error)
	// PendingActions returns pending actions untouched since before and
	// with no live lease on their order, oldest first, with their shops.
	PendingActions(ctx context.Context, before time.Time, limit int) ([]ShopAction, error)
}

// ActionCall is how a request asks for an action: under its key, by an
// agent, waiting at most Wait for the outcome.
type ActionCall struct {
	Claim   IdempotencyClaim
	AgentID string
	// Request is the agent's request as JSON, for the audit trail.
	Request []byte
	Wait    time.Duration
}

// ActionResult is an action and the order after it, or the stored answer
// of the action's key (Answer set: replay it, nothing ran).
type ActionResult struct {
	Action Action
	Order  Order
	Answer *StoredAnswer
}

// SetActionQueue sets where action jobs go (River); without one, actions
// run in the request and the sweep finishes what a crash left.
func (s *Service) SetActionQueue(q ActionQueue) { s.queue = q }

// Cancel asks for an order's cancellation (with a refund when asked). The
// action is durable: it is recorded with its job, then carried out; if it
// is not final after call.Wait the result holds it pending, and its job
// finishes it.
func (s *Service) Cancel(ctx context.Context, shop tenant.Shop, orderID int64, call ActionCall, req CancelRequest) (ActionResult, error) {
	if err := req.Validate(); err != nil {
		return ActionResult{}, err
	}
	if err := s.checkCurrency(ctx, shop, orderID, req.checkDecimals); err != nil {
		return ActionResult{}, err
	}
	return s.submit(ctx, shop, orderID, ActionCancel, call, ActionPlan{Cancel: &req}, req.Reason, req.RefundMode != RefundNone)
}

// Refund asks for a refund: an amount, or line items and/or shipping.
func (s *Service) Refund(ctx context.Context, shop tenant.Shop, orderID int64, call ActionCall, req RefundRequest) (ActionResult, error) {
	if err := req.Validate(); err != nil {
		return ActionResult{}, err
	}
	if err := s.checkCurrency(ctx, shop, orderID, req.checkDecimals); err != nil {
		return ActionResult{}, err
	}
	// The refund's note goes to Shopify (and the customer, when notified);
	// it is not a reason, so the action has none.
	return s.submit(ctx, shop, orderID, ActionRefund, call, ActionPlan{Refund: &req}, "", true)
}

// checkCurrency checks the amounts as written against the order's
// currency (an order's currency never changes, so the stored copy tells):
// "1.0" in JPY is refused before anything is recorded.
func (s *Service) checkCurrency(ctx context.Context, shop tenant.Shop, orderID int64, check func(currency string) error) error {
	o, err := s.store.GetOrder(ctx, shop.ID, orderID)
	if err != nil {
		return nil // the job checks it on the fresh order
	}
	return check(moneyBack(o))
}

func (s *Service) submit(ctx context.Context, shop tenant.Shop, orderID int64, kind ActionKind, call ActionCall, plan ActionPlan, reason string, refund bool) (ActionResult, error) {
	now := s.now().UTC()
	id := uuid.NewString()
	a := Action{
		ID: id, ShopID: shop.ID, OrderID: orderID, Kind: kind, Status: ActionPending, AgentID: call.AgentID, Reason: reason,
		RefundRequested: refund, Request: call.Request, Plan: plan, RefundKey: refundKey(id), CreatedAt: now, UpdatedAt: now,
	}
	enqueue := func(ctx context.Context, tx any, a Action) error {
		if s.queue == nil {
			return nil
		}
		return s.queue.EnqueueAction(ctx, tx, shop, a.ID)
	}
	got, err := s.actions.SubmitAction(ctx, Submission{Claim: call.Claim, Action: a}, enqueue)
	if err != nil {
		return ActionResult{}, err
	}
	if got.Answer != nil {
		return ActionResult{Action: got.Action, Answer: got.Answer}, nil
	}
	a = got.Action
	if !a.Status.Final() {
		a = s.runAndWait(ctx, shop, a, call.Wait)
	}
	return s.result(ctx, shop, a), nil
}

// runAndWait carries the action out in the background (its own context:
// a client hanging up does not stop money half-moved) and waits up to wait
// for it to be final. Whoever holds the order's lease does the work; the
// others wait for the row.
func (s *Service) runAndWait(ctx context.Context, shop tenant.Shop, a Action, wait time.Duration) Action {
	done := make(chan struct{})
	go func() {
		defer close(done)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.runTimeout)
		defer cancel()
		if _, err := s.Execute(rctx, shop, a.ID); err != nil && !errors.Is(err, errLeaseBusy) {
			s.log.WarnContext(rctx, "action not final yet; its job will carry on", "action_id", a.ID, "err", err)
		}
	}()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	// While this request's run goes on, its end is the answer (the row is
	// final, the order saved, the lease released). When it ends without an
	// outcome (another executor holds the order, or Shopify did not answer)
	// the row is watched until the deadline.
	select {
	case <-done:
	case <-deadline.C:
		return s.current(ctx, shop, a)
	case <-ctx.Done():
		return s.current(ctx, shop, a)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if a = s.current(ctx, shop, a); a.Status.Final() {
			return a
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return s.current(ctx, shop, a)
		case <-ctx.Done():
			return a
		}
	}
}

// current re-reads the action; a on failure.
func (s *Service) current(ctx context.Context, shop tenant.Shop, a Action) Action {
	if cur, err := s.actions.GetAction(ctx, shop.ID, a.ID); err == nil {
		return cur
	}
	return a
}

// ExecuteAction is the action job's work: it reports whether the action
// is final. Another executor holding the order is not an error (done is
// false): the job looks again later.
func (s *Service) ExecuteAction(ctx context.Context, shop tenant.Shop, actionID string) (bool, error) {
	a, err := s.Execute(ctx, shop, actionID)
	if errors.Is(err, errLeaseBusy) {
		return false, nil
	}
	if errors.Is(err, ErrNotFound) && a.ID == "" {
		return true, nil // no such action (its shop was deleted): nothing to do
	}
	return a.Status.Final(), err
}

// result is the action with the order as it stands now.
func (s *Service) result(ctx context.Context, shop tenant.Shop, a Action) ActionResult {
	o, err := s.store.GetOrder(ctx, shop.ID, a.OrderID)
	if err != nil {
		o = Order{ID: a.OrderID}
	}
	return ActionResult{Action: a, Order: o}
}

// GetAction returns one of an order's actions.
func (s *Service) GetAction(ctx context.Context, shop tenant.Shop, orderID int64, actionID string) (Action, error) {
	a, err := s.actions.GetAction(ctx, shop.ID, actionID)
	if err != nil {
		return Action{}, fmt.Errorf("get action: %w", err)
	}
	if a.OrderID != orderID {
		return Action{}, fmt.Errorf("action %s of order %d: %w", actionID, orderID, ErrNotFound)
	}
	return a, nil
}

// Actions lists an order's actions, newest first: every attempt that
// reached the rules, refusals included.
func (s *Service) Actions(ctx context.Context, shop tenant.Shop, orderID int64) ([]Action, error) {
	// The list follows the order's visibility: an order the shop does not
	// have is 404, whatever attempts on its id were recorded.
	if _, err := s.store.GetOrder(ctx, shop.ID, orderID); errors.Is(err, ErrNotFound) {
		if _, err := s.Get(ctx, shop, orderID, false); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	list, err := s.actions.ListActions(ctx, shop.ID, orderID)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return list, nil
}

// PreviewCancel returns what cancelling the order would do, from the order
// as it stands (read through to Shopify when stale).
func (s *Service) PreviewCancel(ctx context.Context, shop tenant.Shop, id int64) (CancelPreview, error) {
	o, err := s.Get(ctx, shop, id, false)
	if err != nil {
		return CancelPreview{}, err
	}
	return PreviewCancel(o), nil
}

// PreviewRefund returns what can be refunded on the order.
func (s *Service) PreviewRefund(ctx context.Context, shop tenant.Shop, id int64) (RefundPreview, error) {
	o, err := s.Get(ctx, shop, id, false)
	if err != nil {
		return RefundPreview{}, err
	}
	return PreviewRefund(o), nil
}
