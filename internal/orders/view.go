package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Renderer renders the document a view of an order answers with. The store
// calls it when it writes an order, in the same statement as the order's
// facts, so a view sends stored bytes instead of rebuilding and encoding
// the order. The HTTP layer provides it (it owns the response's shape) and
// cmd/orderdesk hands it to the store.
type Renderer struct {
	// Version names the document's shape. A stored document of another
	// version is not served: the order is rendered from its facts instead.
	// A release that changes what a view answers changes it.
	Version int
	// Render renders the order's document. It must not depend on the time
	// of the view, only on the order: the document is sent as stored.
	Render func(Order) ([]byte, error)
}

// OrderView is what a view of an order answers with: the document stored
// with the order (Doc), or, when none of the current version is stored, the
// order itself to render (Order). Exactly one of the two is set.
type OrderView struct {
	ID        int64
	CreatedAt time.Time
	// SyncedAt is when the copy was read from Shopify: the store's column,
	// not part of Doc, so it is always the row's own.
	SyncedAt time.Time
	Doc      []byte
	Order    *Order
}

// ViewPage is a page of order views and the cursor of the next one.
type ViewPage struct {
	Views []OrderView
	Next  *Cursor
	// Complete is Page.Complete.
	Complete bool
}

// ViewStore reads orders the way views answer them.
type ViewStore interface {
	// OrderView returns one order's stored document, or the order when no
	// document of the current version is stored; ErrNotFound when missing.
	OrderView(ctx context.Context, shopID, orderID int64) (OrderView, error)
	// ListOrderViews is ListOrders as views.
	ListOrderViews(ctx context.Context, shopID int64, f ListFilter) ([]OrderView, error)
}

// View is Get as a view answers it: the stored document when there is one
// (a copy older than the TTL is served and refreshed in the background),
// the order read through from Shopify when it is missing or refresh is set.
func (s *Service) View(ctx context.Context, shop tenant.Shop, id int64, refresh bool) (OrderView, error) {
	if !refresh {
		v, err := s.store.OrderView(ctx, shop.ID, id)
		switch {
		case err == nil:
			if !s.fresh(v.SyncedAt) {
				s.refreshOrderLater(shop, id)
			}
			return v, nil
		case !errors.Is(err, ErrNotFound):
			return OrderView{}, fmt.Errorf("view order %d: %w", id, err)
		}
	}
	o, err := s.fetchOrder(ctx, shop, id, refresh)
	if err != nil {
		return OrderView{}, err
	}
	return OrderView{ID: o.ID, CreatedAt: o.CreatedAt, SyncedAt: o.SyncedAt, Order: &o}, nil
}

// ListViews is List as views: the stored documents of a page of orders.
func (s *Service) ListViews(ctx context.Context, shop tenant.Shop, f ListFilter) (ViewPage, error) {
	p, err := listOf(ctx, s, shop, f, s.viewsSource())
	return ViewPage{Views: p.entries, Next: p.next, Complete: p.complete}, err
}
