package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Mutations go through GraphQL with every input a variable; go-shopify has
// no refund service and its REST cancel is legacy. Their documents are in
// graphql/actions.graphql, typed by genqlient (generated.go), and sent
// through c.mutate, which reads top-level errors by code.

// estimatedCost is what orderdesk's mutations cost in GraphQL points;
// Shopify's answer corrects the budget.
const estimatedCost = 10

type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

func gid(kind string, id int64) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }

func gidNumber(g string) (int64, error) {
	return strconv.ParseInt(g[strings.LastIndex(g, "/")+1:], 10, 64)
}

// CancelOrder sends orderCancel once and returns its job id. It is not
// retried on a failure without an answer: the caller decides from the
// order's state whether it happened. Throttling is retried (nothing ran).
func (c *Client) CancelOrder(ctx context.Context, shop tenant.Shop, cmd orders.CancelCommand) (string, error) {
	if n := utf8.RuneCountInString(cmd.StaffNote); n > 255 {
		return "", &orders.ValidationError{Code: "invalid_staff_note", Fields: []orders.FieldError{{Field: "staff_note", Message: fmt.Sprintf("Shopify takes at most 255 characters, this one has %d", n)}}}
	}
	// orderdesk refunds through refundCreate, whose key makes retries safe.
	noRefund := false
	resp, err := orderCancel(ctx, c.mutator(shop, false), gid("Order", cmd.OrderID), OrderCancelReason(strings.ToUpper(cmd.Reason)),
		cmd.Restock, &cmd.NotifyCustomer, &cmd.StaffNote, &OrderCancelRefundMethodInput{OriginalPaymentMethodsRefund: &noRefund})
	if err != nil {
		return "", err
	}
	p := resp.OrderCancel
	if p == nil {
		return "", fmt.Errorf("orderCancel: empty answer: %w", orders.ErrShopifyUnavailable)
	}
	if len(p.OrderCancelUserErrors) > 0 {
		errs := make([]userError, 0, len(p.OrderCancelUserErrors))
		for _, e := range p.OrderCancelUserErrors {
			ue := userError{Field: e.Field, Message: e.Message}
			if e.Code != nil {
				ue.Code = string(*e.Code)
			}
			errs = append(errs, ue)
		}
		return "", rejection("orderCancel", errs)
	}
	if p.Job == nil {
		return "", fmt.Errorf("orderCancel: no job in the answer: %w", orders.ErrShopifyUnavailable)
	}
	return p.Job.Id, nil
}

// CancelJob reads a cancel's job once, through node(id:).
func (c *Client) CancelJob(ctx context.Context, shop tenant.Shop, jobID string) (orders.CancelJobStatus, error) {
	resp, err := cancelJob(ctx, c.mutator(shop, true), jobID)
	if err != nil {
		return orders.CancelJobStatus{}, err
	}
	if resp.Node == nil {
		return orders.CancelJobStatus{}, fmt.Errorf("cancel job %s: %w", jobID, orders.ErrNotFound)
	}
	st := orders.CancelJobStatus{Done: resp.Node.Done, Status: resp.Node.Status}
	if st.Status == "STARTED" {
		st.Done = false // not finished, whatever done says
	}
	for _, e := range resp.Node.Errors {
		st.Errors = append(st.Errors, e.Message)
	}
	return st, nil
}

// CreateRefund runs refundCreate with exactly cmd's input, keyed by
// cmd.IdempotencyKey. Because Shopify makes at most one refund per key,
// failures without an answer (5xx, timeouts, top-level THROTTLED or
// INTERNAL_SERVER_ERROR) are retried like reads.
func (c *Client) CreateRefund(ctx context.Context, shop tenant.Shop, cmd orders.RefundCommand) (int64, error) {
	if cmd.IdempotencyKey == "" {
		return 0, errors.New("refundCreate needs an idempotency key")
	}
	resp, err := refundCreate(ctx, c.mutator(shop, true), refundInput(cmd), cmd.IdempotencyKey)
	if err != nil {
		return 0, err
	}
	p := resp.RefundCreate
	if p == nil {
		return 0, fmt.Errorf("refundCreate: empty answer: %w", orders.ErrShopifyUnavailable)
	}
	if len(p.UserErrors) > 0 {
		errs := make([]userError, 0, len(p.UserErrors))
		for _, e := range p.UserErrors {
			errs = append(errs, userError{Field: e.Field, Message: e.Message})
		}
		return 0, rejection("refundCreate", errs)
	}
	if p.Refund == nil {
		return 0, fmt.Errorf("refundCreate: no refund in the answer: %w", orders.ErrShopifyUnavailable)
	}
	id, err := gidNumber(p.Refund.Id)
	if err != nil {
		return 0, fmt.Errorf("refundCreate: refund id %q: %w", p.Refund.Id, orders.ErrShopifyUnavailable)
	}
	return id, nil
}

