package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// BenchmarkGetOrder measures GET /orders/{id} served from the store (the
// copy is fresh, so Shopify is not called), next to /healthz through the
// same router and middleware as the baseline. Compare the two as a ratio:
//
//	go test -run '^$' -bench . -benchmem ./api/
func BenchmarkGetOrder(b *testing.B) {
	for _, kind := range storetest.Kinds {
		h := newHarness(b, harnessOpts{kind: kind})
		h.backfill()
		path := fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit)
		serve := func(b *testing.B, path string, key string) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.router.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		}
		b.Run(kind+"/baseline_healthz", func(b *testing.B) { serve(b, "/healthz", "") })
		b.Run(kind+"/get_order_from_store", func(b *testing.B) { serve(b, path, keyA) })
		b.Run(kind+"/list_orders_from_store", func(b *testing.B) { serve(b, "/orders?limit=20", keyA) })
		if n := h.sb.Calls(shopifysandbox.OpOrderGet); n != 0 {
			b.Errorf("Shopify was called %d times: the benchmark measured read-through, not the store", n)
		}
		// Every copy older than the TTL: each view schedules a refresh
		// (one pending at a time) and answers from the store.
		stale := newHarness(b, harnessOpts{kind: kind, ttl: time.Nanosecond})
		stale.backfill()
		serve = func(b *testing.B, path string, key string) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				stale.router.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		}
		b.Run(kind+"/get_stale_order_from_store", func(b *testing.B) { serve(b, path, keyA) })
	}
}

// BenchmarkWebhookIngest measures POST /webhooks/shopify of signed
// orders/updated deliveries, each a distinct X-Shopify-Webhook-Id, from 32
// concurrent senders (the bench's wrk connections) on 2 cores, with the
// apply workers stopped: the cost of verifying, checking and recording.
//
//	go test -run '^$' -bench WebhookIngest -cpuprofile cpu.out ./api/
func BenchmarkWebhookIngest(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			h := newHarness(b, harnessOpts{kind: kind, noJobs: true})
			h.backfill()
			o, ok := h.sb.Order(shopifysandbox.OrderInTransit)
			if !ok {
				b.Fatal("no sandbox order")
			}
			body := orderJSON(b, o)
			sig := webhooksig.Sign([]byte(webhookSecret), body)
			b.SetParallelism(16) // 32 senders on 2 cores
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Shopify-Topic", "orders/updated")
					req.Header.Set("X-Shopify-Shop-Domain", shopA)
					req.Header.Set("X-Shopify-Webhook-Id", uuid.NewString())
					req.Header.Set("X-Shopify-Hmac-Sha256", sig)
					rec := httptest.NewRecorder()
					h.router.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
