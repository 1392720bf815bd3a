package orders_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// cpExport is an export of n one-order batches that honours its
// checkpoint ("<name>-cp-N": batches N+1.. are handed out). Before handing batch `gate` (when resume is set) it closes
// at and waits for resume: a bulk operation whose file is not ready yet.
type cpExport struct {
	name   string
	first  int64
	n      int
	gate   int
	at     chan struct{}
	resume chan struct{}
}

func (e *cpExport) StartExport(context.Context, tenant.Shop, time.Time) (string, error) {
	return e.name + "-cp-0", nil
}

func (e *cpExport) ReadExport(ctx context.Context, _ tenant.Shop, cp string, _ int, save func(orders.ExportBatch) error) error {
	var from int
	if _, err := fmt.Sscanf(strings.TrimPrefix(cp, e.name+"-cp-"), "%d", &from); err != nil {
		return fmt.Errorf("checkpoint %q of another export: %w", cp, orders.ErrInvalidInput)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := from + 1; i <= e.n; i++ {
		if e.resume != nil && i == e.gate {
			close(e.at)
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

// savedTwice records every batch a store took, by checkpoint.
type savedTwice struct {
	orders.SyncStore
	mu    sync.Mutex
	saved map[string]int
}

func (s *savedTwice) SaveSyncBatch(ctx context.Context, shopID int64, b orders.PreparedBatch, run orders.SyncRun) error {
	err := s.SyncStore.SaveSyncBatch(ctx, shopID, b, run)
	if err == nil {
		s.mu.Lock()
		key := run.Checkpoint
		if key == "" { // a page, or a bulk run's end
			key = fmt.Sprintf("page %d", run.Pages)
		}
		s.saved[key]++
		s.mu.Unlock()
	}
	return err
}

func (s *savedTwice) twice() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for cp, n := range s.saved {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s x%d", cp, n))
		}
	}
	return out
}

func review11Syncer(t *testing.T, kind, domain string) (*store.Orders, *savedTwice, tenant.Shop, *orders.Syncer) {
	t.Helper()
	st := storetest.New(t, kind)
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), domain, "key-"+domain)
	if err != nil {
		t.Fatal(err)
	}
	rec := &savedTwice{SyncStore: st.Orders(), saved: map[string]int{}}
	svc := orders.NewService(st.Orders(), newFakeShopify(1), time.Hour, slog.New(slog.DiscardHandler))
	return st.Orders(), rec, shop, orders.NewSyncer(svc, rec, time.Hour)
}

func atOrders(n int, ch chan struct{}) func(orders.SyncProgress) {
	var once sync.Once
	return func(p orders.SyncProgress) {
		if p.Orders == n {
			once.Do(func() { close(ch) })
		}
	}
}

// TestReview11TakenOverBeforeItsFirstBatchKeepsGoing: sync A (all orders)
// has started its export (SaveSyncRun, 0 pages) and waits for Shopify's
// file. Sync C of another window starts (its start replaces A's progress)
// and saves 2 batches. A's file is ready: its first batch is saved
// unconditionally (advanceSyncRun, Pages <= 1, "starts it whatever is
// stored") over C's progress, A goes on to the end, and C, the run that took
// over, is the one stopped, its window's progress gone. The README says the
// run whose progress the other took over stops at its next batch.
// Fixed (8208e0f): a run's first batch follows its own start, as every later
// batch does, so the run that was taken over is the one that stops.
func TestReview11TakenOverBeforeItsFirstBatchKeepsGoing(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _, shop, syncer := review11Syncer(t, kind, "r11-takeover.myshopify.com")
			sinceC := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			a := &cpExport{name: "a", first: 100, n: 4, gate: 1, at: make(chan struct{}), resume: make(chan struct{})}
			c := &cpExport{name: "c", first: 200, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			aDone, cDone := make(chan error, 1), make(chan error, 1)
			go func() { _, err := syncer.Backfill(ctx, shop, time.Time{}, a, nil, nil); aDone <- err }()
			<-a.at // A started, waiting for its file
			cAt2 := make(chan struct{})
			go func() { _, err := syncer.Backfill(ctx, shop, sinceC, c, nil, atOrders(2, cAt2)); cDone <- err }()
			<-cAt2
			if run, _, _ := st.SyncRun(ctx, shop.ID); run.Checkpoint != "c-cp-2" {
				t.Fatalf("stored %+v, want C's at c-cp-2", run)
			}
			close(a.resume)
			aErr := <-aDone
			close(c.resume)
			cErr := <-cDone
			if !errors.Is(aErr, orders.ErrSyncRunMoved) {
				t.Errorf("sync A, taken over by C before its first batch: %v, want ErrSyncRunMoved", aErr)
			}
			if cErr != nil {
				t.Errorf("sync C, which took over: %v, want it to finish its window", cErr)
			}
			run, _, err := st.SyncRun(ctx, shop.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !run.Since.Equal(sinceC) || !run.Finished || run.Orders != 4 {
				t.Errorf("stored %+v; want C's window finished (A was taken over)", run)
			}
		})
	}
}

// TestReview11ClaimedBeforeItsFirstBatchKeepsGoing: sync A has started its
// export and waits for Shopify's file; a second sync of the same window
// (B) resumes it: it claims the progress and saves 2 batches. A's file is
// ready: A's first batch is saved over B's progress (Pages <= 1 skips the
// run_id check), A goes on and re-saves the objects B saved, B stops. The
// claim was to have one of them go on and the other stop before it saves
// anything; the sync promises to read no object twice.
// Fixed (8208e0f): a run's first batch follows its own start, as every later
// batch does, so the run that was taken over is the one that stops.
func TestReview11ClaimedBeforeItsFirstBatchKeepsGoing(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, rec, shop, syncer := review11Syncer(t, kind, "r11-claim.myshopify.com")
			a := &cpExport{name: "x", first: 300, n: 4, gate: 1, at: make(chan struct{}), resume: make(chan struct{})}
			b := &cpExport{name: "x", first: 300, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			aDone, bDone := make(chan error, 1), make(chan error, 1)
			go func() { _, err := syncer.Backfill(ctx, shop, time.Time{}, a, nil, nil); aDone <- err }()
			<-a.at
			bAt2 := make(chan struct{})
			var resumed bool
			go func() {
				p, err := syncer.Backfill(ctx, shop, time.Time{}, b, nil, atOrders(2, bAt2))
				resumed = p.Resumed
				bDone <- err
			}()
			<-bAt2
			close(a.resume)
			aErr := <-aDone
			close(b.resume)
			bErr := <-bDone
			if !resumed {
				t.Fatal("B did not resume A's run")
			}
			if !errors.Is(aErr, orders.ErrSyncRunMoved) && !errors.Is(bErr, orders.ErrSyncRunMoved) {
				t.Errorf("neither stopped: A %v, B %v", aErr, bErr)
			}
			if !errors.Is(aErr, orders.ErrSyncRunMoved) {
				t.Errorf("sync A, whose progress B claimed: %v, want ErrSyncRunMoved", aErr)
			}
			if tw := rec.twice(); len(tw) > 0 {
				t.Errorf("batches saved twice (read by both syncs): %v", tw)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); !run.Finished || run.Orders != 4 {
				t.Errorf("stored %+v; want finished at 4 orders", run)
			}
		})
	}
}