// refundInput is the RefundInput a command sends: the same command always
// makes the same input (what orderdesk does not set is left out, lists are
// sent even when empty).
func refundInput(cmd orders.RefundCommand) RefundInput {
	notify := cmd.NotifyCustomer
	input := RefundInput{
		OrderId:         gid("Order", cmd.OrderID),
		Notify:          &notify,
		RefundLineItems: refundLineItems(cmd.Lines),
		Transactions:    make([]OrderTransactionInput, 0, len(cmd.Transactions)),
	}
	if cmd.Note != "" {
		note := cmd.Note
		input.Note = &note
	}
	if cmd.Currency != "" {
		currency := CurrencyCode(cmd.Currency)
		input.Currency = &currency
	}
	if cmd.Shipping != nil {
		// ShippingRefundInput.amount: the shipping this refund reimburses
		// (fullRefund is for all of it; orderdesk always names the amount).
		amount := *cmd.Shipping
		input.Shipping = &ShippingRefundInput{Amount: &amount}
	}
	for _, t := range cmd.Transactions {
		tx := OrderTransactionInput{OrderId: gid("Order", cmd.OrderID), Amount: t.Amount, Gateway: t.Gateway, Kind: OrderTransactionKindRefund}
		if t.ParentID != 0 {
			parent := gid("OrderTransaction", t.ParentID)
			tx.ParentId = &parent
		}
		input.Transactions = append(input.Transactions, tx)
	}
	return input
}

// gqlAnswer is a GraphQL answer with its top-level errors' codes, which
// go-shopify's Query drops (it keeps only THROTTLED).
type gqlAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
	Extensions *struct {
		Cost goshopify.GraphQLCost `json:"cost"`
	} `json:"extensions"`
}

// ranPayload reports an answer's data holding a payload: some root field
// is not null, so the operation ran whatever errors came with it.
func ranPayload(data json.RawMessage) bool {
	var roots map[string]json.RawMessage
	if json.Unmarshal(data, &roots) != nil {
		return false
	}
	for _, v := range roots {
		if string(v) != "null" {
			return true
		}
	}
	return false
}

// errTopLevel is a top-level GraphQL error; retryable ones (THROTTLED,
// INTERNAL_SERVER_ERROR) mean Shopify ran nothing or failed inside.
type errTopLevel struct {
	code, msg string
}

func (e errTopLevel) Error() string { return "graphql " + e.code + ": " + e.msg }

func (e errTopLevel) retryable() bool {
	return e.code == "THROTTLED" || e.code == "INTERNAL_SERVER_ERROR"
}

// mutate runs one GraphQL operation within the shop's cost budget, reading
// top-level errors by code. Throttling is always retried (nothing ran);
// other failures without a definite answer only when keyed is set (an
// @idempotent mutation, or a read).
func (c *Client) mutate(ctx context.Context, shop tenant.Shop, what, query string, vars, out any, keyed bool) error {
	budget := c.limiters.forShop(shop.Domain)
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.metrics.retries.WithLabelValues("graphql", what).Inc()
		}
		if err := c.metrics.take(ctx, "graphql", budget, estimatedCost); err != nil {
			return fmt.Errorf("%s: waiting for the cost budget: %w", what, mapCtxErr(err))
		}
		lib, err := c.library(ctx, shop)
		if err != nil {
			return err
		}
		var ans gqlAnswer
		actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		err = lib.Post(actx, "graphql.json", map[string]any{"query": query, "variables": vars}, &ans)
		cancel()
		ran := err == nil && ranPayload(ans.Data)
		if ran {
			// Errors beside a payload do not undo what ran: the payload
			// (the refund made, the cancel's job, userErrors) is the answer.
			if derr := json.Unmarshal(ans.Data, out); derr != nil {
				err = fmt.Errorf("decoding the answer: %w: %v", orders.ErrShopifyUnavailable, derr)
			} else if len(ans.Errors) > 0 {
				c.log.WarnContext(ctx, "shopify answered with errors beside the payload", "op", what, "error", ans.Errors[0].Message, "code", ans.Errors[0].Extensions.Code)
			}
		}
		if err == nil && !ran && len(ans.Errors) > 0 {
			e := errTopLevel{code: ans.Errors[0].Extensions.Code, msg: ans.Errors[0].Message}
			for _, x := range ans.Errors {
				if x.Extensions.Code == "THROTTLED" || x.Extensions.Code == "INTERNAL_SERVER_ERROR" {
					e = errTopLevel{code: x.Extensions.Code, msg: x.Message}
				}
			}
			err = e
		}
		c.metrics.observe("graphql", what, err)
		if ans.Extensions != nil && ans.Extensions.Cost.ThrottleStatus.MaximumAvailable > 0 {
			ts := ans.Extensions.Cost.ThrottleStatus
			budget.observe(ts.MaximumAvailable-ts.CurrentlyAvailable, ts.MaximumAvailable)
			c.metrics.points.WithLabelValues(strconv.FormatInt(shop.ID, 10)).Set(ts.CurrentlyAvailable)
		}
		if err == nil {
			return nil
		}
		var top errTopLevel
		isTop := errors.As(err, &top)
		var rl goshopify.RateLimitError
		throttled := errors.As(err, &rl) || (isTop && top.code == "THROTTLED")
		wait, retryable := c.retryable(err, attempt)
		if isTop {
			wait, retryable = c.cfg.BaseBackoff<<(attempt-1), top.retryable()
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, mapCtxErr(ctx.Err()))
		}
		if attempt >= c.cfg.MaxAttempts || !(throttled || (keyed && retryable)) {
			return fmt.Errorf("%s: %w", what, mapMutationError(err))
		}
		if throttled {
			budget.full()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, mapCtxErr(ctx.Err()))
		case <-t.C:
		}
	}
}

