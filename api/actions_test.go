package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// post sends an action request with an Idempotency-Key and an agent.
func (h *harness) post(path, key, body string) response {
	h.t.Helper()
	return h.do(http.MethodPost, path, keyA, strings.NewReader(body),
		"Content-Type", "application/json", "Idempotency-Key", key, "X-Agent-Id", "agent-42")
}

// refunds is what the sandbox holds: the number of refunds and their sum.
func refunds(t testing.TB, sb *shopifysandbox.Sandbox, id uint64) (int, decimal.Decimal) {
	t.Helper()
	o, ok := sb.Order(id)
	if !ok {
		t.Fatalf("sandbox lost order %d", id)
	}
	sum := decimal.Zero
	for _, r := range o.Refunds {
		for _, tx := range r.Transactions {
			sum = sum.Add(*tx.Amount)
		}
	}
	return len(o.Refunds), sum
}

func result(t testing.TB, r response) api.ActionResultResponse {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, r.Body)
	}
	var res api.ActionResultResponse
	r.decode(t, &res)
	return res
}

func path(id uint64, action string) string { return fmt.Sprintf("/orders/%d/%s", id, action) }

func TestCancelScenarios(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testCancelScenarios(t, kind) })
	}
}

func testCancelScenarios(t *testing.T, kind string) {
	t.Parallel()
	t.Run("unpaid order: no refund offered, refund asked is not_paid, cancel voids", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		var prev api.CancelPreviewResponse
		h.get(path(shopifysandbox.OrderPending, "cancel"), keyA).decode(t, &prev)
		if !prev.Cancellable || prev.Refund.Available || fmt.Sprint(prev.Refund.Modes) != "[none]" || len(prev.Reasons) != 6 || !prev.RestockDefault {
			t.Errorf("preview = %+v", prev)
		}
		problem(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k1", `{"reason":"customer","refund":{"mode":"full"}}`), http.StatusConflict, "not_paid")
		if n := h.sb.Calls(shopifysandbox.OpOrderCancel); n != 0 {
			t.Errorf("a refused cancel reached Shopify %d times", n)
		}
		res := result(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k2", `{"reason":"customer","notify_customer":true}`))
		if res.Action.Status != "succeeded" || res.Action.Parts.Cancel != "succeeded" || res.Action.Parts.Refund != "not_requested" {
			t.Errorf("action = %+v", res.Action)
		}
		o, _ := h.sb.Order(shopifysandbox.OrderPending)
		if o.CancelledAt == nil || o.FinancialStatus != "voided" || o.CancelReason != "customer" {
			t.Errorf("sandbox order: cancelled %v, financial %s, reason %s", o.CancelledAt, o.FinancialStatus, o.CancelReason)
		}
		if res.Order.Status != "cancelled" || res.Order.FinancialStatus != "voided" {
			t.Errorf("returned order %s/%s", res.Order.Status, res.Order.FinancialStatus)
		}
	})
	t.Run("paid order: cancel and refund in full", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		res := result(t, h.post(path(shopifysandbox.OrderPaidUnfulfilled, "cancel"), "k", `{"reason":"inventory","refund":{"mode":"full"},"restock":true}`))
		if res.Action.Amount == nil || *res.Action.Amount != "64.90" || res.Action.Parts.Refund != "succeeded" || res.Action.ShopifyRefundID == nil {
			t.Errorf("action = %+v", res.Action)
		}
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 || !sum.Equal(decimal.RequireFromString("64.90")) {
			t.Errorf("sandbox refunds: %d totalling %s", n, sum)
		}
		if res.Order.Status != "cancelled" || res.Order.FinancialStatus != "refunded" || res.Order.RefundableAmount != "0.00" {
			t.Errorf("order after = %s %s %s", res.Order.Status, res.Order.FinancialStatus, res.Order.RefundableAmount)
		}
	})
	t.Run("paid order: cancel with a chosen amount", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		res := result(t, h.post(path(shopifysandbox.OrderEUR, "cancel"), "k", `{"reason":"customer","refund":{"mode":"amount","amount":"30.50"}}`))
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderEUR); n != 1 || !sum.Equal(decimal.RequireFromString("30.5")) {
			t.Errorf("sandbox refunds: %d totalling %s", n, sum)
		}
		if res.Order.FinancialStatus != "partially_refunded" || res.Order.RefundableAmount != "58.50" || res.Order.Currency != "EUR" {
			t.Errorf("order after = %+v", res.Order.FinancialStatus)
		}
	})
	t.Run("fulfilled order cannot be cancelled", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		problem(t, h.post(path(shopifysandbox.OrderDelivered, "cancel"), "k", `{"reason":"customer"}`), http.StatusConflict, "order_fulfilled")
		if n := h.sb.Calls(shopifysandbox.OpOrderCancel); n != 0 {
			t.Errorf("orderCancel calls = %d", n)
		}
		var acts api.ActionListResponse
		h.get(path(shopifysandbox.OrderDelivered, "actions"), keyA).decode(t, &acts)
		if len(acts.Actions) != 1 || acts.Actions[0].Status != "failed" || acts.Actions[0].Error == nil || acts.Actions[0].AgentID != "agent-42" {
			t.Errorf("refused attempt not recorded honestly: %+v", acts.Actions)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		problem(t, h.post(path(shopifysandbox.OrderCancelledVoided, "cancel"), "k", `{"reason":"customer"}`), http.StatusConflict, "already_cancelled")
	})
}

