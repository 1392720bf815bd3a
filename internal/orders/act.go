package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// actionLease bounds how long an action holds its order; a crashed
// replica's lease runs out and the order frees itself.
const actionLease = 2 * time.Minute

// ActionResult is an action and the order after it.
type ActionResult struct {
	Action Action
	Order  Order
}

// mutationError marks an error from a call that may have changed Shopify.
type mutationError struct{ err error }

func (e mutationError) Error() string { return e.err.Error() }
func (e mutationError) Unwrap() error { return e.err }

// outcomeOf is the honest status of an action that ended in err. Only a
// mutation that got no definite answer leaves the outcome unknown.
func outcomeOf(err error) ActionStatus {
	var m mutationError
	if errors.As(err, &m) && (errors.Is(err, ErrShopifyTimeout) || errors.Is(err, ErrShopifyUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return ActionUnknown
	}
	return ActionFailed
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

// Actions lists an order's actions, newest first.
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
	list, err := s.store.ListActions(ctx, shop.ID, orderID)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return list, nil
}

// Cancel cancels an order, refunding in the same action when asked. The
// actionID comes from the caller's idempotency record: calling again with
// it resumes the action, finishing what is missing and repeating nothing.
func (s *Service) Cancel(ctx context.Context, shop tenant.Shop, orderID int64, actionID, agentID string, req CancelRequest, raw []byte) (ActionResult, error) {
	if err := req.Validate(); err != nil {
		return ActionResult{}, err
	}
	return s.act(ctx, shop, orderID, ActionCancel, actionID, agentID, req.Reason, req.RefundMode != RefundNone, raw, func(ctx context.Context, a *Action, o Order) error {
		if err := req.checkDecimals(o.Currency); err != nil {
			return err
		}
		if !a.CancelDone && o.Status == StatusCancelled && (a.ShopifyJobID != "" || a.Status == ActionUnknown) {
			a.CancelDone = true // an earlier attempt of this action went through
		}
		if !a.CancelDone && !o.Actions.Cancel.Allowed {
			return ruleError(o.Actions.Cancel.BlockedReason)
		}
		if a.Amount == nil && req.RefundMode != RefundNone {
			if !o.Actions.Refund.Allowed {
				return ruleError(o.Actions.Refund.BlockedReason)
			}
			amount := o.Refundable
			if req.RefundMode == RefundAmount {
				amount = *req.Amount
			}
			if err := checkAmount("refund.amount", amount, o.Refundable, o.Currency); err != nil {
				return err
			}
			a.Amount, a.Currency = &amount, o.Currency
		}
		// Plan the refund before changing anything, so a refund that
		// cannot be made stops the action before the cancellation.
		plan, err := s.planRefund(a, o, nil)
		if err != nil {
			return err
		}
		if !a.CancelDone {
			if err := s.store.UpdateAction(ctx, *a); err != nil {
				return fmt.Errorf("save action: %w", err)
			}
			job, err := s.shopify.CancelOrder(ctx, shop, CancelCommand{
				OrderID: o.ID, Reason: req.Reason, Restock: req.Restock, NotifyCustomer: req.NotifyCustomer, StaffNote: req.StaffNote,
			})
			a.ShopifyJobID = job
			if err != nil {
				return mutationError{fmt.Errorf("cancel order %d at shopify: %w", o.ID, err)}
			}
			a.CancelDone = true
			if err := s.store.UpdateAction(ctx, *a); err != nil {
				return fmt.Errorf("save action: %w", err)
			}
		}
		return s.refund(ctx, shop, a, o, plan, RefundCommand{Note: "Order cancelled (" + req.Reason + ")", NotifyCustomer: req.NotifyCustomer})
	})
}

// Refund refunds an amount, or line items and/or shipping.
func (s *Service) Refund(ctx context.Context, shop tenant.Shop, orderID int64, actionID, agentID string, req RefundRequest, raw []byte) (ActionResult, error) {
	if err := req.Validate(); err != nil {
		return ActionResult{}, err
	}
	return s.act(ctx, shop, orderID, ActionRefund, actionID, agentID, req.Note, true, raw, func(ctx context.Context, a *Action, o Order) error {
		if err := req.checkDecimals(o.Currency); err != nil {
			return err
		}
		var lines []RefundCommandLine
		var shipping *decimal.Decimal
		var suggested []RefundTransaction
		items := len(req.LineItems) > 0 || req.Shipping != nil
		if a.Amount == nil {
			if !o.Actions.Refund.Allowed {
				return ruleError(o.Actions.Refund.BlockedReason)
			}
			amount, l, sh, touchesShipped, err := refundAmount(o, req)
			if err != nil {
				return err
			}
			if touchesShipped && req.Return == ReturnNone {
				return ruleError(BlockedReturnRequired)
			}
			lines, shipping = l, sh
			if items {
				// Shopify reckons line refunds with their taxes and discounts.
				sug, err := s.shopify.SuggestRefund(ctx, shop, o.ID, lines, shipping)
				if err != nil {
					return fmt.Errorf("refund suggestion for order %d: %w", o.ID, err)
				}
				amount, suggested = sug.Amount, sug.Transactions
			}
			if err := checkAmount("amount", amount, o.Refundable, o.Currency); err != nil {
				return err
			}
			a.Amount, a.Currency = &amount, o.Currency
		} else if items && !a.RefundDone {
			// Resuming: the same lines as planned the first time.
			_, lines, shipping, _, _ = refundAmount(o, req)
			if _, ok := findOwnRefund(o, *a); !ok {
				sug, err := s.shopify.SuggestRefund(ctx, shop, o.ID, lines, shipping)
				if err != nil {
					return fmt.Errorf("refund suggestion for order %d: %w", o.ID, err)
				}
				suggested = sug.Transactions
			}
		}
		plan, err := s.planRefund(a, o, suggested)
		if err != nil {
			return err
		}
		return s.refund(ctx, shop, a, o, plan, RefundCommand{Note: req.Note, NotifyCustomer: req.NotifyCustomer, Lines: lines, Shipping: shipping})
	})
}

// refundAmount checks a refund request against the order and works out its
// Shopify lines (with restock types), its shipping, whether it touches
// shipped items, and its money: exact for an amount, price × quantity for
// lines (Shopify's suggestion, with taxes and discounts, replaces that).
func refundAmount(o Order, req RefundRequest) (decimal.Decimal, []RefundCommandLine, *decimal.Decimal, bool, error) {
	if req.Amount != nil {
		return *req.Amount, nil, nil, o.Actions.Refund.RequiresReturn, nil
	}
	amount := decimal.Zero
	touchesShipped := false
	var lines []RefundCommandLine
	for i, rl := range req.LineItems {
		field := fmt.Sprintf("line_items[%d]", i)
		idx := -1
		for j, li := range o.LineItems {
			if li.ID == rl.LineItemID {
				idx = j
			}
		}
		if idx < 0 {
			return decimal.Zero, nil, nil, false, &ValidationError{Code: "invalid_line_item", Fields: []FieldError{{field + ".line_item_id", "is not a line item of this order"}}}
		}
		li := o.LineItems[idx]
		if left := li.Quantity - li.RefundedQuantity; rl.Quantity > left {
			return decimal.Zero, nil, nil, false, &ValidationError{Code: "invalid_quantity", Fields: []FieldError{{field + ".quantity", fmt.Sprintf("at most %d can be refunded", left)}}}
		}
		unshipped := max(0, li.Quantity-li.FulfilledQuantity-li.RefundedQuantity)
		shipped := rl.Quantity > unshipped
		touchesShipped = touchesShipped || shipped
		restock := "no_restock"
		switch {
		case rl.Restock && !shipped:
			restock = "cancel"
		case rl.Restock && req.Return == ReturnReceived:
			restock = "return"
		}
		line := RefundCommandLine{LineItemID: li.ID, Quantity: rl.Quantity, RestockType: restock}
		if restock == "return" {
			line.LocationID = shippedFrom(o, li.ID)
		}
		lines = append(lines, line)
		amount = amount.Add(li.Price.Mul(decimal.NewFromInt(int64(rl.Quantity))))
	}
	var shipping *decimal.Decimal
	if s := req.Shipping; s != nil {
		left := shippingLeft(o)
		sh := left
		if !s.Full {
			sh = *s.Amount
			if err := checkAmount("shipping.amount", sh, left, o.Currency); err != nil {
				return decimal.Zero, nil, nil, false, err
			}
		} else if !left.IsPositive() {
			return decimal.Zero, nil, nil, false, &ValidationError{Code: "nothing_to_refund", Fields: []FieldError{{"shipping", "no shipping is left to refund"}}}
		}
		shipping = &sh
		amount = amount.Add(sh)
	}
	return amount, lines, shipping, touchesShipped, nil
}

// shippedFrom is the location of the newest shipment carrying a line item.
func shippedFrom(o Order, lineItemID int64) int64 {
	var loc int64
	for _, f := range o.Source.Fulfillments {
		if f.Status != "success" {
			continue
		}
		for _, li := range f.LineItems {
			if li.ID == lineItemID {
				loc = f.LocationID
			}
		}
	}
	return loc
}

// planRefund splits the action's refund over the order's payments: as
// Shopify suggested for line items, by allocate for an amount. Nothing is
// planned when there is no refund, or it is done (or already visible at
// Shopify).
func (s *Service) planRefund(a *Action, o Order, suggested []RefundTransaction) ([]RefundTransaction, error) {
	if !a.wantsRefund() || a.RefundDone {
		return nil, nil
	}
	if id, ok := findOwnRefund(o, *a); ok {
		// An earlier attempt's refund reached Shopify after all.
		a.RefundDone, a.ShopifyRefundID = true, &id
		return nil, nil
	}
	if suggested != nil {
		return suggested, nil
	}
	return allocate(o, *a.Amount)
}

// refund makes the action's refund if it has one still to make.
func (s *Service) refund(ctx context.Context, shop tenant.Shop, a *Action, o Order, plan []RefundTransaction, cmd RefundCommand) error {
	if !a.wantsRefund() || a.RefundDone {
		return nil
	}
	if err := s.store.UpdateAction(ctx, *a); err != nil {
		return fmt.Errorf("save action: %w", err)
	}
	cmd.OrderID = o.ID
	// The action id keys the refund at Shopify: however often this runs,
	// Shopify makes at most one refund for the action.
	cmd.IdempotencyKey = a.ID
	cmd.Transactions = plan
	id, err := s.shopify.CreateRefund(ctx, shop, cmd)
	if err != nil {
		return mutationError{fmt.Errorf("refund order %d at shopify: %w", o.ID, err)}
	}
	a.RefundDone, a.ShopifyRefundID = true, &id
	return s.store.UpdateAction(ctx, *a)
}

// findOwnRefund looks for the action's refund among the order's refunds:
// made after the action started, for the action's amount. The order lock
// keeps orderdesk's own actions from making look-alikes at the same time.
func findOwnRefund(o Order, a Action) (int64, bool) {
	if a.Amount == nil {
		return 0, false
	}
	for _, r := range o.Refunds {
		if !r.CreatedAt.Before(a.CreatedAt.Add(-5*time.Second)) && r.Amount.Equal(*a.Amount) {
			return r.ID, true
		}
	}
	return 0, false
}

// act runs an action's step under the order's lock, on the freshest
// Shopify state, and records what happened.
func (s *Service) act(ctx context.Context, shop tenant.Shop, orderID int64, kind ActionKind, actionID, agentID, reason string, refund bool, raw []byte,
	step func(ctx context.Context, a *Action, o Order) error) (ActionResult, error) {
	now := s.now().UTC()
	locked, err := s.store.LockOrder(ctx, shop.ID, orderID, actionID, now.Add(actionLease))
	if err != nil {
		return ActionResult{}, fmt.Errorf("lock order %d: %w", orderID, err)
	}
	if !locked {
		return ActionResult{}, ErrActionInProgress
	}
	defer func() {
		if err := s.store.UnlockOrder(context.WithoutCancel(ctx), shop.ID, orderID, actionID); err != nil {
			s.log.ErrorContext(ctx, "unlock order", "order_id", orderID, "err", err)
		}
	}()

	a, err := s.store.GetAction(ctx, shop.ID, actionID)
	isNew := errors.Is(err, ErrNotFound)
	switch {
	case isNew:
	case err != nil:
		return ActionResult{}, fmt.Errorf("load action: %w", err)
	case a.OrderID != orderID || a.Kind != kind:
		return ActionResult{}, fmt.Errorf("action %s belongs to another request", actionID)
	}

	// The freshest state: eligibility is never decided on a stale copy.
	src, err := s.shopify.Order(ctx, shop, orderID)
	if isNew {
		if errors.Is(err, ErrNotFound) {
			// No such order: nothing was attempted, so nothing is recorded.
			return ActionResult{}, fmt.Errorf("read order %d before acting: %w", orderID, err)
		}
		a = Action{ID: actionID, ShopID: shop.ID, OrderID: orderID, Kind: kind, Status: ActionPending, AgentID: agentID,
			Reason: reason, RefundRequested: refund, Request: raw, CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateAction(ctx, a); err != nil {
			return ActionResult{}, fmt.Errorf("record action: %w", err)
		}
	}
	if err == nil {
		o := Build(src, s.now().UTC())
		if uerr := s.save(ctx, shop.ID, o); uerr != nil {
			s.log.WarnContext(ctx, "store fresh order", "order_id", orderID, "err", uerr)
		}
		if a.Status != ActionSucceeded {
			err = step(ctx, &a, o)
		}
		if err == nil {
			return s.finish(ctx, shop, a, nil, o)
		}
		return s.finish(ctx, shop, a, err, o)
	}
	return s.finish(ctx, shop, a, fmt.Errorf("read order %d before acting: %w", orderID, err), Order{ID: orderID})
}

// finish records the action's outcome and its timeline event, and returns
// the order as Shopify has it now.
func (s *Service) finish(ctx context.Context, shop tenant.Shop, a Action, err error, o Order) (ActionResult, error) {
	now := s.now().UTC()
	a.UpdatedAt = now
	switch {
	case err == nil:
		a.Status, a.Error, a.CompletedAt = ActionSucceeded, "", &now
	case a.Status == ActionUnknown && outcomeOf(err) == ActionFailed && !isRefusal(err):
		// A resumed action that failed before reaching Shopify stays unknown.
		a.Error = publicError(err)
	default:
		a.Status, a.Error = outcomeOf(err), publicError(err)
		if a.Status == ActionUnknown {
			a.Error += "; the outcome is being reconciled"
		} else {
			a.CompletedAt = &now
		}
	}
	if uerr := s.store.UpdateAction(context.WithoutCancel(ctx), a); uerr != nil {
		return ActionResult{Action: a}, errors.Join(err, fmt.Errorf("save action outcome: %w", uerr))
	}
	if o.Name != "" {
		s.recordAction(context.WithoutCancel(ctx), shop, a, o)
	}
	if err != nil {
		return ActionResult{Action: a, Order: o}, err
	}
	// Show the order as the change left it.
	if src, rerr := s.shopify.Order(ctx, shop, o.ID); rerr == nil {
		o = Build(src, s.now().UTC())
		if uerr := s.save(ctx, shop.ID, o); uerr != nil {
			s.log.WarnContext(ctx, "store order after action", "order_id", o.ID, "err", uerr)
		}
	}
	return ActionResult{Action: a, Order: o}, nil
}

// isRefusal reports a definite no, from the rules or from Shopify.
func isRefusal(err error) bool {
	return errors.Is(err, ErrRuleViolation) || errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrShopifyRejected)
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
	case errors.Is(err, ErrShopifyTimeout):
		return "Shopify did not answer in time"
	case errors.Is(err, ErrShopifyUnavailable):
		return "Shopify failed"
	case errors.Is(err, ErrNotFound):
		return "Shopify does not know this order"
	case errors.Is(err, ErrShopifyRateLimited):
		return "Shopify is rate limiting this shop"
	case errors.Is(err, ErrShopifyAuth):
		return "Shopify refused the shop's access token"
	default:
		return "internal error"
	}
}

