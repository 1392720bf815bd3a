package orders

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// SyncStore is what syncing needs from persistence, beyond Store.
type SyncStore interface {
	// RedactCustomer erases a customer's personal data from stored orders
	// and deletes their timeline.
	RedactCustomer(ctx context.Context, shopID, customerID int64, orderIDs []int64) error
	// ForgetShop deletes everything stored for the shop once it has
	// uninstalled the app; false, deleting nothing, while it is installed.
	ForgetShop(ctx context.Context, shopID int64) (bool, error)
	// StaleOrders lists open orders last read from Shopify before `before`,
	// oldest first, across shops.
	StaleOrders(ctx context.Context, before time.Time, limit int) ([]ShopOrder, error)
	// SyncRun reads the shop's backfill progress. SaveSyncRun starts a
	// run: its progress (named by run.ID) replaces what is stored,
	// whoever's it was.
	// ClaimSyncRun has a new run (id) take over the stored progress to
	// resume it, if it is still `stored`. FinishSyncRun stores a run's
	// end. Every write but SaveSyncRun's is taken only while the stored
	// progress is the writer's own (run.ID) where the writer left it; if
	// another sync took it over, nothing is written and the error wraps
	// ErrSyncRunMoved (tenant.ErrNotFound if the shop itself is gone).
	SyncRun(ctx context.Context, shopID int64) (SyncRun, bool, error)
	SaveSyncRun(ctx context.Context, shopID int64, run SyncRun) error
	ClaimSyncRun(ctx context.Context, shopID int64, stored SyncRun, id string) error
	FinishSyncRun(ctx context.Context, shopID int64, run SyncRun) error
	// PrepareSyncBatch encodes a backfill's batch for SaveSyncBatch
	// without a transaction (the backfill prepares a batch while the one
	// before it is saved).
	PrepareSyncBatch(ctx context.Context, shopID int64, list []Order, timeline []TimelineEvent) (PreparedBatch, error)
	// SaveSyncBatch stores a prepared batch as history (SaveOrders with
	// history set) and the run's progress after it in one transaction.
	// The stored progress must be the run's own (run.ID) after the batch
	// before (run.Pages-1 pages, not finished; a run starts with
	// SaveSyncRun at 0 pages), or nothing is saved and the error wraps
	// ErrSyncRunMoved.
	SaveSyncBatch(ctx context.Context, shopID int64, b PreparedBatch, run SyncRun) error
}

// PreparedBatch is a backfill's batch as a SyncStore's PrepareSyncBatch
// encoded it, for that store's SaveSyncBatch.
type PreparedBatch interface {
	Len() int // orders
}

// ShopOrder names an order of a shop.
type ShopOrder struct {
	Shop    tenant.Shop
	OrderID int64
}

// Syncer keeps orderdesk's copy in step with Shopify: webhook payloads,
// backfills, compliance erasure, and the periodic repair of drift.
type Syncer struct {
	*Service
	sync SyncStore
	// staleAfter is how old an open order's copy may get before the
	// periodic job re-reads it.
	staleAfter time.Duration
	// resumeAfter is where the next ResumeCustomerLists starts.
	resumeMu    sync.Mutex
	resumeAfter ShopCustomer
}

// NewSyncer wraps a Service with syncing.
func NewSyncer(svc *Service, store SyncStore, staleAfter time.Duration) *Syncer {
	return &Syncer{Service: svc, sync: store, staleAfter: staleAfter}
}

// ApplyShopifyOrder stores an order as a webhook reported it, unless the
// stored copy is newer: deliveries arrive out of order and retries resend
// old bodies. Webhook bodies carry no transactions or carrier events, so
// those are kept from the stored copy where they still hold.
func (s *Syncer) ApplyShopifyOrder(ctx context.Context, shop tenant.Shop, src ShopifyOrder) error {
	_, err := s.ApplyShopifyOrders(ctx, shop, []ShopifyOrder{src}, nil)
	return err
}

// ErrSameOrderTwice: a batch named one order twice (its caller coalesces
// deliveries of one order to the newest first).
var ErrSameOrderTwice = errors.New("the same order twice in one batch")

