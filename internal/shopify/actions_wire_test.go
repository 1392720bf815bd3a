package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// wire is a stand-in Admin API that records each GraphQL request as sent
// and answers from a script, one answer per request.
type wire struct {
	mu      sync.Mutex
	bodies  []map[string]any
	answers []func(w http.ResponseWriter)
}

func (s *wire) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	var answer func(http.ResponseWriter)
	if len(s.answers) > 0 {
		answer, s.answers = s.answers[0], s.answers[1:]
	}
	s.mu.Unlock()
	if answer == nil {
		http.Error(w, "no answer scripted", http.StatusTeapot)
		return
	}
	answer(w)
}

func (s *wire) sent() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies
}

// answer is an HTTP 200 GraphQL answer with a cost extension.
func answer(data string, errs string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		body := `{"data":` + data
		if errs != "" {
			body += `,"errors":` + errs
		}
		body += `,"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":10,"throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":1500,"restoreRate":100}}}}`
		_, _ = io.WriteString(w, body)
	}
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { http.Error(w, http.StatusText(code), code) }
}

func newWire(t *testing.T, answers ...func(http.ResponseWriter)) (*wire, *Client) {
	t.Helper()
	s := &wire{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(Config{APIVersion: "2026-10", BaseURL: srv.URL, Tokens: StaticTokens{testShop: testToken}, Timeout: 2 * time.Second, BaseBackoff: time.Millisecond, MaxAttempts: 4}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestActionsOnTheWire: the generated action calls send exactly the
// variables the hand-written maps sent (nothing set to null, lists sent
// empty, the @oneOf refund method with one field), and each keeps its
// retry rule, metrics name and cost accounting.
func TestActionsOnTheWire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	okRefund := answer(`{"refundCreate":{"refund":{"id":"gid://shopify/Refund/77"},"userErrors":[]}}`, "")

	t.Run("refundCreate input with shipping", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t, okRefund)
		ship := decimal.RequireFromString("4.90")
		id, err := c.CreateRefund(ctx, shop, orders.RefundCommand{
			OrderID: 5, IdempotencyKey: "key-1", Note: "n orderdesk:a1", NotifyCustomer: true, Currency: "EUR",
			Lines: []orders.RefundCommandLine{
				{LineItemID: 7, Quantity: 2, RestockType: "return", LocationID: 3},
				{LineItemID: 8, Quantity: 1, RestockType: "no_restock"},
			},
			Shipping: &ship,
			Transactions: []orders.RefundTransaction{
				{ParentID: 9, Amount: decimal.RequireFromString("12.50"), Gateway: "shopify_payments"},
				{Amount: decimal.RequireFromString("1"), Gateway: "manual"},
			},
		})
		if err != nil || id != 77 {
			t.Fatalf("CreateRefund = %d, %v", id, err)
		}
		body := s.sent()[0]
		want := decodeJSON(t, `{"idempotencyKey":"key-1","input":{
			"orderId":"gid://shopify/Order/5","notify":true,"note":"n orderdesk:a1","currency":"EUR",
			"refundLineItems":[
				{"lineItemId":"gid://shopify/LineItem/7","quantity":2,"restockType":"RETURN","locationId":"gid://shopify/Location/3"},
				{"lineItemId":"gid://shopify/LineItem/8","quantity":1,"restockType":"NO_RESTOCK"}],
			"shipping":{"amount":"4.9"},
			"transactions":[
				{"orderId":"gid://shopify/Order/5","amount":"12.5","gateway":"shopify_payments","kind":"REFUND","parentId":"gid://shopify/OrderTransaction/9"},
				{"orderId":"gid://shopify/Order/5","amount":"1","gateway":"manual","kind":"REFUND"}]}}`)
		if !reflect.DeepEqual(body["variables"], want) {
			t.Errorf("variables = %v\nwant %v", body["variables"], want)
		}
		if q, _ := body["query"].(string); !strings.Contains(q, "@idempotent(key: $idempotencyKey)") {
			t.Errorf("query without the key's directive: %s", q)
		}
		if n := counted(c.metrics.calls.WithLabelValues("graphql", "refundCreate", "ok")); n != 1 {
			t.Errorf("refundCreate ok calls = %v, want 1", n)
		}
		budget := c.limiters.forShop(testShop)
		budget.mu.Lock()
		level := budget.level
		budget.mu.Unlock()
		if level < 400 {
			t.Errorf("budget level %.0f: the answer's cost (500 of 2000 used) was not taken in", level)
		}
	})

	t.Run("refundCreate without lines or note", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t, okRefund)
		if _, err := c.CreateRefund(ctx, shop, orders.RefundCommand{OrderID: 5, IdempotencyKey: "k"}); err != nil {
			t.Fatal(err)
		}
		want := decodeJSON(t, `{"orderId":"gid://shopify/Order/5","notify":false,"refundLineItems":[],"transactions":[]}`)
		if got := s.sent()[0]["variables"].(map[string]any)["input"]; !reflect.DeepEqual(got, want) {
			t.Errorf("input = %v, want %v", got, want)
		}
	})

	t.Run("refundCreate lost answers are sent again under the key", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t, status(http.StatusBadGateway),
			answer(`null`, `[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]`),
			answer(`null`, `[{"message":"Internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]`),
			okRefund)
		id, err := c.CreateRefund(ctx, shop, orders.RefundCommand{OrderID: 5, IdempotencyKey: "same"})
		if err != nil || id != 77 {
			t.Fatalf("CreateRefund = %d, %v", id, err)
		}
		sent := s.sent()
		if len(sent) != 4 {
			t.Fatalf("sent %d times, want 4", len(sent))
		}
		for i, b := range sent[1:] {
			if !reflect.DeepEqual(b, sent[0]) {
				t.Errorf("send %d differs from the first: %v vs %v", i+2, b, sent[0])
			}
		}
		if n := counted(c.metrics.retries.WithLabelValues("graphql", "refundCreate")); n != 3 {
			t.Errorf("refundCreate retries = %v, want 3", n)
		}
	})

	t.Run("refundCreate userErrors", func(t *testing.T) {
		t.Parallel()
		_, c := newWire(t,
			answer(`{"refundCreate":{"refund":null,"userErrors":[{"field":["transactions"],"message":"Refund amount exceeds the refundable amount"}]}}`, ""),
			answer(`{"refundCreate":{"refund":null,"userErrors":[{"field":null,"message":"This request is currently in progress, please try again."}]}}`, ""))
		_, err := c.CreateRefund(ctx, shop, orders.RefundCommand{OrderID: 5, IdempotencyKey: "k"})
		var ve *orders.ValidationError
		if !errors.As(err, &ve) || ve.Code != "amount_too_large" {
			t.Errorf("exceeds: %v, want amount_too_large", err)
		}
		_, err = c.CreateRefund(ctx, shop, orders.RefundCommand{OrderID: 5, IdempotencyKey: "k"})
		if !errors.Is(err, orders.ErrShopifyUnavailable) || errors.Is(err, orders.ErrShopifyRejected) {
			t.Errorf("in progress: %v, want no answer", err)
		}
	})

	t.Run("orderCancel variables, sent once", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t, status(http.StatusBadGateway))
		_, err := c.CancelOrder(ctx, shop, orders.CancelCommand{OrderID: 5, Reason: "customer", Restock: true, StaffNote: "x orderdesk:a2"})
		if !errors.Is(err, orders.ErrShopifyUnavailable) {
			t.Fatalf("lost answer: %v, want unavailable", err)
		}
		sent := s.sent()
		if len(sent) != 1 {
			t.Fatalf("orderCancel sent %d times after a lost answer: it is never resent", len(sent))
		}
		want := decodeJSON(t, `{"orderId":"gid://shopify/Order/5","reason":"CUSTOMER","restock":true,"notifyCustomer":false,
			"staffNote":"x orderdesk:a2","refundMethod":{"originalPaymentMethodsRefund":false}}`)
		if !reflect.DeepEqual(sent[0]["variables"], want) {
			t.Errorf("variables = %v\nwant %v", sent[0]["variables"], want)
		}
		if q, _ := sent[0]["query"].(string); strings.Contains(q, "@idempotent") {
			t.Errorf("orderCancel sent with a key directive: %s", q)
		}
	})

	t.Run("orderCancel throttled is sent again, its userErrors by code", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t,
			answer(`null`, `[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]`),
			answer(`{"orderCancel":{"job":null,"orderCancelUserErrors":[{"field":["orderId"],"message":"Order has already been cancelled","code":"INVALID"}]}}`, ""),
			answer(`{"orderCancel":{"job":null,"orderCancelUserErrors":[{"field":["orderId"],"message":"Order does not exist","code":"NOT_FOUND"}]}}`, ""),
			answer(`{"orderCancel":{"job":{"id":"gid://shopify/OrderCancelJobResult/1","done":false},"orderCancelUserErrors":[]}}`, ""))
		_, err := c.CancelOrder(ctx, shop, orders.CancelCommand{OrderID: 5, Reason: "other"})
		var re *orders.RuleError
		if !errors.As(err, &re) || re.Reason != orders.BlockedAlreadyCancelled {
			t.Errorf("already cancelled: %v", err)
		}
		if n := len(s.sent()); n != 2 {
			t.Errorf("sent %d times, want 2 (throttled, then run)", n)
		}
		if _, err := c.CancelOrder(ctx, shop, orders.CancelCommand{OrderID: 5, Reason: "other"}); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("not found: %v", err)
		}
		job, err := c.CancelOrder(ctx, shop, orders.CancelCommand{OrderID: 5, Reason: "other"})
		if err != nil || job != "gid://shopify/OrderCancelJobResult/1" {
			t.Errorf("job = %q, %v", job, err)
		}
		if n := counted(c.metrics.calls.WithLabelValues("graphql", "orderCancel", "ok")); n != 3 {
			t.Errorf("orderCancel ok calls = %v, want 3", n)
		}
	})

	t.Run("cancelJob", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t,
			status(http.StatusServiceUnavailable),
			answer(`{"node":{"__typename":"OrderCancelJobResult","id":"j","done":true,"status":"FAILED","errors":[{"field":["orderId"],"message":"could not void","code":"INVALID"}]}}`, ""),
			answer(`{"node":{"__typename":"OrderCancelJobResult","id":"j","done":true,"status":"STARTED","errors":[]}}`, ""),
			answer(`{"node":null}`, ""))
		st, err := c.CancelJob(ctx, shop, "j")
		if err != nil || !st.Done || st.Status != "FAILED" || len(st.Errors) != 1 || st.Errors[0] != "could not void" {
			t.Errorf("failed job = %+v, %v", st, err)
		}
		if st, err := c.CancelJob(ctx, shop, "j"); err != nil || st.Done {
			t.Errorf("started job = %+v, %v: not done whatever done says", st, err)
		}
		if _, err := c.CancelJob(ctx, shop, "j"); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("no node: %v", err)
		}
		if v := s.sent()[0]["variables"]; !reflect.DeepEqual(v, map[string]any{"id": "j"}) {
			t.Errorf("variables = %v", v)
		}
		if n := counted(c.metrics.calls.WithLabelValues("graphql", "cancelJob", "error")); n != 1 {
			t.Errorf("cancelJob error calls = %v, want 1 (the 503, then read again)", n)
		}
	})

	t.Run("suggestedRefund", func(t *testing.T) {
		t.Parallel()
		s, c := newWire(t,
			answer(`{"order":{"suggestedRefund":{"amountSet":{"shopMoney":{"amount":"10.00","currencyCode":"USD"},"presentmentMoney":{"amount":"9.00","currencyCode":"EUR"}},
				"suggestedTransactions":[{"parentTransaction":{"id":"gid://shopify/OrderTransaction/4"},"amountSet":{"shopMoney":{"amount":"10.00"},"presentmentMoney":{"amount":"9.00"}},"gateway":"shopify_payments"},
				{"parentTransaction":null,"amountSet":{"shopMoney":{"amount":"0"},"presentmentMoney":{"amount":"0"}},"gateway":null}]}}}`, ""),
			answer(`{"order":{"suggestedRefund":{"amountSet":{"shopMoney":{"amount":"1","currencyCode":"USD"},"presentmentMoney":{"amount":"1","currencyCode":"USD"}},"suggestedTransactions":[]}}}`, ""))
		ship := decimal.RequireFromString("3")
		sug, err := c.SuggestRefund(ctx, shop, 5, []orders.RefundCommandLine{{LineItemID: 7, Quantity: 1, RestockType: "no_restock"}}, &ship)
		if err != nil {
			t.Fatal(err)
		}
		if !sug.Amount.Equal(decimal.RequireFromString("9")) || len(sug.Transactions) != 2 || sug.Transactions[0].ParentID != 4 ||
			sug.Transactions[0].Gateway != "shopify_payments" || sug.Transactions[1].ParentID != 0 {
			t.Errorf("suggestion = %+v (presentment money, parents by id)", sug)
		}
		want := decodeJSON(t, `{"id":"gid://shopify/Order/5","refundLineItems":[{"lineItemId":"gid://shopify/LineItem/7","quantity":1,"restockType":"NO_RESTOCK"}],"shippingAmount":"3"}`)
		if v := s.sent()[0]["variables"]; !reflect.DeepEqual(v, want) {
			t.Errorf("variables = %v\nwant %v", v, want)
		}
		if _, err := c.SuggestRefund(ctx, shop, 5, nil, nil); err != nil {
			t.Fatal(err)
		}
		want = decodeJSON(t, `{"id":"gid://shopify/Order/5","refundLineItems":[]}`)
		if v := s.sent()[1]["variables"]; !reflect.DeepEqual(v, want) {
			t.Errorf("without shipping: variables = %v\nwant %v (no shippingAmount)", v, want)
		}
		if n := counted(c.metrics.calls.WithLabelValues("graphql", "suggestedRefund", "ok")); n != 2 {
			t.Errorf("suggestedRefund ok calls = %v, want 2", n)
		}
	})

	t.Run("installation probe", func(t *testing.T) {
		t.Parallel()
		_, c := newWire(t, answer(`{"currentAppInstallation":{"id":"gid://shopify/AppInstallation/1"}}`, ""))
		if ok, err := c.Installed(ctx, shop); !ok || err != nil {
			t.Fatalf("Installed = %v, %v", ok, err)
		}
		if n := counted(c.metrics.calls.WithLabelValues("graphql", "installation probe", "ok")); n != 1 {
			t.Errorf("installation probe ok calls = %v, want 1", n)
		}
	})
}

// counted is a counter's value.
func counted(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
