package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
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
	run.Finished, run.Checkpoint = true, ""
	if err := st.SaveSyncRun(ctx, sh.ID, run); err != nil {
		t.Fatal(err)
	}
	if got := modes(); len(got) != 1 || got[0] != "sync_runs:on" {
		t.Errorf("the run's end: %v, want sync_runs:on (a finished run is durable when sync says done)", got)
	}
}