func TestRefundScenarios(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testRefundScenarios(t, kind) })
	}
}

func testRefundScenarios(t *testing.T, kind string) {
	t.Parallel()
	t.Run("delivered order, item received back", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		var prev api.RefundPreviewResponse
		h.get(path(shopifysandbox.OrderDelivered, "refund"), keyA).decode(t, &prev)
		if !prev.Refundable || !prev.RequiresReturn || prev.MaxAmount != "99.95" || len(prev.LineItems) != 1 || !prev.LineItems[0].Shipped {
			t.Errorf("preview = %+v", prev)
		}
		body := fmt.Sprintf(`{"line_items":[{"line_item_id":%d,"quantity":1,"restock":true}],"return":"received","note":"returned"}`, shopifysandbox.OrderDelivered*10)
		res := result(t, h.post(path(shopifysandbox.OrderDelivered, "refund"), "k", body))
		if *res.Action.Amount != "99.95" || res.Order.FinancialStatus != "refunded" || res.Order.LineItems[0].RefundedQuantity != 1 {
			t.Errorf("after: amount %s, %s, refunded qty %d", *res.Action.Amount, res.Order.FinancialStatus, res.Order.LineItems[0].RefundedQuantity)
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderDelivered); n != 1 {
			t.Errorf("sandbox refunds = %d", n)
		}
		// A received item goes back to stock as a return, refunded from the sale.
		in := string(h.sb.RefundInputs()[0])
		for _, want := range []string{`"restockType":"RETURN"`, `"locationId":"gid://shopify/Location/655441491"`, fmt.Sprintf(`"parentId":"gid://shopify/OrderTransaction/%d"`, shopifysandbox.OrderDelivered*100+1), `"amount":"99.95"`} {
			if !strings.Contains(in, want) {
				t.Errorf("Shopify got %s, missing %s", in, want)
			}
		}
	})
	t.Run("no-return policy before any return", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		result(t, h.post(path(shopifysandbox.OrderInTransit, "refund"), "k", `{"amount":"25.00","return":"not_required"}`))
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderInTransit); n != 1 || !sum.Equal(decimal.NewFromInt(25)) {
			t.Errorf("sandbox refunds: %d totalling %s", n, sum)
		}
	})
	t.Run("shipped order without return state", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		problem(t, h.post(path(shopifysandbox.OrderOutForDelivery, "refund"), "k", `{"amount":"5.00"}`), http.StatusConflict, "return_required")
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderOutForDelivery); n != 0 || h.sb.Calls(shopifysandbox.OpRefundCreate) != 0 {
			t.Errorf("a refused refund reached Shopify")
		}
	})
	t.Run("unshipped line and shipping need no return", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		body := fmt.Sprintf(`{"line_items":[{"line_item_id":%d,"quantity":1,"restock":true}],"shipping":{"full":true}}`, shopifysandbox.OrderPaidUnfulfilled*10)
		res := result(t, h.post(path(shopifysandbox.OrderPaidUnfulfilled, "refund"), "k", body))
		if *res.Action.Amount != "24.90" { // 19.90 mug + 5.00 shipping
			t.Errorf("amount = %s", *res.Action.Amount)
		}
		// An unshipped item goes back to stock as a cancellation.
		if in := string(h.sb.RefundInputs()[0]); !strings.Contains(in, `"restockType":"CANCEL"`) || !strings.Contains(in, `"shipping":{"amount":"5"}`) {
			t.Errorf("Shopify got %s", in)
		}
	})
	t.Run("no-return policy: nothing goes back to stock", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		body := fmt.Sprintf(`{"line_items":[{"line_item_id":%d,"quantity":1,"restock":true}],"return":"not_required"}`, shopifysandbox.OrderOutForDelivery*10)
		res := result(t, h.post(path(shopifysandbox.OrderOutForDelivery, "refund"), "k", body))
		if in := string(h.sb.RefundInputs()[0]); !strings.Contains(in, `"restockType":"NO_RESTOCK"`) {
			t.Errorf("Shopify got %s", in)
		}
		// The line's tax comes back too: Shopify's suggestion, not price × quantity.
		if *res.Action.Amount != "46.20" || res.Order.FinancialStatus != "refunded" {
			t.Errorf("refunded %s, order %s; want 46.20 (42.00 + 4.20 tax), refunded", *res.Action.Amount, res.Order.FinancialStatus)
		}
		if n := h.sb.Calls(shopifysandbox.OpSuggestRefund); n != 1 {
			t.Errorf("suggestedRefund calls = %d", n)
		}
	})
	tests := []struct {
		name   string
		order  uint64
		body   string
		status int
		code   string
	}{
		{"amount above refundable", shopifysandbox.OrderPartiallyRefunded, `{"amount":"60.01"}`, 422, "amount_too_large"},
		{"JPY amount with decimals", shopifysandbox.OrderJPY, `{"amount":"100.5"}`, 422, "invalid_amount"},
		{"zero amount", shopifysandbox.OrderJPY, `{"amount":"0"}`, 422, "invalid_amount"},
		{"not a number", shopifysandbox.OrderJPY, `{"amount":"ten"}`, 422, "invalid_amount"},
		{"amount as a JSON number", shopifysandbox.OrderJPY, `{"amount":10}`, 400, "invalid_type"},
		{"unpaid", shopifysandbox.OrderAuthorized, `{"amount":"1.00"}`, 409, "not_paid"},
		{"fully refunded", shopifysandbox.OrderRefunded, `{"amount":"1.00"}`, 409, "nothing_to_refund"},
		{"voided", shopifysandbox.OrderCancelledVoided, `{"amount":"1.00"}`, 409, "nothing_to_refund"},
		{"amount and lines", shopifysandbox.OrderJPY, `{"amount":"1","line_items":[{"line_item_id":1,"quantity":1}]}`, 422, "invalid_refund"},
		{"unknown line item", shopifysandbox.OrderJPY, `{"line_items":[{"line_item_id":1,"quantity":1}]}`, 422, "invalid_line_item"},
		{"too many units", shopifysandbox.OrderJPY, fmt.Sprintf(`{"line_items":[{"line_item_id":%d,"quantity":2}]}`, shopifysandbox.OrderJPY*10), 422, "invalid_quantity"},
		{"bad return state", shopifysandbox.OrderJPY, `{"amount":"1","return":"maybe"}`, 422, "invalid_return"},
	}
	h := newHarness(t, harnessOpts{kind: kind})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problem(t, h.post(path(tt.order, "refund"), fmt.Sprintf("t%d", i), tt.body), tt.status, tt.code)
		})
	}
	if n := h.sb.Calls(shopifysandbox.OpRefundCreate); n != 0 {
		t.Errorf("refused refunds reached Shopify %d times", n)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testIdempotencyKeys(t, kind) })
	}
}

