package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/apiclient"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// notExercised are the documented responses a healthy `serve` cannot be
// made to give from outside. Every other (operation, status) of the
// served document must be exercised below.
var notExercised = map[string]string{
	"* 500":         "an internal error: nothing a client can provoke",
	"getReadyz 503": "the database down: serve stops when it cannot reach its database",
	// webhook_ingest_busy: 4,096 deliveries waiting for their commit;
	// internal/webhooks' TestBatcherBackpressure fills a small queue.
	"receiveShopifyWebhook 503": "the ingest queue full (4,096 deliveries waiting for their commit)",
	// shop_uninstalled: serve's token source sees an app/uninstalled within
	// its 30 s cache, too slow here; api's TestAppUninstalled covers it.
	"getOrder 409":      uninstalledReason,
	"previewCancel 409": uninstalledReason,
	"previewRefund 409": uninstalledReason,
	"listActions 409":   uninstalledReason,
	"getAction 409":     uninstalledReason,
	"listOrders 409":    uninstalledReason,
	"getTimeline 409":   uninstalledReason,
	// idempotency_key_in_use: a retry while the first request with its key
	// is inside its transaction; api's TestCreateEventEndpointIdempotent
	// races retries for it.
	"createEventEndpoint 409": "a retry racing the first request's transaction",
}

const uninstalledReason = "shop_uninstalled needs the token cache (30 s) to see the uninstall"

// exercisedAnswers collects "operationId status" across the serves of
// TestGeneratedClient (one per database; OAuth is configured on one only).
type exercisedAnswers struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (e *exercisedAnswers) add(a string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen[a] = true
}

// TestGeneratedClient runs the Go client oapi-codegen generated from the
// served document against a real `orderdesk serve` over HTTP, on both
// databases, for every operation of the document: each documented answer
// (success and error) must arrive in the client's typed field for its
// status, with its documented headers. An operation or response added to
// the document and not exercised here fails the test.
func TestGeneratedClient(t *testing.T) {
	t.Parallel()
	seen := &exercisedAnswers{seen: map[string]bool{}}
	t.Cleanup(func() { // after both serves: every documented answer was exercised
		for _, want := range documentedAnswers(t) {
			_, code, _ := strings.Cut(want, " ")
			_, skip := notExercised[want]
			_, skipAll := notExercised["* "+code]
			if !seen.seen[want] && !skip && !skipAll {
				t.Errorf("%s is documented but not exercised by the generated client", want)
			}
		}
	})
	for i, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testGeneratedClient(t, kind, i == 0, seen)
		})
	}
}

