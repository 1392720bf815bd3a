package orders_test

// The TestReview11Check* tests here pass on 12ef541: they cover what held up
// (crash windows, a refused export after a takeover or a resume, paged
// takeovers and resumes) and kill mutants the commit's own tests let live
// (FinishSyncRun replaced by the old unconditional SaveSyncRun in either
// of Backfill's two ends; SyncOrders' fresh run without an id).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// finishFails fails FinishSyncRun `n` times (a crash, a lost connection).
type finishFails struct {
	*savedTwice
	n int
}

func (f *finishFails) FinishSyncRun(ctx context.Context, shopID int64, run orders.SyncRun) error {
	if f.n > 0 {
		f.n--
		return errors.New("connection lost")
	}
	return f.savedTwice.FinishSyncRun(ctx, shopID, run)
}

// refuseAt hands batches up to refuse-1 (from its checkpoint), then, once
// resumed, fails at Shopify (ErrExportRefused).
type refuseAt struct {
	cpExport
	refuse int
}

func (e *refuseAt) ReadExport(ctx context.Context, shop tenant.Shop, cp string, batch int, save func(orders.ExportBatch) error) error {
	inner := e.cpExport
	inner.n, inner.resume = e.refuse-1, nil
	if err := inner.ReadExport(ctx, shop, cp, batch, save); err != nil {
		return err
	}
	close(e.at)
	select {
	case <-e.resume:
	case <-ctx.Done():
		return ctx.Err()
	}
	return fmt.Errorf("bulk export: FAILED: %w", orders.ErrExportRefused)
}

// r11Paged serves n one-order pages, PageInfo "p-N" after page N,
// waiting before page `gate` (when resume is set).
type r11Paged struct {
	*fakeShopify
	first      int64
	n, gate    int
	at, resume chan struct{}
}

func (f *r11Paged) OrdersPage(ctx context.Context, _ tenant.Shop, req orders.PageRequest) (orders.OrdersPage, error) {
	var from int
	if req.PageInfo != "" {
		fmt.Sscanf(strings.TrimPrefix(req.PageInfo, "p-"), "%d", &from)
	}
	i := from + 1
	if f.resume != nil && i == f.gate {
		close(f.at)
		select {
		case <-f.resume:
		case <-ctx.Done():
			return orders.OrdersPage{}, ctx.Err()
		}
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	id := f.first + int64(i)
	page := orders.OrdersPage{Orders: []orders.ShopifyOrder{{ID: id, Name: fmt.Sprintf("#%d", id), OrderNumber: int(id), Currency: "USD", CreatedAt: at, UpdatedAt: at, FinancialStatus: "paid"}}}
	if i < f.n {
		page.NextPageInfo = fmt.Sprintf("p-%d", i)
	}
	return page, nil
}

func TestReview11CheckCrashWindows(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, rec, shop, _ := review11Syncer(t, kind, "r11-crash.myshopify.com")
			svc := orders.NewService(st, newFakeShopify(1), time.Hour, slog.New(slog.DiscardHandler))
			ff := &finishFails{savedTwice: rec}
			syncer := orders.NewSyncer(svc, ff, time.Hour)
			// A saves 2 and is killed.
			cancelled, cancel := context.WithCancel(ctx)
			a := &cpExport{name: "x", first: 1, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			done := make(chan error, 1)
			go func() { _, err := syncer.Backfill(cancelled, shop, time.Time{}, a, nil, nil); done <- err }()
			<-a.at
			cancel()
			<-done
			// B claims and is killed before its first batch.
			cancelled, cancel = context.WithCancel(ctx)
			b := &cpExport{name: "x", first: 1, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			go func() { _, err := syncer.Backfill(cancelled, shop, time.Time{}, b, nil, nil); done <- err }()
			<-b.at
			cancel()
			<-done
			if run, _, _ := st.SyncRun(ctx, shop.ID); run.Pages != 2 || run.Checkpoint != "x-cp-2" || run.Finished {
				t.Fatalf("after a claim and a crash: %+v", run)
			}
			// C reads the rest; its end fails.
			ff.n = 1
			if _, err := syncer.Backfill(ctx, shop, time.Time{}, &cpExport{name: "x", first: 1, n: 4}, nil, nil); err == nil {
				t.Fatal("want the end's failure")
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); run.Pages != 4 || run.Checkpoint != "x-cp-4" || run.Finished {
				t.Fatalf("after a failed end: %+v", run)
			}
			// D resumes at the end: nothing to read, it finishes.
			p, err := syncer.Backfill(ctx, shop, time.Time{}, &cpExport{name: "x", first: 1, n: 4}, nil, nil)
			if err != nil || !p.Resumed || p.Fetched != 0 {
				t.Fatalf("D: %+v %v", p, err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); !run.Finished || run.Orders != 4 {
				t.Errorf("after D: %+v", run)
			}
			if tw := rec.twice(); len(tw) > 0 {
				t.Errorf("saved twice: %v", tw)
			}
		})
	}
}

// A refused export mid-read, after another sync took over: the run must
// neither mark the other's progress finished nor page.
func TestReview11CheckRefusedAfterTakeover(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _, shop, syncer := review11Syncer(t, kind, "r11-refused.myshopify.com")
			sinceC := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			a := &refuseAt{cpExport: cpExport{name: "a", first: 100, n: 4, at: make(chan struct{}), resume: make(chan struct{})}, refuse: 3}
			aDone, cDone := make(chan error, 1), make(chan error, 1)
			aAt2 := make(chan struct{})
			go func() { _, err := syncer.Backfill(ctx, shop, time.Time{}, a, nil, atOrders(2, aAt2)); aDone <- err }()
			<-a.at
			<-aAt2
			c := &cpExport{name: "c", first: 200, n: 4, gate: 2, at: make(chan struct{}), resume: make(chan struct{})}
			cAt1 := make(chan struct{})
			go func() { _, err := syncer.Backfill(ctx, shop, sinceC, c, nil, atOrders(1, cAt1)); cDone <- err }()
			<-cAt1
			close(a.resume)
			if err := <-aDone; !errors.Is(err, orders.ErrSyncRunMoved) {
				t.Errorf("A, refused after C took over: %v, want ErrSyncRunMoved", err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); run.Finished || run.Checkpoint != "c-cp-1" || !run.Since.Equal(sinceC) {
				t.Errorf("stored %+v, want C's at c-cp-1", run)
			}
			close(c.resume)
			if err := <-cDone; err != nil {
				t.Errorf("C: %v", err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); !run.Finished || run.Orders != 4 || !run.Since.Equal(sinceC) {
				t.Errorf("stored %+v, want C finished", run)
			}
		})
	}
}