// recordAction puts the action on the contact's timeline; one entry per
// action, updated as its outcome changes.
func (s *Service) recordAction(ctx context.Context, shop tenant.Shop, a Action, o Order) {
	ev := TimelineEvent{
		ID: "action:" + a.ID, OrderID: o.ID, OrderName: o.Name, Type: "action." + string(a.Kind),
		OccurredAt: a.CreatedAt, AgentID: a.AgentID, Summary: actionSummary(a),
		Data: map[string]any{"action_id": a.ID, "status": string(a.Status), "reason": a.Reason},
	}
	if o.Customer != nil {
		ev.CustomerID = o.Customer.ID
	}
	if a.Amount != nil {
		ev.Data["amount"], ev.Data["currency"] = FormatMoney(*a.Amount, a.Currency), a.Currency
	}
	if err := s.store.AddTimelineEvents(ctx, shop.ID, []TimelineEvent{ev}); err != nil {
		s.log.ErrorContext(ctx, "record timeline event", "action_id", a.ID, "err", err)
	}
}

func actionSummary(a Action) string {
	money := ""
	if a.Amount != nil {
		money = FormatMoney(*a.Amount, a.Currency) + " " + a.Currency
	}
	switch {
	case a.Kind == ActionCancel && money != "":
		return fmt.Sprintf("Cancellation (%s) with refund of %s by agent %s: %s", a.Reason, money, a.AgentID, a.Status)
	case a.Kind == ActionCancel:
		return fmt.Sprintf("Cancellation (%s) by agent %s: %s", a.Reason, a.AgentID, a.Status)
	case money != "":
		return fmt.Sprintf("Refund of %s by agent %s: %s", money, a.AgentID, a.Status)
	default:
		return fmt.Sprintf("Refund by agent %s: %s", a.AgentID, a.Status)
	}
}

