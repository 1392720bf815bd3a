package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// CustomerList is where the read of a customer's order list from Shopify
// stands. A customer's first list is read a page at a time, newest first
// (created_at, then id): the first request reads what it answers, the rest
// is read in the background, and each page is stored with the progress
// after it, so a failure or a restart continues from Cursor.
type CustomerList struct {
	// Started: a first read has stored at least one page (or the whole list).
	Started bool
	// SyncedAt is when the whole list was last read; zero until the first
	// read has stored its last page.
	SyncedAt time.Time
	// Cursor is Shopify's cursor of the next page to read; empty once the
	// list is complete.
	Cursor string
	// Oldest is the position (created_at, id) of the oldest order read so
	// far: every order of the customer listed before it, newest first, is
	// stored. Zero before the first order is read.
	Oldest Cursor
	// Orders counts the orders the first read has stored.
	Orders int
}

// Before reports whether c comes after d in the newest-first list: older,
// or as old with a smaller id.
func (c Cursor) Before(d Cursor) bool {
	return c.CreatedAt.Before(d.CreatedAt) || (c.CreatedAt.Equal(d.CreatedAt) && c.ID < d.ID)
}

// Complete reports whether the customer's whole list has been read.
func (l CustomerList) Complete() bool { return !l.SyncedAt.IsZero() }

// CustomerOrdersPage is one page of a customer's orders, newest first, and
// Shopify's cursor of the next one (empty after the last).
type CustomerOrdersPage struct {
	Orders []ShopifyOrder
	Next   string
}

// ErrListMoved: the customer's list read had moved on (another process
// stored that page first); nothing was stored.
var ErrListMoved = errors.New("the customer's list read has moved on")

// CustomerListStore keeps the progress of customers' list reads.
type CustomerListStore interface {
	// CustomerList says where the read of a customer's list stands; the
	// zero CustomerList when it never began.
	CustomerList(ctx context.Context, shopID, customerID int64) (CustomerList, error)
	// SaveCustomerPage stores a page of the customer's orders as history
	// (SaveOrders with history set) and the progress `to` after it, in one
	// transaction, if the stored progress is still `from`; otherwise it
	// stores nothing and returns ErrListMoved.
	SaveCustomerPage(ctx context.Context, shopID, customerID int64, list []Order, timeline []TimelineEvent, from, to CustomerList) error
}

// ShopCustomer names a customer of a shop.
type ShopCustomer struct {
	Shop       tenant.Shop
	CustomerID int64
}

// DefaultListWait bounds how long a customer's list request reads Shopify
// before it answers with what is stored (well inside serve's 60 s write
// timeout; each Shopify read is bounded by the adapter's read budget).
const DefaultListWait = 20 * time.Second

// fillTurn is how long the background read of a customer's list holds the
// shop's refresh slot before it lets the shop's other refreshes go first.
const fillTurn = 5 * time.Second

// listSource is where a list's entries come from: the store's orders (List)
// or their stored documents (ListViews), and each entry's place in the
// list's order.
type listSource[T any] struct {
	list func(ctx context.Context, shopID int64, f ListFilter) ([]T, error)
	at   func(T) Cursor
}

// listPage is a page of a list's entries.
type listPage[T any] struct {
	entries  []T
	next     *Cursor
	complete bool
}

func (s *Service) ordersSource() listSource[Order] {
	return listSource[Order]{list: s.store.ListOrders, at: func(o Order) Cursor { return Cursor{CreatedAt: o.CreatedAt, ID: o.ID} }}
}

func (s *Service) viewsSource() listSource[OrderView] {
	return listSource[OrderView]{list: s.store.ListOrderViews, at: func(v OrderView) Cursor { return Cursor{CreatedAt: v.CreatedAt, ID: v.ID} }}
}

// listOf answers a list: a customer's through listCustomer, any other
// from the store.
func listOf[T any](ctx context.Context, s *Service, shop tenant.Shop, f ListFilter, src listSource[T]) (listPage[T], error) {
	if f.CustomerID != 0 {
		return listCustomer(ctx, s, shop, f, f.Limit, src)
	}
	return listStored(ctx, shop, f, f.Limit, src)
}