// A bulk run resumed, then refused mid-read: finished, then paged from the
// start; the paged run completes.
func TestReview11CheckRefusedAfterResumePages(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, rec, shop, _ := review11Syncer(t, kind, "r11-refpage.myshopify.com")
			mk := func(f *r11Paged) *orders.Syncer {
				return orders.NewSyncer(orders.NewService(st, f, time.Hour, slog.New(slog.DiscardHandler)), rec, time.Hour)
			}
			sh := &r11Paged{fakeShopify: newFakeShopify(1), first: 500, n: 3}
			s := mk(sh)
			cancelled, cancel := context.WithCancel(ctx)
			a := &cpExport{name: "x", first: 1, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			done := make(chan error, 1)
			go func() { _, err := s.Backfill(cancelled, shop, time.Time{}, a, nil, nil); done <- err }()
			<-a.at
			cancel()
			<-done
			r := &refuseAt{cpExport: cpExport{name: "x", first: 1, n: 4, at: make(chan struct{}), resume: make(chan struct{})}, refuse: 4}
			close(r.resume)
			p, err := s.Backfill(ctx, shop, time.Time{}, r, nil, nil)
			if err != nil || p.Bulk || p.Pages != 3 {
				t.Fatalf("%+v %v", p, err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); !run.Finished || run.Orders != 3 || run.Checkpoint != "" {
				t.Errorf("stored %+v", run)
			}
		})
	}
}

