package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// hook sends a webhook through the router, signed with secret. webhookID
// is the delivery's X-Shopify-Webhook-Id, the dedupe key.
func (h *harness) hook(topic, webhookID string, body []byte, secret string) response {
	h.t.Helper()
	return h.hookEvent(topic, webhookID, uuid.NewString(), body, secret)
}

// hookEvent is hook with the X-Shopify-Event-Id given: the id one merchant
// action's deliveries share.
func (h *harness) hookEvent(topic, webhookID, eventID string, body []byte, secret string) response {
	h.t.Helper()
	headers := []string{"Content-Type", "application/json", "X-Shopify-Topic", topic, "X-Shopify-Shop-Domain", shopA,
		"X-Shopify-Event-Id", eventID}
	if webhookID != "" {
		headers = append(headers, "X-Shopify-Webhook-Id", webhookID)
	}
	if secret != "" {
		headers = append(headers, "X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(secret), body))
	}
	return h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader(string(body)), headers...)
}

func ack(t testing.TB, r response, want string) {
	t.Helper()
	var a api.WebhookAck
	if r.Code != 200 {
		t.Fatalf("webhook answered %d: %s", r.Code, r.Body)
	}
	r.decode(t, &a)
	if a.Status != want {
		t.Errorf("ack = %s, want %s", a.Status, want)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, within)
}

func orderJSON(t testing.TB, o goshopify.Order) []byte {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) stored(id uint64) (orders.Order, bool) {
	o, err := h.store.Orders().GetOrder(context.Background(), h.shopA.ID, int64(id))
	return o, err == nil
}

func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	o, _ := h.sb.Order(shopifysandbox.OrderPending)
	body := orderJSON(t, o)
	problem(t, h.hook("orders/updated", "e1", body, ""), http.StatusUnauthorized, "invalid_signature")
	problem(t, h.hook("orders/updated", "e1", body, "wrong-secret"), http.StatusUnauthorized, "invalid_signature")
	if _, ok := h.stored(shopifysandbox.OrderPending); ok {
		t.Fatal("a badly signed webhook was applied")
	}
	// Nothing was recorded either: the same event, signed right, is new.
	ack(t, h.hook("orders/updated", "e1", body, webhookSecret), "accepted")
	eventually(t, 2*time.Second, "order applied", func() bool { _, ok := h.stored(shopifysandbox.OrderPending); return ok })

	problem(t, h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader("{}"),
		"X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), []byte("{}")), "X-Shopify-Shop-Domain", shopA, "X-Shopify-Event-Id", "x"),
		http.StatusBadRequest, "missing_header")
	r := h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader("{}"),
		"X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), []byte("{}")), "X-Shopify-Topic", "orders/updated",
		"X-Shopify-Shop-Domain", "stranger.myshopify.com", "X-Shopify-Webhook-Id", "x")
	problem(t, r, http.StatusNotFound, "unknown_shop")
	ack(t, h.hook("carts/update", "e9", []byte(`{"id":1}`), webhookSecret), "ignored")
}

func TestWebhookDedupeAndOrdering(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.backfill()
	before := h.sb.Calls(shopifysandbox.OpOrderGet)
	ev := []byte(fmt.Sprintf(`{"id":1,"order_id":%d,"fulfillment_id":1,"status":"delivered"}`, shopifysandbox.OrderOutForDelivery))
	ack(t, h.hook("fulfillment_events/create", "dup-1", ev, webhookSecret), "accepted")
	ack(t, h.hook("fulfillment_events/create", "dup-1", ev, webhookSecret), "duplicate")
	eventually(t, 2*time.Second, "the event applied", func() bool { return h.sb.Calls(shopifysandbox.OpOrderGet) > before })
	time.Sleep(200 * time.Millisecond)
	if n := h.sb.Calls(shopifysandbox.OpOrderGet) - before; n != 1 {
		t.Errorf("a duplicate delivery was applied: %d order reads", n)
	}

	// A newer state, then Shopify's retry of an older one: the newer stays.
	o, _ := h.sb.Order(shopifysandbox.OrderPaidUnfulfilled)
	newer, older := o, o
	t1, t2 := now.Add(time.Hour), now.Add(2*time.Hour)
	newer.UpdatedAt, newer.CancelledAt, newer.ClosedAt, newer.CancelReason = &t2, &t2, &t2, "customer"
	older.UpdatedAt = &t1
	ack(t, h.hook("orders/cancelled", uuid.NewString(), orderJSON(t, newer), webhookSecret), "accepted")
	eventually(t, 2*time.Second, "cancellation applied", func() bool {
		s, _ := h.stored(shopifysandbox.OrderPaidUnfulfilled)
		return s.Status == orders.StatusCancelled
	})
	ack(t, h.hook("orders/updated", uuid.NewString(), orderJSON(t, older), webhookSecret), "accepted")
	time.Sleep(300 * time.Millisecond)
	if s, _ := h.stored(shopifysandbox.OrderPaidUnfulfilled); s.Status != orders.StatusCancelled {
		t.Errorf("an older payload overwrote a newer order: status %s", s.Status)
	}
}

