package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
)

// actionTimeout bounds an action's work, below the server's 60 s write
// timeout. The work does not stop when the client hangs up: a cancel or
// refund half-done because a browser closed would help nobody.
const actionTimeout = 50 * time.Second

// cancelPreview godoc
//
//	@Summary		Preview a cancellation
//	@Description	Whether the order can be cancelled now (or why not), Shopify's reasons with labels, the items that would be cancelled, the refund options with their maximum, and the restock default.
//	@Tags			actions
//	@ID				previewCancel
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id	path		integer	true	"Shopify order id"	Format(int64)	minimum(1)
//	@Success		200	{object}	CancelPreviewResponse
//	@Failure		400	{object}	Problem	"Invalid id"
//	@Failure		401	{object}	Problem
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404	{object}	Problem				"No such order in this shop"
//	@Failure		409	{object}	Problem				"The shop has uninstalled the app (shop_uninstalled)"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Failure		502	{object}	Problem				"Shopify failed"
//	@Failure		504	{object}	Problem				"Shopify did not answer in time"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/orders/{id}/cancel [get]
func (s *server) cancelPreview(c *gin.Context) {
	id, ok := pathID(c, "order")
	if !ok {
		return
	}
	p, err := s.Orders.PreviewCancel(c.Request.Context(), principal(c).Shop, id)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	r := CancelPreviewResponse{
		OrderID: p.OrderID, Cancellable: p.Cancellable, BlockedReason: optString(string(p.BlockedReason)),
		Reasons: make([]ReasonResponse, 0, len(p.Reasons)), LineItems: make([]LineItemResponse, 0, len(p.LineItems)),
		Refund: CancelRefundOptions{
			Available: p.RefundAvailable, MaxAmount: orders.FormatMoney(p.MaxAmount, p.Currency), Currency: p.Currency,
			Modes: make([]string, 0, len(p.RefundModes)),
		},
		RestockDefault: p.RestockDefault,
	}
	for _, reason := range p.Reasons {
		r.Reasons = append(r.Reasons, ReasonResponse(reason))
	}
	for _, li := range p.LineItems {
		r.LineItems = append(r.LineItems, toLineItemResponse(li, p.Currency))
	}
	for _, m := range p.RefundModes {
		r.Refund.Modes = append(r.Refund.Modes, string(m))
	}
	writeJSON(c, http.StatusOK, r)
}

// refundPreview godoc
//
//	@Summary		Preview a refund
//	@Description	Whether money can be refunded now (or why not), the maximum, whether shipped items need a return state, and the line items and shipping that can still be refunded.
//	@Tags			actions
//	@ID				previewRefund
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id	path		integer	true	"Shopify order id"	Format(int64)	minimum(1)
//	@Success		200	{object}	RefundPreviewResponse
//	@Failure		400	{object}	Problem	"Invalid id"
//	@Failure		401	{object}	Problem
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404	{object}	Problem				"No such order in this shop"
//	@Failure		409	{object}	Problem				"The shop has uninstalled the app (shop_uninstalled)"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Failure		502	{object}	Problem				"Shopify failed"
//	@Failure		504	{object}	Problem				"Shopify did not answer in time"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/orders/{id}/refund [get]
func (s *server) refundPreview(c *gin.Context) {
	id, ok := pathID(c, "order")
	if !ok {
		return
	}
	p, err := s.Orders.PreviewRefund(c.Request.Context(), principal(c).Shop, id)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	r := RefundPreviewResponse{
		OrderID: p.OrderID, Refundable: p.Refundable, BlockedReason: optString(string(p.BlockedReason)),
		MaxAmount: orders.FormatMoney(p.MaxAmount, p.Currency), Currency: p.Currency, RequiresReturn: p.RequiresReturn,
		LineItems: make([]RefundableLineResp, 0, len(p.LineItems)),
		Shipping:  RefundShippingPreview{MaxAmount: orders.FormatMoney(p.Shipping, p.Currency)},
	}
	for _, l := range p.LineItems {
		r.LineItems = append(r.LineItems, RefundableLineResp{LineItemID: l.LineItemID, Title: l.Title, Quantity: l.Quantity, Price: orders.FormatMoney(l.Price, p.Currency), Shipped: l.Shipped})
	}
	writeJSON(c, http.StatusOK, r)
}