func testIdempotencyKeys(t *testing.T, kind string) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: kind})
	p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
	first := h.post(p, "same", `{"amount":"10.00"}`)
	second := h.post(p, "same", `{ "amount" : "10.00" }`) // same request, other whitespace
	if first.Code != 200 || second.Code != 200 || first.Body.String() != second.Body.String() {
		t.Fatalf("replay differs: %d %s / %d %s", first.Code, first.Body, second.Code, second.Body)
	}
	if second.Header().Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked")
	}
	if n := h.sb.Calls(shopifysandbox.OpRefundCreate); n != 1 {
		t.Errorf("refundCreate calls = %d, want 1", n)
	}
	problem(t, h.post(p, "same", `{"amount":"11.00"}`), http.StatusUnprocessableEntity, "idempotency_key_reused")
	// A 4xx outcome is final and replayed too.
	a := h.post(path(shopifysandbox.OrderDelivered, "refund"), "k409", `{"amount":"1.00"}`)
	b := h.post(path(shopifysandbox.OrderDelivered, "refund"), "k409", `{"amount":"1.00"}`)
	if a.Code != 409 || b.Code != 409 || a.Body.String() != b.Body.String() {
		t.Errorf("4xx replay: %d / %d", a.Code, b.Code)
	}
	// Keys belong to the API key that sent them: shop B's "same" is its own,
	// and runs (here into shop B's Shopify, which has no such order)
	// instead of replaying.
	r := h.do(http.MethodPost, path(shopifysandbox.OrderPaidUnfulfilled, "refund"), keyB, strings.NewReader(`{"amount":"10.00"}`),
		"Content-Type", "application/json", "Idempotency-Key", "same", "X-Agent-Id", "b")
	problem(t, r, http.StatusNotFound, "not_found")
	if r.Header().Get("Idempotent-Replayed") != "" {
		t.Error("shop B got shop A's replay")
	}

	missing := []struct {
		headers []string
		code    string
	}{
		{[]string{"Content-Type", "application/json", "X-Agent-Id", "a"}, "idempotency_key_required"},
		{[]string{"Content-Type", "application/json", "Idempotency-Key", "x"}, "agent_id_required"},
		{[]string{"Content-Type", "application/json", "X-Agent-Id", "a", "Idempotency-Key", strings.Repeat("k", 256)}, "idempotency_key_required"},
	}
	for _, m := range missing {
		problem(t, h.do(http.MethodPost, p, keyA, strings.NewReader(`{"amount":"1.00"}`), m.headers...), http.StatusBadRequest, m.code)
	}
}