// ApplyShopifyOrders is ApplyShopifyOrder for many orders of one shop (at
// most one body per order), stored in one transaction with their timeline
// and outbound events. trusted, when set, sees each body with the stored
// copy (nil when there is none); the bodies it refuses are returned, not
// stored. A body older than its stored copy is skipped.
func (s *Syncer) ApplyShopifyOrders(ctx context.Context, shop tenant.Shop, srcs []ShopifyOrder, trusted func(stored *Order, src ShopifyOrder) bool) ([]ShopifyOrder, error) {
	var untrusted []ShopifyOrder
	list := make([]Order, 0, len(srcs))
	seen := make(map[int64]bool, len(srcs))
	now := s.now().UTC()
	ids := make([]int64, 0, len(srcs))
	for _, src := range srcs {
		if seen[src.ID] {
			return nil, fmt.Errorf("apply order %d: %w", src.ID, ErrSameOrderTwice)
		}
		seen[src.ID] = true
		ids = append(ids, src.ID)
	}
	// The copies, read at once: a batch of webhook deliveries spent half
	// its time reading them one statement each.
	copies, err := s.store.GetOrders(ctx, shop.ID, ids)
	if err != nil {
		if len(srcs) == 1 {
			return nil, fmt.Errorf("apply order %d: %w", srcs[0].ID, err)
		}
		return nil, fmt.Errorf("apply %d orders: %w", len(srcs), err)
	}
	for _, src := range srcs {
		var copy *Order
		if stored, ok := copies[src.ID]; ok {
			copy = &stored
		}
		switch {
		case trusted != nil && !trusted(copy, src):
			untrusted = append(untrusted, src)
			continue
		case copy != nil && copy.Source.UpdatedAt.After(src.UpdatedAt):
			s.log.InfoContext(ctx, "ignoring an older copy of an order", "order_id", src.ID, "payload_updated_at", src.UpdatedAt, "stored_updated_at", copy.Source.UpdatedAt)
			continue
		case copy != nil:
			mergeUnsent(&src, copy.Source)
		}
		list = append(list, Build(src, now))
	}
	if err := s.save(ctx, shop.ID, list...); err != nil {
		if len(list) == 1 {
			return nil, fmt.Errorf("apply order %d: %w", list[0].ID, err)
		}
		return nil, fmt.Errorf("apply %d orders: %w", len(list), err)
	}
	return untrusted, nil
}

// mergeUnsent carries over what webhook bodies leave out: carrier events of
// the same fulfilments, and transactions while the payment state is the
// same (otherwise the money is re-derived from the new status).
func mergeUnsent(src *ShopifyOrder, stored ShopifyOrder) {
	events := map[int64][]ShopifyFulfillmentEvent{}
	for _, f := range stored.Fulfillments {
		events[f.ID] = f.Events
	}
	for i, f := range src.Fulfillments {
		if len(f.Events) == 0 {
			src.Fulfillments[i].Events = events[f.ID]
		}
	}
	if src.Transactions == nil && src.FinancialStatus == stored.FinancialStatus && len(src.Refunds) == len(stored.Refunds) {
		src.Transactions = stored.Transactions
	}
}

// RefreshOrder re-reads an order from Shopify (a webhook about a refund,
// a fulfilment or a carrier event names the order, not its new state).
func (s *Syncer) RefreshOrder(ctx context.Context, shop tenant.Shop, orderID int64) error {
	_, err := s.Get(ctx, shop, orderID, true)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted at Shopify since: nothing to apply
	}
	return err
}

// RedactCustomer erases a customer's personal data (customers/redact).
func (s *Syncer) RedactCustomer(ctx context.Context, shop tenant.Shop, customerID int64, orderIDs []int64) error {
	return s.sync.RedactCustomer(ctx, shop.ID, customerID, orderIDs)
}

// ForgetShop deletes the shop's data (shop/redact) when it has uninstalled
// the app; false while it is installed.
func (s *Syncer) ForgetShop(ctx context.Context, shop tenant.Shop) (bool, error) {
	return s.sync.ForgetShop(ctx, shop.ID)
}

// ReconcileAll is the periodic repair: settle unknown action outcomes, then
// re-read a batch of open orders whose copy has grown stale.
func (s *Syncer) ReconcileAll(ctx context.Context) error {
	if n, err := s.Reconcile(ctx); err != nil {
		return err
	} else if n > 0 {
		s.log.InfoContext(ctx, "reconciled actions", "count", n)
	}
	// Customers' first list reads that a failure or a restart stopped go on
	// in the background.
	if _, err := s.ResumeCustomerLists(ctx, 100); err != nil {
		s.log.WarnContext(ctx, "unfinished customer lists", "err", err)
	}
	if s.staleAfter <= 0 {
		return nil
	}
	stale, err := s.sync.StaleOrders(ctx, s.now().UTC().Add(-s.staleAfter), 20)
	if err != nil {
		return fmt.Errorf("stale orders: %w", err)
	}
	for _, so := range stale {
		if err := s.RefreshOrder(ctx, so.Shop, so.OrderID); err != nil {
			s.log.WarnContext(ctx, "re-read stale order", "order_id", so.OrderID, "err", err)
		}
	}
	return nil
}

