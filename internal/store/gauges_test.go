package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// gathered reads one scrape: each series as name{label=value,...} → value.
func gathered(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			out[key] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

func TestGauges(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		now := time.Now().UTC()
		for i, act := range []struct {
			kind, status string
			age          time.Duration
		}{
			{"refund", "succeeded", time.Hour}, {"refund", "succeeded", time.Minute}, {"refund", "failed", time.Minute},
			{"cancel", "pending", 7 * time.Minute}, {"refund", "pending", time.Minute},
		} {
			err := s.Orders().CreateAction(ctx, orders.Action{
				ID: "a" + string(rune('0'+i)), ShopID: a.ID, OrderID: int64(100 + i), Kind: orders.ActionKind(act.kind),
				Status: orders.ActionStatus(act.status), AgentID: "agent", CreatedAt: now.Add(-act.age), UpdatedAt: now.Add(-act.age),
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// Two deliveries waiting to be applied, one applied, one refused.
		hooks := []webhooks.Delivery{
			{ShopID: a.ID, WebhookID: "w1", Topic: "orders/updated", ReceivedAt: now.Add(-3 * time.Minute), Payload: []byte(`{"id":1}`)},
			{ShopID: a.ID, WebhookID: "w2", Topic: "orders/updated", ReceivedAt: now.Add(-time.Minute), Payload: []byte(`{"id":2}`)},
			{ShopID: a.ID, WebhookID: "w3", Topic: "orders/updated", ReceivedAt: now.Add(-time.Hour), Payload: []byte(`{"id":3}`)},
			{ShopID: a.ID, WebhookID: "w4", Topic: "orders/updated", ReceivedAt: now.Add(-time.Hour), Refusal: "the body is empty"},
		}
		if _, err := s.RecordDeliveries(ctx, hooks); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishPending(ctx, []string{"w3"}, now); err != nil {
			t.Fatal(err)
		}
		got := gathered(t, s.Gauges(slog.New(slog.DiscardHandler)))
		if age := got["orderdesk_webhook_deliveries_pending_oldest_age_seconds"]; age < 3*60-5 || age > 3*60+60 {
			t.Errorf("oldest pending delivery's age = %v, want about 180 s", age)
		}
		for key, want := range map[string]float64{
			"orderdesk_webhook_deliveries_pending":           2,
			"orderdesk_actions,kind=refund,status=succeeded": 2,
			"orderdesk_actions,kind=refund,status=failed":    1,
			"orderdesk_actions,kind=cancel,status=pending":   1,
			"orderdesk_actions,kind=refund,status=pending":   1,
			"orderdesk_event_deliveries_pending":             0,
			"orderdesk_store_gauges_up":                      1,
		} {
			if got[key] != want {
				t.Errorf("%s = %v, want %v (all: %v)", key, got[key], want, got)
			}
		}
		if age := got["orderdesk_actions_pending_oldest_age_seconds"]; age < 7*60-5 || age > 7*60+60 {
			t.Errorf("oldest pending age = %v, want about 420 s", age)
		}
		if _, ok := got["orderdesk_event_deliveries_pending_oldest_age_seconds"]; !ok {
			t.Errorf("no event backlog age: %v", got)
		}
	})
}

// A database that cannot answer reports up=0, not a failed scrape.
func TestGaugesDown(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		g := s.Gauges(slog.New(slog.DiscardHandler))
		_ = s.Close()
		if got := gathered(t, g); got["orderdesk_store_gauges_up"] != 0 || len(got) != 1 {
			t.Errorf("closed database: %v", got)
		}
	})
}