// TestSameKeyWhilePending: a retry with the key of a pending action
// answers 202 with its current state, then its final answer (API.md); the
// pending answer is never stored.
func TestSameKeyWhilePending(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testSameKeyWhilePending(t, kind) })
	}
}

func testSameKeyWhilePending(t *testing.T, kind string) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: kind, actionWait: 100 * time.Millisecond})
	h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Latency: 1500 * time.Millisecond})
	p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
	first := h.post(p, "busy", `{"amount":"10.00"}`)
	if first.Code != http.StatusAccepted {
		t.Fatalf("first = %d %s", first.Code, first.Body)
	}
	var pending api.ActionResultResponse
	first.decode(t, &pending)
	if pending.Action.Status != "pending" {
		t.Fatalf("first action = %+v", pending.Action)
	}
	again := h.post(p, "busy", `{"amount":"10.00"}`)
	var cur api.ActionResultResponse
	again.decode(t, &cur)
	if again.Code != http.StatusAccepted || cur.Action.ID != pending.Action.ID || again.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry while pending = %d %+v", again.Code, cur.Action)
	}
	var got api.ActionResponse
	eventually(t, 10*time.Second, "the action settles by itself", func() bool {
		h.get(path(shopifysandbox.OrderPaidUnfulfilled, "actions/"+pending.Action.ID), keyA).decode(t, &got)
		return got.Status == "succeeded"
	})
	final := result(t, h.post(p, "busy", `{"amount":"10.00"}`))
	if final.Action.ID != pending.Action.ID || final.Action.Status != "succeeded" {
		t.Errorf("final answer = %+v", final.Action)
	}
	if r := h.post(p, "busy", `{"amount":"10.00"}`); r.Code != 200 || r.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %d %v", r.Code, r.Header())
	}
	if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 {
		t.Errorf("refunds = %d", n)
	}
	problem(t, h.get(path(shopifysandbox.OrderPaidUnfulfilled, "actions/nope"), keyA), http.StatusNotFound, "not_found")
	problem(t, h.get(path(shopifysandbox.OrderPending, "actions/"+pending.Action.ID), keyA), http.StatusNotFound, "not_found")
}