func TestWebhookTopics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.backfill()
	send := func(topic string, body []byte) {
		t.Helper()
		ack(t, h.hook(topic, uuid.NewString(), body, webhookSecret), "accepted")
	}
	timeline := func(customer uint64) map[string]int {
		events, err := h.store.Orders().Timeline(context.Background(), h.shopA.ID, int64(customer), nil, 500)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, e := range events {
			out[fmt.Sprintf("%d %s", e.OrderID, e.Type)]++
		}
		return out
	}

	// orders/create: a new order appears, with its first events. The shop
	// never had it, so it is confirmed through the shop's token: Shopify
	// (the sandbox) has it.
	created := now.Add(time.Hour)
	total := "42.00"
	fresh := goshopify.Order{Id: 777000001, Name: "#2001", OrderNumber: 2001, Currency: "USD", CreatedAt: &created, UpdatedAt: &created,
		FinancialStatus: "paid", Customer: &goshopify.Customer{Id: shopifysandbox.Alice.Id, Email: shopifysandbox.Alice.Email},
		LineItems: []goshopify.LineItem{{Id: 1, Title: "Mug", Quantity: 1}}}
	raw := orderJSON(t, fresh)
	raw = []byte(strings.Replace(string(raw), `"id":777000001`, `"id":777000001,"total_price":"`+total+`"`, 1))
	h.sb.AddOrder(fresh, nil, nil)
	send("orders/create", raw)
	eventually(t, 2*time.Second, "orders/create", func() bool {
		tl := timeline(shopifysandbox.Alice.Id)
		return tl["777000001 order.placed"] == 1 && tl["777000001 order.paid"] == 1
	})

	// refunds/create, fulfillments/create, fulfillment_events/create name the
	// order; orderdesk re-reads it. Make the changes at "Shopify" first.
	sbURL := httptest.NewServer(h.sb)
	defer sbURL.Close()
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(sbURL.URL+path, "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("sandbox %s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	post(fmt.Sprintf("/sandbox/orders/%d/fulfill", shopifysandbox.OrderPaidUnfulfilled), "")
	send("fulfillments/create", []byte(fmt.Sprintf(`{"id":5,"order_id":%d,"status":"success"}`, shopifysandbox.OrderPaidUnfulfilled)))
	eventually(t, 2*time.Second, "fulfillments/create", func() bool {
		s, _ := h.stored(shopifysandbox.OrderPaidUnfulfilled)
		return s.FulfillmentStatus == orders.FulfillmentFulfilled && timeline(shopifysandbox.Bob.Id)[fmt.Sprintf("%d order.fulfilled", shopifysandbox.OrderPaidUnfulfilled)] == 1
	})
	eta := "2026-12-05T00:00:00Z"
	post(fmt.Sprintf("/sandbox/orders/%d/fulfillment_events", shopifysandbox.OrderPaidUnfulfilled), `{"status":"in_transit","estimated_delivery_at":"`+eta+`"}`)
	send("fulfillment_events/create", []byte(fmt.Sprintf(`{"id":6,"order_id":%d,"status":"in_transit"}`, shopifysandbox.OrderPaidUnfulfilled)))
	eventually(t, 2*time.Second, "fulfillment_events/create", func() bool {
		s, _ := h.stored(shopifysandbox.OrderPaidUnfulfilled)
		return s.Labels.FulfillmentStatus == "Arriving on 5 December 2026"
	})
	// A refund made in Shopify's admin.
	result(t, h.post(path(shopifysandbox.OrderEUR, "refund"), "r", `{"amount":"9.00"}`)) // via orderdesk, to make one at Shopify
	send("refunds/create", []byte(fmt.Sprintf(`{"id":9,"order_id":%d}`, shopifysandbox.OrderEUR)))
	eventually(t, 2*time.Second, "refunds/create", func() bool {
		return timeline(shopifysandbox.Claire.Id)[fmt.Sprintf("%d order.refunded", shopifysandbox.OrderEUR)] == 1
	})
	// orders/edited carries an order_edit, not the order: re-read.
	reads := h.sb.Calls(shopifysandbox.OpOrderGet)
	send("orders/edited", []byte(fmt.Sprintf(`{"order_edit":{"id":1,"order_id":%d}}`, shopifysandbox.OrderJPY)))
	eventually(t, 2*time.Second, "orders/edited", func() bool { return h.sb.Calls(shopifysandbox.OpOrderGet) > reads })

	// customers/data_request is recorded and acknowledged.
	send("customers/data_request", []byte(`{"shop_domain":"shop-a.myshopify.com","customer":{"id":1}}`))

	// Every read behind these deliveries (and the refund) went through GraphQL.
	if n := h.sb.RESTCalls(); n != 0 {
		t.Errorf("%d REST calls to Shopify", n)
	}
}

