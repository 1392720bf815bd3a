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

// TestReview11FirstBatchSavedOverAnotherRunsProgress: run A started
// (SaveSyncRun, 0 pages, window S1); run C of another window started after
// it and saved 2 batches of its own. A's first batch (Pages 1) is still
// saved: advanceSyncRun takes any Pages <= 1 as a start "whatever is
// stored", so the run whose progress was taken over writes over the
// progress of the run that took it (the SyncStore contract: every write
// but SaveSyncRun's only while the progress is the writer's own).
// Fixed (8208e0f): a run's first batch follows its own start, as every later
// batch does, so the run that was taken over is the one that stops.
func TestReview11FirstBatchSavedOverAnotherRunsProgress(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "r11-first.myshopify.com")
		st := s.Orders()
		save := func(id int64, run orders.SyncRun) error {
			return saveSyncBatch(ctx, st, sh.ID, []orders.Order{order(id, 7, base, "paid")}, run)
		}
		a := orders.SyncRun{ID: "run-a", StartedAt: base, Checkpoint: "a0"}
		if err := st.SaveSyncRun(ctx, sh.ID, a); err != nil {
			t.Fatal(err)
		}
		sinceC := base.Add(-24 * time.Hour)
		c := orders.SyncRun{ID: "run-c", Since: sinceC, StartedAt: base.Add(time.Minute), Checkpoint: "c0"}
		if err := st.SaveSyncRun(ctx, sh.ID, c); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 2; i++ {
			c.Pages, c.Orders, c.Checkpoint = i, i, []string{"", "c1", "c2"}[i]
			if err := save(int64(10+i), c); err != nil {
				t.Fatal(err)
			}
		}
		a1 := a
		a1.Pages, a1.Orders, a1.Checkpoint = 1, 1, "a1"
		if err := save(1, a1); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("A's first batch after C took over: %v, want ErrSyncRunMoved", err)
		}
		got, _, err := st.SyncRun(ctx, sh.ID)
		if err != nil || got.ID != "run-c" || got.Checkpoint != "c2" || got.Pages != 2 || !got.Since.Equal(sinceC) {
			t.Errorf("stored %+v, %v; want C's progress (c2, 2 pages) kept", got, err)
		}
		// Likewise after a claim: B resumes A's started run (0 pages) and
		// saves a batch; A's first batch takes the progress back.
		if err := st.SaveSyncRun(ctx, sh.ID, a); err != nil {
			t.Fatal(err)
		}
		stored, _, _ := st.SyncRun(ctx, sh.ID)
		if err := st.ClaimSyncRun(ctx, sh.ID, stored, "run-b"); err != nil {
			t.Fatal(err)
		}
		b1 := stored
		b1.ID, b1.Pages, b1.Orders, b1.Checkpoint = "run-b", 1, 1, "a1"
		if err := save(1, b1); err != nil {
			t.Fatal(err)
		}
		b2 := b1
		b2.Pages, b2.Orders, b2.Checkpoint = 2, 2, "a2"
		if err := save(2, b2); err != nil {
			t.Fatal(err)
		}
		if err := save(1, a1); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("A's first batch after B claimed its run: %v, want ErrSyncRunMoved", err)
		}
		if got, _, _ := st.SyncRun(ctx, sh.ID); got.ID != "run-b" || got.Pages != 2 || got.Checkpoint != "a2" {
			t.Errorf("stored %+v; want B's progress (a2, 2 pages) kept", got)
		}
	})
}

// TestReview11CheckMigration00022DownUpKeepsRows (passes; held up): a shop's progress survives
// 00022's Down (SQLite DROP COLUMN) and Up, comes back as a legacy row
// (run_id ”), and a resume can claim and move it on.
func TestReview11CheckMigration00022DownUpKeepsRows(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := storetest.New(t, kind)
			sh := shop(t, s, "r11-migrate.myshopify.com")
			st := s.Orders()
			since := base.Add(-48 * time.Hour)
			run := orders.SyncRun{ID: "run-x", Since: since, StartedAt: base, Checkpoint: "cp3", Pages: 3, Orders: 3}
			if err := st.SaveSyncRun(ctx, sh.ID, run); err != nil {
				t.Fatal(err)
			}
			if err := s.MigrateToForTest(ctx, 21, true); err != nil {
				t.Fatalf("down to 21: %v", err)
			}
			var pages int
			var cp string
			if err := s.QueryRowForTest("SELECT pages, checkpoint FROM sync_runs WHERE shop_id = ?", []any{sh.ID}, &pages, &cp); err != nil || pages != 3 || cp != "cp3" {
				t.Fatalf("after down: %d %q %v", pages, cp, err)
			}
			var id string
			if err := s.QueryRowForTest("SELECT run_id FROM sync_runs WHERE shop_id = ?", []any{sh.ID}, &id); err == nil {
				t.Errorf("run_id still there after down")
			}
			if err := s.MigrateToForTest(ctx, 22, false); err != nil {
				t.Fatalf("up to 22: %v", err)
			}
			got, found, err := st.SyncRun(ctx, sh.ID)
			if err != nil || !found || got.ID != "" || got.Pages != 3 || got.Checkpoint != "cp3" || !got.Since.Equal(since) {
				t.Fatalf("after up: %+v %v %v", got, found, err)
			}
			if err := st.ClaimSyncRun(ctx, sh.ID, got, "run-y"); err != nil {
				t.Fatalf("claim of the legacy row: %v", err)
			}
			next := got
			next.ID, next.Pages, next.Orders, next.Checkpoint = "run-y", 4, 4, "cp4"
			b, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(4, 7, base, "paid")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.SaveSyncBatch(ctx, sh.ID, b, next); err != nil {
				t.Fatalf("batch after claim: %v", err)
			}
		})
	}
}