// SyncProgress is reported after each page of a backfill.
type SyncProgress struct {
	Pages, Orders int // so far, including an interrupted run's
	Fetched       int // orders this run read (Fetched/(Elapsed-Waited) is its rate)
	Total         int // orders Shopify counts for the run; 0 if unknown
	Elapsed       time.Duration
	// Waited is the part of Elapsed a bulk export spent waiting for
	// Shopify to write its files, before the first order could be read:
	// seconds to hours, whatever the shop's size, so not part of the rate.
	Waited  time.Duration
	Resumed bool
	// Bulk is set when the run reads a bulk export; Objects counts its
	// objects (orders and their children, one JSONL line each) read so far.
	Bulk    bool
	Objects int
}

// ErrExportRefused is a bulk export Shopify would not start (one already
// running, the shop's limit reached) or that ended without a result: the
// backfill pages instead.
var ErrExportRefused = errors.New("bulk export refused")

// ExportBatch is a batch of exported orders and the checkpoint after it.
type ExportBatch struct {
	Orders     []ShopifyOrder
	Checkpoint string
	Objects    int // objects read so far, this batch included
	Total      int // orders in the export; 0 while unknown
	// Ready is when the export's files could be read (Shopify had
	// written them); zero when unknown.
	Ready time.Time
}

// Exporter reads a shop's orders through Shopify's bulk export.
type Exporter interface {
	// StartExport starts an export of the orders updated since `since`
	// (all when zero) and returns its first checkpoint; ErrExportRefused
	// (wrapped) when Shopify will not run it.
	StartExport(ctx context.Context, shop tenant.Shop, since time.Time) (string, error)
	// ReadExport waits for the export, then streams it from checkpoint,
	// handing save batches of about `batch` orders with the checkpoint
	// after each. A batch is save's to keep (Backfill saves it while the
	// next is read). An error from save stops it.
	ReadExport(ctx context.Context, shop tenant.Shop, checkpoint string, batch int, save func(ExportBatch) error) error
}

// statsRefresher is a SyncStore that can refresh the database planner's
// statistics of the tables a backfill grows (store.Orders on Postgres).
type statsRefresher interface {
	RefreshPlannerStats(ctx context.Context) error
}

// refreshStats, after the backfill's batches 1, 2, 4, 8 and 16, has the
// store refresh its planner statistics: plans made while the tables were
// empty would scan them whole as they grow. Best effort: the batch is
// saved whatever it does.
func (s *Syncer) refreshStats(ctx context.Context, r statsRefresher, pages int) {
	if err := r.RefreshPlannerStats(context.WithoutCancel(ctx)); err != nil {
		s.log.WarnContext(ctx, "backfill: planner statistics not refreshed (the batch is saved)", "batch", pages, "err", err)
	}
}

// plannerStats refreshes the planner statistics beside the saving, not
// between two batches' saves (an ANALYZE of the growing tables took 0.6 s
// of a 20,000-order Postgres backfill's 10 s each time): at most one runs at
// a time, a refresh due while one runs is skipped (the next due one reads
// the larger tables anyway), and wait waits for the one running.
type plannerStats struct {
	s    *Syncer
	busy atomic.Bool
	wg   sync.WaitGroup
}

func (p *plannerStats) after(ctx context.Context, pages int) {
	r, ok := p.s.sync.(statsRefresher)
	if !ok || pages > 16 || pages&(pages-1) != 0 || !p.busy.CompareAndSwap(false, true) {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer p.busy.Store(false)
		p.s.refreshStats(ctx, r, pages)
	}()
}

func (p *plannerStats) wait() { p.wg.Wait() }

// errSaveFailed stops an export whose batch could not be saved.
var errSaveFailed = errors.New("a batch could not be saved")

// exportBatch is how many orders a backfill saves at a time.
const exportBatch = 250