// TestTwoAgentsEqualAmounts: two agents refunding 1.00 each, one after the
// other or at once, make two refunds, each action naming its own (the old
// engine took any refund of the same amount made just before as its own).
func TestTwoAgentsEqualAmounts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		a := result(t, h.post(p, uuid.NewString(), `{"amount":"1.00"}`))
		b := result(t, h.post(p, uuid.NewString(), `{"amount":"1.00"}`))
		if a.Action.ShopifyRefundID == nil || b.Action.ShopifyRefundID == nil || *a.Action.ShopifyRefundID == *b.Action.ShopifyRefundID {
			t.Fatalf("two actions name refunds %v and %v", a.Action.ShopifyRefundID, b.Action.ShopifyRefundID)
		}
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 2 || !sum.Equal(decimal.RequireFromString("2.00")) {
			t.Errorf("sandbox: %d refunds of %s", n, sum)
		}
		// Ten at once with their own keys: every 200 names its own refund,
		// and the sandbox made exactly as many.
		var wg sync.WaitGroup
		answers := make(chan response, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers <- h.post(p, uuid.NewString(), `{"amount":"1.00"}`)
			}()
		}
		wg.Wait()
		close(answers)
		ids := map[int64]bool{2: true}
		ok := 0
		for r := range answers {
			switch r.Code {
			case 200:
				var res api.ActionResultResponse
				r.decode(t, &res)
				if ids[*res.Action.ShopifyRefundID] {
					t.Errorf("refund %d named twice", *res.Action.ShopifyRefundID)
				}
				ids[*res.Action.ShopifyRefundID] = true
				ok++
			case 409:
			default:
				t.Errorf("answer %d %s", r.Code, r.Body)
			}
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 2+ok {
			t.Errorf("sandbox made %d refunds for %d succeeded actions", n, 2+ok)
		}
	})
}

// TestActionInProgressIsNotStored: a 409 action_in_progress is transient:
// the same key runs once the other action is done (the old engine stored
// it as the key's answer forever).
func TestActionInProgressIsNotStored(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Status: 500, Times: 1000})
		p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		first := h.post(p, "a", `{"amount":"2.00"}`)
		if first.Code != http.StatusAccepted {
			t.Fatalf("first = %d %s", first.Code, first.Body)
		}
		// B refunds the same amount while A is pending: refused, not mixed up.
		problem(t, h.post(p, "b", `{"amount":"2.00"}`), http.StatusConflict, "action_in_progress")
		h.sb.ClearFaults()
		var a api.ActionResultResponse
		first.decode(t, &a)
		var got api.ActionResponse
		eventually(t, 15*time.Second, "A settles once Shopify answers", func() bool {
			h.get(path(shopifysandbox.OrderPaidUnfulfilled, "actions/"+a.Action.ID), keyA).decode(t, &got)
			return got.Status == "succeeded"
		})
		b := result(t, h.post(p, "b", `{"amount":"2.00"}`))
		if b.Action.ShopifyRefundID == nil || *b.Action.ShopifyRefundID == *got.ShopifyRefundID {
			t.Errorf("B = %+v, A = %+v", b.Action, got)
		}
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 2 || !sum.Equal(decimal.RequireFromString("4.00")) {
			t.Errorf("sandbox: %d refunds of %s", n, sum)
		}
	})
}

// TestConcurrentAgentsOneRefund: ten agents refund the same order at once
// with their own keys; Shopify makes exactly one refund.
func TestConcurrentAgentsOneRefund(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testConcurrentAgentsOneRefund(t, kind) })
	}
}

func testConcurrentAgentsOneRefund(t *testing.T, kind string) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: kind})
	h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Latency: 300 * time.Millisecond})
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- h.post(path(shopifysandbox.OrderPaidUnfulfilled, "refund"), fmt.Sprintf("agent-%d", i), `{"amount":"64.90"}`).Code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if n, sum := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 || !sum.Equal(decimal.RequireFromString("64.90")) {
		t.Errorf("sandbox refunds: %d totalling %s (answers %v)", n, sum, count)
	}
	if count[200] != 1 || count[409] != 9 {
		t.Errorf("answers = %v, want one 200 and nine 409", count)
	}
}

// settled waits for an action to be final and returns it.
func settled(t *testing.T, h *harness, order uint64, id string) api.ActionResponse {
	t.Helper()
	var got api.ActionResponse
	eventually(t, 20*time.Second, "the action settles by itself", func() bool {
		h.get(path(order, "actions/"+id), keyA).decode(t, &got)
		return got.Status != "pending"
	})
	return got
}

// accepted posts an action that cannot finish in the wait: 202 pending.
func accepted(t *testing.T, h *harness, p, key, body string) api.ActionResultResponse {
	t.Helper()
	r := h.post(p, key, body)
	if r.Code != http.StatusAccepted {
		t.Fatalf("%s = %d %s, want 202", p, r.Code, r.Body)
	}
	var res api.ActionResultResponse
	r.decode(t, &res)
	if res.Action.Status != "pending" {
		t.Fatalf("202 with %+v", res.Action)
	}
	return res
}

