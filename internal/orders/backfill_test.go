package orders_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// batchExporter hands out n batches of one order each, checkpoint "cp-N"
// after batch N, and counts the batches handed out.
type batchExporter struct {
	n      int
	handed int
	stop   error // what save returned to stop it
}

func (e *batchExporter) StartExport(context.Context, tenant.Shop, time.Time) (string, error) {
	return "cp-0", nil
}

func (e *batchExporter) ReadExport(ctx context.Context, _ tenant.Shop, _ string, _ int, save func(orders.ExportBatch) error) error {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= e.n; i++ {
		o := orders.ShopifyOrder{ID: int64(7000 + i), Name: fmt.Sprintf("#%d", 7000+i), OrderNumber: 7000 + i, Currency: "USD",
			CreatedAt: at, UpdatedAt: at, FinancialStatus: "paid"}
		e.handed++
		if err := save(orders.ExportBatch{Orders: []orders.ShopifyOrder{o}, Checkpoint: fmt.Sprintf("cp-%d", i), Objects: i, Total: e.n}); err != nil {
			e.stop = err
			return err
		}
	}
	return nil
}

// failingBatches fails SaveSyncBatch from batch `from` on.
type failingBatches struct {
	orders.SyncStore
	mu    sync.Mutex
	calls int
	from  int
}

func (f *failingBatches) SaveSyncBatch(ctx context.Context, shopID int64, b orders.PreparedBatch, run orders.SyncRun) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n >= f.from {
		return errors.New("disk full")
	}
	time.Sleep(20 * time.Millisecond) // saving is slower than reading: the reader runs ahead
	return f.SyncStore.SaveSyncBatch(ctx, shopID, b, run)
}

// TestBackfillSavesInOrderWhileReading: a backfill reads the next batch
// while it saves the last, so when a save fails, the run's stored
// checkpoint is the last batch saved (never one read but not saved), the
// export is stopped, Backfill fails, and a new run resumes from that
// checkpoint.
func TestBackfillSavesInOrderWhileReading(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			st := storetest.New(t, kind)
			shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), "backfill.myshopify.com", "key-backfill-0123456789")
			if err != nil {
				t.Fatal(err)
			}
			svc := orders.NewService(st.Orders(), newFakeShopify(1), time.Hour, slog.New(slog.DiscardHandler))
			fs := &failingBatches{SyncStore: st.Orders(), from: 4}
			exp := &batchExporter{n: 50}
			var seen []int
			_, err = orders.NewSyncer(svc, fs, time.Hour).Backfill(context.Background(), shop, time.Time{}, exp, nil, func(p orders.SyncProgress) {
				seen = append(seen, p.Orders)
			})
			if err == nil {
				t.Fatal("Backfill succeeded though batch 4 was not saved")
			}
			if exp.stop == nil || exp.handed >= exp.n {
				t.Fatalf("the export was not stopped: %d of %d batches handed out", exp.handed, exp.n)
			}
			run, found, err := st.Orders().SyncRun(context.Background(), shop.ID)
			if err != nil || !found {
				t.Fatalf("sync run: %v %v", found, err)
			}
			if run.Checkpoint != "cp-3" || run.Orders != 3 || run.Finished {
				t.Fatalf("stored run %+v, want checkpoint cp-3 after 3 orders, unfinished", run)
			}
			if fmt.Sprint(seen) != "[1 2 3]" {
				t.Fatalf("progress %v, want [1 2 3]", seen)
			}
			for i := 1; i <= 5; i++ {
				_, err := st.Orders().GetOrder(context.Background(), shop.ID, int64(7000+i))
				if saved := err == nil; saved != (i <= 3) {
					t.Errorf("order %d saved %v, want %v", 7000+i, saved, i <= 3)
				}
			}
			// Resumed, the run goes on from cp-3 and finishes.
			p, err := orders.NewSyncer(svc, st.Orders(), time.Hour).Backfill(context.Background(), shop, time.Time{}, &resumeCheck{t: t, want: "cp-3", n: 2}, nil, nil)
			if err != nil || !p.Resumed || p.Orders != 5 {
				t.Fatalf("resume: %+v %v", p, err)
			}
		})
	}
}

// resumeCheck is an export that must be resumed from `want`; it hands n
// more batches.
type resumeCheck struct {
	t    *testing.T
	want string
	n    int
}

