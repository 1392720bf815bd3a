package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
)

// DefaultActionWait is how long an action request waits for the outcome
// before answering 202 with the pending action (ORDERDESK_ACTION_WAIT).
const DefaultActionWait = 15 * time.Second

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
//	@Description	Cancels the whole order on Shopify, optionally refunding all or part of what was paid in the same action. The action is durable: recorded with its job, it is carried out (the order re-read from Shopify and the rules re-checked first) until it is final, across crashes and Shopify outages, without a retry. The exact Shopify inputs are stored before they are sent; the refund is keyed on the action id at Shopify and marked with it in its note, so nothing is ever done twice. The response says what happened to each part; 202 while it is still pending. The staff note takes at most 208 characters (Shopify's 255 less orderdesk's marker of the action).
//	@Tags			actions
//	@ID				cancelOrder
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id					path		integer					true	"Shopify order id"	Format(int64)	minimum(1)
//	@Param			Idempotency-Key		header		string					true	"Unique per intended action; same key + same body replays the first final answer"
//	@Param			X-Agent-Id			header		string					true	"The agent acting (audit trail)"
//	@Param			body				body		CancelBody				true	"The cancellation"
//	@Success		200					{object}	ActionResultResponse	"The action's final outcome: succeeded (a failed one is the problem of its refusal)"
//	@Success		202					{object}	ActionResultResponse	"Still being carried out when ORDERDESK_ACTION_WAIT ran out (action.status pending): orderdesk finishes it by itself; read the end from GET /orders/{id}/actions/{action_id} or retry with the same Idempotency-Key"
//	@Failure		400					{object}	Problem					"Malformed body, unknown field, or missing Idempotency-Key / X-Agent-Id"
//	@Failure		401					{object}	Problem
//	@Failure		429					{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429					{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404					{object}	Problem				"No such order in this shop"
//	@Failure		409					{object}	Problem				"Refused by the rules (already_cancelled, order_fulfilled, not_paid, nothing_to_refund; stored), or action_in_progress / idempotency_key_in_use (not stored: the same key runs later)"
//	@Failure		413					{object}	Problem				"Body over 1 MiB"
//	@Failure		415					{object}	Problem				"Not JSON"
//	@Failure		422					{object}	Problem				"Invalid reason, amount or staff note (amount_too_large, invalid_amount, invalid_staff_note), or idempotency_key_reused"
//	@Failure		500					{object}	Problem				"Internal error (no details)"
//	@Failure		502					{object}	Problem				"Shopify refused the change (shopify_rejected; a FAILED cancel job too): the action failed"
//	@Failure		504					{object}	Problem				"Shopify did not answer while reading the order for the request"
//	@Header			all					{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401					{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Header			200,202,409,422,502	{boolean}	Idempotent-Replayed	"true: this is the stored first answer to this Idempotency-Key, replayed; nothing ran again"
//	@Header			409					{integer}	Retry-After			"Seconds to wait before retrying, on action_in_progress and idempotency_key_in_use"
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
	s.idempotent(c, id, body, func(ctx context.Context, call orders.ActionCall) (orders.ActionResult, error) {
		return s.Orders.Cancel(ctx, principal(c).Shop, id, call, req)
	})
}

