package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// Findings of the review of the hostile-input change, each through the
// real router on both databases.

// Review finding 1: a text filter that is only spaces ("email=+",
// "name=%20") was trimmed to nothing and dropped: 200 with every order of
// the shop. A '+' in a query string is a space, so "email=bob+x@..." and
// "phone=+1312..." (unescaped, as typed into curl) silently searched for
// something else. Each is a 400 naming the parameter.
func TestReviewBlankOrSpacedTextFiltersAreRefused(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		h.backfill()
		for _, q := range []string{
			"email=%20", "email=+", "name=+", "phone=%20%20", "name=+&limit=5",
			"email=bob+x@example.com", "phone=+13125551212", "name=%231001%20", "email=%20bob@example.com",
		} {
			p := problem(t, h.get("/orders?"+q, keyA), http.StatusBadRequest, "invalid_query")
			want, _, _ := strings.Cut(q, "=")
			if len(p.Errors) == 0 || p.Errors[0].Field != want {
				t.Errorf("%s: errors %+v, want %s named", q, p.Errors, want)
			}
		}
		for _, q := range []string{"limit=+", "cursor=%20", "refresh=+"} {
			target := "/orders?" + q
			if strings.HasPrefix(q, "refresh") {
				target = fmt.Sprintf("/orders/%d?%s", shopifysandbox.OrderInTransit, q)
			}
			problem(t, h.get(target, keyA), http.StatusBadRequest, "invalid_query")
		}
		// Escaped, the same values are what they say.
		var list struct{ Orders []struct{ Name string } }
		h.get("/orders?email=bob%2Bx@example.com", keyA).decode(t, &list)
		if len(list.Orders) != 0 {
			t.Errorf("bob+x@example.com found %d orders", len(list.Orders))
		}
		h.get("/orders?email=bob@example.com&name=%231001", keyA).decode(t, &list)
		if len(list.Orders) != 1 {
			t.Errorf("#1001 of bob: %d orders", len(list.Orders))
		}
	})
}

// Review finding 2: a repeated X-Agent-Id or Idempotency-Key (or
// Content-Type) was read as its first value and the rest dropped: the
// audit trail named one agent of two, a refund ran under one key of two.
func TestReviewRepeatedActionHeadersAreRefused(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		refund := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		for _, tc := range []struct {
			header string
			values []string
			status int
		}{
			{"X-Agent-Id", []string{"alice", "mallory"}, http.StatusBadRequest},
			{"Idempotency-Key", []string{uuid.NewString(), uuid.NewString()}, http.StatusBadRequest},
			{"Content-Type", []string{"application/json", "text/plain"}, http.StatusUnsupportedMediaType},
		} {
			req := httptest.NewRequest(http.MethodPost, refund, strings.NewReader(`{"amount":"1.00"}`))
			req.Header.Set("Authorization", "Bearer "+keyA)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", uuid.NewString())
			req.Header.Set("X-Agent-Id", "agent-1")
			req.Header[tc.header] = tc.values
			rec := httptest.NewRecorder()
			h.router.ServeHTTP(rec, req)
			h.validate(req, rec)
			p := problem(t, response{rec}, tc.status, "")
			if tc.status == http.StatusBadRequest && (len(p.Errors) != 1 || p.Errors[0].Field != tc.header) {
				t.Errorf("%s twice: errors %+v, want the header named", tc.header, p.Errors)
			}
		}
		if n := h.sb.Calls(shopifysandbox.OpRefundCreate); n != 0 {
			t.Errorf("requests with a repeated header made %d refunds", n)
		}
	})
}

// Review finding 3: on Postgres a signed webhook holding a number jsonb
// cannot store (1e1000000) answered 500 on every retry, the failure issue
// 14 fixed for bodies that are not JSON. It is recorded as refused.
func TestReviewSignedWebhookWithNumberOutOfRange(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		bodies := []string{
			`{"id":450789469,"total_weight":1e1000000}`,
			`{"id":450789469,"total_weight":1e-1000000}`,
			`{"id":450789469,"total_weight":1` + strings.Repeat("0", 200000) + `}`,
		}
		for _, body := range bodies {
			id := uuid.NewString()
			ack(t, h.hook("orders/updated", id, []byte(body), webhookSecret), "refused")
			ack(t, h.hook("orders/updated", id, []byte(body), webhookSecret), "duplicate")
		}
		if recorded, refused, jobs := h.deliveries(t); recorded != len(bodies) || refused != len(bodies) || jobs != 0 {
			t.Errorf("recorded %d, refused %d, jobs %d", recorded, refused, jobs)
		}
		// Shopify's own numbers are accepted.
		ack(t, h.hook("fulfillment_events/create", uuid.NewString(),
			[]byte(fmt.Sprintf(`{"id":944956395,"order_id":%d,"status":"delivered","latitude":45.41634,"longitude":-75.6868,"total_weight":0}`, shopifysandbox.OrderOutForDelivery)), webhookSecret), "accepted")
	})
}