// testGeneratedClient runs one serve; withOAuth configures Shopify's OAuth
// install on it (the other serve answers 404 for the install endpoints).
func testGeneratedClient(t *testing.T, kind string, withOAuth bool, seen *exercisedAnswers) {
	const (
		shop   = "client.myshopify.com"
		token  = "shpat_client"
		key    = "client-key-0123456789"
		secret = "client-app-secret"
	)
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: shop, Token: token})
	sb.Seed(time.Now())
	oauth := &fakeOAuth{secret: secret, clientID: "client-app-id", next: sb}
	sbSrv := httptest.NewServer(oauth)
	defer sbSrv.Close()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "client.db")
	if kind == "postgres" {
		dbURL, _ = storetest.SchemaURL(t)
	}
	port := freePort(t)
	env := map[string]string{
		"ORDERDESK_HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "ORDERDESK_DATABASE_URL": dbURL,
		"ORDERDESK_API_KEY": key, "SHOPIFY_SHOP": shop, "SHOPIFY_ACCESS_TOKEN": token, "SHOPIFY_BASE_URL": sbSrv.URL,
		"SHOPIFY_API_SECRET": secret, "SHOPIFY_TIMEOUT": "300ms", "ORDERDESK_LOG_LEVEL": "error", "ORDERDESK_ACTION_WAIT": "5s",
		// One token a thousand seconds: the burst is spent at the end, for 429.
		"ORDERDESK_RATE_LIMIT": "0.001", "ORDERDESK_RATE_BURST": strconv.Itoa(rateBurst),
	}
	if withOAuth {
		env["SHOPIFY_API_KEY"] = oauth.clientID
		env["ORDERDESK_ENCRYPTION_KEY"] = "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
		env["ORDERDESK_PUBLIC_URL"] = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, base+"/healthz")

	bearer := func(k string) apiclient.RequestEditorFn {
		return func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+k)
			return nil
		}
	}
	c, err := apiclient.NewClientWithResponses(base, apiclient.WithRequestEditorFn(bearer(key)))
	if err != nil {
		t.Fatal(err)
	}
	anon, err := apiclient.NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := bearer("not-a-key")
	query := func(q string) apiclient.RequestEditorFn {
		return func(_ context.Context, r *http.Request) error {
			r.URL.RawQuery = q
			return nil
		}
	}
	documented := map[string]bool{}
	for _, a := range documentedAnswers(t) {
		documented[a] = true
	}
	// got checks one answer: its status, that it is documented, and that
	// the client decoded it into the typed field for that status (or, for
	// an answer without a body, its headers).
	got := func(op string, want int, resp any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s (want %d): the client failed: %v", op, want, err)
		}
		v := reflect.ValueOf(resp).Elem()
		hr := v.FieldByName("HTTPResponse").Interface().(*http.Response)
		body := v.FieldByName("Body").Bytes()
		if hr.StatusCode != want {
			t.Fatalf("%s: status %d, want %d: %s", op, hr.StatusCode, want, body)
		}
		// The generated client matches any Content-Type holding "json";
		// the contract promises exactly one media type per answer.
		if ct := hr.Header.Values("Content-Type"); len(body) > 0 && want < 300 && (len(ct) != 1 || ct[0] != "application/json") ||
			want >= 400 && (len(ct) != 1 || ct[0] != "application/problem+json") {
			t.Errorf("%s %d: Content-Type %q, not the document's one media type", op, want, ct)
		}
		answer := fmt.Sprintf("%s %d", op, want)
		if !documented[answer] {
			t.Fatalf("%s: %d is not a documented answer: %s", op, want, body)
		}
		field := fmt.Sprintf("JSON%d", want)
		if want >= 400 {
			field = fmt.Sprintf("ApplicationproblemJSON%d", want)
		}
		headers := v.FieldByName(fmt.Sprintf("Headers%d", want))
		if typed := v.FieldByName(field); typed.IsValid() && typed.IsNil() {
			t.Fatalf("%s: the client did not decode the %d answer (Content-Type %q): %s", op, want, hr.Header.Get("Content-Type"), body)
		} else if !typed.IsValid() && (!headers.IsValid() || headers.IsNil()) {
			t.Fatalf("%s: the client kept nothing of the %d answer", op, want)
		}
		if headers.IsValid() && !headers.IsNil() {
			if rid := headers.Elem().FieldByName("XRequestId"); rid.IsValid() && rid.IsNil() {
				t.Errorf("%s %d: no X-Request-Id", op, want)
			}
		}
		seen.add(answer)
	}
	id := func(u uint64) int64 { return int64(u) }
	const unknown int64 = 424242
	agent := func(k string) *apiclient.RefundOrderParams {
		return &apiclient.RefundOrderParams{IdempotencyKey: k, XAgentId: "agent-7"}
	}
	cancelAgent := func(k string) *apiclient.CancelOrderParams {
		return &apiclient.CancelOrderParams{IdempotencyKey: k, XAgentId: "agent-7"}
	}
	str := func(s string) *string { return &s }
	huge := bytes.Repeat([]byte("x"), api.MaxBodyBytes+1)
	// Shopify failing (502) and not answering in time (504), on the read
	// every one of these operations makes first.
	failing := func(f func()) {
		sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Status: http.StatusInternalServerError, Times: 10})
		defer sb.ClearFaults()
		f()
	}
	slow := func(f func()) {
		sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Latency: time.Second, Times: 10})
		defer sb.ClearFaults()
		f()
	}
	// down: Shopify not answering for longer than ORDERDESK_ACTION_WAIT.
	down := func(f func()) {
		sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Latency: time.Second, Times: 1000})
		defer sb.ClearFaults()
		f()
	}

	// operations
	r0, err := c.GetHealthzWithResponse(ctx)
	got("getHealthz", 200, r0, err)
	r0, err = c.GetHealthzWithResponse(ctx, query("verbose=1"))
	got("getHealthz", 400, r0, err)
	r1, err := c.GetReadyzWithResponse(ctx)
	got("getReadyz", 200, r1, err)
	r1, err = c.GetReadyzWithResponse(ctx, query("x=%zz"))
	got("getReadyz", 400, r1, err)

	customer := int64(shopifysandbox.Bob.Id)
	limit := 2
	r2, err := c.ListOrdersWithResponse(ctx, &apiclient.ListOrdersParams{CustomerId: &customer, Limit: &limit})
	got("listOrders", 200, r2, err)
	if len(r2.JSON200.Orders) != 2 || r2.JSON200.NextCursor == nil {
		t.Fatalf("first page: %d orders, cursor %v", len(r2.JSON200.Orders), r2.JSON200.NextCursor)
	}
	r2, err = c.ListOrdersWithResponse(ctx, &apiclient.ListOrdersParams{CustomerId: &customer, Limit: &limit, Cursor: r2.JSON200.NextCursor})
	got("listOrders", 200, r2, err)
	r2, err = c.ListOrdersWithResponse(ctx, nil, query("customer_id=%zz"))
	got("listOrders", 400, r2, err)
	r2, err = anon.ListOrdersWithResponse(ctx, nil)
	got("listOrders", 401, r2, err)
	if h := r2.Headers401; h == nil || h.WWWAuthenticate == nil || !strings.HasPrefix(*h.WWWAuthenticate, "Bearer") {
		t.Errorf("401 without its WWW-Authenticate challenge: %+v", h)
	}

	r3, err := c.GetOrderWithResponse(ctx, id(shopifysandbox.OrderInTransit), nil)
	got("getOrder", 200, r3, err)
	if o := r3.JSON200; o.Name != "#1001" || o.Customer == nil || o.Shipment == nil || o.TotalPrice == "" {
		t.Errorf("order #1001 decoded as %+v", o)
	}
	r3, err = c.GetOrderWithResponse(ctx, 1, nil, query("refresh=maybe"))
	got("getOrder", 400, r3, err)
	r3, err = c.GetOrderWithResponse(ctx, 1, nil, wrongKey)
	got("getOrder", 401, r3, err)
	r3, err = c.GetOrderWithResponse(ctx, unknown, nil)
	got("getOrder", 404, r3, err)
	refresh := true
	failing(func() {
		r3, err = c.GetOrderWithResponse(ctx, id(shopifysandbox.OrderInTransit), &apiclient.GetOrderParams{Refresh: &refresh})
		got("getOrder", 502, r3, err)
	})
	slow(func() {
		r3, err = c.GetOrderWithResponse(ctx, id(shopifysandbox.OrderInTransit), &apiclient.GetOrderParams{Refresh: &refresh})
		got("getOrder", 504, r3, err)
	})

	r4, err := c.PreviewCancelWithResponse(ctx, id(shopifysandbox.OrderPaidUnfulfilled))
	got("previewCancel", 200, r4, err)
	r4, err = c.PreviewCancelWithResponse(ctx, 1, query("x=1"))
	got("previewCancel", 400, r4, err)
	r4, err = c.PreviewCancelWithResponse(ctx, 1, wrongKey)
	got("previewCancel", 401, r4, err)
	r4, err = c.PreviewCancelWithResponse(ctx, unknown)
	got("previewCancel", 404, r4, err)
	failing(func() {
		r4, err = c.PreviewCancelWithResponse(ctx, unknown+1)
		got("previewCancel", 502, r4, err)
	})
	slow(func() {
		r4, err = c.PreviewCancelWithResponse(ctx, unknown+2)
		got("previewCancel", 504, r4, err)
	})

	r5, err := c.PreviewRefundWithResponse(ctx, id(shopifysandbox.OrderDelivered))
	got("previewRefund", 200, r5, err)
	r5, err = c.PreviewRefundWithResponse(ctx, 1, query("x=1"))
	got("previewRefund", 400, r5, err)
	r5, err = c.PreviewRefundWithResponse(ctx, 1, wrongKey)
	got("previewRefund", 401, r5, err)
	r5, err = c.PreviewRefundWithResponse(ctx, unknown)
	got("previewRefund", 404, r5, err)
	failing(func() {
		r5, err = c.PreviewRefundWithResponse(ctx, unknown+3)
		got("previewRefund", 502, r5, err)
	})
	slow(func() {
		r5, err = c.PreviewRefundWithResponse(ctx, unknown+4)
		got("previewRefund", 504, r5, err)
	})

	r6, err := c.RefundOrderWithResponse(ctx, id(shopifysandbox.OrderEUR), agent("refund-1"), apiclient.RefundOrderJSONRequestBody{Amount: str("1.00")})
	got("refundOrder", 200, r6, err)
	r6, err = c.RefundOrderWithResponse(ctx, id(shopifysandbox.OrderEUR), agent("refund-1"), apiclient.RefundOrderJSONRequestBody{Amount: str("1.00")})
	got("refundOrder", 200, r6, err)
	if h := r6.Headers200; h == nil || h.IdempotentReplayed == nil || !*h.IdempotentReplayed {
		t.Errorf("the replay is not marked Idempotent-Replayed: %+v", h)
	}
	r6, err = c.RefundOrderWithBodyWithResponse(ctx, id(shopifysandbox.OrderEUR), agent("refund-2"), "application/json",
		strings.NewReader(`{"amount":"0.01","AMOUNT":"0.02"}`))
	got("refundOrder", 400, r6, err)
	r6, err = c.RefundOrderWithResponse(ctx, 1, agent("refund-3"), apiclient.RefundOrderJSONRequestBody{Amount: str("1.00")}, wrongKey)
	got("refundOrder", 401, r6, err)
	r6, err = c.RefundOrderWithResponse(ctx, unknown, agent("refund-4"), apiclient.RefundOrderJSONRequestBody{Amount: str("1.00")})
	got("refundOrder", 404, r6, err)
	r6, err = c.RefundOrderWithResponse(ctx, id(shopifysandbox.OrderPending), agent("refund-5"), apiclient.RefundOrderJSONRequestBody{Amount: str("1.00")})
	got("refundOrder", 409, r6, err)
	r6, err = c.RefundOrderWithBodyWithResponse(ctx, id(shopifysandbox.OrderEUR), agent("refund-6"), "application/json", bytes.NewReader(huge))
	got("refundOrder", 413, r6, err)
	r6, err = c.RefundOrderWithBodyWithResponse(ctx, id(shopifysandbox.OrderEUR), agent("refund-7"), "text/plain", strings.NewReader("1.00"))
	got("refundOrder", 415, r6, err)
	r6, err = c.RefundOrderWithResponse(ctx, id(shopifysandbox.OrderJPY), agent("refund-8"), apiclient.RefundOrderJSONRequestBody{Amount: str("1.0")})
	got("refundOrder", 422, r6, err)
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpRefundCreate, UserErrors: []shopifysandbox.UserError{{Field: []string{"transactions"}, Message: "The payment gateway declined the refund"}}})
	r6, err = c.RefundOrderWithResponse(ctx, id(shopifysandbox.OrderEUR), agent("refund-9"), apiclient.RefundOrderJSONRequestBody{Amount: str("2.00")})
	got("refundOrder", 502, r6, err)
	sb.ClearFaults()
	down(func() {
		// The order is stored: the action is recorded, and its run waits on
		// Shopify past ORDERDESK_ACTION_WAIT.
		r6, err = c.RefundOrderWithResponse(ctx, id(shopifysandbox.OrderEUR), agent("refund-10"), apiclient.RefundOrderJSONRequestBody{Amount: str("3.00")})
		got("refundOrder", 202, r6, err)
		if a := r6.JSON202; a == nil || a.Action.Status != "pending" {
			t.Errorf("202 action = %+v", a)
		}
	})
	pending := r6.JSON202
	slow(func() {
		// An order never seen: reading it for the request times out.
		r6, err = c.RefundOrderWithResponse(ctx, unknown+7, agent("refund-11"), apiclient.RefundOrderJSONRequestBody{Amount: str("3.00")})
		got("refundOrder", 504, r6, err)
	})

	r7, err := c.CancelOrderWithResponse(ctx, id(shopifysandbox.OrderPaidUnfulfilled), cancelAgent("cancel-1"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"})
	got("cancelOrder", 200, r7, err)
	r7, err = c.CancelOrderWithBodyWithResponse(ctx, id(shopifysandbox.OrderPending), cancelAgent("cancel-2"), "application/json", strings.NewReader(`{"reason":"customer","reason":"fraud"}`))
	got("cancelOrder", 400, r7, err)
	r7, err = c.CancelOrderWithResponse(ctx, 1, cancelAgent("cancel-3"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"}, wrongKey)
	got("cancelOrder", 401, r7, err)
	r7, err = c.CancelOrderWithResponse(ctx, unknown, cancelAgent("cancel-4"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"})
	got("cancelOrder", 404, r7, err)
	r7, err = c.CancelOrderWithResponse(ctx, id(shopifysandbox.OrderDelivered), cancelAgent("cancel-5"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"})
	got("cancelOrder", 409, r7, err)
	r7, err = c.CancelOrderWithBodyWithResponse(ctx, id(shopifysandbox.OrderPending), cancelAgent("cancel-6"), "application/json", bytes.NewReader(huge))
	got("cancelOrder", 413, r7, err)
	r7, err = c.CancelOrderWithBodyWithResponse(ctx, id(shopifysandbox.OrderPending), cancelAgent("cancel-7"), "application/x-www-form-urlencoded", strings.NewReader("reason=customer"))
	got("cancelOrder", 415, r7, err)
	r7, err = c.CancelOrderWithResponse(ctx, id(shopifysandbox.OrderPending), cancelAgent("cancel-8"), apiclient.CancelOrderJSONRequestBody{Reason: "bored"})
	got("cancelOrder", 422, r7, err)
	sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderCancel, UserErrors: []shopifysandbox.UserError{{Field: []string{"orderId"}, Message: "Cannot cancel"}}})
	r7, err = c.CancelOrderWithResponse(ctx, id(shopifysandbox.OrderPending), cancelAgent("cancel-9"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"})
	got("cancelOrder", 502, r7, err)
	sb.ClearFaults()
	down(func() {
		r7, err = c.CancelOrderWithResponse(ctx, id(shopifysandbox.OrderPending), cancelAgent("cancel-10"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"})
		got("cancelOrder", 202, r7, err)
	})
	// Both pending actions finish by themselves once Shopify answers; the
	// faults below are for the requests alone.
	settle := func(order int64, r *apiclient.ActionResult) {
		if r == nil {
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if ra, err := c.GetActionWithResponse(ctx, order, r.Action.Id); err == nil && ra.JSON200 != nil && ra.JSON200.Status != "pending" {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("action %s still pending 30 s after Shopify answered again", r.Action.Id)
	}
	settle(id(shopifysandbox.OrderEUR), pending)
	settle(id(shopifysandbox.OrderPending), r7.JSON202)
	slow(func() {
		r7, err = c.CancelOrderWithResponse(ctx, unknown+8, cancelAgent("cancel-11"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"})
		got("cancelOrder", 504, r7, err)
	})

	r8, err := c.ListActionsWithResponse(ctx, id(shopifysandbox.OrderEUR))
	got("listActions", 200, r8, err)
	if len(r8.JSON200.Actions) == 0 {
		t.Error("the EUR order lists no actions after its refunds")
	}
	r8, err = c.ListActionsWithResponse(ctx, 1, query("limit=5"))
	got("listActions", 400, r8, err)
	r8, err = c.ListActionsWithResponse(ctx, 1, wrongKey)
	got("listActions", 401, r8, err)
	r8, err = c.ListActionsWithResponse(ctx, unknown)
	got("listActions", 404, r8, err)
	failing(func() {
		r8, err = c.ListActionsWithResponse(ctx, unknown+5)
		got("listActions", 502, r8, err)
	})
	slow(func() {
		r8, err = c.ListActionsWithResponse(ctx, unknown+6)
		got("listActions", 504, r8, err)
	})

	if pending != nil {
		ra, err := c.GetActionWithResponse(ctx, id(shopifysandbox.OrderEUR), pending.Action.Id)
		got("getAction", 200, ra, err)
		ra, err = c.GetActionWithResponse(ctx, id(shopifysandbox.OrderEUR), pending.Action.Id, query("x=1"))
		got("getAction", 400, ra, err)
		ra, err = c.GetActionWithResponse(ctx, id(shopifysandbox.OrderEUR), pending.Action.Id, wrongKey)
		got("getAction", 401, ra, err)
		ra, err = c.GetActionWithResponse(ctx, id(shopifysandbox.OrderPending), pending.Action.Id)
		got("getAction", 404, ra, err)
	}

	r9, err := c.GetTimelineWithResponse(ctx, customer, nil)
	got("getTimeline", 200, r9, err)
	r9, err = c.GetTimelineWithResponse(ctx, customer, nil, query("cursor=%ff"))
	got("getTimeline", 400, r9, err)
	r9, err = c.GetTimelineWithResponse(ctx, customer, nil, wrongKey)
	got("getTimeline", 401, r9, err)
	r9, err = c.GetTimelineWithResponse(ctx, 999999999, nil)
	got("getTimeline", 404, r9, err)

	hook := func(topic, webhookID string, body []byte, sign string) *apiclient.ReceiveShopifyWebhookParams {
		return &apiclient.ReceiveShopifyWebhookParams{
			XShopifyTopic: topic, XShopifyShopDomain: shop, XShopifyWebhookId: webhookID, XShopifyEventId: str("event-1"),
			XShopifyHmacSha256: webhooksig.Sign([]byte(sign), body),
		}
	}
	ev := []byte(fmt.Sprintf(`{"id":1,"order_id":%d,"status":"delivered"}`, shopifysandbox.OrderOutForDelivery))
	r10, err := anon.ReceiveShopifyWebhookWithBodyWithResponse(ctx, hook("fulfillment_events/create", "wh-1", ev, secret), "application/json", bytes.NewReader(ev))
	got("receiveShopifyWebhook", 200, r10, err)
	bad := []byte("not json")
	r10, err = anon.ReceiveShopifyWebhookWithBodyWithResponse(ctx, hook("orders/updated", "wh-2", bad, secret), "application/json", bytes.NewReader(bad))
	got("receiveShopifyWebhook", 200, r10, err)
	if r10.JSON200.Status != "refused" {
		t.Errorf("a signed non-JSON body: %s, want refused", r10.JSON200.Status)
	}
	r10, err = anon.ReceiveShopifyWebhookWithBodyWithResponse(ctx, hook("orders/updated", "", ev, secret), "application/json", bytes.NewReader(ev))
	got("receiveShopifyWebhook", 400, r10, err)
	r10, err = anon.ReceiveShopifyWebhookWithBodyWithResponse(ctx, hook("orders/updated", "wh-3", ev, "forged"), "application/json", bytes.NewReader(ev))
	got("receiveShopifyWebhook", 401, r10, err)
	stranger := hook("orders/updated", "wh-4", ev, secret)
	stranger.XShopifyShopDomain = "stranger.myshopify.com"
	r10, err = anon.ReceiveShopifyWebhookWithBodyWithResponse(ctx, stranger, "application/json", bytes.NewReader(ev))
	got("receiveShopifyWebhook", 404, r10, err)
	r10, err = anon.ReceiveShopifyWebhookWithBodyWithResponse(ctx, hook("orders/updated", "wh-5", huge, secret), "application/json", bytes.NewReader(huge))
	got("receiveShopifyWebhook", 413, r10, err)

	// Outbound events: endpoints and the events the refunds above wrote.
	epKey := "endpoint-1"
	epBody := apiclient.CreateEventEndpointJSONRequestBody{Url: "https://crm.example.com/orderdesk/events", Types: &[]string{"order.refunded"}}
	e1, err := c.CreateEventEndpointWithResponse(ctx, &apiclient.CreateEventEndpointParams{IdempotencyKey: &epKey}, epBody)
	got("createEventEndpoint", 201, e1, err)
	epID, epSecret := e1.JSON201.Endpoint.Id, e1.JSON201.Secret
	if !strings.HasPrefix(epSecret, "whsec_") {
		t.Errorf("secret %q", epSecret)
	}
	e1, err = c.CreateEventEndpointWithResponse(ctx, &apiclient.CreateEventEndpointParams{IdempotencyKey: &epKey}, epBody)
	got("createEventEndpoint", 201, e1, err)
	if e1.JSON201.Endpoint.Id != epID || e1.JSON201.Secret != epSecret || e1.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a retried creation answered %+v, not the first endpoint replayed", e1.JSON201)
	}
	e1, err = c.CreateEventEndpointWithResponse(ctx, &apiclient.CreateEventEndpointParams{IdempotencyKey: &epKey}, apiclient.CreateEventEndpointJSONRequestBody{Url: "https://crm.example.com/other"})
	got("createEventEndpoint", 422, e1, err)
	e1, err = c.CreateEventEndpointWithBodyWithResponse(ctx, nil, "application/json", strings.NewReader(`{"url":"https://crm.example.com/x","secret":"mine"}`))
	got("createEventEndpoint", 400, e1, err)
	e1, err = c.CreateEventEndpointWithResponse(ctx, nil, apiclient.CreateEventEndpointJSONRequestBody{Url: "https://crm.example.com/x"}, wrongKey)
	got("createEventEndpoint", 401, e1, err)
	e1, err = c.CreateEventEndpointWithBodyWithResponse(ctx, nil, "application/json", bytes.NewReader(huge))
	got("createEventEndpoint", 413, e1, err)
	e1, err = c.CreateEventEndpointWithBodyWithResponse(ctx, nil, "text/plain", strings.NewReader(`{"url":"https://crm.example.com/x"}`))
	got("createEventEndpoint", 415, e1, err)
	for _, u := range []string{"http://crm.example.com/x", "https://10.0.0.7/x", "https://127.0.0.1/x"} { // production: https, public
		e1, err = c.CreateEventEndpointWithResponse(ctx, nil, apiclient.CreateEventEndpointJSONRequestBody{Url: u})
		got("createEventEndpoint", 422, e1, err)
	}
	e2, err := c.ListEventEndpointsWithResponse(ctx)
	got("listEventEndpoints", 200, e2, err)
	if len(e2.JSON200.Endpoints) != 1 {
		t.Errorf("endpoints %+v", e2.JSON200.Endpoints)
	}
	e2, err = c.ListEventEndpointsWithResponse(ctx, query("x=1"))
	got("listEventEndpoints", 400, e2, err)
	e3, err := c.GetEventEndpointWithResponse(ctx, epID, query("x=1"))
	got("getEventEndpoint", 400, e3, err)
	e4, err := c.EnableEventEndpointWithResponse(ctx, epID, query("x=1"))
	got("enableEventEndpoint", 400, e4, err)
	e5, err := c.RotateEventEndpointSecretWithResponse(ctx, epID, query("x=1"))
	got("rotateEventEndpointSecret", 400, e5, err)
	e7, err := c.RedeliverEventWithResponse(ctx, "evt_x", query("x=1"))
	got("redeliverEvent", 400, e7, err)
	e8, err := c.DeleteEventEndpointWithResponse(ctx, epID, query("x=1"))
	got("deleteEventEndpoint", 400, e8, err)
	e2, err = c.ListEventEndpointsWithResponse(ctx, wrongKey)
	got("listEventEndpoints", 401, e2, err)
	e3, err = c.GetEventEndpointWithResponse(ctx, epID)
	got("getEventEndpoint", 200, e3, err)
	e3, err = c.GetEventEndpointWithResponse(ctx, epID, wrongKey)
	got("getEventEndpoint", 401, e3, err)
	e3, err = c.GetEventEndpointWithResponse(ctx, "ep_unknown")
	got("getEventEndpoint", 404, e3, err)
	e4, err = c.EnableEventEndpointWithResponse(ctx, epID)
	got("enableEventEndpoint", 200, e4, err)
	e4, err = c.EnableEventEndpointWithResponse(ctx, epID, wrongKey)
	got("enableEventEndpoint", 401, e4, err)
	e4, err = c.EnableEventEndpointWithResponse(ctx, "ep_unknown")
	got("enableEventEndpoint", 404, e4, err)
	e5, err = c.RotateEventEndpointSecretWithResponse(ctx, epID)
	got("rotateEventEndpointSecret", 200, e5, err)
	if e5.JSON200.Endpoint.PreviousSecretUntil == nil {
		t.Error("a rotation without the previous secret's grace")
	}
	e5, err = c.RotateEventEndpointSecretWithResponse(ctx, epID, wrongKey)
	got("rotateEventEndpointSecret", 401, e5, err)
	e5, err = c.RotateEventEndpointSecretWithResponse(ctx, "ep_unknown")
	got("rotateEventEndpointSecret", 404, e5, err)
	e6, err := c.ListEventsWithResponse(ctx, &apiclient.ListEventsParams{Limit: &limit})
	got("listEvents", 200, e6, err)
	if len(e6.JSON200.Events) == 0 {
		t.Fatal("no events after the refunds")
	}
	evID := e6.JSON200.Events[0].Id
	e6, err = c.ListEventsWithResponse(ctx, nil, query("cursor=nope"))
	got("listEvents", 400, e6, err)
	e6, err = c.ListEventsWithResponse(ctx, nil, wrongKey)
	got("listEvents", 401, e6, err)
	e7, err = c.RedeliverEventWithResponse(ctx, evID)
	got("redeliverEvent", 202, e7, err)
	e7, err = c.RedeliverEventWithResponse(ctx, "evt_x", wrongKey)
	got("redeliverEvent", 401, e7, err)
	e7, err = c.RedeliverEventWithResponse(ctx, "evt_unknown")
	got("redeliverEvent", 404, e7, err)
	e8, err = c.DeleteEventEndpointWithResponse(ctx, epID, wrongKey)
	got("deleteEventEndpoint", 401, e8, err)
	e8, err = c.DeleteEventEndpointWithResponse(ctx, epID)
	got("deleteEventEndpoint", 204, e8, err)
	e1, err = c.CreateEventEndpointWithResponse(ctx, &apiclient.CreateEventEndpointParams{IdempotencyKey: &epKey}, epBody)
	got("createEventEndpoint", 404, e1, err) // the key's endpoint was deleted
	e8, err = c.DeleteEventEndpointWithResponse(ctx, epID)
	got("deleteEventEndpoint", 404, e8, err)

	installs(t, ctx, base, withOAuth, oauth, got)

	// The API key spends its burst: every authenticated operation is 429.
	for range rateBurst + 1 {
		if r, err := c.ListOrdersWithResponse(ctx, &apiclient.ListOrdersParams{Limit: &limit}); err != nil || r.StatusCode() == http.StatusTooManyRequests {
			break
		}
	}
	r2, err = c.ListOrdersWithResponse(ctx, nil)
	got("listOrders", 429, r2, err)
	if h := r2.Headers429; h == nil || h.RetryAfter == nil || *h.RetryAfter < 1 {
		t.Errorf("429 without Retry-After: %+v", h)
	}
	r3, err = c.GetOrderWithResponse(ctx, 1, nil)
	got("getOrder", 429, r3, err)
	r4, err = c.PreviewCancelWithResponse(ctx, 1)
	got("previewCancel", 429, r4, err)
	r5, err = c.PreviewRefundWithResponse(ctx, 1)
	got("previewRefund", 429, r5, err)
	r6, err = c.RefundOrderWithResponse(ctx, 1, agent("refund-429"), apiclient.RefundOrderJSONRequestBody{Amount: str("1.00")})
	got("refundOrder", 429, r6, err)
	r7, err = c.CancelOrderWithResponse(ctx, 1, cancelAgent("cancel-429"), apiclient.CancelOrderJSONRequestBody{Reason: "customer"})
	got("cancelOrder", 429, r7, err)
	r8, err = c.ListActionsWithResponse(ctx, 1)
	got("listActions", 429, r8, err)
	r9, err = c.GetTimelineWithResponse(ctx, customer, nil)
	got("getTimeline", 429, r9, err)
	ra, err := c.GetActionWithResponse(ctx, 1, "x")
	got("getAction", 429, ra, err)
	e2, err = c.ListEventEndpointsWithResponse(ctx)
	got("listEventEndpoints", 429, e2, err)
	e1, err = c.CreateEventEndpointWithResponse(ctx, nil, apiclient.CreateEventEndpointJSONRequestBody{Url: "https://crm.example.com/x"})
	got("createEventEndpoint", 429, e1, err)
	e3, err = c.GetEventEndpointWithResponse(ctx, "ep_x")
	got("getEventEndpoint", 429, e3, err)
	e8, err = c.DeleteEventEndpointWithResponse(ctx, "ep_x")
	got("deleteEventEndpoint", 429, e8, err)
	e4, err = c.EnableEventEndpointWithResponse(ctx, "ep_x")
	got("enableEventEndpoint", 429, e4, err)
	e5, err = c.RotateEventEndpointSecretWithResponse(ctx, "ep_x")
	got("rotateEventEndpointSecret", 429, e5, err)
	e6, err = c.ListEventsWithResponse(ctx, nil)
	got("listEvents", 429, e6, err)
	e7, err = c.RedeliverEventWithResponse(ctx, "evt_x")
	got("redeliverEvent", 429, e7, err)
}

// rateBurst is the serve's per-key burst: enough for the test's calls.
const rateBurst = 150

// installs runs Shopify's OAuth install through the generated client: on
// the serve with OAuth, every answer of both endpoints; on the other, 404.
func installs(t *testing.T, ctx context.Context, base string, withOAuth bool, oauth *fakeOAuth, got func(string, int, any, error)) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c, err := apiclient.NewClientWithResponses(base, apiclient.WithHTTPClient(noRedirect))
	if err != nil {
		t.Fatal(err)
	}
	acceptJSON := func(_ context.Context, r *http.Request) error { r.Header.Set("Accept", "application/json"); return nil }
	const newShop = "newcomer.myshopify.com"
	if !withOAuth {
		r, err := c.StartShopifyInstallWithResponse(ctx, &apiclient.StartShopifyInstallParams{Shop: newShop})
		got("startShopifyInstall", 404, r, err)
		f, err := c.FinishShopifyInstallWithResponse(ctx, &apiclient.FinishShopifyInstallParams{Shop: newShop, Code: "c", State: "s", Hmac: "h"})
		got("finishShopifyInstall", 404, f, err)
		return
	}
	r, err := c.StartShopifyInstallWithResponse(ctx, &apiclient.StartShopifyInstallParams{Shop: newShop})
	got("startShopifyInstall", 302, r, err)
	if r.Headers302 == nil || r.Headers302.Location == nil || !strings.Contains(*r.Headers302.Location, "/admin/oauth/authorize") {
		t.Errorf("302 without Shopify's authorize URL: %+v", r.Headers302)
	}
	r, err = c.StartShopifyInstallWithResponse(ctx, &apiclient.StartShopifyInstallParams{Shop: "evil.example.com"})
	got("startShopifyInstall", 400, r, err)
	forged := func(_ context.Context, req *http.Request) error {
		req.URL.RawQuery = url.Values{"shop": {newShop}, "timestamp": {"1"}, "hmac": {"00ff"}}.Encode()
		return nil
	}
	r, err = c.StartShopifyInstallWithResponse(ctx, &apiclient.StartShopifyInstallParams{Shop: newShop}, forged)
	got("startShopifyInstall", 401, r, err)

	// begin starts an install as the merchant's browser: its state and cookie.
	begin := func() (string, *http.Cookie) {
		t.Helper()
		r, err := c.StartShopifyInstallWithResponse(ctx, &apiclient.StartShopifyInstallParams{Shop: newShop}, acceptJSON)
		got("startShopifyInstall", 200, r, err)
		u, err := url.Parse(r.JSON200.AuthorizeUrl)
		if err != nil {
			t.Fatal(err)
		}
		for _, ck := range r.HTTPResponse.Cookies() {
			if ck.Name == "orderdesk_oauth_state" {
				return u.Query().Get("state"), ck
			}
		}
		t.Fatal("no state cookie")
		return "", nil
	}
	// finish is Shopify sending the browser back, signed with signWith
	// (no hmac at all when it is empty).
	finish := func(shop, code, state string, ck *http.Cookie, signWith string) *apiclient.FinishShopifyInstallResponse {
		t.Helper()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		q := url.Values{"shop": {shop}, "code": {code}, "state": {state}, "timestamp": {ts}}
		mac := ""
		if signWith != "" {
			msg, _ := url.QueryUnescape(q.Encode())
			h := hmac.New(sha256.New, []byte(signWith))
			h.Write([]byte(msg))
			mac = hex.EncodeToString(h.Sum(nil))
		}
		f, err := c.FinishShopifyInstallWithResponse(ctx, &apiclient.FinishShopifyInstallParams{Shop: shop, Code: code, State: state, Hmac: mac, Timestamp: &ts},
			func(_ context.Context, req *http.Request) error {
				if ck != nil {
					req.AddCookie(ck)
				}
				if mac == "" {
					v := req.URL.Query()
					v.Del("hmac")
					req.URL.RawQuery = v.Encode()
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	state, ck := begin()
	got("finishShopifyInstall", 401, finish(newShop, oauth.issue(), state, ck, ""), nil)
	got("finishShopifyInstall", 400, finish("evil.example.com", oauth.issue(), state, ck, oauth.secret), nil)
	got("finishShopifyInstall", 403, finish(newShop, oauth.issue(), "not-the-state", ck, oauth.secret), nil)
	oauth.fail(http.StatusInternalServerError, 0)
	state, ck = begin()
	got("finishShopifyInstall", 502, finish(newShop, oauth.issue(), state, ck, oauth.secret), nil)
	oauth.fail(0, time.Second)
	state, ck = begin()
	got("finishShopifyInstall", 504, finish(newShop, oauth.issue(), state, ck, oauth.secret), nil)
	oauth.fail(0, 0)
	state, ck = begin()
	f := finish(newShop, oauth.issue(), state, ck, oauth.secret)
	got("finishShopifyInstall", 200, f, nil)
	if f.JSON200.Shop.Domain != newShop || f.JSON200.Shop.State != "installed" {
		t.Errorf("installed %+v", f.JSON200.Shop)
	}
}

// fakeOAuth is Shopify's side of an install in front of the sandbox: the
// token endpoint (a code works once) and the query of a new token's
// scopes; it can fail or be slow. Everything else goes to the sandbox.
type fakeOAuth struct {
	secret, clientID string
	next             http.Handler
	mu               sync.Mutex
	codes            map[string]bool
	status           int
	latency          time.Duration
}

func (f *fakeOAuth) issue() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.codes == nil {
		f.codes = map[string]bool{}
	}
	code := fmt.Sprintf("code-%d", len(f.codes))
	f.codes[code] = true
	return code
}

func (f *fakeOAuth) fail(status int, latency time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.latency = status, latency
}

func (f *fakeOAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/admin/oauth/access_token":
		var in struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			Code         string `json:"code"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		status, latency := f.status, f.latency
		valid := f.codes[in.Code] && in.ClientID == f.clientID && in.ClientSecret == f.secret
		delete(f.codes, in.Code)
		f.mu.Unlock()
		time.Sleep(latency)
		switch {
		case status != 0:
			w.WriteHeader(status)
		case !valid:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_request"}`)
		default:
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": "shpat_oauth_" + in.Code, "scope": strings.Join(tenant.Scopes, ",")})
		}
	case strings.HasPrefix(r.Header.Get("X-Shopify-Access-Token"), "shpat_oauth_") && strings.HasSuffix(r.URL.Path, "/graphql.json"):
		handles := []map[string]string{}
		for _, s := range tenant.Scopes {
			handles = append(handles, map[string]string{"handle": s})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"currentAppInstallation": map[string]any{"accessScopes": handles}}})
	default:
		f.next.ServeHTTP(w, r)
	}
}

// documentedAnswers lists "operationId status" for every response of the
// served document.
func documentedAnswers(t *testing.T) []string {
	t.Helper()
	raw, err := api.OpenAPI3()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for code := range op.Responses.Map() {
				if _, err := strconv.Atoi(code); err != nil {
					t.Errorf("%s: response %q is not a status code", op.OperationID, code)
				}
				out = append(out, op.OperationID+" "+code)
			}
		}
	}
	slices.Sort(out)
	return out
}
