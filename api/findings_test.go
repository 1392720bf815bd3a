package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// The numbered findings of issue 14, each through the real router on both
// databases.

func forEachDB(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Helper()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, newHarness(t, harnessOpts{kind: kind}))
		})
	}
}

// deliveries counts the recorded deliveries and the apply jobs.
func (h *harness) deliveries(t *testing.T) (recorded, refused, jobs int) {
	t.Helper()
	db := h.store.SQL()
	for q, n := range map[string]*int{
		"SELECT count(*) FROM webhook_deliveries":                           &recorded,
		"SELECT count(*) FROM webhook_deliveries WHERE refusal IS NOT NULL": &refused,
		"SELECT count(*) FROM river_job WHERE kind = 'apply_webhook'":       &jobs,
	} {
		if err := db.QueryRow(q).Scan(n); err != nil {
			t.Fatal(err)
		}
	}
	return recorded, refused, jobs
}

// Finding 1: a signed body that is not a JSON object is acknowledged with a
// recorded refusal on every applied topic (never a 500); Shopify's retry
// is a duplicate; no job is queued; the metric counts it.
func TestFinding1SignedWebhookThatIsNotJSON(t *testing.T) {
	t.Parallel()
	bodies := map[string]string{
		"empty": "", "garbage": "garbage", "truncated": `{"id":450789469,"email":"bob@exa`,
		"nested 10k deep": strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		"an array":        `[{"id":1}]`, "a NUL": `{"id":1,"note":"a\u0000b"}`, "invalid UTF-8": "{\"id\":1,\"note\":\"\xff\"}",
		"no order id": `{"email":"bob@example.com"}`,
	}
	forEachDB(t, func(t *testing.T, h *harness) {
		topics := []string{"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled",
			"orders/edited", "refunds/create", "fulfillments/create", "fulfillments/update", "fulfillment_events/create", "customers/redact", "shop/redact"}
		n := 0
		for _, topic := range topics {
			for name, body := range bodies {
				if name == "no order id" && strings.HasPrefix(topic, "customers/") {
					continue
				}
				id := uuid.NewString()
				ack(t, h.hook(topic, id, []byte(body), webhookSecret), "refused")
				ack(t, h.hook(topic, id, []byte(body), webhookSecret), "duplicate") // Shopify's retry
				n++
			}
		}
		recorded, refused, jobs := h.deliveries(t)
		if recorded != n || refused != n || jobs != 0 {
			t.Errorf("recorded %d, refused %d, jobs %d; want %d, %d, 0", recorded, refused, jobs, n, n)
		}
		metrics := h.get("/metrics", "").Body.String()
		if !strings.Contains(metrics, fmt.Sprintf(`orderdesk_webhook_deliveries_total{outcome="refused"} %d`, n)) {
			t.Errorf("the refusals are not counted: %s", regexp.MustCompile(`(?m)^orderdesk_webhook_deliveries_total.*$`).FindAllString(metrics, -1))
		}
	})
}

// Finding 2: NUL and invalid UTF-8 never reach the database (Postgres
// answered 500): each is a 4xx naming what is wrong.
func TestFinding2NULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		h.backfill()
		for _, q := range []string{"email=a%00b", "name=%ff%fe", "phone=%00", "cursor=" + "MjAyNi0xMS0yMFQxMDowMDowMFp8_w", "email=%C0%AF"} {
			p := problem(t, h.do(http.MethodGet, "/orders"+"?"+q, keyA, nil), http.StatusBadRequest, "invalid_query")
			if len(p.Errors) == 0 {
				t.Errorf("%s: no field named", q)
			}
		}
		problem(t, h.do(http.MethodGet, fmt.Sprintf("/customers/%d/timeline", shopifysandbox.Bob.Id)+"?"+"cursor=MjAyNi0xMS0yMFQxMDowMDowMFp8_w", keyA, nil), http.StatusBadRequest, "invalid_query")
		refund := path(shopifysandbox.OrderPaidUnfulfilled, "refund")
		for _, hd := range [][]string{{"X-Agent-Id", "agent\xff"}, {"X-Agent-Id", "a\x00b"}, {"Idempotency-Key", "k\xff"}, {"Idempotency-Key", "k\x00"}} {
			headers := []string{"Content-Type", "application/json", "Idempotency-Key", uuid.NewString(), "X-Agent-Id", "agent-1", hd[0], hd[1]}
			p := problem(t, h.do(http.MethodPost, refund, keyA, strings.NewReader(`{"amount":"1.00"}`), headers...), http.StatusBadRequest, "")
			if len(p.Errors) != 1 || p.Errors[0].Field != hd[0] {
				t.Errorf("%q: errors %+v, want the header named", hd, p.Errors)
			}
		}
		p := problem(t, h.post(refund, uuid.NewString(), `{"amount":"1.00","note":"a\u0000b"}`), http.StatusUnprocessableEntity, "invalid_text")
		if p.Errors[0].Field != "note" {
			t.Errorf("errors %+v", p.Errors)
		}
		problem(t, h.post(path(shopifysandbox.OrderPaidUnfulfilled, "cancel"), uuid.NewString(), `{"reason":"customer","staff_note":"x\u0000"}`), http.StatusUnprocessableEntity, "invalid_text")
		body := []byte(`{"id":1}`)
		for _, domain := range []string{"shop-a\x00.myshopify.com", "shop-\xff.myshopify.com"} {
			r := h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader(string(body)), "X-Shopify-Topic", "orders/updated",
				"X-Shopify-Shop-Domain", domain, "X-Shopify-Webhook-Id", uuid.NewString(), "X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), body))
			if r.Code != http.StatusBadRequest && r.Code != http.StatusNotFound {
				t.Errorf("shop domain %q: %d %s", domain, r.Code, r.Body)
			}
		}
		if n := h.sb.Calls(shopifysandbox.OpRefundCreate); n != 0 {
			t.Errorf("refused requests made %d refunds", n)
		}
	})
}