func TestShopifyFailuresOnMutations(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testShopifyFailuresOnMutations(t, kind) })
	}
}

func testShopifyFailuresOnMutations(t *testing.T, kind string) {
	t.Parallel()
	t.Run("refund 500s: pending, settled by its job once Shopify answers, once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind, actionWait: 300 * time.Millisecond})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Status: 500, Times: 1000})
		p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		res := accepted(t, h, p, "k", `{"amount":"10.00"}`)
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 0 {
			t.Fatalf("refunds = %d", n)
		}
		h.sb.ClearFaults() // Shopify recovers; nobody retries
		if a := settled(t, h, shopifysandbox.OrderPaidUnfulfilled, res.Action.ID); a.Status != "succeeded" || a.ShopifyRefundID == nil {
			t.Errorf("settled = %+v", a)
		}
		again := result(t, h.post(p, "k", `{"amount":"10.00"}`))
		if again.Action.ID != res.Action.ID || again.Action.Status != "succeeded" {
			t.Errorf("the key's answer = %+v", again.Action)
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 {
			t.Errorf("refunds = %d, want 1", n)
		}
	})
	t.Run("refund answer lost after Shopify made it: settled, never twice", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind, shopifyTimeout: 200 * time.Millisecond, actionWait: 300 * time.Millisecond})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, ApplyFirst: true, Latency: 5 * time.Second, Times: 10})
		p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		res := accepted(t, h, p, "k", `{"amount":"10.00"}`)
		eventually(t, 5*time.Second, "the refund is made", func() bool { n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); return n == 1 })
		h.sb.ClearFaults()
		if a := settled(t, h, shopifysandbox.OrderPaidUnfulfilled, res.Action.ID); a.Status != "succeeded" || a.ShopifyRefundID == nil {
			t.Errorf("settled = %+v", a)
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 {
			t.Errorf("sandbox refunds = %d", n)
		}
	})
	t.Run("cancel times out after Shopify cancelled: settled from the order, not sent again", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind, shopifyTimeout: 200 * time.Millisecond, actionWait: 300 * time.Millisecond})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, ApplyFirst: true, Latency: 5 * time.Second})
		res := accepted(t, h, path(shopifysandbox.OrderPending, "cancel"), "k", `{"reason":"customer"}`)
		if a := settled(t, h, shopifysandbox.OrderPending, res.Action.ID); a.Status != "succeeded" || a.Parts.Cancel != "succeeded" {
			t.Errorf("settled = %+v", a)
		}
		if n := h.sb.Calls(shopifysandbox.OpOrderCancel); n != 1 {
			t.Errorf("orderCancel calls = %d: the cancellation was sent again", n)
		}
	})
	t.Run("cancel 500 that did nothing: sent again, succeeds", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind, actionWait: 10 * time.Second})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, Status: 500})
		res := result(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k", `{"reason":"customer"}`))
		if res.Action.Status != "succeeded" || h.sb.Calls(shopifysandbox.OpOrderCancel) != 2 {
			t.Errorf("action = %+v after %d calls", res.Action, h.sb.Calls(shopifysandbox.OpOrderCancel))
		}
	})
	t.Run("cancel done, refund lost: the refund is finished once, the cancel not repeated", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind, shopifyTimeout: 200 * time.Millisecond, actionWait: 300 * time.Millisecond})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Latency: 5 * time.Second, Times: 4})
		p := path(shopifysandbox.OrderPaidUnfulfilled, "cancel")
		body := `{"reason":"customer","refund":{"mode":"full"}}`
		res := accepted(t, h, p, "k", body)
		a := settled(t, h, shopifysandbox.OrderPaidUnfulfilled, res.Action.ID)
		if a.Status != "succeeded" || a.Parts.Cancel != "succeeded" || a.Parts.Refund != "succeeded" {
			t.Errorf("settled = %+v", a)
		}
		if n := h.sb.Calls(shopifysandbox.OpOrderCancel); n != 1 {
			t.Errorf("orderCancel calls = %d, want 1", n)
		}
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 || !sum.Equal(decimal.RequireFromString("64.90")) {
			t.Errorf("sandbox refunds: %d totalling %s", n, sum)
		}
	})
	t.Run("cancel job FAILED: the action fails and no refund follows", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, CancelJobFails: true})
		p := problem(t, h.post(path(shopifysandbox.OrderPaidUnfulfilled, "cancel"), "k", `{"reason":"customer","refund":{"mode":"full"}}`), http.StatusBadGateway, "shopify_rejected")
		if !strings.Contains(p.Detail, "could not be voided") {
			t.Errorf("detail = %q", p.Detail)
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 0 {
			t.Errorf("a failed cancellation was followed by %d refunds", n)
		}
		if o, _ := h.sb.Order(shopifysandbox.OrderPaidUnfulfilled); o.CancelledAt != nil {
			t.Error("order cancelled")
		}
	})
	t.Run("staff note too long with the marker: 422 before anything is sent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		note := strings.Repeat("n", 220)
		problem(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k", `{"reason":"customer","staff_note":"`+note+`"}`), http.StatusUnprocessableEntity, "invalid_staff_note")
		if n := h.sb.Calls(shopifysandbox.OpOrderCancel); n != 0 {
			t.Errorf("orderCancel calls = %d", n)
		}
		res := result(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k2", `{"reason":"customer","staff_note":"`+strings.Repeat("n", orders.MaxStaffNote)+`"}`))
		if res.Action.Status != "succeeded" {
			t.Errorf("longest note = %+v", res.Action)
		}
	})
	t.Run("userErrors", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{kind: kind})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, UserErrors: []shopifysandbox.UserError{{Field: []string{"orderId"}, Message: "Order cannot be cancelled while a payment is processing"}}})
		p := problem(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k1", `{"reason":"customer"}`), http.StatusBadGateway, "shopify_rejected")
		if !strings.Contains(p.Detail, "payment is processing") {
			t.Errorf("detail = %q: Shopify's words are what the agent needs", p.Detail)
		}
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, UserErrors: []shopifysandbox.UserError{{Field: []string{"transactions"}, Message: "Refund amount exceeds the refundable amount"}}})
		problem(t, h.post(path(shopifysandbox.OrderJPY, "refund"), "k2", `{"amount":"100"}`), http.StatusUnprocessableEntity, "amount_too_large")
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, UserErrors: []shopifysandbox.UserError{{Message: "Cannot cancel an order that has been fulfilled"}}})
		problem(t, h.post(path(shopifysandbox.OrderEUR, "cancel"), "k3", `{"reason":"customer"}`), http.StatusConflict, "order_fulfilled")
		var acts api.ActionListResponse
		h.get(path(shopifysandbox.OrderPending, "actions"), keyA).decode(t, &acts)
		if acts.Actions[0].Status != "failed" {
			t.Errorf("userErrors outcome = %s, want failed", acts.Actions[0].Status)
		}
		for _, id := range []uint64{shopifysandbox.OrderPending, shopifysandbox.OrderJPY, shopifysandbox.OrderEUR} {
			if n, _ := refunds(t, h.sb, id); n != 0 {
				t.Errorf("order %d refunds = %d", id, n)
			}
		}
	})
}

