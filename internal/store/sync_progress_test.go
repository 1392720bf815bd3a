package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestSyncBatchAfterLostBatchesStops: a batch whose run's stored progress
// is not the batch before it (another sync of the shop moved it) saves
// nothing and stops the run: its checkpoint would skip orders nobody
// stored. A run's first batch follows its start (SaveSyncRun, 0 pages),
// and not another run's end.
func TestSyncBatchAfterLostBatchesStops(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "lost.myshopify.com")
		st := s.Orders()
		// An earlier, finished run: a new run's first batch does not
		// follow it; the new run's start replaces it.
		if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{ID: "old", StartedAt: base, Pages: 0, Orders: 9, Finished: true}); err != nil {
			t.Fatal(err)
		}
		save := func(id int64, run orders.SyncRun) error {
			return saveSyncBatch(ctx, st, sh.ID, []orders.Order{order(id, 7, base, "paid")}, run)
		}
		run := orders.SyncRun{ID: "new", StartedAt: base.Add(time.Hour), Pages: 1, Orders: 1, Checkpoint: "cp1"}
		if err := save(1, run); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Fatalf("a first batch before its run's start: %v, want ErrSyncRunMoved", err)
		}
		if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{ID: "new", StartedAt: run.StartedAt}); err != nil {
			t.Fatal(err)
		}
		if err := save(1, run); err != nil {
			t.Fatalf("the run's first batch: %v", err)
		}
		// Batch 2 is lost; batch 3 arrives.
		lost := run
		lost.Pages, lost.Orders, lost.Checkpoint = 3, 3, "cp3"
		if err := save(3, lost); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Fatalf("a batch after a lost one: %v, want ErrSyncRunMoved", err)
		}
		if _, err := st.GetOrder(ctx, sh.ID, 3); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("the refused batch's order was stored: %v", err)
		}
		if got, _, err := st.SyncRun(ctx, sh.ID); err != nil || got.Checkpoint != "cp1" || got.Pages != 1 {
			t.Errorf("stored run %+v, %v; want it still at cp1 (where a resumed run starts)", got, err)
		}
		next := run
		next.Pages, next.Orders, next.Checkpoint = 2, 2, "cp2"
		if err := save(2, next); err != nil {
			t.Errorf("the batch after the stored one: %v", err)
		}
	})
}