// mapMutationError: a top-level THROTTLED is a rate limit and
// INTERNAL_SERVER_ERROR an outage (no definite answer); other top-level
// errors are Shopify refusing the request (bad input, missing key).
func mapMutationError(err error) error {
	var top errTopLevel
	if errors.As(err, &top) {
		switch top.code {
		case "THROTTLED":
			return fmt.Errorf("%w: %v", orders.ErrShopifyRateLimited, err)
		case "INTERNAL_SERVER_ERROR":
			return fmt.Errorf("%w: %v", orders.ErrShopifyUnavailable, err)
		}
		return fmt.Errorf("%w: %v", orders.ErrShopifyRejected, err)
	}
	return mapGraphQLError(err)
}

// graphql runs one GraphQL call within the shop's cost budget. Throttling
// is always retried (Shopify ran nothing); other failures only when retry
// is set (reads and idempotent mutations).
func (c *Client) graphql(ctx context.Context, shop tenant.Shop, what, query string, vars, out any, retry bool) error {
	budget := c.limiters.forShop(shop.Domain)
	var err error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.metrics.retries.WithLabelValues("graphql", what).Inc()
		}
		if err = c.metrics.take(ctx, "graphql", budget, estimatedCost); err != nil {
			return fmt.Errorf("%s: waiting for the cost budget: %w", what, mapCtxErr(err))
		}
		var lib *goshopify.Client
		if lib, err = c.library(ctx, shop); err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		err = lib.GraphQL.Query(actx, query, vars, out)
		cancel()
		c.metrics.observe("graphql", what, err)
		if cost := lib.RateLimits.GraphQLCost; cost != nil && cost.ThrottleStatus.MaximumAvailable > 0 {
			ts := cost.ThrottleStatus
			budget.observe(ts.MaximumAvailable-ts.CurrentlyAvailable, ts.MaximumAvailable)
			c.metrics.points.WithLabelValues(strconv.FormatInt(shop.ID, 10)).Set(ts.CurrentlyAvailable)
		}
		if err == nil {
			return nil
		}
		var rl goshopify.RateLimitError
		throttled := errors.As(err, &rl)
		wait, retryable := c.retryable(err, attempt)
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, mapCtxErr(ctx.Err()))
		}
		if attempt >= c.cfg.MaxAttempts || !(throttled || (retry && retryable)) {
			return fmt.Errorf("%s: %w", what, mapGraphQLError(err))
		}
		if throttled {
			budget.full()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, mapCtxErr(ctx.Err()))
		case <-t.C:
		}
	}
}

// mapGraphQLError: top-level GraphQL errors come back with HTTP 200; they
// are Shopify refusing the request (bad input, missing key), not an outage.
func mapGraphQLError(err error) error {
	var re goshopify.ResponseError
	if errors.As(err, &re) && re.Status == 200 {
		return fmt.Errorf("%w: %v", orders.ErrShopifyRejected, err)
	}
	return mapError(err)
}

