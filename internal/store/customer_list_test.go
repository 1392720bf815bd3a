package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestCustomerListProgress: a customer's list read stores each page with
// its progress; a page saved from a progress that has moved on stores
// nothing (ErrListMoved); the list is served up to its oldest order read;
// the last page completes it and clears the cursor.
func TestCustomerListProgress(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "fill.myshopify.com")
		o := s.Orders()
		if l, err := o.CustomerList(ctx, sh.ID, 7); err != nil || l.Started || l.Complete() {
			t.Fatalf("never read: %+v %v", l, err)
		}
		page1 := []orders.Order{order(30, 7, base.Add(3*time.Hour), "paid"), order(20, 7, base.Add(2*time.Hour), "paid")}
		p1 := orders.CustomerList{Started: true, Cursor: "c1", Oldest: orders.Cursor{CreatedAt: base.Add(2 * time.Hour), ID: 20}, Orders: 2}
		if err := o.SaveCustomerPage(ctx, sh.ID, 7, page1, nil, orders.CustomerList{}, p1); err != nil {
			t.Fatal(err)
		}
		// A second first page (another process read it too) is refused.
		if err := o.SaveCustomerPage(ctx, sh.ID, 7, page1, nil, orders.CustomerList{}, p1); !errors.Is(err, orders.ErrListMoved) {
			t.Fatalf("a second first page: %v, want ErrListMoved", err)
		}
		got, err := o.CustomerList(ctx, sh.ID, 7)
		if err != nil || !got.Started || got.Complete() || got.Cursor != "c1" || got.Orders != 2 || !got.Oldest.CreatedAt.Equal(p1.Oldest.CreatedAt) || got.Oldest.ID != 20 {
			t.Fatalf("after page 1: %+v %v, want %+v", got, err, p1)
		}
		// An order stored out of turn (a view) older than the edge is cut.
		if err := o.UpsertOrders(ctx, sh.ID, []orders.Order{order(5, 7, base, "paid")}); err != nil {
			t.Fatal(err)
		}
		list, err := o.ListOrders(ctx, sh.ID, orders.ListFilter{CustomerID: 7, Limit: 10, Through: &got.Oldest})
		if err != nil || len(list) != 2 || list[0].ID != 30 || list[1].ID != 20 {
			t.Fatalf("list through the edge: %d orders %v", len(list), err)
		}
		unfinished, err := o.UnfinishedCustomerLists(ctx, orders.ShopCustomer{}, 10)
		if err != nil || len(unfinished) != 1 || unfinished[0].CustomerID != 7 || unfinished[0].Shop.ID != sh.ID {
			t.Fatalf("unfinished lists: %+v %v", unfinished, err)
		}
		// The last page, saved from a stale progress, stores nothing.
		page2 := []orders.Order{order(10, 7, base.Add(time.Hour), "paid")}
		done := orders.CustomerList{Started: true, SyncedAt: base.Add(5 * time.Hour), Oldest: orders.Cursor{CreatedAt: base.Add(time.Hour), ID: 10}, Orders: 3}
		stale := p1
		stale.Cursor = "c0"
		if err := o.SaveCustomerPage(ctx, sh.ID, 7, page2, nil, stale, done); !errors.Is(err, orders.ErrListMoved) {
			t.Fatalf("page from a stale progress: %v, want ErrListMoved", err)
		}
		if _, err := o.GetOrder(ctx, sh.ID, 10); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("the refused page's order was stored: %v", err)
		}
		if err := o.SaveCustomerPage(ctx, sh.ID, 7, page2, nil, p1, done); err != nil {
			t.Fatal(err)
		}
		got, err = o.CustomerList(ctx, sh.ID, 7)
		if err != nil || !got.Complete() || !got.SyncedAt.Equal(done.SyncedAt) || got.Cursor != "" || got.Orders != 3 {
			t.Fatalf("after the last page: %+v %v", got, err)
		}
		if at, err := o.CustomerSyncedAt(ctx, sh.ID, 7); err != nil || !at.Equal(done.SyncedAt) {
			t.Fatalf("synced at %v %v", at, err)
		}
		if unfinished, err := o.UnfinishedCustomerLists(ctx, orders.ShopCustomer{}, 10); err != nil || len(unfinished) != 0 {
			t.Fatalf("unfinished after completion: %+v %v", unfinished, err)
		}
		// Another customer mid-read is never synced.
		if err := o.SaveCustomerPage(ctx, sh.ID, 8, nil, nil, orders.CustomerList{}, orders.CustomerList{Started: true, Cursor: "x"}); err != nil {
			t.Fatal(err)
		}
		if at, err := o.CustomerSyncedAt(ctx, sh.ID, 8); err != nil || !at.IsZero() {
			t.Fatalf("a list mid-read says synced at %v (%v)", at, err)
		}
	})
}
