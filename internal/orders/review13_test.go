package orders_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// thenForgotten is an export that, once it has handed out its batches,
// finds the shop forgotten (shop/redact) before the run stores its end.
type thenForgotten struct {
	cpExport
	forget func() error
}

func (e *thenForgotten) ReadExport(ctx context.Context, shop tenant.Shop, cp string, batch int, save func(orders.ExportBatch) error) error {
	if err := e.cpExport.ReadExport(ctx, shop, cp, batch, save); err != nil {
		return err
	}
	return e.forget()
}

// TestReview13BackfillOfForgottenShopStopsAsTakenOver: a backfill whose shop
// is forgotten (shop/redact) before it stores its end fails with
// ErrSyncRunMoved, the error `orderdesk sync` turns into "another sync of
// this shop has taken over the backfill ... let that one finish"; there is
// no other sync, the shop is gone. SaveSyncRun answers tenant.ErrNotFound
// for the same shop.
// Fixed: a conditional write to the progress that changes nothing checks
// whether the shop is gone (tenant.ErrNotFound) before calling it a takeover.
func TestReview13BackfillOfForgottenShopStopsAsTakenOver(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.New(t, kind)
			shop, err := tenant.NewService(st.Tenants()).Bootstrap(ctx, "r13-gone.myshopify.com", "key-r13-gone")
			if err != nil {
				t.Fatal(err)
			}
			svc := orders.NewService(st.Orders(), newFakeShopify(1), time.Hour, slog.New(slog.DiscardHandler))
			syncer := orders.NewSyncer(svc, st.Orders(), time.Hour)
			allSaved := make(chan struct{})
			exp := &thenForgotten{cpExport: cpExport{name: "g", first: 100, n: 2}, forget: func() error {
				await(t, allSaved, "both batches saved") // the run's every batch is in; only its end is left
				if _, err := st.Tenants().MarkUninstalled(ctx, shop.ID, time.Now(), time.Now()); err != nil {
					return err
				}
				_, err := st.Orders().ForgetShop(ctx, shop.ID)
				return err
			}}
			_, err = syncer.Backfill(ctx, shop, time.Time{}, exp, nil, atOrders(2, allSaved))
			if errors.Is(err, orders.ErrSyncRunMoved) || !errors.Is(err, tenant.ErrNotFound) {
				t.Fatalf("backfill of a shop forgotten before its end: %v; want tenant.ErrNotFound, not a takeover (ErrSyncRunMoved: %v)",
					err, errors.Is(err, orders.ErrSyncRunMoved))
			}
		})
	}
}

// refusedStart is an exporter Shopify refuses at the start.
type refusedStart struct{}

func (refusedStart) StartExport(context.Context, tenant.Shop, time.Time) (string, error) {
	return "", fmt.Errorf("a bulk operation is already running: %w", orders.ErrExportRefused)
}

func (refusedStart) ReadExport(context.Context, tenant.Shop, string, int, func(orders.ExportBatch) error) error {
	return errors.New("not started")
}

// TestReview13CheckPagedStartInterruptedBeforePageOne (passes; held up): a
// paged run interrupted after its start (0 pages, no page_info, not
// finished) but before page 1 is resumed by nothing: a bulk Backfill
// starts its own export, a Backfill refused at Shopify and a plain
// SyncOrders page from the start, and each finishes with every order.
func TestReview13CheckPagedStartInterruptedBeforePageOne(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, rec, shop, _ := review11Syncer(t, kind, "r13-start.myshopify.com")
			mk := func(f *r11Paged) *orders.Syncer {
				return orders.NewSyncer(orders.NewService(st, f, time.Hour, slog.New(slog.DiscardHandler)), rec, time.Hour)
			}
			interrupt := func() string {
				t.Helper()
				f := &r11Paged{fakeShopify: newFakeShopify(1), first: 500, n: 3, gate: 1, at: make(chan struct{}), resume: make(chan struct{})}
				cctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() { _, err := mk(f).SyncOrders(cctx, shop, time.Time{}, nil, nil); done <- err }()
				await(t, f.at, "page 1")
				cancel()
				if err := await(t, done, "interrupted run"); !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted run: %v", err)
				}
				run, found, err := st.SyncRun(ctx, shop.ID)
				if err != nil || !found || run.ID == "" || run.Pages != 0 || run.PageInfo != "" || run.Checkpoint != "" || run.Finished {
					t.Fatalf("after a start before page 1: %+v %v %v", run, found, err)
				}
				return run.ID
			}
			pager := func() *orders.Syncer { return mk(&r11Paged{fakeShopify: newFakeShopify(1), first: 500, n: 3}) }

			id := interrupt()
			p, err := pager().Backfill(ctx, shop, time.Time{}, &cpExport{name: "b", first: 100, n: 3}, nil, nil)
			if err != nil || p.Resumed || !p.Bulk || p.Orders != 3 {
				t.Fatalf("bulk after an interrupted paged start: %+v %v", p, err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); !run.Finished || run.ID == id || run.Orders != 3 || run.Checkpoint != "" {
				t.Errorf("after the bulk run: %+v", run)
			}

			interrupt()
			p, err = pager().Backfill(ctx, shop, time.Time{}, refusedStart{}, nil, nil)
			if err != nil || p.Resumed || p.Bulk || p.Pages != 3 || p.Orders != 3 {
				t.Fatalf("refused bulk after an interrupted paged start: %+v %v", p, err)
			}

			interrupt()
			p, err = pager().SyncOrders(ctx, shop, time.Time{}, nil, nil)
			if err != nil || p.Resumed || p.Pages != 3 || p.Orders != 3 {
				t.Fatalf("paged after an interrupted paged start: %+v %v", p, err)
			}
			if run, _, _ := st.SyncRun(ctx, shop.ID); !run.Finished || run.Pages != 3 || run.Orders != 3 {
				t.Errorf("after the paged run: %+v", run)
			}
		})
	}
}