// Backfill backfills the shop's orders updated since `since` (all when
// zero) through a bulk export, saving a batch at a time with the export's
// checkpoint: a run interrupted for any reason resumes from the object it
// had reached when started again with the same `since`. When Shopify
// refuses the export (or exp is nil) it pages instead (SyncOrders).
func (s *Syncer) Backfill(ctx context.Context, shop tenant.Shop, since time.Time, exp Exporter, counter Counter, progress func(SyncProgress)) (SyncProgress, error) {
	if exp == nil {
		return s.SyncOrders(ctx, shop, since, counter, progress)
	}
	ctx = Background(ctx) // agents' reads and actions go first on the shop's points
	run, found, err := s.sync.SyncRun(ctx, shop.ID)
	if err != nil {
		return SyncProgress{}, err
	}
	p := SyncProgress{Bulk: true}
	switch {
	case found && !run.Finished && run.Since.Equal(since.UTC()) && run.Checkpoint != "":
		if run, err = s.claimSyncRun(ctx, shop.ID, run); err != nil {
			return p, fmt.Errorf("backfill: %w", err)
		}
		p.Resumed, p.Orders = true, run.Orders
	case found && !run.Finished && run.Since.Equal(since.UTC()) && run.PageInfo != "":
		return s.SyncOrders(ctx, shop, since, counter, progress) // a paged run to finish
	default:
		cp, err := exp.StartExport(ctx, shop, since)
		if errors.Is(err, ErrExportRefused) {
			s.log.WarnContext(ctx, "bulk export refused: paging instead", "err", err)
			return s.SyncOrders(ctx, shop, since, counter, progress)
		}
		if err != nil {
			return p, fmt.Errorf("backfill: %w", err)
		}
		run = SyncRun{ID: uuid.NewString(), Since: since.UTC(), StartedAt: s.now().UTC(), Checkpoint: cp}
		if err := s.sync.SaveSyncRun(context.WithoutCancel(ctx), shop.ID, run); err != nil {
			return p, err
		}
	}
	start := s.now()
	// Reading and saving overlap: the export's next batch is read (and
	// converted) while the last one is saved. Batches are saved one at a
	// time, in order, each with its checkpoint in one transaction, and
	// every batch read is saved before Backfill returns, so what a run
	// has saved always ends at its stored checkpoint. Saved even when ctx
	// is done: a crash cannot keep a batch without its checkpoint (and
	// re-save it on resume).
	type readBatch struct {
		b        ExportBatch
		prepared PreparedBatch
		run      SyncRun
	}
	queue := make(chan readBatch, 2)
	stats := &plannerStats{s: s}
	defer stats.wait()
	failed := make(chan struct{})
	saved := make(chan error, 1)
	go func() {
		var err error
		for it := range queue {
			if err != nil {
				continue // what is read after a failed save is read again on resume
			}
			if err = s.sync.SaveSyncBatch(context.WithoutCancel(ctx), shop.ID, it.prepared, it.run); err != nil {
				close(failed)
				continue
			}
			run = it.run
			stats.after(ctx, run.Pages)
			p.Orders, p.Pages = run.Orders, run.Pages
			p.Fetched += len(it.b.Orders)
			p.Objects, p.Total, p.Elapsed = it.b.Objects, it.b.Total, s.now().Sub(start)
			if r := it.b.Ready; !r.IsZero() && r.After(start) {
				p.Waited = min(r.Sub(start), p.Elapsed)
			}
			if progress != nil {
				progress(p)
			}
		}
		saved <- err
	}()
	read := run
	err = exp.ReadExport(ctx, shop, run.Checkpoint, exportBatch, func(b ExportBatch) error {
		next := read
		next.Orders, next.Pages, next.Checkpoint = read.Orders+len(b.Orders), read.Pages+1, b.Checkpoint
		select {
		case <-failed: // no more reading once a save failed
			return errSaveFailed
		default:
		}
		// Built and encoded here, while the saver writes the batch before;
		// even once ctx is done, as the saver saves it.
		prepared, err := s.prepareSyncBatch(context.WithoutCancel(ctx), shop.ID, b.Orders)
		if err != nil {
			return err
		}
		select {
		case queue <- readBatch{b: b, prepared: prepared, run: next}:
			read = next
			return nil
		case <-failed:
			return errSaveFailed
		}
	})
	close(queue)
	if serr := <-saved; serr != nil {
		return p, fmt.Errorf("backfill: %w", serr)
	}
	if errors.Is(err, ErrExportRefused) {
		// The export failed at Shopify: nothing to resume, page instead.
		s.log.WarnContext(ctx, "bulk export failed: paging instead", "err", err)
		run.Checkpoint = ""
		if err := s.sync.FinishSyncRun(context.WithoutCancel(ctx), shop.ID, run); err != nil {
			return p, fmt.Errorf("backfill: %w", err)
		}
		return s.SyncOrders(ctx, shop, since, counter, progress)
	}
	if err != nil {
		return p, fmt.Errorf("backfill: %w", err)
	}
	run.Checkpoint = ""
	p.Elapsed = s.now().Sub(start)
	if err := s.sync.FinishSyncRun(context.WithoutCancel(ctx), shop.ID, run); err != nil {
		return p, fmt.Errorf("backfill: %w", err)
	}
	return p, nil
}