// Reconcile settles actions whose outcome is unknown from Shopify's state:
// it re-reads the order and looks for the effect. It never repeats a
// mutation; an agent who wants the missing part retries with the same
// Idempotency-Key. It returns how many actions it settled.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	list, err := s.store.UnknownActions(ctx, s.now().UTC().Add(-s.settle), 50)
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	settled := 0
	for _, sa := range list {
		ok, err := s.reconcileOne(ctx, sa.Shop, sa.Action)
		if err != nil {
			s.log.WarnContext(ctx, "reconcile action", "action_id", sa.Action.ID, "err", err)
			continue
		}
		if ok {
			settled++
		}
	}
	return settled, nil
}

func (s *Service) reconcileOne(ctx context.Context, shop tenant.Shop, a Action) (bool, error) {
	now := s.now().UTC()
	locked, err := s.store.LockOrder(ctx, shop.ID, a.OrderID, a.ID, now.Add(actionLease))
	if err != nil || !locked {
		return false, err // busy: an agent is resuming it
	}
	defer func() { _ = s.store.UnlockOrder(context.WithoutCancel(ctx), shop.ID, a.OrderID, a.ID) }()
	if cur, err := s.store.GetAction(ctx, shop.ID, a.ID); err != nil || cur.Status != ActionUnknown {
		return false, err
	}
	src, err := s.shopify.Order(ctx, shop, a.OrderID)
	if err != nil {
		return false, err // Shopify still not answering: try again next round
	}
	o := Build(src, now)
	if err := s.save(ctx, shop.ID, o); err != nil {
		return false, err
	}
	var missing []string
	if a.Kind == ActionCancel && !a.CancelDone {
		if o.Status == StatusCancelled {
			a.CancelDone = true
		} else {
			missing = append(missing, "the cancellation")
		}
	}
	if a.wantsRefund() && !a.RefundDone {
		if id, ok := findOwnRefund(o, a); ok {
			a.RefundDone, a.ShopifyRefundID = true, &id
		} else {
			missing = append(missing, "the refund")
		}
	}
	a.UpdatedAt, a.CompletedAt = now, &now
	if len(missing) == 0 {
		a.Status, a.Error = ActionSucceeded, ""
	} else {
		a.Status = ActionFailed
		a.Error = fmt.Sprintf("reconciled: %s did not reach Shopify; retry with the same Idempotency-Key to finish", joinAnd(missing))
	}
	if err := s.store.UpdateAction(ctx, a); err != nil {
		return false, err
	}
	s.recordAction(ctx, shop, a, o)
	return true, nil
}

func joinAnd(parts []string) string {
	if len(parts) == 2 {
		return parts[0] + " and " + parts[1]
	}
	return parts[0]
}
