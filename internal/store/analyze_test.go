package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// TestPlannerStatsNeverHoldABatch (review of eab9003): the statistics a
// backfill refreshes are an optimization. ANALYZE needs SHARE UPDATE
// EXCLUSIVE on each table, which a VACUUM, a CREATE INDEX CONCURRENTLY or
// another ANALYZE holds; a batch's save takes no part in it, and the
// refresh gives up within its 1 s lock timeout rather than wait for as
// long as the holder runs.
func TestPlannerStatsNeverHoldABatch(t *testing.T) {
	t.Parallel()
	s := storetest.New(t, "postgres")
	ctx := context.Background()
	shop, err := tenant.NewService(s.Tenants()).Bootstrap(ctx, "analyze.myshopify.com", "key-analyze-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	lockTx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lockTx.Rollback(ctx)
	if _, err := lockTx.Exec(ctx, "LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Orders().SaveSyncRun(ctx, shop.ID, orders.SyncRun{StartedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	run := orders.SyncRun{Checkpoint: "cp-1", Pages: 1, StartedAt: time.Now().UTC()}
	if err := saveSyncBatch(ctx, s.Orders(), shop.ID, nil, run); err != nil {
		t.Fatalf("save batch 1: %v", err)
	}
	if took := time.Since(start); took > 900*time.Millisecond { // below the 1 s lock timeout it would wait out
		t.Errorf("SaveSyncBatch took %s beside the lock", took.Round(time.Millisecond))
	}
	start = time.Now()
	err = s.Orders().RefreshPlannerStats(ctx)
	took := time.Since(start)
	if err == nil || took > 3*time.Second {
		t.Errorf("RefreshPlannerStats beside the lock: %v after %s, want its lock timeout's error within 3 s", err, took.Round(time.Millisecond))
	}
	lockTx.Rollback(ctx)
	if err := s.Orders().RefreshPlannerStats(ctx); err != nil {
		t.Errorf("RefreshPlannerStats without the lock: %v", err)
	}
}
