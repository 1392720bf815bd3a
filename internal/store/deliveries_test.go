package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// TestRecordDelivery: deliveries are deduplicated on the webhook id, not
// the event id one merchant action's deliveries share; a refusal is
// recorded without a job; a failed enqueue records nothing.
func TestRecordDelivery(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "deliveries.myshopify.com")
		jobs := 0
		enqueue := func(context.Context, any) error { jobs++; return nil }
		record := func(d webhooks.Delivery, enqueue func(context.Context, any) error) bool {
			t.Helper()
			d.ShopID, d.ReceivedAt = sh.ID, base
			fresh, err := s.RecordDelivery(ctx, d, enqueue)
			if err != nil {
				t.Fatal(err)
			}
			return fresh
		}
		if !record(webhooks.Delivery{WebhookID: "w1", EventID: "e1", Topic: "orders/updated"}, enqueue) {
			t.Fatal("first delivery not fresh")
		}
		if record(webhooks.Delivery{WebhookID: "w1", EventID: "e1", Topic: "orders/updated"}, enqueue) {
			t.Error("Shopify's retry (same webhook id) recorded twice")
		}
		other := shop(t, s, "other-deliveries.myshopify.com")
		if fresh, err := s.RecordDelivery(ctx, webhooks.Delivery{ShopID: other.ID, WebhookID: "w1", EventID: "e1", Topic: "orders/updated", ReceivedAt: base}, enqueue); err != nil || fresh {
			t.Errorf("a webhook id seen for one shop, resent under another's domain: fresh %t, %v", fresh, err)
		}
		if !record(webhooks.Delivery{WebhookID: "w2", EventID: "e1", Topic: "refunds/create"}, enqueue) {
			t.Error("the second topic of one merchant action (same event id) was dropped")
		}
		if !record(webhooks.Delivery{WebhookID: "w3", Topic: "orders/paid"}, enqueue) {
			t.Error("a delivery without an event id was not recorded")
		}
		if jobs != 3 {
			t.Errorf("jobs enqueued = %d, want 3", jobs)
		}
		if !record(webhooks.Delivery{WebhookID: "w4", Topic: "orders/updated", Refusal: "the body is not a JSON object"}, nil) {
			t.Error("a refusal was not recorded")
		}
		if record(webhooks.Delivery{WebhookID: "w4", Topic: "orders/updated", Refusal: "the body is not a JSON object"}, nil) {
			t.Error("the retry of a refused delivery is not a duplicate")
		}
		boom := errors.New("queue down")
		if _, err := s.RecordDelivery(ctx, webhooks.Delivery{ShopID: sh.ID, WebhookID: "w5", Topic: "orders/updated", ReceivedAt: base},
			func(context.Context, any) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the enqueue error", err)
		}
		if !record(webhooks.Delivery{WebhookID: "w5", Topic: "orders/updated"}, enqueue) {
			t.Error("a delivery whose job failed to enqueue was recorded anyway")
		}
	})
}