// TestNoRESTCall: a demo-like session (backfill, a contact's orders, a
// view read from Shopify, a refund, a cancellation) makes no REST call:
// the sandbox counts them.
func TestNoRESTCall(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			if r := h.get(fmt.Sprintf("/orders?customer_id=%d", shopifysandbox.Bob.Id), keyA); r.Code != http.StatusOK {
				t.Fatalf("list: %d %s", r.Code, r.Body)
			}
			if r := h.get(fmt.Sprintf("/orders/%d?refresh=true", shopifysandbox.OrderInTransit), keyA); r.Code != http.StatusOK {
				t.Fatalf("view: %d %s", r.Code, r.Body)
			}
			if r := h.get(fmt.Sprintf("/customers/%d/timeline", shopifysandbox.Bob.Id), keyA); r.Code != http.StatusOK {
				t.Fatalf("timeline: %d %s", r.Code, r.Body)
			}
			result(t, h.post(path(shopifysandbox.OrderPaidUnfulfilled, "refund"), "n1", `{"amount":"5.00"}`))
			result(t, h.post(path(shopifysandbox.OrderPending, "cancel"), "n2", `{"reason":"customer","refund":{"mode":"none"},"restock":true}`))
			if n := h.sb.RESTCalls(); n != 0 {
				t.Errorf("%d REST calls to Shopify", n)
			}
			if n := h.sb.Calls(shopifysandbox.OpOrderGet); n == 0 {
				t.Error("no order(id:) read: the test did not reach Shopify")
			}
		})
	}
}

func TestRedactTopics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.backfill()
	ack(t, h.hook("customers/redact", uuid.NewString(), []byte(fmt.Sprintf(
		`{"shop_domain":%q,"customer":{"id":%d,"email":"alice@example.com"},"orders_to_redact":[%d]}`,
		shopA, shopifysandbox.Alice.Id, shopifysandbox.OrderAuthorized)), webhookSecret), "accepted")
	eventually(t, 2*time.Second, "customers/redact", func() bool {
		ev, _ := h.store.Orders().Timeline(context.Background(), h.shopA.ID, int64(shopifysandbox.Alice.Id), nil, 10)
		return len(ev) == 0
	})
	var list api.OrderListResponse
	h.get(fmt.Sprintf("/orders?email=%s", "alice@example.com"), keyA).decode(t, &list)
	if len(list.Orders) != 0 {
		t.Errorf("Alice's email still finds %d orders", len(list.Orders))
	}
	o, _ := h.stored(shopifysandbox.OrderAuthorized)
	if o.Customer == nil || o.Customer.Email != "" || o.Customer.FirstName != "" || o.Source.Email != "" || o.Source.Phone != "" {
		t.Errorf("personal data left in the stored order: %+v / %q %q", o.Customer, o.Source.Email, o.Source.Phone)
	}
	if bob, _ := h.stored(shopifysandbox.OrderPending); bob.Customer.Email == "" {
		t.Error("another customer's data was erased")
	}

	// Shopify sends shop/redact 48 hours after the uninstall (an installed
	// shop is not erased: TestReviewShopRedactSparesAnInstalledShop).
	h.front.Uninstall(shopA) // Shopify revokes the token, then sends app/uninstalled
	ack(t, h.hook("app/uninstalled", uuid.NewString(), []byte(`{"id":1,"myshopify_domain":"shop-a.myshopify.com"}`), webhookSecret), "accepted")
	eventually(t, 3*time.Second, "app/uninstalled", func() bool { return h.shopState().State == tenant.Uninstalled })
	ack(t, h.hook("shop/redact", uuid.NewString(), []byte(`{"shop_domain":"shop-a.myshopify.com"}`), webhookSecret), "accepted")
	eventually(t, 3*time.Second, "shop/redact", func() bool {
		_, err := h.store.Tenants().ShopByDomain(context.Background(), shopA)
		return err != nil
	})
	if _, ok := h.stored(shopifysandbox.OrderPending); ok {
		t.Error("orders survived shop/redact")
	}
	// Its keys go with it, on every replica within the key cache's TTL.
	eventually(t, 2*time.Second, "the erased shop's key refused", func() bool { return h.get("/orders", keyA).Code == http.StatusUnauthorized })
}