// listCustomer answers a customer's list. A complete list is served from
// the store (a stale one refreshed in the background). While the first
// read is under way, the answer is cut at the oldest order read so far, so
// the orders still to come are all older than anything served and the
// pages a client already has never change; the request reads pages from
// Shopify itself only while the store cannot fill its page, bounded by
// listWait, and leaves the rest to the background.
func listCustomer[T any](ctx context.Context, s *Service, shop tenant.Shop, f ListFilter, limit int, src listSource[T]) (listPage[T], error) {
	l, err := s.lists.CustomerList(ctx, shop.ID, f.CustomerID)
	if err != nil {
		s.log.WarnContext(ctx, "customer list state unknown; serving stored orders", "customer_id", f.CustomerID, "err", err)
		return listStored(ctx, shop, f, limit, src)
	}
	if l.Complete() {
		if f.After == nil && !s.fresh(l.SyncedAt) {
			s.refreshCustomerLater(shop, f.CustomerID)
		}
		return listStored(ctx, shop, f, limit, src)
	}
	wait, cancel := context.WithTimeout(ctx, s.listWait)
	defer cancel()
	for !l.Complete() {
		if l.Started {
			page, err := listRead(ctx, shop, f, limit, l, src)
			if err != nil || len(page.entries) == limit {
				s.fillLater(shop, f.CustomerID)
				return page, err
			}
		}
		next, err := s.readCustomerPage(wait, shop, f.CustomerID)
		if err != nil {
			if ctx.Err() != nil {
				return listPage[T]{}, ctx.Err()
			}
			s.log.WarnContext(ctx, "customer read-through stopped; serving what is stored", "customer_id", f.CustomerID, "orders_read", l.Orders, "err", err)
			s.fillLater(shop, f.CustomerID)
			if !l.Started {
				// Nothing read yet: what is stored (webhooks, views) is all
				// there is to show, on one page with no next: a client
				// paging through it would miss the orders read later.
				page, err := listStored(ctx, shop, f, limit, src)
				page.complete, page.next = false, nil
				return page, err
			}
			return listRead(ctx, shop, f, limit, l, src)
		}
		l = next
	}
	return listStored(ctx, shop, f, limit, src)
}

// listStored is a page of the store's orders matching f.
func listStored[T any](ctx context.Context, shop tenant.Shop, f ListFilter, limit int, src listSource[T]) (listPage[T], error) {
	f.Limit = limit + 1 // one more tells whether a next page exists
	list, err := src.list(ctx, shop.ID, f)
	if err != nil {
		return listPage[T]{}, fmt.Errorf("list orders: %w", err)
	}
	page := listPage[T]{entries: list, complete: true}
	if len(list) > limit {
		page.entries = list[:limit]
		next := src.at(page.entries[limit-1])
		page.next = &next
	}
	return page, nil
}

// listRead is a page of a customer's orders while the first read of their
// list is under way: only orders up to the oldest one read so far (every
// order before it is stored; Shopify lists a customer's orders in the
// store's order, created_at then id, newest first). Its next cursor is
// where the client continues: after the last order listed, or, on a short
// page, at the edge of what has been read.
func listRead[T any](ctx context.Context, shop tenant.Shop, f ListFilter, limit int, l CustomerList, src listSource[T]) (listPage[T], error) {
	f.Limit = limit
	f.Through = &l.Oldest
	list, err := src.list(ctx, shop.ID, f)
	if err != nil {
		return listPage[T]{}, fmt.Errorf("list orders: %w", err)
	}
	page := listPage[T]{entries: list}
	switch {
	case len(list) > 0 && len(list) == limit:
		next := src.at(list[len(list)-1])
		page.next = &next
	case f.After == nil || l.Oldest.Before(*f.After):
		edge := l.Oldest
		page.next = &edge
	default:
		page.next = f.After // nothing read beyond it yet
	}
	return page, nil
}

// readCustomerPage reads the next page of a customer's list from Shopify
// and stores it with the progress after it, and returns that progress.
// Concurrent callers share one read; the read is not cut short by a caller
// that stops waiting (its page is stored for the next), and the caller
// waits at most until ctx ends.
func (s *Service) readCustomerPage(ctx context.Context, shop tenant.Shop, customerID int64) (CustomerList, error) {
	read := context.WithoutCancel(ctx)
	if IsBackground(ctx) {
		read = Background(read)
	}
	ch := s.flight.DoChan(fmt.Sprintf("customer:%d:%d", shop.ID, customerID), func() (any, error) {
		read, cancel := context.WithTimeout(read, s.budget.Timeout)
		defer cancel()
		return s.readCustomerPageOnce(read, shop, customerID)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return CustomerList{}, r.Err
		}
		return r.Val.(CustomerList), nil
	case <-ctx.Done():
		return CustomerList{}, ctx.Err()
	}
}