// rejection turns userErrors into the domain's words, by code where
// Shopify gives one (orderCancel's OrderCancelUserErrorCode; refundCreate's
// UserError has none, so its message is read): the rule Shopify applied
// when it is one of orderdesk's, an amount problem, or a plain refusal with
// Shopify's message.
func rejection(what string, errs []userError) error {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	msg := strings.Join(msgs, "; ")
	lower := strings.ToLower(msg)
	detail := "Shopify: " + msg
	code := ""
	if len(errs) > 0 {
		code = errs[0].Code
	}
	switch {
	case code == "NOT_FOUND":
		return fmt.Errorf("%s: %w: %s", what, orders.ErrNotFound, msg)
	case code == "INTERNAL_ERROR":
		return fmt.Errorf("%s: %w: %s", what, orders.ErrShopifyUnavailable, msg)
	case code == "IDEMPOTENCY_CONCURRENT_REQUEST" || (code == "" && strings.Contains(lower, "currently in progress")):
		// An earlier send under the same @idempotent key is still running
		// and may yet make the change: no answer, never a refusal.
		return fmt.Errorf("%s: %w: %s", what, orders.ErrShopifyUnavailable, msg)
	case (code == "" || code == "INVALID") && strings.Contains(lower, "already") && strings.Contains(lower, "cancel"):
		return &orders.RuleError{Reason: orders.BlockedAlreadyCancelled, Detail: detail}
	case (code == "" || code == "INVALID") && strings.Contains(lower, "fulfilled"):
		return &orders.RuleError{Reason: orders.BlockedOrderFulfilled, Detail: detail}
	case code == "" && strings.Contains(lower, "exceed"):
		return &orders.ValidationError{Code: "amount_too_large", Fields: []orders.FieldError{{Field: "amount", Message: detail}}}
	}
	return fmt.Errorf("%s: %w: %s", what, orders.ErrShopifyRejected, msg)
}

// SuggestRefund asks Shopify (suggestedRefund, a read) what refunding these
// lines and shipping comes to and how it splits over the order's payments.
func (c *Client) SuggestRefund(ctx context.Context, shop tenant.Shop, orderID int64, lines []orders.RefundCommandLine, shipping *decimal.Decimal) (orders.RefundSuggestion, error) {
	resp, err := suggestedRefund(ctx, c.transport(shop, true), gid("Order", orderID), refundLineItems(lines), shipping)
	if err != nil {
		return orders.RefundSuggestion{}, err
	}
	if resp.Order == nil || resp.Order.SuggestedRefund == nil {
		return orders.RefundSuggestion{}, fmt.Errorf("suggestedRefund for order %d: %w", orderID, orders.ErrNotFound)
	}
	sr := resp.Order.SuggestedRefund
	// Refunds are made in the customer's currency: presentment money.
	out := orders.RefundSuggestion{Amount: sr.AmountSet.PresentmentMoney.Amount, Transactions: make([]orders.RefundTransaction, 0, len(sr.SuggestedTransactions))}
	for _, t := range sr.SuggestedTransactions {
		// parentTransaction is nullable: a suggestion without one is sent
		// without a parentId.
		var id int64
		if p := t.ParentTransaction; p != nil {
			var err error
			if id, err = gidNumber(p.Id); err != nil {
				return orders.RefundSuggestion{}, fmt.Errorf("suggestedRefund: parent %q: %w", p.Id, orders.ErrShopifyUnavailable)
			}
		}
		gateway := ""
		if t.Gateway != nil {
			gateway = *t.Gateway
		}
		out.Transactions = append(out.Transactions, orders.RefundTransaction{ParentID: id, Amount: t.AmountSet.PresentmentMoney.Amount, Gateway: gateway})
	}
	return out, nil
}

// refundLineItems builds RefundLineItemInput values (never nil: the
// list is sent even when empty).
func refundLineItems(lines []orders.RefundCommandLine) []RefundLineItemInput {
	out := make([]RefundLineItemInput, 0, len(lines))
	for _, l := range lines {
		restock := RefundLineItemRestockType(strings.ToUpper(l.RestockType))
		item := RefundLineItemInput{LineItemId: gid("LineItem", l.LineItemID), Quantity: l.Quantity, RestockType: &restock}
		if l.LocationID != 0 {
			location := gid("Location", l.LocationID)
			item.LocationId = &location
		}
		out = append(out, item)
	}
	return out
}

// cancelJobNode is what cancelJob reads of node(id:): an
// OrderCancelJobResult's fields (absent for any other type of node).
type cancelJobNode struct {
	ID     string      `json:"id"`
	Done   bool        `json:"done"`
	Status string      `json:"status"`
	Errors []userError `json:"errors"`
}
