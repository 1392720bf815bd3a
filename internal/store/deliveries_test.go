package store_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

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

// TestRecordDeliveries: the group commit's INSERT says of each delivery
// whether it is new — against rows recorded before (one at a time or in an
// earlier batch) and within the batch itself — and records pending ones
// with what ClaimPending needs; a row that cannot be stored (a shop that
// is gone) fails the batch, which records nothing.
func TestRecordDeliveries(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "batched.myshopify.com")
		if _, err := s.RecordDelivery(ctx, webhooks.Delivery{ShopID: sh.ID, WebhookID: "old", Topic: "orders/updated", ReceivedAt: base}, nil); err != nil {
			t.Fatal(err)
		}
		d := func(id, event string, payload string) webhooks.Delivery {
			w := webhooks.Delivery{ShopID: sh.ID, WebhookID: id, EventID: event, Topic: "orders/updated", ReceivedAt: base}
			if payload != "" {
				w.Payload, w.TriggeredAt = []byte(payload), base.Add(-time.Minute)
			}
			return w
		}
		fresh, err := s.RecordDeliveries(ctx, []webhooks.Delivery{
			d("a", "e1", `{"id":1}`), d("old", "", `{"id":2}`), d("b", "e1", `{"id":3}`), d("a", "e1", `{"id":1}`),
			{ShopID: sh.ID, WebhookID: "r", Topic: "orders/paid", ReceivedAt: base, Refusal: "the body is not a JSON object"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, false, true, false, true}; !slices.Equal(fresh, want) {
			t.Errorf("fresh = %v, want %v", fresh, want)
		}
		fresh, err = s.RecordDeliveries(ctx, []webhooks.Delivery{d("b", "e1", `{"id":3}`), d("c", "", `{"id":4}`)})
		if err != nil || !slices.Equal(fresh, []bool{false, true}) {
			t.Errorf("second batch: fresh %v, %v; want [false true]", fresh, err)
		}
		claimed, err := s.ClaimPending(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, p := range claimed {
			got[p.WebhookID] = string(p.Payload)
			if p.ShopDomain != sh.Domain || !p.TriggeredAt.Equal(base.Add(-time.Minute)) || !p.ReceivedAt.Equal(base) {
				t.Errorf("claimed %s: domain %q, triggered %s, received %s", p.WebhookID, p.ShopDomain, p.TriggeredAt, p.ReceivedAt)
			}
			if p.WebhookID == "a" && p.EventID != "e1" {
				t.Errorf("event id = %q", p.EventID)
			}
		}
		if want := map[string]string{"a": `{"id":1}`, "b": `{"id":3}`, "c": `{"id":4}`}; !maps.Equal(got, want) {
			t.Errorf("pending = %v, want %v (the refusal and the old delivery have no body)", got, want)
		}
		if _, err := s.RecordDeliveries(ctx, []webhooks.Delivery{d("e", "", `{"id":5}`), {ShopID: sh.ID + 1000, WebhookID: "f", Topic: "orders/updated", ReceivedAt: base}}); err == nil {
			t.Fatal("a delivery of a shop that does not exist was recorded")
		}
		if fresh, err := s.RecordDeliveries(ctx, []webhooks.Delivery{d("e", "", `{"id":5}`)}); err != nil || !fresh[0] {
			t.Errorf("the failed batch's other delivery was recorded anyway: fresh %v, %v", fresh, err)
		}
	})
}
