package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/api"
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
	t.Run("unpaid order: no refund offered, refund asked is not_paid, cancel voids", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{})
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
		h := newHarness(t, harnessOpts{})
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
		h := newHarness(t, harnessOpts{})
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
		h := newHarness(t, harnessOpts{})
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
		h := newHarness(t, harnessOpts{})
		problem(t, h.post(path(shopifysandbox.OrderCancelledVoided, "cancel"), "k", `{"reason":"customer"}`), http.StatusConflict, "already_cancelled")
	})
}

func TestRefundScenarios(t *testing.T) {
	t.Parallel()
	t.Run("delivered order, item received back", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{})
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
		h := newHarness(t, harnessOpts{})
		result(t, h.post(path(shopifysandbox.OrderInTransit, "refund"), "k", `{"amount":"25.00","return":"not_required"}`))
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderInTransit); n != 1 || !sum.Equal(decimal.NewFromInt(25)) {
			t.Errorf("sandbox refunds: %d totalling %s", n, sum)
		}
	})
	t.Run("shipped order without return state", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{})
		problem(t, h.post(path(shopifysandbox.OrderOutForDelivery, "refund"), "k", `{"amount":"5.00"}`), http.StatusConflict, "return_required")
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderOutForDelivery); n != 0 || h.sb.Calls(shopifysandbox.OpRefundCreate) != 0 {
			t.Errorf("a refused refund reached Shopify")
		}
	})
	t.Run("unshipped line and shipping need no return", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{})
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
		h := newHarness(t, harnessOpts{})
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
	h := newHarness(t, harnessOpts{})
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
	h := newHarness(t, harnessOpts{})
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

func TestSameKeyWhileInFlightIs409(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Latency: 400 * time.Millisecond})
	p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
	done := make(chan response)
	go func() { done <- h.post(p, "busy", `{"amount":"10.00"}`) }()
	// The first request holds its key while Shopify takes its time.
	eventually(t, 5*time.Second, "the first refund reaches Shopify", func() bool { return h.sb.Calls(shopifysandbox.OpRefundCreate) == 1 })
	problem(t, h.post(p, "busy", `{"amount":"10.00"}`), http.StatusConflict, "idempotency_key_in_use")
	if r := <-done; r.Code != 200 {
		t.Errorf("first request: %d", r.Code)
	}
}

// TestConcurrentAgentsOneRefund: ten agents refund the same order at once
// with their own keys; Shopify makes exactly one refund.
func TestConcurrentAgentsOneRefund(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
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

func TestShopifyFailuresOnMutations(t *testing.T) {
	t.Parallel()
	t.Run("refund 500s: unknown, then the same key finishes it once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Status: 500, Times: 10})
		p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		problem(t, h.post(p, "k", `{"amount":"10.00"}`), http.StatusBadGateway, "shopify_unavailable")
		var acts api.ActionListResponse
		h.get(path(shopifysandbox.OrderPaidUnfulfilled, "actions"), keyA).decode(t, &acts)
		if acts.Actions[0].Status != "unknown" {
			t.Errorf("status after 500s = %s", acts.Actions[0].Status)
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 0 {
			t.Fatalf("refunds = %d", n)
		}
		h.sb.ClearFaults() // Shopify recovers
		res := result(t, h.post(p, "k", `{"amount":"10.00"}`))
		if res.Action.Status != "succeeded" || res.Action.ID != acts.Actions[0].ID {
			t.Errorf("resume: %+v (first action %s)", res.Action, acts.Actions[0].ID)
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 {
			t.Errorf("refunds after resume = %d, want 1", n)
		}
	})
	t.Run("refund answer lost after Shopify made it: 504, reconciled, never twice", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{shopifyTimeout: 200 * time.Millisecond})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, ApplyFirst: true, Latency: 5 * time.Second, Times: 10})
		p := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		problem(t, h.post(p, "k", `{"amount":"10.00"}`), http.StatusGatewayTimeout, "shopify_timeout")
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 {
			t.Fatalf("sandbox refunds = %d: the keyed retries refunded more than once", n)
		}
		settled, err := h.svc.Reconcile(context.Background())
		if err != nil || settled != 1 {
			t.Fatalf("reconcile = %d, %v", settled, err)
		}
		var acts api.ActionListResponse
		h.get(path(shopifysandbox.OrderPaidUnfulfilled, "actions"), keyA).decode(t, &acts)
		if a := acts.Actions[0]; a.Status != "succeeded" || a.ShopifyRefundID == nil {
			t.Errorf("reconciled action = %+v", a)
		}
		res := result(t, h.post(p, "k", `{"amount":"10.00"}`))
		if res.Action.Status != "succeeded" {
			t.Errorf("retry after reconcile: %+v", res.Action)
		}
		if n, _ := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 {
			t.Errorf("sandbox refunds = %d after the retry", n)
		}
	})
	t.Run("cancel times out: unknown, reconciled from the order", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{shopifyTimeout: 200 * time.Millisecond})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, ApplyFirst: true, Latency: 5 * time.Second})
		problem(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k", `{"reason":"customer"}`), http.StatusGatewayTimeout, "shopify_timeout")
		if _, err := h.svc.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		var acts api.ActionListResponse
		h.get(path(shopifysandbox.OrderPending, "actions"), keyA).decode(t, &acts)
		if a := acts.Actions[0]; a.Status != "succeeded" || a.Parts.Cancel != "succeeded" {
			t.Errorf("reconciled = %+v", a)
		}
		if n := h.sb.Calls(shopifysandbox.OpOrderCancel); n != 1 {
			t.Errorf("orderCancel calls = %d: reconciliation repeated the mutation", n)
		}
	})
	t.Run("cancel 500 that did nothing: reconciled as failed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, Status: 500})
		problem(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "k", `{"reason":"customer"}`), http.StatusBadGateway, "shopify_unavailable")
		if _, err := h.svc.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		var acts api.ActionListResponse
		h.get(path(shopifysandbox.OrderPending, "actions"), keyA).decode(t, &acts)
		if a := acts.Actions[0]; a.Status != "failed" || a.Error == nil || !strings.Contains(*a.Error, "did not reach Shopify") {
			t.Errorf("reconciled = %+v", a)
		}
	})
	t.Run("cancel done, refund lost: the same key refunds without cancelling again", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{shopifyTimeout: 200 * time.Millisecond})
		h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, Latency: 5 * time.Second, Times: 4})
		p := path(shopifysandbox.OrderPaidUnfulfilled, "cancel")
		body := `{"reason":"customer","refund":{"mode":"full"}}`
		problem(t, h.post(p, "k", body), http.StatusGatewayTimeout, "shopify_timeout")
		if o, _ := h.sb.Order(shopifysandbox.OrderPaidUnfulfilled); o.CancelledAt == nil {
			t.Fatal("cancel part did not happen")
		}
		res := result(t, h.post(p, "k", body))
		if res.Action.Parts.Cancel != "succeeded" || res.Action.Parts.Refund != "succeeded" {
			t.Errorf("resumed parts = %+v", res.Action.Parts)
		}
		if n := h.sb.Calls(shopifysandbox.OpOrderCancel); n != 1 {
			t.Errorf("orderCancel calls = %d, want 1", n)
		}
		if n, sum := refunds(t, h.sb, shopifysandbox.OrderPaidUnfulfilled); n != 1 || !sum.Equal(decimal.RequireFromString("64.90")) {
			t.Errorf("sandbox refunds: %d totalling %s", n, sum)
		}
	})
	t.Run("userErrors", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOpts{})
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
	h := newHarness(t, harnessOpts{})
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