// TestSandboxChangeReachesTheView: a change made at "Shopify" reaches
// GET /orders/{id} through a real signed webhook and a River job. How
// fast is make bench's apply lag (p99 well under a second); here, in a
// loaded -race run of many parallel tests, it only has to arrive (CI
// failed a 1 s bound at 5.8 s of a sqlite subtest's wall time).
func TestSandboxChangeReachesTheView(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"postgres", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			srv := httptest.NewServer(h.router)
			defer srv.Close()
			h.sb.SetWebhookTarget(srv.URL+"/webhooks/shopify", webhookSecret)
			sb := httptest.NewServer(h.sb)
			defer sb.Close()
			start := time.Now()
			resp, err := http.Post(fmt.Sprintf("%s/sandbox/orders/%d/fulfillment_events", sb.URL, shopifysandbox.OrderOutForDelivery), "application/json", strings.NewReader(`{"status":"delivered"}`))
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("sandbox change: %v %v", err, resp)
			}
			resp.Body.Close()
			eventually(t, 15*time.Second, "delivered visible in GET /orders/{id}", func() bool {
				var o api.OrderResponse
				h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderOutForDelivery), keyA).decode(t, &o)
				return o.Shipment != nil && o.Shipment.Status == "delivered" && o.Labels.FulfillmentStatus == "Delivered"
			})
			t.Logf("visible after %s", time.Since(start).Round(time.Millisecond))
			var page api.TimelineResponse
			h.get(fmt.Sprintf("/customers/%d/timeline?limit=1", shopifysandbox.Bob.Id), keyA).decode(t, &page)
			if len(page.Events) != 1 || page.Events[0].Type != "shipment.delivered" || page.Events[0].OrderID != int64(shopifysandbox.OrderOutForDelivery) {
				t.Errorf("newest timeline event = %+v", page.Events)
			}
		})
	}
}

// TestReconcileReReadsStaleOpenOrders: the periodic job repairs drift by
// re-reading open orders whose copy is older than the configured age.
func TestReconcileReReadsStaleOpenOrders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.backfill()
	// A change at Shopify that no webhook reported.
	o, _ := h.sb.Order(shopifysandbox.OrderAuthorized)
	later := now.Add(time.Hour)
	o.UpdatedAt, o.FinancialStatus = &later, "paid"
	h.sb.AddOrder(o, nil, nil)
	before := h.sb.Calls(shopifysandbox.OpOrderGet)
	if err := orders.NewSyncer(h.svc, h.store.Orders(), time.Hour).ReconcileAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.sb.Calls(shopifysandbox.OpOrderGet) - before; n != 0 {
		t.Errorf("fresh copies re-read: %d", n)
	}
	if err := orders.NewSyncer(h.svc, h.store.Orders(), time.Nanosecond).ReconcileAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.sb.Calls(shopifysandbox.OpOrderGet) - before; n == 0 || n > 20 {
		t.Errorf("stale open orders re-read: %d, want 1..20 (a batch)", n)
	}
	if s, _ := h.stored(shopifysandbox.OrderAuthorized); s.FinancialStatus != orders.FinancialPaid {
		t.Errorf("drift not repaired: %s", s.FinancialStatus)
	}
}

// TestConcurrentDeliveriesGroupCommitted: deliveries sent at once share
// batches; Shopify's retries racing their first attempt are each
// answered 200, one of each id as accepted, and every order is applied.
func TestConcurrentDeliveriesGroupCommitted(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			ids := []uint64{shopifysandbox.OrderPaidUnfulfilled, shopifysandbox.OrderPending, shopifysandbox.OrderInTransit}
			later := now.Add(time.Hour)
			type sent struct {
				webhookID string
				body      []byte
			}
			var list []sent
			for i, id := range ids {
				o, _ := h.sb.Order(id)
				at := later.Add(time.Duration(i) * time.Minute)
				o.UpdatedAt = &at
				list = append(list, sent{uuid.NewString(), orderJSON(t, o)})
			}
			var wg sync.WaitGroup
			acks := make(chan string, 4*len(list))
			for range 4 {
				for _, s := range list {
					wg.Go(func() {
						r := h.hook("orders/updated", s.webhookID, s.body, webhookSecret)
						var a api.WebhookAck
						if r.Code == http.StatusOK {
							_ = json.Unmarshal(r.Body.Bytes(), &a)
						}
						acks <- fmt.Sprintf("%d %s", r.Code, a.Status)
					})
				}
			}
			wg.Wait()
			close(acks)
			count := map[string]int{}
			for a := range acks {
				count[a]++
			}
			if count["200 accepted"] != len(list) || count["200 duplicate"] != 3*len(list) {
				t.Errorf("answers = %v, want %d accepted and %d duplicates, all 200", count, len(list), 3*len(list))
			}
			eventually(t, 5*time.Second, "every order applied", func() bool {
				for i, id := range ids {
					if s, _ := h.stored(id); !s.UpdatedAt.Equal(later.Add(time.Duration(i) * time.Minute)) {
						return false
					}
				}
				return true
			})
		})
	}
}