// Counter counts the orders a backfill will read, for progress and ETA.
type Counter interface {
	CountOrders(ctx context.Context, shop tenant.Shop, updatedAtMin time.Time) (int, error)
}

// SyncOrders backfills the shop's orders updated since `since` (all when
// zero), a page of 250 at a time within the rate limit. Progress is saved
// after every page: a run interrupted for any reason resumes from the page
// it reached when started again with the same `since`.
func (s *Syncer) SyncOrders(ctx context.Context, shop tenant.Shop, since time.Time, counter Counter, progress func(SyncProgress)) (SyncProgress, error) {
	ctx = Background(ctx)
	run, found, err := s.sync.SyncRun(ctx, shop.ID)
	if err != nil {
		return SyncProgress{}, err
	}
	p := SyncProgress{}
	if found && !run.Finished && run.Since.Equal(since.UTC()) && run.PageInfo != "" {
		if run, err = s.claimSyncRun(ctx, shop.ID, run); err != nil {
			return p, fmt.Errorf("backfill: %w", err)
		}
		p.Resumed, p.Pages, p.Orders = true, run.Pages, run.Orders
	} else {
		run = SyncRun{ID: uuid.NewString(), Since: since.UTC(), StartedAt: s.now().UTC()}
		if err := s.sync.SaveSyncRun(context.WithoutCancel(ctx), shop.ID, run); err != nil {
			return p, err
		}
	}
	if counter != nil {
		if total, err := counter.CountOrders(ctx, shop, since); err == nil {
			p.Total = total
		}
	}
	start := s.now()
	stats := &plannerStats{s: s}
	defer stats.wait()
	req := PageRequest{UpdatedAtMin: since, Limit: 250, PageInfo: run.PageInfo}
	for {
		page, err := s.shopify.OrdersPage(ctx, shop, req)
		if err != nil {
			return p, fmt.Errorf("backfill page %d: %w", p.Pages+1, err)
		}
		next := run
		next.Pages, next.Orders, next.PageInfo, next.Finished = p.Pages+1, p.Orders+len(page.Orders), page.NextPageInfo, page.NextPageInfo == ""
		if err := s.saveSyncBatch(context.WithoutCancel(ctx), shop.ID, page.Orders, next); err != nil {
			return p, fmt.Errorf("backfill page %d: %w", p.Pages+1, err)
		}
		run = next
		stats.after(ctx, run.Pages)
		p.Pages, p.Orders = run.Pages, run.Orders
		p.Fetched += len(page.Orders)
		p.Elapsed = s.now().Sub(start)
		if progress != nil {
			progress(p)
		}
		if run.Finished {
			return p, nil
		}
		if err := ctx.Err(); err != nil {
			return p, err
		}
		req = PageRequest{PageInfo: page.NextPageInfo, Limit: req.Limit}
	}
}

// claimSyncRun has a new run take over the stored progress to resume it.
func (s *Syncer) claimSyncRun(ctx context.Context, shopID int64, stored SyncRun) (SyncRun, error) {
	id := uuid.NewString()
	if err := s.sync.ClaimSyncRun(context.WithoutCancel(ctx), shopID, stored, id); err != nil {
		return SyncRun{}, err
	}
	stored.ID = id
	return stored, nil
}

// saveSyncBatch builds a backfill's batch and saves it as history with the
// run's progress after it, in one transaction.
func (s *Syncer) saveSyncBatch(ctx context.Context, shopID int64, srcs []ShopifyOrder, run SyncRun) error {
	b, err := s.prepareSyncBatch(ctx, shopID, srcs)
	if err != nil {
		return err
	}
	return s.sync.SaveSyncBatch(ctx, shopID, b, run)
}

// prepareSyncBatch builds a backfill's batch and has the store encode it.
func (s *Syncer) prepareSyncBatch(ctx context.Context, shopID int64, srcs []ShopifyOrder) (PreparedBatch, error) {
	list := buildAll(srcs, s.now().UTC())
	return s.sync.PrepareSyncBatch(ctx, shopID, list, timelineOf(list))
}
