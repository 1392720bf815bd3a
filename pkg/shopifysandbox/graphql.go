package shopifysandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"
)

// Every document is validated against the schema first (graphql_exec.go).
// Reads are executed over their selection; mutations are recognised by
// their root field and read every input from variables, which is how
// orderdesk sends them (never interpolated into the query).

const mutationCost = 10

type gqlRequest struct {
	Query         string                     `json:"query"`
	OperationName string                     `json:"operationName,omitempty"`
	Variables     map[string]json.RawMessage `json:"variables"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func (s *Sandbox) serveGraphQL(w http.ResponseWriter, r *http.Request, version string) {
	var req gqlRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.noteUnserved()
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []gqlError{{Message: "invalid JSON body"}}})
		return
	}
	parsed, perrs := parseGraphQL(version, req)
	if len(perrs) > 0 {
		s.noteRefused(perrs[0].Message)
		s.writeGraphQL(w, nil, perrs)
		return
	}
	if s.serveBulk(w, r, parsed, version) {
		return
	}
	if readOp(parsed.rootFields()) != "" && !strings.Contains(req.Query, "suggestedRefund(") {
		s.serveRead(w, r, parsed)
		return
	}
	var op string
	switch {
	case strings.Contains(req.Query, "orderCancel("):
		op = OpOrderCancel
	case strings.Contains(req.Query, "refundCreate("):
		op = OpRefundCreate
	case strings.Contains(req.Query, "suggestedRefund("):
		op = OpSuggestRefund
	case strings.Contains(req.Query, "job("), strings.Contains(req.Query, "node("):
		op = OpJob
	default:
		s.noteUnserved()
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: "sandbox: unsupported operation"}}})
		return
	}
	s.mu.Lock()
	s.calls[op]++
	fault := s.takeFault(op)
	if fault == nil {
		fault = s.chaosFaultLocked(op)
	}
	if fault != nil {
		s.faultLog = append(s.faultLog, FaultRecord{Op: op, Fault: *fault})
	}
	s.mu.Unlock()

	if fault != nil && fault.Status == http.StatusTooManyRequests {
		// GraphQL throttling is an HTTP 200 with a THROTTLED error and an
		// empty budget; nothing ran.
		writeJSON(w, http.StatusOK, map[string]any{
			"errors": []gqlError{{Message: "Throttled", Extensions: map[string]any{"code": "THROTTLED"}}},
			"extensions": map[string]any{"cost": map[string]any{
				"requestedQueryCost": mutationCost,
				"throttleStatus":     map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": 0.0, "restoreRate": 100.0},
			}},
		})
		return
	}
	if fault != nil && fault.TopLevel != "" && !fault.ApplyFirst {
		s.writeGraphQL(w, nil, []gqlError{{Message: "Internal error. Looks like something went wrong on our end.", Extensions: map[string]any{"code": fault.TopLevel}}})
		return
	}
	if fault != nil && len(fault.UserErrors) > 0 && !s.keyUsed(op, req) {
		s.writeGraphQL(w, map[string]any{rootField(op): map[string]any{userErrorsField(op): fault.UserErrors}}, nil)
		return
	}
	var data any
	var errs []gqlError
	applied := fault != nil && fault.ApplyFirst
	if applied {
		// The mutation takes effect at Shopify; then the answer is late or lost.
		data, errs = s.runGraphQL(op, req, fault)
		if fault.TopLevel != "" {
			s.writeGraphQL(w, nil, []gqlError{{Message: "Internal error. Looks like something went wrong on our end.", Extensions: map[string]any{"code": fault.TopLevel}}})
			return
		}
	}
	if fault != nil && !s.applyFault(w, r, fault) {
		return
	}
	if !applied {
		data, errs = s.runGraphQL(op, req, fault)
	}
	s.writeGraphQL(w, data, errs)
}

func (s *Sandbox) writeGraphQL(w http.ResponseWriter, data any, errs []gqlError) {
	body := map[string]any{
		"data": data,
		"extensions": map[string]any{"cost": map[string]any{
			"requestedQueryCost": mutationCost,
			"actualQueryCost":    mutationCost,
			"throttleStatus":     map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": 2000.0 - mutationCost, "restoreRate": 100.0},
		}},
	}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, http.StatusOK, body)
}

func rootField(op string) string { return strings.TrimPrefix(op, "graphql.") }

func userErrorsField(op string) string {
	if op == OpOrderCancel {
		return "orderCancelUserErrors"
	}
	return "userErrors"
}

func (s *Sandbox) runGraphQL(op string, req gqlRequest, fault *Fault) (any, []gqlError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case OpOrderCancel:
		return s.orderCancelLocked(req.Variables, fault != nil && fault.CancelJobFails)
	case OpRefundCreate:
		return s.refundCreateLocked(req.Variables)
	case OpSuggestRefund:
		return s.suggestRefundLocked(req.Variables)
	default:
		return s.jobLocked(req.Variables, strings.Contains(req.Query, "node("))
	}
}

func gidID(gid string) uint64 {
	i := strings.LastIndex(gid, "/")
	n, _ := strconv.ParseUint(gid[i+1:], 10, 64)
	return n
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func (s *Sandbox) orderCancelLocked(vars map[string]json.RawMessage, jobFails bool) (any, []gqlError) {
	refuse := func(code, msg string) (any, []gqlError) {
		return map[string]any{"orderCancel": map[string]any{
			"job":                   nil,
			"orderCancelUserErrors": []UserError{{Field: []string{"orderId"}, Message: msg, Code: code}},
		}}, nil
	}
	o, ok := s.orders[gidID(str(vars["orderId"]))]
	switch {
	case !ok:
		return refuse("NOT_FOUND", "Order does not exist")
	case o.CancelledAt != nil:
		return refuse("INVALID", "Order has already been cancelled")
	case o.FulfillmentStatus == "fulfilled" || o.FulfillmentStatus == "partial":
		return refuse("INVALID", "Cannot cancel an order that has been fulfilled")
	}
	reason := strings.ToLower(str(vars["reason"]))
	if reason == "" {
		return nil, []gqlError{{Message: "Variable $reason of type OrderCancelReason! was provided invalid value", Extensions: map[string]any{"code": "INVALID_VARIABLE"}}}
	}
	if note := str(vars["staffNote"]); utf8.RuneCountInString(note) > 255 {
		return map[string]any{"orderCancel": map[string]any{
			"job":                   nil,
			"orderCancelUserErrors": []UserError{{Field: []string{"staffNote"}, Message: "Staff note is too long (maximum is 255 characters)", Code: "INVALID"}},
		}}, nil
	}
	jobID := fmt.Sprintf("gid://shopify/OrderCancelJobResult/%d", s.newID())
	if jobFails {
		// The job runs and fails: the order is not cancelled.
		s.jobs[jobID] = &cancelJob{polls: 1, status: "FAILED", errors: []UserError{{Field: []string{"orderId"}, Message: "Order could not be cancelled: a payment could not be voided", Code: "INVALID"}}}
		return map[string]any{"orderCancel": map[string]any{
			"job":                   map[string]any{"id": jobID, "done": false},
			"orderCancelUserErrors": []UserError{},
		}}, nil
	}
	var refundMethod struct {
		OriginalPaymentMethodsRefund bool `json:"originalPaymentMethodsRefund"`
	}
	_ = json.Unmarshal(vars["refundMethod"], &refundMethod)
	var refund bool
	_ = json.Unmarshal(vars["refund"], &refund)

	now := s.opts.Now().UTC()
	o.CancelledAt, o.ClosedAt, o.UpdatedAt = &now, &now, &now
	o.CancelReason = goshopify.OrderCancelReason(reason)
	switch o.FinancialStatus {
	case "pending", "authorized", "expired":
		o.FinancialStatus = "voided"
	default:
		if refund || refundMethod.OriginalPaymentMethodsRefund {
			if left := s.refundableLocked(o.Id); left.IsPositive() {
				s.addRefundLocked(o, left, "Order cancelled", nil, decimal.Zero)
			}
		}
	}
	s.emitLocked("orders/cancelled", o)
	s.jobs[jobID] = &cancelJob{polls: 1, status: "SUCCEEDED"} // done on the second poll: cancellation is asynchronous
	return map[string]any{"orderCancel": map[string]any{
		"job":                   map[string]any{"id": jobID, "done": false},
		"orderCancelUserErrors": []UserError{},
	}}, nil
}

// cancelJob is an orderCancel's job: an OrderCancelJobResult in 2026-10.
type cancelJob struct {
	polls  int // polls left before it is done
	status string
	errors []UserError
}

// jobLocked answers job(id:) (done only) or node(id:), which in 2026-10
// resolves a cancel's id to an OrderCancelJobResult with its status.
func (s *Sandbox) jobLocked(vars map[string]json.RawMessage, node bool) (any, []gqlError) {
	id := str(vars["id"])
	root := "job"
	if node {
		root = "node"
	}
	j, ok := s.jobs[id]
	if !ok {
		return map[string]any{root: nil}, nil
	}
	done := j.polls == 0
	if j.polls > 0 {
		j.polls--
	}
	out := map[string]any{"id": id, "done": done}
	if node {
		out["status"], out["errors"] = "STARTED", []UserError{}
		if done {
			out["status"], out["errors"] = j.status, j.errors
			if j.errors == nil {
				out["errors"] = []UserError{}
			}
		}
	}
	return map[string]any{root: out}, nil
}

type refundInput struct {
	OrderID         string `json:"orderId"`
	Note            string `json:"note"`
	Currency        string `json:"currency"`
	RefundLineItems []struct {
		LineItemID  string `json:"lineItemId"`
		Quantity    int    `json:"quantity"`
		RestockType string `json:"restockType"`
	} `json:"refundLineItems"`
	// Shipping is ShippingRefundInput (2026-10 has no other shipping
	// input on RefundInput): amount, or fullRefund for all that is left.
	Shipping *struct {
		FullRefund *bool            `json:"fullRefund"`
		Amount     *decimal.Decimal `json:"amount"`
	} `json:"shipping"`
	Transactions []struct {
		ParentID string          `json:"parentId"`
		Amount   decimal.Decimal `json:"amount"`
		Gateway  string          `json:"gateway"`
		Kind     string          `json:"kind"`
	} `json:"transactions"`
}

func (s *Sandbox) refundCreateLocked(vars map[string]json.RawMessage) (any, []gqlError) {
	key := str(vars["idempotencyKey"])
	if key == "" {
		return nil, []gqlError{{Message: "The @idempotent directive with a key is required for refundCreate", Extensions: map[string]any{"code": "BAD_REQUEST"}}}
	}
	s.refundInputs = append(s.refundInputs, vars["input"])
	var in refundInput
	if err := json.Unmarshal(vars["input"], &in); err != nil {
		return nil, []gqlError{{Message: "Variable $input of type RefundInput! was provided invalid value", Extensions: map[string]any{"code": "INVALID_VARIABLE"}}}
	}
	o, ok := s.orders[gidID(in.OrderID)]
	if !ok {
		return refundUserError([]string{"orderId"}, "Order does not exist")
	}
	if id, seen := s.refundKeys[key]; seen {
		// Same key: the refund made the first time, never a second one.
		return s.refundPayloadLocked(o, id), nil
	}
	if p := o.PresentmentCurrency; p != "" && p != o.Currency && in.Currency != p {
		return refundUserError([]string{"currency"}, fmt.Sprintf("Currency must be %s, the order's presentment currency", p))
	}
	total := decimal.Zero
	for _, t := range in.Transactions {
		if !t.Amount.IsPositive() {
			return refundUserError([]string{"transactions", "amount"}, "Amount must be greater than zero")
		}
		if t.ParentID == "" {
			// No parent named (suggestedRefund may have none): the
			// gateway's payment is the parent.
			if !s.hasGatewayLocked(o.Id, t.Gateway) {
				return refundUserError([]string{"transactions", "gateway"}, "No payment with this gateway can be refunded")
			}
		} else if !s.isParentLocked(o.Id, gidID(t.ParentID)) {
			return refundUserError([]string{"transactions", "parentId"}, "Parent transaction does not exist or cannot be refunded")
		}
		total = total.Add(t.Amount)
	}
	if total.GreaterThan(s.refundableLocked(o.Id)) {
		return refundUserError([]string{"transactions"}, "Refund amount exceeds the refundable amount")
	}
	shipping := decimal.Zero
	if sh := in.Shipping; sh != nil {
		left := shippingLeft(o)
		switch {
		case sh.Amount != nil: // an amount overrides fullRefund
			shipping = *sh.Amount
		case sh.FullRefund != nil && *sh.FullRefund:
			shipping = left
		}
		if shipping.IsNegative() {
			return refundUserError([]string{"shipping", "amount"}, "Shipping refund amount must be greater than or equal to 0")
		}
		if shipping.GreaterThan(left) {
			return refundUserError([]string{"shipping", "amount"}, fmt.Sprintf("Shipping refund amount %s exceeds the refundable shipping amount of %s", shipping.StringFixed(2), left.StringFixed(2)))
		}
	}
	var lines []goshopify.RefundLineItem
	for _, li := range in.RefundLineItems {
		lines = append(lines, goshopify.RefundLineItem{Id: s.newID(), LineItemId: gidID(li.LineItemID), Quantity: li.Quantity})
	}
	r := s.addRefundLocked(o, total, in.Note, lines, shipping)
	s.refundKeys[key] = r.Id
	s.ledger = append(s.ledger, LedgerEntry{RefundID: r.Id, OrderID: o.Id, Amount: total, Currency: in.Currency, Key: key, Note: in.Note, At: *r.CreatedAt})
	s.emitLocked("refunds/create", r)
	return s.refundPayloadLocked(o, r.Id), nil
}

func refundUserError(field []string, msg string) (any, []gqlError) {
	return map[string]any{"refundCreate": map[string]any{"refund": nil, "userErrors": []UserError{{Field: field, Message: msg}}}}, nil
}

func (s *Sandbox) refundPayloadLocked(o *goshopify.Order, refundID uint64) any {
	amount := decimal.Zero
	for _, r := range o.Refunds {
		if r.Id == refundID {
			for _, t := range r.Transactions {
				amount = amount.Add(*t.Amount)
			}
		}
	}
	return map[string]any{"refundCreate": map[string]any{
		"refund": map[string]any{
			"id":               fmt.Sprintf("gid://shopify/Refund/%d", refundID),
			"totalRefundedSet": map[string]any{"shopMoney": map[string]any{"amount": amount.String(), "currencyCode": o.Currency}},
		},
		"userErrors": []UserError{},
	}}
}

func (s *Sandbox) hasGatewayLocked(orderID uint64, gateway string) bool {
	for _, t := range s.transactions[orderID] {
		if t.Gateway == gateway && (t.Kind == "sale" || t.Kind == "capture") && t.Status == "success" {
			return true
		}
	}
	return false
}

func (s *Sandbox) isParentLocked(orderID, txID uint64) bool {
	for _, t := range s.transactions[orderID] {
		if t.Id == txID && (t.Kind == "sale" || t.Kind == "capture") && t.Status == "success" {
			return true
		}
	}
	return false
}

// refundableLocked is captured minus refunded, from the transactions.
func (s *Sandbox) refundableLocked(orderID uint64) decimal.Decimal {
	left := decimal.Zero
	for _, t := range s.transactions[orderID] {
		if t.Status != "success" || t.Amount == nil {
			continue
		}
		switch t.Kind {
		case "sale", "capture":
			left = left.Add(*t.Amount)
		case "refund":
			left = left.Sub(*t.Amount)
		}
	}
	return left
}

// shippingPaid is the shipping the customer paid: each shipping line after
// its discounts (the order's total shipping when it lists no line).
func shippingPaid(o *goshopify.Order) decimal.Decimal {
	if len(o.ShippingLines) == 0 {
		if o.TotalShippingPriceSet != nil && o.TotalShippingPriceSet.ShopMoney.Amount != nil {
			return *o.TotalShippingPriceSet.ShopMoney.Amount
		}
		return decimal.Zero
	}
	paid := decimal.Zero
	for _, sl := range o.ShippingLines {
		switch {
		case sl.DiscountedPrice != nil:
			paid = paid.Add(*sl.DiscountedPrice)
		case sl.Price != nil:
			paid = paid.Add(*sl.Price)
		}
	}
	return paid
}

// shippingRefunded is the shipping the order's refunds gave back: their
// shipping_refund adjustments, which Shopify records as negative amounts.
func shippingRefunded(o *goshopify.Order) decimal.Decimal {
	refunded := decimal.Zero
	for _, r := range o.Refunds {
		for _, a := range r.OrderAdjustments {
			if a.Kind == "shipping_refund" && a.Amount != nil {
				refunded = refunded.Sub(*a.Amount)
			}
		}
	}
	return refunded
}

// shippingLeft is the shipping that can still be refunded.
func shippingLeft(o *goshopify.Order) decimal.Decimal {
	return decimal.Max(decimal.Zero, shippingPaid(o).Sub(shippingRefunded(o)))
}

// addRefundLocked records a refund of amount against the first parent with
// money left, with shipping (of that amount) refunded as a shipping_refund
// adjustment, and moves the financial status.
func (s *Sandbox) addRefundLocked(o *goshopify.Order, amount decimal.Decimal, note string, lines []goshopify.RefundLineItem, shipping decimal.Decimal) goshopify.Refund {
	now := s.opts.Now().UTC()
	refundID := s.newID()
	var parent goshopify.Transaction
	for _, t := range s.transactions[o.Id] {
		if (t.Kind == "sale" || t.Kind == "capture") && t.Status == "success" {
			parent = t
			break
		}
	}
	pid := int64(parent.Id)
	amt := amount
	tx := goshopify.Transaction{
		Id: s.newID(), OrderId: o.Id, Kind: "refund", Status: "success", Gateway: parent.Gateway,
		Amount: &amt, Currency: o.Currency, ParentId: &pid, CreatedAt: &now,
	}
	s.transactions[o.Id] = append(s.transactions[o.Id], tx)
	r := goshopify.Refund{Id: refundID, OrderId: o.Id, CreatedAt: &now, Note: note, RefundLineItems: lines, Transactions: []goshopify.Transaction{tx}}
	if shipping.IsPositive() {
		neg, noTax := shipping.Neg(), decimal.Zero
		r.OrderAdjustments = []goshopify.OrderAdjustment{{
			Id: s.newID(), OrderId: o.Id, RefundId: refundID, Kind: "shipping_refund", Reason: "Shipping refund",
			Amount: &neg, TaxAmount: &noTax,
		}}
	}
	o.Refunds = append(o.Refunds, r)
	if s.refundableLocked(o.Id).IsZero() {
		o.FinancialStatus = "refunded"
	} else {
		o.FinancialStatus = "partially_refunded"
	}
	o.UpdatedAt = &now
	return r
}

// suggestRefundLocked answers suggestedRefund: each line at its price plus
// its share of tax, plus shipping, split over the payments with money left.
func (s *Sandbox) suggestRefundLocked(vars map[string]json.RawMessage) (any, []gqlError) {
	o, ok := s.orders[gidID(str(vars["id"]))]
	if !ok {
		return map[string]any{"order": nil}, nil
	}
	var lines []struct {
		LineItemID string `json:"lineItemId"`
		Quantity   int    `json:"quantity"`
	}
	_ = json.Unmarshal(vars["refundLineItems"], &lines)
	amount := decimal.Zero
	for _, l := range lines {
		for _, li := range o.LineItems {
			if li.Id != gidID(l.LineItemID) || li.Quantity == 0 {
				continue
			}
			unit := *li.Price
			for _, t := range li.TaxLines {
				unit = unit.Add(t.Price.Div(decimal.NewFromInt(int64(li.Quantity))))
			}
			amount = amount.Add(unit.Mul(decimal.NewFromInt(int64(l.Quantity))))
		}
	}
	// shippingAmount overrides refundShipping (all the shipping left).
	if sh := str(vars["shippingAmount"]); sh != "" {
		amount = amount.Add(decimal.RequireFromString(sh))
	} else if full, _ := strconv.ParseBool(string(vars["refundShipping"])); full {
		amount = amount.Add(shippingLeft(o))
	}
	amount = amount.Round(2)
	var txs []map[string]any
	left := amount
	for _, t := range s.transactions[o.Id] {
		if left.IsZero() || t.Status != "success" || (t.Kind != "sale" && t.Kind != "capture") {
			continue
		}
		avail := *t.Amount
		for _, r := range s.transactions[o.Id] {
			if r.Kind == "refund" && r.Status == "success" && r.ParentId != nil && uint64(*r.ParentId) == t.Id {
				avail = avail.Sub(*r.Amount)
			}
		}
		take := decimal.Min(avail, left)
		if !take.IsPositive() {
			continue
		}
		// A manual payment has no parent transaction Shopify can name
		// (parentTransaction is nullable).
		var parent any = map[string]any{"id": fmt.Sprintf("gid://shopify/OrderTransaction/%d", t.Id)}
		if t.Gateway == "manual" {
			parent = nil
		}
		txs = append(txs, map[string]any{
			"parentTransaction": parent,
			"amountSet":         map[string]any{"shopMoney": map[string]any{"amount": take.String()}, "presentmentMoney": map[string]any{"amount": take.String()}},
			"gateway":           t.Gateway,
		})
		left = left.Sub(take)
	}
	return map[string]any{"order": map[string]any{"suggestedRefund": map[string]any{
		"amountSet": map[string]any{
			"shopMoney":        map[string]any{"amount": amount.String(), "currencyCode": o.Currency},
			"presentmentMoney": map[string]any{"amount": amount.String(), "currencyCode": presentment(o)},
		},
		"suggestedTransactions": txs,
	}}}, nil
}

// presentment is the currency the customer paid in.
func presentment(o *goshopify.Order) string {
	if o.PresentmentCurrency != "" {
		return o.PresentmentCurrency
	}
	return o.Currency
}

// keyUsed reports a refundCreate whose @idempotent key already made a
// refund: Shopify answers it with that refund, before any validation.
func (s *Sandbox) keyUsed(op string, req gqlRequest) bool {
	if op != OpRefundCreate {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.refundKeys[str(req.Variables["idempotencyKey"])]
	return ok
}
