package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestSyncRunBelongsToItsRun: a shop's stored backfill progress names its
// run, and only that run moves it on. Two runs over different windows
// whose page counts line up: run A's batch after run B took over is
// refused, though it follows B's page count, and B's progress (its
// `since`, its checkpoint) is kept whole; A cannot store its end over B's
// either. Before run ids, A's batch was taken and the row kept B's `since`
// under A's checkpoint.
func TestSyncRunBelongsToItsRun(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "runs.myshopify.com")
		st := s.Orders()
		save := func(id int64, run orders.SyncRun) error {
			return saveSyncBatch(ctx, st, sh.ID, []orders.Order{order(id, 7, base, "paid")}, run)
		}
		sinceB := base.Add(-30 * 24 * time.Hour)
		a := orders.SyncRun{ID: "run-a", StartedAt: base, Checkpoint: "a0"}
		if err := st.SaveSyncRun(ctx, sh.ID, a); err != nil {
			t.Fatal(err)
		}
		a.Pages, a.Orders, a.Checkpoint = 1, 1, "a1"
		if err := save(1, a); err != nil {
			t.Fatal(err)
		}
		b := orders.SyncRun{ID: "run-b", Since: sinceB, StartedAt: base.Add(time.Minute), Checkpoint: "b0"}
		if err := st.SaveSyncRun(ctx, sh.ID, b); err != nil {
			t.Fatal(err)
		}
		b.Pages, b.Orders, b.Checkpoint = 1, 1, "b1"
		if err := save(11, b); err != nil {
			t.Fatal(err)
		}
		a2 := a
		a2.Pages, a2.Orders, a2.Checkpoint = 2, 2, "a2" // follows the stored 1 page: B's
		if err := save(2, a2); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Fatalf("A's batch after B took over: %v, want ErrSyncRunMoved", err)
		}
		if _, err := st.GetOrder(ctx, sh.ID, 2); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("A's refused batch's order was stored: %v", err)
		}
		if err := st.FinishSyncRun(ctx, sh.ID, a); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("A's end over B's progress: %v, want ErrSyncRunMoved", err)
		}
		got, _, err := st.SyncRun(ctx, sh.ID)
		if err != nil || got.ID != "run-b" || got.Checkpoint != "b1" || !got.Since.Equal(sinceB) || got.Pages != 1 || got.Finished {
			t.Fatalf("stored %+v, %v; want B's progress whole", got, err)
		}
		b2 := b
		b2.Pages, b2.Orders, b2.Checkpoint = 2, 2, "b2"
		if err := save(12, b2); err != nil {
			t.Fatalf("B's own next batch: %v", err)
		}
		b2.Checkpoint = ""
		if err := st.FinishSyncRun(ctx, sh.ID, b2); err != nil {
			t.Fatalf("B's end: %v", err)
		}
		if got, _, _ := st.SyncRun(ctx, sh.ID); !got.Finished || got.ID != "run-b" || got.Orders != 2 || got.Checkpoint != "" {
			t.Errorf("stored after B's end %+v", got)
		}
		if err := st.FinishSyncRun(ctx, sh.ID, b2); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("a second end: %v, want ErrSyncRunMoved", err)
		}
	})
}

// TestClaimSyncRun: a resume takes the stored progress over only as it
// read it: of two resumes of one run, the second's claim fails; the run
// that owned it can no longer move it; a finished run, or one moved on
// since it was read, cannot be claimed; a row from before run ids (id "")
// can.
func TestClaimSyncRun(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "claim.myshopify.com")
		st := s.Orders()
		legacy := orders.SyncRun{StartedAt: base, Checkpoint: "cp0"} // run_id '' as 00022 leaves old rows
		if err := st.SaveSyncRun(ctx, sh.ID, legacy); err != nil {
			t.Fatal(err)
		}
		stored, _, err := st.SyncRun(ctx, sh.ID)
		if err != nil || stored.ID != "" {
			t.Fatalf("stored %+v, %v", stored, err)
		}
		if err := st.ClaimSyncRun(ctx, sh.ID, stored, ""); !errors.Is(err, orders.ErrInvalidInput) {
			t.Errorf("a claim without an id: %v, want ErrInvalidInput", err)
		}
		if err := st.ClaimSyncRun(ctx, sh.ID, stored, "r1"); err != nil {
			t.Fatalf("claim of a row from before run ids: %v", err)
		}
		if err := st.ClaimSyncRun(ctx, sh.ID, stored, "r2"); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("a second claim of what was read: %v, want ErrSyncRunMoved", err)
		}
		old := stored
		old.Pages, old.Orders, old.Checkpoint = 1, 1, "cp1"
		b, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(1, 7, base, "paid")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r1 := old
		r1.ID = "r1"
		if err := st.SaveSyncBatch(ctx, sh.ID, b, r1); err != nil { // the claimed run's next batch
			t.Fatal(err)
		}
		now, _, _ := st.SyncRun(ctx, sh.ID)
		if err := st.ClaimSyncRun(ctx, sh.ID, stored, "r3"); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("a claim of progress read before it moved on: %v, want ErrSyncRunMoved", err)
		}
		if err := st.ClaimSyncRun(ctx, sh.ID, now, "r4"); err != nil {
			t.Fatalf("claim of the current progress: %v", err)
		}
		r1.Pages, r1.Orders, r1.Checkpoint = 2, 2, "cp2"
		b2, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(2, 7, base, "paid")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSyncBatch(ctx, sh.ID, b2, r1); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("the claimed run's old owner moved it: %v, want ErrSyncRunMoved", err)
		}
		r4 := r1
		r4.ID = "r4"
		if err := st.SaveSyncBatch(ctx, sh.ID, b2, r4); err != nil {
			t.Fatalf("the new owner's batch: %v", err)
		}
		if err := st.FinishSyncRun(ctx, sh.ID, r4); err != nil {
			t.Fatal(err)
		}
		done, _, _ := st.SyncRun(ctx, sh.ID)
		if err := st.ClaimSyncRun(ctx, sh.ID, done, "r5"); !errors.Is(err, orders.ErrSyncRunMoved) {
			t.Errorf("claim of a finished run: %v, want ErrSyncRunMoved", err)
		}
	})
}
