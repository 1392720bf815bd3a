package orders_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// await waits for ch, failing the test after 20 s rather than hanging it.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: not within 20 s", what)
		panic("unreachable")
	}
}

// TestBackfillTakenOverByAnotherSyncStops: two syncs of one shop, over
// different windows, whose page counts line up. Sync A has saved 2 batches
// when sync B starts and saves 2 of its own; A's third batch follows a
// stored progress of 2 pages, B's. Before runs had ids, A's batch was taken
// as following it: the stored progress became A's checkpoint under B's
// `since`, and a resume of B's window would have finished A's export. Now
// A's batch is refused (ErrSyncRunMoved, nothing of it saved), A stops,
// and B goes on to the end of its own window.
func TestBackfillTakenOverByAnotherSyncStops(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _, shop, syncer := review11Syncer(t, kind, "takeover.myshopify.com")
			sinceB := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			a := &cpExport{name: "a", first: 100, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			b := &cpExport{name: "b", first: 200, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			saved := func(n int, ch chan struct{}) func(orders.SyncProgress) {
				return func(p orders.SyncProgress) {
					if p.Orders == n {
						close(ch)
					}
				}
			}
			aAt2, bAt2 := make(chan struct{}), make(chan struct{})
			aDone, bDone := make(chan error, 1), make(chan error, 1)
			go func() {
				_, err := syncer.Backfill(ctx, shop, time.Time{}, a, nil, saved(2, aAt2))
				aDone <- err
			}()
			await(t, aAt2, "A's second batch")
			go func() {
				_, err := syncer.Backfill(ctx, shop, sinceB, b, nil, saved(2, bAt2))
				bDone <- err
			}()
			await(t, bAt2, "B's second batch")
			close(a.resume)
			if err := await(t, aDone, "sync A"); !errors.Is(err, orders.ErrSyncRunMoved) {
				t.Fatalf("sync A after B took over: %v, want ErrSyncRunMoved", err)
			}
			run, _, err := st.SyncRun(ctx, shop.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Checkpoint != "b-cp-2" || !run.Since.Equal(sinceB) || run.Pages != 2 || run.Finished {
				t.Fatalf("stored progress %+v; want B's, at b-cp-2 of its window", run)
			}
			if _, err := st.GetOrder(ctx, shop.ID, 103); !errors.Is(err, orders.ErrNotFound) {
				t.Errorf("A's refused batch was saved: %v", err)
			}
			close(b.resume)
			if err := await(t, bDone, "sync B"); err != nil {
				t.Fatalf("sync B: %v", err)
			}
			run, _, err = st.SyncRun(ctx, shop.ID)
			if err != nil || !run.Finished || !run.Since.Equal(sinceB) || run.Orders != 4 {
				t.Fatalf("stored progress %+v, %v; want B's window finished after its 4 orders", run, err)
			}
			for _, id := range []int64{101, 102, 201, 202, 203, 204} {
				if _, err := st.GetOrder(ctx, shop.ID, id); err != nil {
					t.Errorf("order %d: %v", id, err)
				}
			}
		})
	}
}

// TestBackfillResumedTwiceGoesOnOnce: two syncs that resume one
// interrupted run: the second to claim it takes it over, and the first
// stops at its next batch (though its page count follows the stored one),
// so one run's batches follow the checkpoint, and no object is saved twice.
func TestBackfillResumedTwiceGoesOnOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _, shop, syncer := review11Syncer(t, kind, "resume2.myshopify.com")
			const n = 8
			stored := func() orders.SyncRun {
				t.Helper()
				run, _, err := st.SyncRun(ctx, shop.ID)
				if err != nil {
					t.Fatal(err)
				}
				return run
			}
			backfill := func(ctx context.Context, e *cpExport, resumes bool) chan error {
				done := make(chan error, 1)
				go func() {
					p, err := syncer.Backfill(ctx, shop, time.Time{}, e, nil, nil)
					if err == nil && p.Resumed != resumes {
						err = fmt.Errorf("resumed %v, want %v", p.Resumed, resumes)
					}
					done <- err
				}()
				return done
			}
			// The first run saves batch 1 and is interrupted waiting for
			// batch 2.
			cancelled, cancel := context.WithCancel(ctx)
			first := &cpExport{name: "x", first: 300, n: n, gate: 2, at: make(chan struct{}), resume: make(chan struct{})}
			done := backfill(cancelled, first, false)
			await(t, first.at, "the first run's batch 2")
			cancel()
			if err := await(t, done, "the interrupted run"); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			if run := stored(); run.Checkpoint != "x-cp-1" || run.Orders != 1 {
				t.Fatalf("after the interruption: %+v", run)
			}
			// R1 resumes: batches 2-4, then it waits before batch 5.
			r1 := &cpExport{name: "x", first: 300, n: n, gate: 5, at: make(chan struct{}), resume: make(chan struct{})}
			r1Done := backfill(ctx, r1, true)
			await(t, r1.at, "R1's batch 5")
			for deadline := time.Now().Add(20 * time.Second); stored().Orders != 4; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("R1 did not save batches 2-4: %+v", stored())
				}
			}
			// R2 claims what R1 left and waits before its first batch (5):
			// R1's batch 5, which follows the stored page count, is no
			// longer its own to save.
			r2 := &cpExport{name: "x", first: 300, n: n, gate: 5, at: make(chan struct{}), resume: make(chan struct{})}
			r2Done := backfill(ctx, r2, true)
			await(t, r2.at, "R2's batch 5")
			close(r1.resume)
			if err := await(t, r1Done, "R1"); !errors.Is(err, orders.ErrSyncRunMoved) {
				t.Fatalf("R1 after R2 took over: %v, want ErrSyncRunMoved", err)
			}
			if run := stored(); run.Orders != 4 || run.Checkpoint != "x-cp-4" {
				t.Fatalf("R1 saved a batch after R2 took over: %+v", run)
			}
			close(r2.resume)
			if err := await(t, r2Done, "R2"); err != nil {
				t.Fatalf("R2: %v", err)
			}
			if run := stored(); !run.Finished || run.Orders != n || run.Pages != n {
				t.Fatalf("stored run %+v; want it finished by R2 after the export's %d orders, each saved once", run, n)
			}
		})
	}
}