// Finding 3: a malformed percent-escape (or any invalid value) of any
// parameter is a 400 naming it, never a dropped filter.
func TestFinding3MalformedEscapesAreNotDropped(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		h.backfill()
		for _, param := range []string{"customer_id", "email", "phone", "name", "status", "financial_status", "fulfillment_status", "updated_since", "limit", "cursor"} {
			for _, v := range []string{"%zz", "%", "%2", ""} {
				p := problem(t, h.do(http.MethodGet, "/orders"+"?"+param+"="+v, keyA, nil), http.StatusBadRequest, "invalid_query")
				if p.Errors[0].Field != param {
					t.Errorf("%s=%s: errors %+v", param, v, p.Errors)
				}
			}
		}
		for _, q := range []string{"refresh=%zz", "refresh=1", "refresh=TRUE", "x=1"} {
			problem(t, h.do(http.MethodGet, fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit)+"?"+q, keyA, nil), http.StatusBadRequest, "invalid_query")
		}
		for _, q := range []string{"limit=%zz", "cursor=%zz", "limit=1&limit=2", "customer_id=1"} {
			problem(t, h.do(http.MethodGet, fmt.Sprintf("/customers/%d/timeline", shopifysandbox.Bob.Id)+"?"+q, keyA, nil), http.StatusBadRequest, "invalid_query")
		}
		for _, q := range []string{"customer_id=1&customer_id=2", "customer_id=00207119551", "CUSTOMER_ID=207119551", "customer_id=207119551;limit=1"} {
			problem(t, h.do(http.MethodGet, "/orders"+"?"+q, keyA, nil), http.StatusBadRequest, "invalid_query")
		}
		// The well-formed filter still filters.
		var list struct {
			Orders []struct{ Customer *struct{ ID int64 } }
		}
		h.get(fmt.Sprintf("/orders?customer_id=%d", shopifysandbox.Alice.Id), keyA).decode(t, &list)
		for _, o := range list.Orders {
			if o.Customer == nil || o.Customer.ID != int64(shopifysandbox.Alice.Id) {
				t.Fatalf("customer_id filter let another customer's order through")
			}
		}
	})
}

// Finding 4: member names match exactly and duplicates are refused: no
// refund of 0.02 for {"amount":"0.01","AMOUNT":"0.02"}.
func TestFinding4CaseInsensitiveAndDuplicateMembers(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		refund := path(shopifysandbox.OrderInTransit, "refund")
		p := problem(t, h.post(refund, uuid.NewString(), `{"amount": "0.01", "AMOUNT": "0.02", "return": "not_required"}`), http.StatusBadRequest, "unknown_field")
		if p.Errors[0].Field != "AMOUNT" {
			t.Errorf("errors %+v", p.Errors)
		}
		p = problem(t, h.post(refund, uuid.NewString(), `{"amount": "0.01", "amount": "0.02", "return": "not_required"}`), http.StatusBadRequest, "invalid_json")
		if p.Errors[0].Field != "amount" {
			t.Errorf("errors %+v", p.Errors)
		}
		problem(t, h.post(path(shopifysandbox.OrderPaidUnfulfilled, "cancel"), uuid.NewString(), `{"reason":"customer","Reason":"fraud"}`), http.StatusBadRequest, "unknown_field")
		problem(t, h.post(refund, uuid.NewString(), `{"amount":"1.00","return":""}`), http.StatusUnprocessableEntity, "invalid_return")
		for _, amount := range []string{" 0.01", "+0.01", ".01", "1.", "00.01", "0.010", "1e2"} {
			problem(t, h.post(refund, uuid.NewString(), fmt.Sprintf(`{"amount":%q,"return":"not_required"}`, amount)), http.StatusUnprocessableEntity, "invalid_amount")
		}
		problem(t, h.post(path(shopifysandbox.OrderJPY, "refund"), uuid.NewString(), `{"amount":"1.0"}`), http.StatusUnprocessableEntity, "invalid_amount")
		if n := h.sb.Calls(shopifysandbox.OpRefundCreate); n != 0 {
			t.Errorf("%d refunds made", n)
		}
	})
}

