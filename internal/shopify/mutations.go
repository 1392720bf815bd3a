package shopify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Mutations go through GraphQL with every input a variable; go-shopify has
// no refund service and its REST cancel is legacy.

const orderCancelMutation = `mutation orderCancel($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String, $refundMethod: OrderCancelRefundMethodInput) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock, notifyCustomer: $notifyCustomer, staffNote: $staffNote, refundMethod: $refundMethod) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}`

const jobQuery = `query job($id: ID!) {
  job(id: $id) { id done }
}`

const refundCreateMutation = `mutation refundCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { id }
    userErrors { field message }
  }
}`

// estimatedCost is what orderdesk's mutations cost in GraphQL points;
// Shopify's answer corrects the budget.
const estimatedCost = 10

type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

type job struct {
	ID   string `json:"id"`
	Done bool   `json:"done"`
}

func gid(kind string, id int64) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }

func gidNumber(g string) (int64, error) {
	return strconv.ParseInt(g[strings.LastIndex(g, "/")+1:], 10, 64)
}

// CancelOrder runs orderCancel and waits for its job. It is not retried on
// failure: a cancellation that may have happened is left to the caller to
// settle from the order's state. Throttling is retried (nothing ran).
func (c *Client) CancelOrder(ctx context.Context, shop tenant.Shop, cmd orders.CancelCommand) (string, error) {
	vars := map[string]any{
		"orderId":        gid("Order", cmd.OrderID),
		"reason":         strings.ToUpper(cmd.Reason),
		"restock":        cmd.Restock,
		"notifyCustomer": cmd.NotifyCustomer,
		"staffNote":      cmd.StaffNote,
		// orderdesk refunds through refundCreate, whose key makes retries safe.
		"refundMethod": map[string]any{"originalPaymentMethodsRefund": false},
	}
	var resp struct {
		OrderCancel *struct {
			Job        *job        `json:"job"`
			UserErrors []userError `json:"orderCancelUserErrors"`
		} `json:"orderCancel"`
	}
	if err := c.graphql(ctx, shop, "orderCancel", orderCancelMutation, vars, &resp, false); err != nil {
		return "", err
	}
	if resp.OrderCancel == nil {
		return "", fmt.Errorf("orderCancel: empty answer: %w", orders.ErrShopifyUnavailable)
	}
	if len(resp.OrderCancel.UserErrors) > 0 {
		return "", rejection("orderCancel", resp.OrderCancel.UserErrors)
	}
	j := resp.OrderCancel.Job
	if j == nil {
		return "", fmt.Errorf("orderCancel: no job in the answer: %w", orders.ErrShopifyUnavailable)
	}
	return j.ID, c.awaitJob(ctx, shop, *j)
}

// awaitJob polls a job until it is done or the job deadline passes; then
// the cancellation's outcome is unknown (a timeout).
func (c *Client) awaitJob(ctx context.Context, shop tenant.Shop, j job) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.JobTimeout)
	defer cancel()
	wait := 100 * time.Millisecond
	for !j.Done {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("job %s not done in %s: %w", j.ID, c.cfg.JobTimeout, orders.ErrShopifyTimeout)
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
		var resp struct {
			Job *job `json:"job"`
		}
		if err := c.graphql(ctx, shop, "job", jobQuery, map[string]any{"id": j.ID}, &resp, true); err != nil {
			if errors.Is(err, orders.ErrShopifyTimeout) || ctx.Err() != nil {
				return fmt.Errorf("job %s: %w", j.ID, orders.ErrShopifyTimeout)
			}
			return err
		}
		if resp.Job == nil {
			return fmt.Errorf("job %s vanished: %w", j.ID, orders.ErrShopifyUnavailable)
		}
		j = *resp.Job
	}
	return nil
}

// CreateRefund runs refundCreate keyed by cmd.IdempotencyKey. Because Shopify
// makes at most one refund per key, failures without an answer (5xx,
// timeouts) are retried like reads.
func (c *Client) CreateRefund(ctx context.Context, shop tenant.Shop, cmd orders.RefundCommand) (int64, error) {
	if cmd.IdempotencyKey == "" {
		return 0, errors.New("refundCreate needs an idempotency key")
	}
	input := map[string]any{
		"orderId": gid("Order", cmd.OrderID),
		"notify":  cmd.NotifyCustomer,
	}
	if cmd.Note != "" {
		input["note"] = cmd.Note
	}
	input["refundLineItems"] = refundLineItems(cmd.Lines)
	if cmd.Shipping != nil {
		input["shipping"] = map[string]any{"amount": cmd.Shipping.String()}
	}
	txs := make([]map[string]any, 0, len(cmd.Transactions))
	for _, t := range cmd.Transactions {
		txs = append(txs, map[string]any{
			"orderId": gid("Order", cmd.OrderID), "parentId": gid("OrderTransaction", t.ParentID),
			"amount": t.Amount.String(), "gateway": t.Gateway, "kind": "REFUND",
		})
	}
	input["transactions"] = txs
	var resp struct {
		RefundCreate *struct {
			Refund *struct {
				ID string `json:"id"`
			} `json:"refund"`
			UserErrors []userError `json:"userErrors"`
		} `json:"refundCreate"`
	}
	vars := map[string]any{"input": input, "idempotencyKey": cmd.IdempotencyKey}
	if err := c.graphql(ctx, shop, "refundCreate", refundCreateMutation, vars, &resp, true); err != nil {
		return 0, err
	}
	if resp.RefundCreate == nil {
		return 0, fmt.Errorf("refundCreate: empty answer: %w", orders.ErrShopifyUnavailable)
	}
	if len(resp.RefundCreate.UserErrors) > 0 {
		return 0, rejection("refundCreate", resp.RefundCreate.UserErrors)
	}
	if resp.RefundCreate.Refund == nil {
		return 0, fmt.Errorf("refundCreate: no refund in the answer: %w", orders.ErrShopifyUnavailable)
	}
	id, err := gidNumber(resp.RefundCreate.Refund.ID)
	if err != nil {
		return 0, fmt.Errorf("refundCreate: refund id %q: %w", resp.RefundCreate.Refund.ID, orders.ErrShopifyUnavailable)
	}
	return id, nil
}