// cancelOrder godoc
//
//	@Summary		Cancel an order
//	@Description	Cancels the whole order on Shopify, optionally refunding all or part of what was paid in the same action. The order is re-read from Shopify and the rules re-checked first. The response says what happened to each part; a retry with the same Idempotency-Key after a 502/504 finishes the missing part and never repeats a done one (the refund is keyed on the action id at Shopify).
//	@Tags			actions
//	@ID				cancelOrder
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id				path		integer		true	"Shopify order id"	Format(int64)	minimum(1)
//	@Param			Idempotency-Key	header		string		true	"Unique per intended action; same key + same body replays the first final answer"
//	@Param			X-Agent-Id		header		string		true	"The agent acting (audit trail)"
//	@Param			body			body		CancelBody	true	"The cancellation"
//	@Success		200				{object}	ActionResultResponse
//	@Failure		400				{object}	Problem	"Malformed body, unknown field, or missing Idempotency-Key / X-Agent-Id"
//	@Failure		401				{object}	Problem
//	@Failure		429				{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429				{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404				{object}	Problem				"No such order in this shop"
//	@Failure		409				{object}	Problem				"Refused by the rules (already_cancelled, order_fulfilled, not_paid, nothing_to_refund), action_in_progress, or idempotency_key_in_use"
//	@Failure		413				{object}	Problem				"Body over 1 MiB"
//	@Failure		415				{object}	Problem				"Not JSON"
//	@Failure		422				{object}	Problem				"Invalid reason or amount (amount_too_large, invalid_amount), or idempotency_key_reused"
//	@Failure		500				{object}	Problem				"Internal error (no details)"
//	@Failure		502				{object}	Problem				"Shopify refused or failed; the action's outcome is in GET /orders/{id}/actions"
//	@Failure		504				{object}	Problem				"Shopify did not answer in time; the outcome is unknown until reconciled"
//	@Header			all				{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401				{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Header			200,409,422,502	{boolean}	Idempotent-Replayed	"true: this is the stored first answer to this Idempotency-Key, replayed; nothing ran again"
//	@Header			409				{integer}	Retry-After			"Seconds to wait before retrying, on action_in_progress and idempotency_key_in_use"
//	@Router			/orders/{id}/cancel [post]
func (s *server) cancelOrder(c *gin.Context) {
	id, ok := pathID(c, "order")
	if !ok {
		return
	}
	var body CancelBody
	if !decodeJSON(c, &body) {
		return
	}
	req := orders.CancelRequest{Reason: body.Reason, RefundMode: orders.RefundNone, Restock: true, NotifyCustomer: body.NotifyCustomer, StaffNote: body.StaffNote}
	if body.Restock != nil {
		req.Restock = *body.Restock
	}
	if body.Refund != nil {
		req.RefundMode = orders.RefundMode(body.Refund.Mode)
		amount, err := parseAmount("refund.amount", body.Refund.Amount)
		if err != nil {
			writeError(c, s.Log, err)
			return
		}
		req.Amount = amount
	}
	s.idempotent(c, id, body, func(ctx context.Context, actionID, agentID string, raw []byte) (orders.ActionResult, error) {
		return s.Orders.Cancel(ctx, principal(c).Shop, id, actionID, agentID, req, raw)
	})
}

// refundOrder godoc
//
//	@Summary		Refund an order
//	@Description	Refunds an amount, or line items (restocked as "cancel" when unshipped, "return" when received) and/or shipping, on a paid order. Refunds touching shipped items need return "received" or "not_required". Line items and shipping are reckoned by Shopify's suggestedRefund (taxes and discounts included); an amount is allocated across the order's sale/capture transactions. The order is re-read from Shopify and the rules re-checked first; the Shopify refund is keyed on the action id, so no retry ever refunds twice.
//	@Tags			actions
//	@ID				refundOrder
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id				path		integer		true	"Shopify order id"	Format(int64)	minimum(1)
//	@Param			Idempotency-Key	header		string		true	"Unique per intended action; same key + same body replays the first final answer"
//	@Param			X-Agent-Id		header		string		true	"The agent acting (audit trail)"
//	@Param			body			body		RefundBody	true	"The refund"
//	@Success		200				{object}	ActionResultResponse
//	@Failure		400				{object}	Problem	"Malformed body, unknown field, or missing Idempotency-Key / X-Agent-Id"
//	@Failure		401				{object}	Problem
//	@Failure		429				{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429				{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404				{object}	Problem				"No such order in this shop"
//	@Failure		409				{object}	Problem				"Refused by the rules (not_paid, nothing_to_refund, return_required), action_in_progress, or idempotency_key_in_use"
//	@Failure		413				{object}	Problem				"Body over 1 MiB"
//	@Failure		415				{object}	Problem				"Not JSON"
//	@Failure		422				{object}	Problem				"Invalid amount (amount_too_large, invalid_amount), line item or quantity, or idempotency_key_reused"
//	@Failure		500				{object}	Problem				"Internal error (no details)"
//	@Failure		502				{object}	Problem				"Shopify refused or failed; the action's outcome is in GET /orders/{id}/actions"
//	@Failure		504				{object}	Problem				"Shopify did not answer in time; the outcome is unknown until reconciled"
//	@Header			all				{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401				{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Header			200,409,422,502	{boolean}	Idempotent-Replayed	"true: this is the stored first answer to this Idempotency-Key, replayed; nothing ran again"
//	@Header			409				{integer}	Retry-After			"Seconds to wait before retrying, on action_in_progress and idempotency_key_in_use"
//	@Router			/orders/{id}/refund [post]
func (s *server) refundOrder(c *gin.Context) {
	id, ok := pathID(c, "order")
	if !ok {
		return
	}
	var body RefundBody
	if !decodeJSON(c, &body) {
		return
	}
	req := orders.RefundRequest{Note: body.Note, NotifyCustomer: body.NotifyCustomer}
	var err error
	if req.Return, err = returnState(body.Return); err != nil {
		writeError(c, s.Log, err)
		return
	}
	if req.Amount, err = parseAmount("amount", body.Amount); err != nil {
		writeError(c, s.Log, err)
		return
	}
	for _, l := range body.LineItems {
		req.LineItems = append(req.LineItems, orders.RefundLine(l))
	}
	if sh := body.Shipping; sh != nil {
		req.Shipping = &orders.ShippingRefund{Full: sh.Full}
		if req.Shipping.Amount, err = parseAmount("shipping.amount", sh.Amount); err != nil {
			writeError(c, s.Log, err)
			return
		}
	}
	s.idempotent(c, id, body, func(ctx context.Context, actionID, agentID string, raw []byte) (orders.ActionResult, error) {
		return s.Orders.Refund(ctx, principal(c).Shop, id, actionID, agentID, req, raw)
	})
}