// Finding 5: the actions list follows the order's visibility, even after
// a refused request on the order's id.
func TestFinding5ActionsOfAnOrderTheShopDoesNotHave(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		problem(t, h.post("/orders/424242/refund", uuid.NewString(), `{"amount":"1.00"}`), http.StatusNotFound, "not_found")
		problem(t, h.post("/orders/424242/cancel", uuid.NewString(), `{"reason":"customer"}`), http.StatusNotFound, "not_found")
		problem(t, h.get("/orders/424242/actions", keyA), http.StatusNotFound, "not_found")
		// Shop B's order, asked for with shop A's key.
		b := orders.Build(orders.ShopifyOrder{ID: 777, Name: "#7", CreatedAt: now, UpdatedAt: now, Currency: "USD", TotalPrice: decimal.NewFromInt(5)}, now)
		if err := h.store.Orders().UpsertOrders(context.Background(), h.shopB.ID, []orders.Order{b}); err != nil {
			t.Fatal(err)
		}
		problem(t, h.post("/orders/777/refund", uuid.NewString(), `{"amount":"1.00"}`), http.StatusNotFound, "not_found")
		problem(t, h.get("/orders/777/actions", keyA), http.StatusNotFound, "not_found")
		var n int
		if err := h.store.SQL().QueryRow("SELECT count(*) FROM actions").Scan(&n); err != nil || n != 0 {
			t.Errorf("actions recorded: %d, %v", n, err)
		}
	})
}

// Finding 6: every answer under /docs/ that is not a file is problem+json.
func TestFinding6DocsNotFoundIsProblemJSON(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		for _, p := range []string{"/docs/nope", "/docs/doc.json", "/docs/x/index.html", "/docs/index.html/x", "/nope", "/orders/"} {
			rec := httptest.NewRecorder() // not checked against the document: no such routes
			h.router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			problem(t, response{rec}, http.StatusNotFound, "route_not_found")
		}
		problem(t, h.do(http.MethodDelete, "/orders", keyA, nil), http.StatusMethodNotAllowed, "method_not_allowed")
		// A request for a name in a crafted place does not move the
		// Swagger UI's prefix: the page's files still load.
		h.get("/docs/x/swagger-ui.css", "")
		if r := h.get("/docs/swagger-ui.css", ""); r.Code != http.StatusOK {
			t.Errorf("/docs/swagger-ui.css = %d", r.Code)
		}
	})
}

// Finding 7: security headers on every answer, the docs page with a CSP
// that lets only its own files run; the page's files all load.
func TestFinding7SecurityHeaders(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		h.backfill()
		for _, tc := range []struct{ path, key string }{
			{"/orders?customer_id=207119551", keyA}, {fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit), keyA}, {"/orders", ""}, {"/healthz", ""},
			{"/openapi.json", ""}, {"/docs/index.html", ""}, {"/nope", ""}, {"/metrics", ""},
		} {
			r := h.get(tc.path, tc.key)
			hd := r.Header()
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") != "no-referrer" || hd.Get("Content-Security-Policy") == "" {
				t.Errorf("%s: headers %v", tc.path, hd)
			}
			if cc := hd.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: Cache-Control %q", tc.path, cc)
			}
		}
		page := h.get("/docs/index.html", "")
		if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "script-src 'self' 'unsafe") {
			t.Errorf("docs CSP %q", csp)
		}
		html := page.Body.String()
		if regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`).MatchString(html) || strings.Contains(html, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
			t.Error("the docs page has inline script, which its CSP blocks")
		}
		for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(html, -1) {
			asset := "/docs/" + strings.TrimPrefix(m[1], "./")
			r := h.get(asset, "")
			b, _ := io.ReadAll(r.Body)
			if r.Code != http.StatusOK || len(b) == 0 {
				t.Errorf("the page's %s = %d", asset, r.Code)
			}
		}
		init := h.get("/docs/swagger-initializer.js", "").Body.String()
		if !strings.Contains(init, `"/openapi.json"`) {
			t.Errorf("Swagger UI does not load /openapi.json: %s", init)
		}
	})
}