// Review finding 4: Shopify's topics with a dot (customer.tags_added,
// customer.joined_segment) were a 400, which Shopify retries, instead of
// acknowledged and ignored like every topic orderdesk does not use.
func TestReviewWebhookTopicsWithADotAreIgnored(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		for _, topic := range []string{"customer.tags_added", "customer.joined_segment"} {
			ack(t, h.hook(topic, uuid.NewString(), []byte(`{"customerId":"gid://shopify/Customer/1","tags":["vip"]}`), webhookSecret), "ignored")
		}
		for _, topic := range []string{"orders", "orders/", "/updated", "orders//updated", "orders.", "Orders/Updated", "orders/updated\x00"} {
			body := []byte(`{"id":1}`)
			r := h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader(string(body)), "X-Shopify-Topic", topic,
				"X-Shopify-Shop-Domain", shopA, "X-Shopify-Webhook-Id", uuid.NewString(), "X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), body))
			problem(t, r, http.StatusBadRequest, "")
		}
	})
}

// Review finding 2, webhooks: a Shopify header sent twice was read as its
// first value (X-Shopify-Webhook-Id, the dedupe key, included).
func TestReviewRepeatedWebhookHeadersAreRefused(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		body := []byte(fmt.Sprintf(`{"id":%d}`, shopifysandbox.OrderInTransit))
		for _, header := range []string{"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Hmac-Sha256"} {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", strings.NewReader(string(body)))
			req.Header.Set("X-Shopify-Topic", "orders/updated")
			req.Header.Set("X-Shopify-Shop-Domain", shopA)
			req.Header.Set("X-Shopify-Webhook-Id", uuid.NewString())
			req.Header.Set("X-Shopify-Event-Id", uuid.NewString())
			req.Header.Set("X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), body))
			req.Header.Add(header, req.Header.Get(header))
			rec := httptest.NewRecorder()
			h.router.ServeHTTP(rec, req)
			h.validate(req, rec)
			p := problem(t, response{rec}, http.StatusBadRequest, "invalid_header")
			if !strings.Contains(p.Detail, header) {
				t.Errorf("%s twice: %q does not name it", header, p.Detail)
			}
		}
		if recorded, _, _ := h.deliveries(t); recorded != 0 {
			t.Errorf("%d deliveries recorded", recorded)
		}
	})
}

// Review finding 5: an action request refused for its own form (no
// X-Agent-Id, no Idempotency-Key, an amount in another spelling, return
// "") first read the order from Shopify and stored it: a refused request
// that changed the copy and spent the shop's Shopify budget.
func TestReviewMalformedActionRequestsReadNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		refund, cancel := path(shopifysandbox.OrderPaidUnfulfilled, "refund"), path(shopifysandbox.OrderPaidUnfulfilled, "cancel")
		for _, tc := range []struct {
			path, body string
			headers    []string
			status     int
		}{
			{refund, `{"amount":"1.00"}`, []string{"Idempotency-Key", uuid.NewString()}, http.StatusBadRequest},
			{refund, `{"amount":"1.00"}`, []string{"X-Agent-Id", "agent-1"}, http.StatusBadRequest},
			{refund, `{"amount":"+1.00"}`, []string{"X-Agent-Id", "agent-1", "Idempotency-Key", uuid.NewString()}, http.StatusUnprocessableEntity},
			{refund, `{"amount":"1.00","return":""}`, []string{"X-Agent-Id", "agent-1", "Idempotency-Key", uuid.NewString()}, http.StatusUnprocessableEntity},
			{refund, `{"shipping":{"amount":"1e2"}}`, []string{"X-Agent-Id", "agent-1", "Idempotency-Key", uuid.NewString()}, http.StatusUnprocessableEntity},
			{cancel, `{"reason":"customer"}`, []string{"Idempotency-Key", uuid.NewString()}, http.StatusBadRequest},
			{cancel, `{"reason":"customer","refund":{"mode":"amount","amount":".5"}}`, []string{"X-Agent-Id", "agent-1", "Idempotency-Key", uuid.NewString()}, http.StatusUnprocessableEntity},
		} {
			headers := append([]string{"Content-Type", "application/json"}, tc.headers...)
			problem(t, h.do(http.MethodPost, tc.path, keyA, strings.NewReader(tc.body), headers...), tc.status, "")
		}
		if n := h.sb.Calls(shopifysandbox.OpOrderGet); n != 0 {
			t.Errorf("malformed requests read the order from Shopify %d times", n)
		}
		if _, stored := h.stored(shopifysandbox.OrderPaidUnfulfilled); stored {
			t.Error("a malformed request stored the order")
		}
	})
}

// Review finding 6: the HTTP metrics were labelled with the request's
// method as sent: any token is a method to net/http, so each invented one
// ("M1", "M2", ...) made new series, without bound.
func TestReviewMetricLabelsAreBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	for i := range 50 {
		rec := httptest.NewRecorder()
		h.router.ServeHTTP(rec, httptest.NewRequest(fmt.Sprintf("M%d", i), "/orders", nil))
		problem(t, response{rec}, http.StatusMethodNotAllowed, "method_not_allowed")
	}
	metrics := h.get("/metrics", "").Body.String()
	if n := strings.Count(metrics, `orderdesk_http_requests_total{method="M`); n > 0 {
		t.Errorf("%d series for invented methods", n)
	}
	if !strings.Contains(metrics, `orderdesk_http_requests_total{method="other",route="unmatched",status="405"} 50`) {
		t.Errorf("the invented methods are not counted as other")
	}
}
