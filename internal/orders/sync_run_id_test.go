package orders_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// gatedExport hands n batches of one order each (ids from first,
// checkpoints "<name>-cp-N"), and after batch `pause` waits for resume
// (when set).
type gatedExport struct {
	name   string
	first  int64
	n      int
	pause  int
	resume chan struct{}
	at     chan struct{} // closed (when set) on reaching the pause
}

func (e *gatedExport) StartExport(context.Context, tenant.Shop, time.Time) (string, error) {
	return e.name + "-cp-0", nil
}

func (e *gatedExport) ReadExport(ctx context.Context, _ tenant.Shop, _ string, _ int, save func(orders.ExportBatch) error) error {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= e.n; i++ {
		if e.resume != nil && i == e.pause+1 {
			if e.at != nil {
				close(e.at)
			}
			select {
			case <-e.resume:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		id := e.first + int64(i)
		o := orders.ShopifyOrder{ID: id, Name: fmt.Sprintf("#%d", id), OrderNumber: int(id), Currency: "USD", CreatedAt: at, UpdatedAt: at, FinancialStatus: "paid"}
		if err := save(orders.ExportBatch{Orders: []orders.ShopifyOrder{o}, Checkpoint: fmt.Sprintf("%s-cp-%d", e.name, i), Objects: i, Total: e.n}); err != nil {
			return err
		}
	}
	return nil
}

// syncerOn is a Syncer on a fresh store of kind, with one shop.
func syncerOn(t *testing.T, kind, domain string) (*store.Orders, tenant.Shop, *orders.Syncer) {
	t.Helper()
	st := storetest.New(t, kind)
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), domain, "key-"+domain)
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.NewService(st.Orders(), newFakeShopify(1), time.Hour, slog.New(slog.DiscardHandler))
	return st.Orders(), shop, orders.NewSyncer(svc, st.Orders(), time.Hour)
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
			st, shop, syncer := syncerOn(t, kind, "takeover.myshopify.com")
			sinceB := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			a := &gatedExport{name: "a", first: 100, n: 4, pause: 2, resume: make(chan struct{})}
			b := &gatedExport{name: "b", first: 200, n: 4, pause: 2, resume: make(chan struct{})}
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
			<-aAt2
			go func() {
				_, err := syncer.Backfill(ctx, shop, sinceB, b, nil, saved(2, bAt2))
				bDone <- err
			}()
			<-bAt2
			close(a.resume)
			if err := <-aDone; !errors.Is(err, orders.ErrSyncRunMoved) {
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
			if err := <-bDone; err != nil {
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
// so one run's batches follow the checkpoint.
func TestBackfillResumedTwiceGoesOnOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, shop, syncer := syncerOn(t, kind, "resume2.myshopify.com")
			cancelled, cancel := context.WithCancel(ctx)
			first := &gatedExport{name: "x", first: 300, n: 4, pause: 1, resume: make(chan struct{})}
			at1 := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				_, err := syncer.Backfill(cancelled, shop, time.Time{}, first, nil, func(p orders.SyncProgress) {
					if p.Orders == 1 {
						close(at1)
					}
				})
				done <- err
			}()
			<-at1
			cancel() // interrupted after its first batch
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			stored := func() orders.SyncRun {
				t.Helper()
				run, _, err := st.SyncRun(ctx, shop.ID)
				if err != nil {
					t.Fatal(err)
				}
				return run
			}
			start := stored().Orders // the batch read as it was cancelled is saved too
			// Two resumes: R1 claims and saves 2 batches, then waits; R2
			// claims what R1 left and finishes.
			r1 := &gatedExport{name: "x", first: 300, n: 4, pause: 2, resume: make(chan struct{})}
			r1Done := make(chan error, 1)
			go func() {
				p, err := syncer.Backfill(ctx, shop, time.Time{}, r1, nil, nil)
				if err == nil && !p.Resumed {
					err = errors.New("R1 did not resume")
				}
				r1Done <- err
			}()
			for deadline := time.Now().Add(10 * time.Second); stored().Orders != start+2; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("R1 did not save its 2 batches: %+v", stored())
				}
			}
			// R2 claims the progress R1 left and waits before its first
			// batch: R1's next batch, which follows the stored page count,
			// is no longer its own to follow.
			r2 := &gatedExport{name: "x", first: 300, n: 4, pause: 0, resume: make(chan struct{}), at: make(chan struct{})}
			r2Done := make(chan error, 1)
			go func() {
				p, err := syncer.Backfill(ctx, shop, time.Time{}, r2, nil, nil)
				if err == nil && !p.Resumed {
					err = errors.New("R2 did not resume")
				}
				r2Done <- err
			}()
			<-r2.at
			close(r1.resume)
			if err := <-r1Done; !errors.Is(err, orders.ErrSyncRunMoved) {
				t.Fatalf("R1 after R2 took over: %v, want ErrSyncRunMoved", err)
			}
			if run := stored(); run.Orders != start+2 {
				t.Fatalf("R1 saved a batch after R2 took over: %+v", run)
			}
			close(r2.resume)
			if err := <-r2Done; err != nil {
				t.Fatalf("R2: %v", err)
			}
			// gatedExport reads from its start whatever the checkpoint: R2
			// counts 4 more after R1's 2, and R1's batch after R2 took over
			// changed nothing.
			if run := stored(); !run.Finished || run.Orders != start+2+4 {
				t.Fatalf("stored run %+v; want it finished by R2 at %d orders", run, start+6)
			}
		})
	}
}