// Two resumes of a paged run: one goes on, the other stops; nothing saved twice.
func TestReview11CheckPagedResumedTwice(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, rec, shop, _ := review11Syncer(t, kind, "r11-paged.myshopify.com")
			mk := func(f *r11Paged) *orders.Syncer {
				return orders.NewSyncer(orders.NewService(st, f, time.Hour, slog.New(slog.DiscardHandler)), rec, time.Hour)
			}
			p1 := &r11Paged{fakeShopify: newFakeShopify(1), first: 500, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			cancelled, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { _, err := mk(p1).SyncOrders(cancelled, shop, time.Time{}, nil, nil); done <- err }()
			<-p1.at
			cancel()
			<-done
			r1 := &r11Paged{fakeShopify: newFakeShopify(1), first: 500, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			r1Done := make(chan error, 1)
			go func() { _, err := mk(r1).SyncOrders(ctx, shop, time.Time{}, nil, nil); r1Done <- err }()
			<-r1.at
			r2 := &r11Paged{fakeShopify: newFakeShopify(1), first: 500, n: 4}
			p, err := mk(r2).SyncOrders(ctx, shop, time.Time{}, nil, nil)
			if err != nil || !p.Resumed {
				t.Fatalf("R2: %+v %v", p, err)
			}
			close(r1.resume)
			if err := <-r1Done; !errors.Is(err, orders.ErrSyncRunMoved) {
				t.Errorf("R1: %v, want ErrSyncRunMoved", err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); !run.Finished || run.Orders != 4 || run.Pages != 4 {
				t.Errorf("stored %+v", run)
			}
			if tw := rec.twice(); len(tw) > 0 {
				t.Errorf("saved twice: %v", tw)
			}
		})
	}
}

// emptyGated is an export with no object, ready once resumed.
type emptyGated struct{ at, resume chan struct{} }

func (e *emptyGated) StartExport(context.Context, tenant.Shop, time.Time) (string, error) {
	return "e-cp-0", nil
}

func (e *emptyGated) ReadExport(ctx context.Context, _ tenant.Shop, _ string, _ int, _ func(orders.ExportBatch) error) error {
	close(e.at)
	select {
	case <-e.resume:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A run with nothing to read whose progress another sync took over must
// not store its end over the other's progress.
func TestReview11CheckEmptyExportTakenOver(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _, shop, syncer := review11Syncer(t, kind, "r11-empty.myshopify.com")
			sinceC := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			a := &emptyGated{at: make(chan struct{}), resume: make(chan struct{})}
			aDone, cDone := make(chan error, 1), make(chan error, 1)
			go func() { _, err := syncer.Backfill(ctx, shop, time.Time{}, a, nil, nil); aDone <- err }()
			<-a.at
			c := &cpExport{name: "c", first: 200, n: 3, gate: 2, at: make(chan struct{}), resume: make(chan struct{})}
			cAt1 := make(chan struct{})
			go func() { _, err := syncer.Backfill(ctx, shop, sinceC, c, nil, atOrders(1, cAt1)); cDone <- err }()
			<-cAt1
			close(a.resume)
			if err := <-aDone; !errors.Is(err, orders.ErrSyncRunMoved) {
				t.Errorf("A: %v, want ErrSyncRunMoved", err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); run.Finished || run.Checkpoint != "c-cp-1" || !run.Since.Equal(sinceC) {
				t.Errorf("stored %+v, want C's at c-cp-1", run)
			}
			close(c.resume)
			if err := <-cDone; err != nil {
				t.Errorf("C: %v", err)
			}
		})
	}
}

// Two paged syncs of different windows whose page counts line up: the one
// taken over stops, and the other's page_info stays under its own since.
func TestReview11CheckPagedTakenOverStops(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _, shop, _ := review11Syncer(t, kind, "r11-pagedtake.myshopify.com")
			rec := &savedTwice{SyncStore: st, saved: map[string]int{}}
			mk := func(f *r11Paged) *orders.Syncer {
				return orders.NewSyncer(orders.NewService(st, f, time.Hour, slog.New(slog.DiscardHandler)), rec, time.Hour)
			}
			sinceQ := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			p := &r11Paged{fakeShopify: newFakeShopify(1), first: 500, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			q := &r11Paged{fakeShopify: newFakeShopify(1), first: 600, n: 4, gate: 3, at: make(chan struct{}), resume: make(chan struct{})}
			pDone, qDone := make(chan error, 1), make(chan error, 1)
			go func() { _, err := mk(p).SyncOrders(ctx, shop, time.Time{}, nil, nil); pDone <- err }()
			<-p.at
			go func() { _, err := mk(q).SyncOrders(ctx, shop, sinceQ, nil, nil); qDone <- err }()
			<-q.at
			close(p.resume)
			if err := <-pDone; !errors.Is(err, orders.ErrSyncRunMoved) {
				t.Errorf("P: %v, want ErrSyncRunMoved", err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); run.PageInfo != "p-2" || !run.Since.Equal(sinceQ) || run.Pages != 2 {
				t.Errorf("stored %+v, want Q's at p-2", run)
			}
			close(q.resume)
			if err := <-qDone; err != nil {
				t.Errorf("Q: %v", err)
			}
		})
	}
}
