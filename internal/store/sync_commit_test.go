package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// TestSyncBatchCommitsWithoutWaitingForTheDisk: on Postgres a backfill's
// batch, saved with its checkpoint, commits asynchronously (a server crash
// loses batch and checkpoint together, and the resumed run reads them
// again); every other write, the end of the run included, waits for the
// disk. Triggers deferred to the commit record the setting it ran under.
func TestSyncBatchCommitsWithoutWaitingForTheDisk(t *testing.T) {
	t.Parallel()
	s := storetest.New(t, "postgres")
	for _, q := range []string{
		`CREATE TABLE commit_modes (tbl text, mode text)`,
		`CREATE FUNCTION record_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO commit_modes VALUES (TG_TABLE_NAME, current_setting('synchronous_commit')); RETURN NULL; END $$`,
		// Deferred: they run at the commit, under the setting it commits with.
		`CREATE CONSTRAINT TRIGGER record_commit_mode AFTER INSERT OR UPDATE ON sync_runs DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_commit_mode()`,
		`CREATE CONSTRAINT TRIGGER record_commit_mode AFTER INSERT OR UPDATE ON orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_commit_mode()`,
	} {
		if err := s.ExecForTest(q); err != nil {
			t.Fatal(err)
		}
	}
	modes := func() []string {
		t.Helper()
		var out []string
		rows, err := s.Pool().Query(context.Background(), `WITH d AS (DELETE FROM commit_modes RETURNING tbl || ':' || mode AS m) SELECT DISTINCT m FROM d ORDER BY m`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}
	ctx := context.Background()
	sh := shop(t, s, "commit.myshopify.com")
	st := s.Orders()
	run := orders.SyncRun{StartedAt: base, Checkpoint: "cp0"}
	if err := st.SaveSyncRun(ctx, sh.ID, run); err != nil {
		t.Fatal(err)
	}
	if got := modes(); len(got) != 1 || got[0] != "sync_runs:on" {
		t.Errorf("starting the run: %v, want sync_runs:on", got)
	}
	prepared, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(1, 7, base, "paid")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run.Pages, run.Orders, run.Checkpoint = 1, 1, "cp1"
	if err := st.SaveSyncBatch(ctx, sh.ID, prepared, run); err != nil {
		t.Fatal(err)
	}
	if got := modes(); len(got) != 2 || got[0] != "orders:off" || got[1] != "sync_runs:off" {
		t.Errorf("a batch with its checkpoint: %v, want orders:off and sync_runs:off", got)
	}
	if err := st.SaveOrders(ctx, sh.ID, []orders.Order{order(1, 7, base.Add(time.Hour), "refunded")}, nil, false); err != nil {
		t.Fatal(err)
	}
	if got := modes(); len(got) != 1 || got[0] != "orders:on" {
		t.Errorf("a webhook's or a view's save: %v, want orders:on (the setting was LOCAL to the batch)", got)
	}
	// The paged backfill's last page finishes the run in its batch.
	prepared, err = st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(2, 7, base, "paid")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run.Pages, run.Orders, run.Checkpoint, run.Finished = 2, 2, "", true
	if err := st.SaveSyncBatch(ctx, sh.ID, prepared, run); err != nil {
		t.Fatal(err)
	}
	if got := modes(); len(got) != 2 || got[0] != "orders:on" || got[1] != "sync_runs:on" {
		t.Errorf("a batch that finishes the run: %v, want orders:on and sync_runs:on (durable when sync says done)", got)
	}
	if err := st.SaveSyncRun(ctx, sh.ID, run); err != nil {
		t.Fatal(err)
	}
	if got := modes(); len(got) != 1 || got[0] != "sync_runs:on" {
		t.Errorf("the bulk run's end: %v, want sync_runs:on (a finished run is durable when sync says done)", got)
	}
}

// TestSyncBatchAfterLostBatchesStops: a batch whose run's stored progress
// is not the batch before it (a database that restarted under a running
// backfill lost the batches committed last, with their checkpoint; or
// another sync of the shop moved it) saves nothing and stops the run: its
// checkpoint would skip orders nobody stored. The run's first batch starts
// it whatever is stored.
func TestSyncBatchAfterLostBatchesStops(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "lost.myshopify.com")
		st := s.Orders()
		// An earlier, finished run: a new run's first batch replaces it.
		if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{StartedAt: base, Pages: 9, Orders: 9, Finished: true}); err != nil {
			t.Fatal(err)
		}
		save := func(id int64, run orders.SyncRun) error {
			t.Helper()
			b, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(id, 7, base, "paid")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return st.SaveSyncBatch(ctx, sh.ID, b, run)
		}
		run := orders.SyncRun{StartedAt: base.Add(time.Hour), Pages: 1, Orders: 1, Checkpoint: "cp1"}
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