func (r *resumeCheck) StartExport(context.Context, tenant.Shop, time.Time) (string, error) {
	r.t.Error("a new export was started instead of resuming")
	return "", errors.New("no")
}

func (r *resumeCheck) ReadExport(ctx context.Context, shop tenant.Shop, cp string, batch int, save func(orders.ExportBatch) error) error {
	if cp != r.want {
		r.t.Errorf("resumed from %q, want %q", cp, r.want)
	}
	e := &batchExporter{n: 3 + r.n}
	return e.ReadExport(ctx, shop, cp, batch, func(b orders.ExportBatch) error {
		if b.Checkpoint <= r.want && len(b.Checkpoint) == len(r.want) {
			return nil // already saved before the failure
		}
		return save(b)
	})
}

// cancellingExporter hands out batch 1, cancels the run's context (Ctrl-C)
// and, as ReadExport does once ctx is done, hands out what it had read as
// batch 2.
type cancellingExporter struct {
	batchExporter
	cancel context.CancelFunc
}

func (e *cancellingExporter) ReadExport(ctx context.Context, shop tenant.Shop, cp string, batch int, save func(orders.ExportBatch) error) error {
	e.n = 2
	return e.batchExporter.ReadExport(ctx, shop, cp, batch, func(b orders.ExportBatch) error {
		err := save(b)
		if b.Checkpoint == "cp-1" {
			e.cancel()
		}
		return err
	})
}

// TestBackfillSavesTheLastBatchWhenCancelled: the batch handed out after
// the run's context is done is built, encoded and saved with its
// checkpoint all the same (a Ctrl-C keeps what was read), on both stores.
func TestBackfillSavesTheLastBatchWhenCancelled(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			st := storetest.New(t, kind)
			shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), "cancel.myshopify.com", "key-cancel-0123456789ab")
			if err != nil {
				t.Fatal(err)
			}
			svc := orders.NewService(st.Orders(), newFakeShopify(1), time.Hour, slog.New(slog.DiscardHandler))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			exp := &cancellingExporter{cancel: cancel}
			if _, err := orders.NewSyncer(svc, st.Orders(), time.Hour).Backfill(ctx, shop, time.Time{}, exp, nil, nil); err != nil {
				t.Fatal(err)
			}
			run, _, err := st.Orders().SyncRun(context.Background(), shop.ID)
			if err != nil || run.Orders != 2 {
				t.Fatalf("stored run %+v (%v), want both batches saved", run, err)
			}
			if _, err := st.Orders().GetOrder(context.Background(), shop.ID, 7002); err != nil {
				t.Errorf("the batch handed out after the cancel was not saved: %v", err)
			}
		})
	}
}

// slowFiles is a batchExporter whose files take `wait` to be ready.
type slowFiles struct {
	batchExporter
	wait time.Duration
}

func (e *slowFiles) ReadExport(ctx context.Context, shop tenant.Shop, cp string, batch int, save func(orders.ExportBatch) error) error {
	time.Sleep(e.wait) // Shopify writing the files
	ready := time.Now()
	return e.batchExporter.ReadExport(ctx, shop, cp, batch, func(b orders.ExportBatch) error {
		b.Ready = ready
		return save(b)
	})
}

// TestBackfillProgressKeepsTheWaitApart: the time a bulk export waits for
// Shopify's files is reported as Waited, within Elapsed, so the rate and
// ETA are those of reading (a wait of minutes would otherwise make the
// first lines promise hours).
func TestBackfillProgressKeepsTheWaitApart(t *testing.T) {
	t.Parallel()
	st := storetest.New(t, storetest.Kinds[len(storetest.Kinds)-1])
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), "waiting.myshopify.com", "key-waiting-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.NewService(st.Orders(), newFakeShopify(1), time.Hour, slog.New(slog.DiscardHandler))
	const wait = 300 * time.Millisecond
	var seen []orders.SyncProgress
	p, err := orders.NewSyncer(svc, st.Orders(), time.Hour).Backfill(context.Background(), shop, time.Time{},
		&slowFiles{batchExporter: batchExporter{n: 3}, wait: wait}, nil, func(p orders.SyncProgress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("%d progress reports, want 3", len(seen))
	}
	for _, q := range append(seen, p) {
		if q.Waited < wait || q.Waited > q.Elapsed {
			t.Errorf("progress after %d orders: waited %s of %s elapsed; want at least %s, within elapsed", q.Orders, q.Waited, q.Elapsed, wait)
		}
	}
}