func TestActionsAndTimeline(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testActionsAndTimeline(t, kind) })
	}
}

func testActionsAndTimeline(t *testing.T, kind string) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: kind})
	p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
	result(t, h.post(p, "a", `{"amount":"5.00"}`))
	result(t, h.post(p, "b", `{"amount":"6.00"}`))
	var acts api.ActionListResponse
	h.get(path(shopifysandbox.OrderPaidUnfulfilled, "actions"), keyA).decode(t, &acts)
	if len(acts.Actions) != 2 || *acts.Actions[0].Amount != "6.00" || *acts.Actions[1].Amount != "5.00" {
		t.Fatalf("actions newest first = %+v", acts.Actions)
	}
	problem(t, h.get("/orders/1/actions", keyA), http.StatusNotFound, "not_found")
	events, err := h.store.Orders().Timeline(context.Background(), h.shopA.ID, int64(shopifysandbox.Bob.Id), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		if e.OrderID == int64(shopifysandbox.OrderPaidUnfulfilled) {
			types = append(types, e.Type)
		}
	}
	want := "[order.refunded action.refund order.refunded action.refund order.paid order.placed]"
	if fmt.Sprint(types) != want {
		t.Errorf("order #1002's story = %v, want %s", types, want)
	}
	for _, e := range events {
		if e.Type == "action.refund" && e.Data["amount"] == "6.00" && e.Summary != "Refund of 6.00 USD by agent agent-42: succeeded" {
			t.Errorf("action summary = %q", e.Summary)
		}
	}
}