// refundOrder godoc
//
//	@Summary		Refund an order
//	@Description	Refunds an amount, or line items (restocked as "cancel" when unshipped, "return" when received) and/or shipping, on a paid order. Refunds touching shipped items need return "received" or "not_required". Line items and shipping are reckoned by Shopify's suggestedRefund (taxes and discounts included); an amount is allocated across the order's sale/capture transactions. The action is durable (see cancel): the order is re-read from Shopify and the rules re-checked first, the exact refund input is stored before it is sent, and the Shopify refund is keyed on the action id, so nothing ever refunds twice; 202 while it is still pending. The note goes to Shopify with orderdesk's marker of the action.
//	@Tags			actions
//	@ID				refundOrder
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id					path		integer					true	"Shopify order id"	Format(int64)	minimum(1)
//	@Param			Idempotency-Key		header		string					true	"Unique per intended action; same key + same body replays the first final answer"
//	@Param			X-Agent-Id			header		string					true	"The agent acting (audit trail)"
//	@Param			body				body		RefundBody				true	"The refund"
//	@Success		200					{object}	ActionResultResponse	"The action's final outcome: succeeded (a failed one is the problem of its refusal)"
//	@Success		202					{object}	ActionResultResponse	"Still being carried out when ORDERDESK_ACTION_WAIT ran out (action.status pending): orderdesk finishes it by itself; read the end from GET /orders/{id}/actions/{action_id} or retry with the same Idempotency-Key"
//	@Failure		400					{object}	Problem					"Malformed body, unknown field, or missing Idempotency-Key / X-Agent-Id"
//	@Failure		401					{object}	Problem
//	@Failure		429					{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429					{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404					{object}	Problem				"No such order in this shop"
//	@Failure		409					{object}	Problem				"Refused by the rules (not_paid, nothing_to_refund, return_required; stored), or action_in_progress / idempotency_key_in_use (not stored: the same key runs later)"
//	@Failure		413					{object}	Problem				"Body over 1 MiB"
//	@Failure		415					{object}	Problem				"Not JSON"
//	@Failure		422					{object}	Problem				"Invalid amount (amount_too_large, invalid_amount), line item or quantity, or idempotency_key_reused"
//	@Failure		500					{object}	Problem				"Internal error (no details)"
//	@Failure		502					{object}	Problem				"Shopify refused the change (shopify_rejected; a FAILED cancel job too): the action failed"
//	@Failure		504					{object}	Problem				"Shopify did not answer while reading the order for the request"
//	@Header			all					{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401					{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Header			200,202,409,422,502	{boolean}	Idempotent-Replayed	"true: this is the stored first answer to this Idempotency-Key, replayed; nothing ran again"
//	@Header			409					{integer}	Retry-After			"Seconds to wait before retrying, on action_in_progress and idempotency_key_in_use"
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
	s.idempotent(c, id, body, func(ctx context.Context, call orders.ActionCall) (orders.ActionResult, error) {
		return s.Orders.Refund(ctx, principal(c).Shop, id, call, req)
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

// getAction godoc
//
//	@Summary		One action
//	@Description	One cancel or refund attempt on the order, with its parts and outcome: pending while it is being carried out (also after a 202), then succeeded or failed.
//	@Tags			actions
//	@ID				getAction
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id			path		integer	true	"Shopify order id"	Format(int64)	minimum(1)
//	@Param			action_id	path		string	true	"The action's id"
//	@Success		200			{object}	ActionResponse
//	@Failure		400			{object}	Problem	"Invalid id"
//	@Failure		401			{object}	Problem
//	@Failure		429			{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429			{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		404			{object}	Problem				"No such order or action in this shop"
//	@Failure		409			{object}	Problem				"The shop has uninstalled the app (shop_uninstalled)"
//	@Failure		500			{object}	Problem				"Internal error (no details)"
//	@Header			all			{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401			{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/orders/{id}/actions/{action_id} [get]
func (s *server) getAction(c *gin.Context) {
	id, ok := pathID(c, "order")
	if !ok {
		return
	}
	a, err := s.Orders.GetAction(c.Request.Context(), principal(c).Shop, id, c.Param("action_id"))
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	writeJSON(c, http.StatusOK, toActionResponse(a))
}

// idempotent runs an action under the request's Idempotency-Key. The key
// is claimed in the transaction that records the action and its job. A
// final outcome is answered once and stored (200, or the problem of a
// refusal); a pending one answers 202 with its current state, not stored.
// Transient refusals (another action on the order, the key being claimed
// concurrently, 5xx) claim nothing, so the same key runs again later.
func (s *server) idempotent(c *gin.Context, id int64, body any, run func(ctx context.Context, call orders.ActionCall) (orders.ActionResult, error)) {
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
	p := principal(c)
	k := idempotency.Key{ShopID: p.Shop.ID, APIKeyID: p.KeyID, Key: key}
	wait := s.ActionWait
	if wait <= 0 {
		wait = DefaultActionWait
	}
	call := orders.ActionCall{
		Claim: orders.IdempotencyClaim{ShopID: k.ShopID, APIKeyID: k.APIKeyID, Key: k.Key, RequestHash: requestHash(c, raw),
			ExpiresAt: time.Now().Add(idempotency.Retention)},
		AgentID: agent, Request: raw, Wait: wait,
	}
	res, err := run(c.Request.Context(), call)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	if r := res.Answer; r != nil {
		replay(c, r.Status, r.Body)
		return
	}
	if !res.Action.Status.Final() {
		writeJSON(c, http.StatusAccepted, ActionResultResponse{Action: toActionResponse(res.Action), Order: toOrderResponse(res.Order)})
		return
	}
	status, out := http.StatusOK, any(ActionResultResponse{Action: toActionResponse(res.Action), Order: toOrderResponse(res.Order)})
	if failure := res.Action.Failure(); failure != nil {
		prob := problemFor(failure)
		prob.Instance = problemInstance(c)
		status, out = prob.Status, prob
		_ = c.Error(failure)
	}
	encoded, err := json.Marshal(out)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	if status >= 500 {
		// Not an answer to keep: the key runs again (it names the same
		// action, whose outcome is then answered again).
		prob := out.(Problem)
		problemHeaders(c, prob)
		c.Data(status, mediaProblem, encoded)
		return
	}
	stored, err := s.Idempotency.Settle(context.WithoutCancel(c.Request.Context()), k, status, encoded)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	if stored.Status != status || string(stored.Body) != string(encoded) {
		replay(c, stored.Status, stored.Body) // a concurrent retry answered first
		return
	}
	ct := mediaJSON
	if status >= 400 {
		ct = mediaProblem
		problemHeaders(c, out.(Problem))
	}
	c.Data(status, ct, encoded)
}

// replay sends a key's stored answer again.
func replay(c *gin.Context, status int, body []byte) {
	c.Header("Idempotent-Replayed", "true")
	ct := mediaJSON
	if status >= 400 {
		ct = mediaProblem
	}
	c.Data(status, ct, body)
}
