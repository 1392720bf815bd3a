package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// hookAs sends a webhook signed with the app's secret under a shop domain
// of the caller's choosing: X-Shopify-Shop-Domain is not signed, so anyone
// holding one signed delivery can resend it under another shop's domain
// and with another webhook id.
func (h *harness) hookAs(domain, topic, webhookID string, body []byte) response {
	h.t.Helper()
	return h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader(string(body)), "Content-Type", "application/json",
		"X-Shopify-Topic", topic, "X-Shopify-Shop-Domain", domain, "X-Shopify-Webhook-Id", webhookID,
		"X-Shopify-Event-Id", uuid.NewString(), "X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), body))
}

// settled reports that every delivery recorded has been applied: none is
// pending (deliveries that carry their order are applied in batches) and
// every apply job ran at least once to an end or a retry.
func (h *harness) settled() bool {
	h.t.Helper()
	var n int
	q := "SELECT (SELECT count(*) FROM webhook_deliveries WHERE payload IS NOT NULL AND applied_at IS NULL) + " +
		"(SELECT count(*) FROM river_job WHERE kind = 'apply_webhook' AND state NOT IN ('completed', 'retryable', 'cancelled', 'discarded'))"
	if err := h.store.SQL().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n == 0
}

// finishedJobs counts apply jobs that ran at least once to an end or a
// retry (not waiting to run).
func (h *harness) finishedJobs() int {
	h.t.Helper()
	var n int
	q := "SELECT count(*) FROM river_job WHERE kind = 'apply_webhook' AND state IN ('completed', 'retryable', 'cancelled', 'discarded')"
	if err := h.store.SQL().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// TestWebhookBoundToItsShop is the regression test of issue 12: shop A's
// signed orders/create resent with shop B's domain does not land in B,
// whether it repeats A's webhook id (a duplicate across shops) or carries
// a new one (the order is confirmed through B's own token, and B's Shopify
// has no such order); compliance requests naming another shop are
// refused; an unknown shop is a 404 that stores nothing.
func TestWebhookBoundToItsShop(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		h.backfill()
		created := now.Add(time.Hour)
		o := goshopify.Order{Id: 777000010, Name: "#2010", OrderNumber: 2010, Currency: "USD", CreatedAt: &created, UpdatedAt: &created,
			FinancialStatus: "paid", Email: "mallory-target@example.com", Customer: &goshopify.Customer{Id: 207119999, Email: "mallory-target@example.com"},
			LineItems: []goshopify.LineItem{{Id: 1, Title: "Mug", Quantity: 1}}}
		h.sb.AddOrder(o, nil, nil)
		body := orderJSON(t, o)
		webhookID := uuid.NewString()
		ack(t, h.hookAs(shopA, "orders/create", webhookID, body), "accepted")
		eventually(t, 3*time.Second, "the order in shop A", func() bool { _, ok := h.stored(o.Id); return ok })

		inB := func() bool {
			_, err := h.store.Orders().GetOrder(context.Background(), h.shopB.ID, int64(o.Id))
			return err == nil
		}
		// The same delivery under B's domain: its webhook id was seen.
		ack(t, h.hookAs(shopB, "orders/create", webhookID, body), "duplicate")
		// With a new webhook id: recorded, but the order is confirmed
		// through B's token before anything is stored.
		ack(t, h.hookAs(shopB, "orders/create", uuid.NewString(), body), "accepted")
		ack(t, h.hookAs(shopB, "orders/updated", uuid.NewString(), body), "accepted")
		eventually(t, 5*time.Second, "the replays applied", h.settled)
		if inB() {
			t.Fatal("shop A's order landed in shop B")
		}
		var list struct {
			Orders []struct {
				ID int64 `json:"id"`
			} `json:"orders"`
		}
		h.get("/orders?email=mallory-target@example.com", keyB).decode(t, &list)
		if len(list.Orders) != 0 {
			t.Errorf("shop B's key lists shop A's order: %+v", list.Orders)
		}
		h.get(fmt.Sprintf("/customers/%d/timeline", o.Customer.Id), keyB).decode(t, &list)
		if r := h.get(fmt.Sprintf("/customers/%d/timeline", o.Customer.Id), keyB); strings.Contains(r.Body.String(), "777000010") {
			t.Errorf("shop B's key sees shop A's order in a timeline: %s", r.Body)
		}

		// Compliance requests act only on the shop their body names.
		redactAlice := []byte(fmt.Sprintf(`{"shop_domain":%q,"customer":{"id":%d},"orders_to_redact":[%d]}`, shopA, shopifysandbox.Alice.Id, shopifysandbox.OrderAuthorized))
		ack(t, h.hookAs(shopB, "customers/redact", uuid.NewString(), redactAlice), "refused")
		ack(t, h.hookAs(shopB, "shop/redact", uuid.NewString(), []byte(`{"shop_id":1,"shop_domain":"shop-a.myshopify.com"}`)), "refused")
		ack(t, h.hookAs(shopA, "shop/redact", uuid.NewString(), []byte(`{"shop_id":1,"shop_domain":"shop-b.myshopify.com"}`)), "refused")
		if _, err := h.store.Tenants().ShopByDomain(context.Background(), shopB); err != nil {
			t.Errorf("shop B was erased by a redaction naming shop A: %v", err)
		}

		// An unknown shop: 404, nothing recorded.
		before, _, jobs := h.deliveries(t)
		problem(t, h.hookAs("unknown-shop.myshopify.com", "orders/create", uuid.NewString(), body), http.StatusNotFound, "unknown_shop")
		if after, _, jobsAfter := h.deliveries(t); after != before || jobsAfter != jobs {
			t.Errorf("a delivery for an unknown shop stored something: %d→%d deliveries, %d→%d jobs", before, after, jobs, jobsAfter)
		}
	})
}