// listActions godoc
//
//	@Summary		An order's actions
//	@Description	Every cancel and refund attempt on the order, newest first, with the agent, the outcome and Shopify's references.
//	@Tags			actions
//	@ID				listActions
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id	path		integer	true	"Shopify order id"	Format(int64)	minimum(1)
//	@Success		200	{object}	ActionListResponse
//	@Failure		400	{object}	Problem	"Invalid id"
//	@Failure		401	{object}	Problem
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404	{object}	Problem				"No such order in this shop"
//	@Failure		409	{object}	Problem				"The shop has uninstalled the app (shop_uninstalled)"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Failure		502	{object}	Problem				"Shopify failed"
//	@Failure		504	{object}	Problem				"Shopify did not answer in time"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/orders/{id}/actions [get]
func (s *server) listActions(c *gin.Context) {
	id, ok := pathID(c, "order")
	if !ok {
		return
	}
	list, err := s.Orders.Actions(c.Request.Context(), principal(c).Shop, id)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	r := ActionListResponse{Actions: make([]ActionResponse, 0, len(list))}
	for _, a := range list {
		r.Actions = append(r.Actions, toActionResponse(a))
	}
	writeJSON(c, http.StatusOK, r)
}

// idempotent runs an action under the request's Idempotency-Key: replays a
// final answer, refuses a reused or busy key, and resumes the same action
// after a 502/504.
func (s *server) idempotent(c *gin.Context, id int64, body any, run func(ctx context.Context, actionID, agentID string, raw []byte) (orders.ActionResult, error)) {
	// The request's own form first, then the order: a request refused for
	// its form reads nothing from Shopify and stores nothing.
	agent, key, ok := actionHeaders(c)
	if !ok || !s.orderVisible(c, id) {
		return
	}
	raw, err := json.Marshal(body) // canonical form: whitespace and key order do not matter
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	sum := sha256.Sum256([]byte(c.Request.Method + " " + c.Request.URL.Path + "\n" + string(raw)))
	p := principal(c)
	k := idempotency.Key{ShopID: p.Shop.ID, APIKeyID: p.KeyID, Key: key}
	begun, err := s.Idempotency.Begin(c.Request.Context(), k, hex.EncodeToString(sum[:]))
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	if r := begun.Replay; r != nil {
		c.Header("Idempotent-Replayed", "true")
		ct := mediaJSON
		if r.Status >= 400 {
			ct = mediaProblem
		}
		c.Data(r.Status, ct, r.Body)
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), actionTimeout)
	defer cancel()
	res, runErr := run(ctx, begun.ActionID, agent, raw)
	status, out := http.StatusOK, any(nil)
	if runErr != nil {
		prob := problemFor(runErr)
		if prob.Status >= 500 {
			s.Log.ErrorContext(ctx, "action failed", "err", runErr, "action_id", begun.ActionID, "request_id", requestID(c))
		}
		prob.Instance = problemInstance(c)
		problemHeaders(c, prob)
		status, out = prob.Status, prob
	} else {
		out = ActionResultResponse{Action: toActionResponse(res.Action), Order: toOrderResponse(res.Order)}
	}
	encoded, err := json.Marshal(out)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	if ferr := s.Idempotency.Finish(context.WithoutCancel(c.Request.Context()), k, status, encoded); ferr != nil {
		s.Log.ErrorContext(ctx, "store idempotent response", "err", ferr, "request_id", requestID(c))
	}
	ct := mediaJSON
	if runErr != nil {
		ct = mediaProblem
		_ = c.Error(runErr)
	}
	c.Data(status, ct, encoded)
}
