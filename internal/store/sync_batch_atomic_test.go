package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// refuseEvents makes every insert into events fail, as a statement that
// fails after the batch's orders and timeline were written would.
func refuseEvents(t *testing.T, s *store.Store) (undo func()) {
	t.Helper()
	create, drop := []string{`CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'events refused'); END`}, []string{`DROP TRIGGER refuse_events`}
	if s.Dialect() == "postgres" {
		create = []string{
			`CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events refused'; END $$`,
			`CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_events()`,
		}
		drop = []string{`DROP TRIGGER refuse_events ON events`, `DROP FUNCTION refuse_events()`}
	}
	for _, q := range create {
		if err := s.ExecForTest(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, q := range drop {
			if err := s.ExecForTest(q); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestSyncBatchFailingMidwayLeavesNothing: a backfill batch whose orders
// and timeline were written when a later statement (its events' insert)
// fails keeps none of them, nor its checkpoint; saved again once the
// statement succeeds, the batch is saved whole, its facts silent history.
func TestSyncBatchFailingMidwayLeavesNothing(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "midway.myshopify.com")
		st := s.Orders()
		run0 := orders.SyncRun{StartedAt: base, Checkpoint: "cp0"}
		if err := st.SaveSyncRun(ctx, sh.ID, run0); err != nil {
			t.Fatal(err)
		}
		list := []orders.Order{order(1, 7, base, "paid"), order(2, 7, base.Add(time.Minute), "paid")}
		timeline := []orders.TimelineEvent{
			{ID: "order:1:placed", CustomerID: 7, OrderID: 1, OrderName: "#1001", Type: "order.placed", OccurredAt: base, Summary: "Order #1001 placed", Data: map[string]any{}},
			{ID: "order:2:placed", CustomerID: 7, OrderID: 2, OrderName: "#1002", Type: "order.placed", OccurredAt: base.Add(time.Minute), Summary: "Order #1002 placed", Data: map[string]any{}},
		}
		prepared, err := st.PrepareSyncBatch(ctx, sh.ID, list, timeline)
		if err != nil {
			t.Fatal(err)
		}
		run1 := run0
		run1.Pages, run1.Orders, run1.Checkpoint = 1, 2, "cp1"
		undo := refuseEvents(t, s)
		if err := st.SaveSyncBatch(ctx, sh.ID, prepared, run1); err == nil {
			t.Fatal("the batch saved though its events could not be")
		}
		for _, id := range []int64{1, 2} {
			if _, err := st.GetOrder(ctx, sh.ID, id); !errors.Is(err, orders.ErrNotFound) {
				t.Errorf("order %d of the failed batch was kept: %v", id, err)
			}
		}
		if tl, err := st.Timeline(ctx, sh.ID, 7, nil, 10); err != nil || len(tl) != 0 {
			t.Errorf("timeline of the failed batch = %v, %v", tl, err)
		}
		if got, _, err := st.SyncRun(ctx, sh.ID); err != nil || got.Checkpoint != "cp0" {
			t.Errorf("run after the failed batch = %+v, %v; want cp0", got, err)
		}
		undo()
		if err := st.SaveSyncBatch(ctx, sh.ID, prepared, run1); err != nil {
			t.Fatal(err)
		}
		if got, _, err := st.SyncRun(ctx, sh.ID); err != nil || got.Checkpoint != "cp1" || got.Orders != 2 {
			t.Errorf("run after the batch = %+v, %v", got, err)
		}
		if tl, err := st.Timeline(ctx, sh.ID, 7, nil, 10); err != nil || len(tl) != 2 {
			t.Errorf("timeline after the batch = %v, %v", tl, err)
		}
		if evs := listEvents(t, s, sh.ID, events.Filter{}); len(evs) != 0 {
			t.Errorf("events of history were listed: %v", types(evs))
		}
	})
}

// TestSyncBatchRacingWebhooks: backfill batches of older copies of orders
// saved while webhooks store newer copies of the same orders (each writer
// touching many orders in one transaction) keep every newer copy, report
// each newer fact once, and neither writer fails (no deadlock).
func TestSyncBatchRacingWebhooks(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "race.myshopify.com")
		st := s.Orders()
		const n, rounds = 60, 4
		var older, newer [][]orders.Order
		for r := range rounds {
			var o, w []orders.Order
			for i := range n {
				id := int64(r*n + i + 1)
				base := order(id, 100+id%7, base.Add(time.Duration(id)*time.Minute), "paid")
				o = append(o, base)
				w = append(w, withRefund(base, 1000+id, "5.00"))
			}
			// The webhooks' batch names the orders in another order.
			for i, j := 0, len(w)-1; i < j; i, j = i+1, j-1 {
				w[i], w[j] = w[j], w[i]
			}
			older, newer = append(older, o), append(newer, w)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*rounds)
		wg.Add(2)
		if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{StartedAt: base}); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer wg.Done()
			for r := range rounds {
				run := orders.SyncRun{StartedAt: base, Pages: r + 1, Orders: (r + 1) * n, Checkpoint: fmt.Sprintf("cp%d", r+1)}
				if err := saveSyncBatch(ctx, st, sh.ID, older[r], run); err != nil {
					errs <- fmt.Errorf("backfill batch %d: %w", r+1, err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for r := range rounds {
				if err := st.SaveOrders(ctx, sh.ID, newer[r], nil, false); err != nil {
					errs <- fmt.Errorf("webhooks %d: %w", r+1, err)
				}
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for r := range rounds {
			for _, w := range newer[r] {
				got, err := st.GetOrder(ctx, sh.ID, w.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !got.UpdatedAt.Equal(w.UpdatedAt) || len(got.Refunds) != 1 {
					t.Errorf("order %d: updated %s with %d refunds; want the webhook's newer copy", w.ID, got.UpdatedAt, len(got.Refunds))
				}
			}
		}
		refunded := listEvents(t, s, sh.ID, events.Filter{Type: events.TypeOrderRefunded, Limit: 1000})
		seen := map[int64]bool{}
		for _, e := range refunded {
			if seen[e.Order.ID] {
				t.Errorf("order %d's refund reported twice", e.Order.ID)
			}
			seen[e.Order.ID] = true
		}
		if len(seen) != n*rounds {
			t.Errorf("%d orders' refunds reported, want %d", len(seen), n*rounds)
		}
	})
}

// TestSyncBatchThroughTracedConnections: with tracing on, the store's
// connections are otelsql's wrappers of the driver's; a batch's array
// arguments (Postgres) still reach pgx as they are, inside a traced span.
func TestSyncBatchThroughTracedConnections(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			u := "sqlite:" + filepath.Join(t.TempDir(), "traced.db")
			if kind == "postgres" {
				u, _ = storetest.SchemaURL(t)
			}
			tp := sdktrace.NewTracerProvider()
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			ctx, span := tp.Tracer("test").Start(context.Background(), "backfill")
			defer span.End()
			s, err := store.Open(ctx, u, store.WithTracing(tp))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			sh := shop(t, s, "traced.myshopify.com")
			st := s.Orders()
			if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{StartedAt: base}); err != nil {
				t.Fatal(err)
			}
			run := orders.SyncRun{StartedAt: base, Pages: 1, Orders: 2, Checkpoint: "cp1"}
			if err := saveSyncBatch(ctx, st, sh.ID, []orders.Order{order(1, 7, base, "paid"), order(2, 8, base, "paid")}, run); err != nil {
				t.Fatal(err)
			}
			if err := st.SaveOrders(ctx, sh.ID, []orders.Order{withRefund(order(1, 7, base, "paid"), 70, "5.00")}, nil, false); err != nil {
				t.Fatal(err)
			}
			if got, err := st.GetOrder(ctx, sh.ID, 1); err != nil || len(got.Refunds) != 1 {
				t.Errorf("order 1 = %d refunds, %v; want the webhook's", len(got.Refunds), err)
			}
			if evs := listEvents(t, s, sh.ID, events.Filter{}); len(evs) != 1 || evs[0].Sequence != 3 {
				t.Errorf("events = %v", types(evs))
			}
		})
	}
}
