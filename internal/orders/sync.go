package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	// SyncRun and SaveSyncRun keep a backfill's progress.
	SyncRun(ctx context.Context, shopID int64) (SyncRun, bool, error)
	SaveSyncRun(ctx context.Context, shopID int64, run SyncRun) error
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
	stored, err := s.store.GetOrder(ctx, shop.ID, src.ID)
	switch {
	case err == nil && stored.Source.UpdatedAt.After(src.UpdatedAt):
		s.log.InfoContext(ctx, "ignoring an older copy of an order", "order_id", src.ID, "payload_updated_at", src.UpdatedAt, "stored_updated_at", stored.Source.UpdatedAt)
		return nil
	case err == nil:
		mergeUnsent(&src, stored.Source)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("apply order %d: %w", src.ID, err)
	}
	if err := s.save(ctx, shop.ID, Build(src, s.now().UTC())); err != nil {
		return fmt.Errorf("apply order %d: %w", src.ID, err)
	}
	return nil
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
	Fetched       int // orders this run read (Fetched/Elapsed is its rate)
	Total         int // orders Shopify counts for the run; 0 if unknown
	Elapsed       time.Duration
	Resumed       bool
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
		p.Resumed, p.Pages, p.Orders = true, run.Pages, run.Orders
	} else {
		run = SyncRun{Since: since.UTC(), StartedAt: s.now().UTC()}
	}
	if counter != nil {
		if total, err := counter.CountOrders(ctx, shop, since); err == nil {
			p.Total = total
		}
	}
	start := s.now()
	req := PageRequest{UpdatedAtMin: since, Limit: 250, PageInfo: run.PageInfo}
	for {
		page, err := s.shopify.OrdersPage(ctx, shop, req)
		if err != nil {
			return p, fmt.Errorf("backfill page %d: %w", p.Pages+1, err)
		}
		if err := s.saveHistory(ctx, shop.ID, buildAll(page.Orders, s.now().UTC())...); err != nil {
			return p, fmt.Errorf("backfill page %d: %w", p.Pages+1, err)
		}
		p.Pages++
		p.Orders += len(page.Orders)
		p.Fetched += len(page.Orders)
		p.Elapsed = s.now().Sub(start)
		run.Pages, run.Orders, run.PageInfo, run.Finished = p.Pages, p.Orders, page.NextPageInfo, page.NextPageInfo == ""
		if err := s.sync.SaveSyncRun(context.WithoutCancel(ctx), shop.ID, run); err != nil {
			return p, err
		}
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