// graphql runs one GraphQL call within the shop's cost budget. Throttling
// is always retried (Shopify ran nothing); other failures only when retry
// is set (reads and idempotent mutations).
func (c *Client) graphql(ctx context.Context, shop tenant.Shop, what, query string, vars, out any, retry bool) error {
	_, budget := c.limiters.forShop(shop.Domain)
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
			c.metrics.points.WithLabelValues(shop.Domain).Set(ts.CurrentlyAvailable)
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

// rejection turns userErrors into the domain's words: the rule Shopify
// applied when it is one of orderdesk's, an amount problem, or a plain
// refusal with Shopify's message.
func rejection(what string, errs []userError) error {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	msg := strings.Join(msgs, "; ")
	lower := strings.ToLower(msg)
	detail := "Shopify: " + msg
	switch {
	case strings.Contains(lower, "already") && strings.Contains(lower, "cancel"):
		return &orders.RuleError{Reason: orders.BlockedAlreadyCancelled, Detail: detail}
	case strings.Contains(lower, "fulfilled"):
		return &orders.RuleError{Reason: orders.BlockedOrderFulfilled, Detail: detail}
	case strings.Contains(lower, "exceed"):
		return &orders.ValidationError{Code: "amount_too_large", Fields: []orders.FieldError{{Field: "amount", Message: detail}}}
	}
	return fmt.Errorf("%s: %w: %s", what, orders.ErrShopifyRejected, msg)
}

const suggestedRefundQuery = `query suggestedRefund($id: ID!, $refundLineItems: [RefundLineItemInput!], $shippingAmount: Money) {
  order(id: $id) {
    suggestedRefund(refundLineItems: $refundLineItems, shippingAmount: $shippingAmount) {
      amountSet { shopMoney { amount currencyCode } }
      suggestedTransactions { parentTransaction { id } amountSet { shopMoney { amount } } gateway }
    }
  }
}`

type moneyBag struct {
	ShopMoney struct {
		Amount decimal.Decimal `json:"amount"`
	} `json:"shopMoney"`
}

// SuggestRefund asks Shopify (suggestedRefund, a read) what refunding these
// lines and shipping comes to and how it splits over the order's payments.
func (c *Client) SuggestRefund(ctx context.Context, shop tenant.Shop, orderID int64, lines []orders.RefundCommandLine, shipping *decimal.Decimal) (orders.RefundSuggestion, error) {
	vars := map[string]any{"id": gid("Order", orderID), "refundLineItems": refundLineItems(lines)}
	if shipping != nil {
		vars["shippingAmount"] = shipping.String()
	}
	var resp struct {
		Order *struct {
			SuggestedRefund *struct {
				AmountSet             moneyBag `json:"amountSet"`
				SuggestedTransactions []struct {
					ParentTransaction struct {
						ID string `json:"id"`
					} `json:"parentTransaction"`
					AmountSet moneyBag `json:"amountSet"`
					Gateway   string   `json:"gateway"`
				} `json:"suggestedTransactions"`
			} `json:"suggestedRefund"`
		} `json:"order"`
	}
	if err := c.graphql(ctx, shop, "suggestedRefund", suggestedRefundQuery, vars, &resp, true); err != nil {
		return orders.RefundSuggestion{}, err
	}
	if resp.Order == nil || resp.Order.SuggestedRefund == nil {
		return orders.RefundSuggestion{}, fmt.Errorf("suggestedRefund for order %d: %w", orderID, orders.ErrNotFound)
	}
	sr := resp.Order.SuggestedRefund
	out := orders.RefundSuggestion{Amount: sr.AmountSet.ShopMoney.Amount, Transactions: make([]orders.RefundTransaction, 0, len(sr.SuggestedTransactions))}
	for _, t := range sr.SuggestedTransactions {
		id, err := gidNumber(t.ParentTransaction.ID)
		if err != nil {
			return orders.RefundSuggestion{}, fmt.Errorf("suggestedRefund: parent %q: %w", t.ParentTransaction.ID, orders.ErrShopifyUnavailable)
		}
		out.Transactions = append(out.Transactions, orders.RefundTransaction{ParentID: id, Amount: t.AmountSet.ShopMoney.Amount, Gateway: t.Gateway})
	}
	return out, nil
}

// refundLineItems builds RefundLineItemInput values.
func refundLineItems(lines []orders.RefundCommandLine) []map[string]any {
	out := make([]map[string]any, 0, len(lines))
	for _, l := range lines {
		item := map[string]any{"lineItemId": gid("LineItem", l.LineItemID), "quantity": l.Quantity, "restockType": strings.ToUpper(l.RestockType)}
		if l.LocationID != 0 {
			item["locationId"] = gid("Location", l.LocationID)
		}
		out = append(out, item)
	}
	return out
}