func (s *Service) readCustomerPageOnce(ctx context.Context, shop tenant.Shop, customerID int64) (CustomerList, error) {
	from, err := s.lists.CustomerList(ctx, shop.ID, customerID)
	if err != nil || from.Complete() {
		return from, err
	}
	page, err := s.shopify.CustomerOrdersPage(ctx, shop, customerID, from.Cursor)
	switch {
	case errors.Is(err, ErrNotFound):
		page = CustomerOrdersPage{} // no such customer (any more): their list is what is stored
	case err != nil:
		return from, fmt.Errorf("read customer %d orders from shopify (page after %d orders): %w", customerID, from.Orders, err)
	}
	now := s.now().UTC()
	list := buildAll(page.Orders, now)
	to := from
	to.Started, to.Cursor, to.Orders = true, page.Next, from.Orders+len(list)
	for _, o := range list {
		if at := (Cursor{CreatedAt: o.CreatedAt.UTC(), ID: o.ID}); to.Oldest.CreatedAt.IsZero() || at.Before(to.Oldest) {
			to.Oldest = at
		}
	}
	if page.Next == "" {
		to.SyncedAt = now
	}
	err = s.lists.SaveCustomerPage(ctx, shop.ID, customerID, list, timelineOf(list), from, to)
	if errors.Is(err, ErrListMoved) {
		return s.lists.CustomerList(ctx, shop.ID, customerID)
	}
	if err != nil {
		return from, fmt.Errorf("store customer %d orders: %w", customerID, err)
	}
	return to, nil
}

// fillLater reads the rest of a customer's first list in the background,
// within the shop's refresh budget, a turn of pages at a time.
func (s *Service) fillLater(shop tenant.Shop, customerID int64) {
	s.refresh.schedule(refreshKey{shopID: shop.ID, customer: true, id: customerID}, func(ctx context.Context) error {
		turn := time.Now().Add(fillTurn)
		for {
			l, err := s.readCustomerPage(ctx, shop, customerID)
			if err != nil || l.Complete() {
				return err
			}
			if time.Now().After(turn) {
				return errMore
			}
		}
	})
}

// refreshCustomerLater re-reads a complete but stale list in the background.
func (s *Service) refreshCustomerLater(shop tenant.Shop, customerID int64) {
	s.refresh.schedule(refreshKey{shopID: shop.ID, customer: true, id: customerID}, func(ctx context.Context) error {
		if l, err := s.lists.CustomerList(ctx, shop.ID, customerID); err == nil && s.fresh(l.SyncedAt) {
			return nil
		}
		return s.readCustomer(ctx, shop, customerID)
	})
}

// ResumeCustomerLists schedules the background reads of customers' lists
// that stopped before their last page (a failure, a restart), within the
// shops' refresh budgets, and returns how many it found. Each call takes
// the next limit of them, from the first again once it reaches the end:
// lists whose reads keep failing (a shop whose token no longer works)
// never hold back those after them.
func (s *Syncer) ResumeCustomerLists(ctx context.Context, limit int) (int, error) {
	r, ok := s.sync.(interface {
		UnfinishedCustomerLists(ctx context.Context, after ShopCustomer, limit int) ([]ShopCustomer, error)
	})
	if !ok {
		return 0, nil
	}
	s.resumeMu.Lock()
	after := s.resumeAfter
	s.resumeMu.Unlock()
	list, err := r.UnfinishedCustomerLists(ctx, after, limit)
	if err != nil {
		return 0, err
	}
	next := ShopCustomer{}
	if len(list) == limit && limit > 0 {
		next = list[len(list)-1]
	}
	s.resumeMu.Lock()
	s.resumeAfter = next
	s.resumeMu.Unlock()
	for _, c := range list {
		s.fillLater(c.Shop, c.CustomerID)
	}
	return len(list), nil
}

// customerFreshness is the read-through of a contact's timeline: a list
// not read whole is read on, page after page, for at most listWait (a
// timeline is ordered by when things happened, so an older order may hold
// the newest event: it has no edge to cut at), the rest in the background;
// a stale complete list is refreshed in the background. Failure is logged,
// not returned: what is stored still serves.
func (s *Service) customerFreshness(ctx context.Context, shop tenant.Shop, customerID int64) {
	l, err := s.lists.CustomerList(ctx, shop.ID, customerID)
	switch {
	case err != nil:
		s.log.WarnContext(ctx, "customer list state unknown; serving stored orders", "customer_id", customerID, "err", err)
	case l.Complete():
		if !s.fresh(l.SyncedAt) {
			s.refreshCustomerLater(shop, customerID)
		}
	default:
		wait, cancel := context.WithTimeout(ctx, s.listWait)
		defer cancel()
		for !l.Complete() {
			if l, err = s.readCustomerPage(wait, shop, customerID); err != nil {
				s.log.WarnContext(ctx, "customer read-through stopped; serving stored orders", "customer_id", customerID, "err", err)
				break
			}
		}
		if !l.Complete() {
			s.fillLater(shop, customerID)
		}
	}
}
