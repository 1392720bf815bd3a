package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// testRenderer renders what the tests check: the facts a document must
// follow (the order's updated_at, its contact's email, its total).
func testRenderer(version int) orders.Renderer {
	return orders.Renderer{Version: version, Render: func(o orders.Order) ([]byte, error) {
		email := ""
		if o.Customer != nil {
			email = o.Customer.Email
		}
		return fmt.Appendf(nil, `{"id":%d,"updated_at":%q,"email":%q,"total":%q,`, o.ID, o.UpdatedAt.Format(time.RFC3339), email, o.TotalPrice.String()), nil
	}}
}

func docOf(o orders.Order) string {
	b, _ := testRenderer(1).Render(o)
	return string(b)
}

// viewOf reads an order's view and says which it got.
func mustView(t *testing.T, s *store.Store, shopID, id int64) orders.OrderView {
	t.Helper()
	v, err := s.Orders().OrderView(context.Background(), shopID, id)
	if err != nil {
		t.Fatalf("view %d: %v", id, err)
	}
	if (v.Doc == nil) == (v.Order == nil) {
		t.Fatalf("view %d: doc %q and order %v: exactly one must be set", id, v.Doc, v.Order != nil)
	}
	return v
}

func TestOrderViewFollowsWrites(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.RenderOrdersWith(testRenderer(1))
		sh := shop(t, s, "views.myshopify.com")
		o1 := order(1, 7, base, "paid")
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o1}, nil, false); err != nil {
			t.Fatal(err)
		}
		v := mustView(t, s, sh.ID, 1)
		if string(v.Doc) != docOf(o1) || !v.SyncedAt.Equal(o1.SyncedAt) || !v.CreatedAt.Equal(o1.CreatedAt) || v.ID != 1 {
			t.Fatalf("first view: %+v, want doc %s synced %s", v, docOf(o1), o1.SyncedAt)
		}
		if v.SyncedAt.Location() != time.UTC {
			t.Errorf("synced_at in %s, want UTC", v.SyncedAt.Location())
		}

		// A newer state (a webhook): the document follows it.
		src := o1.Source
		src.UpdatedAt = base.Add(time.Hour)
		src.Customer.Email = "new@example.com"
		o2 := orders.Build(src, base.Add(2*time.Hour))
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o2}, nil, false); err != nil {
			t.Fatal(err)
		}
		v = mustView(t, s, sh.ID, 1)
		if string(v.Doc) != docOf(o2) || !v.SyncedAt.Equal(o2.SyncedAt) {
			t.Fatalf("after the update: doc %s synced %s, want %s %s", v.Doc, v.SyncedAt, docOf(o2), o2.SyncedAt)
		}

		// An older state arriving late (a slow refresh): neither the copy
		// nor its document goes back.
		late := orders.Build(o1.Source, base.Add(3*time.Hour))
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{late}, nil, false); err != nil {
			t.Fatal(err)
		}
		v = mustView(t, s, sh.ID, 1)
		if string(v.Doc) != docOf(o2) || !v.SyncedAt.Equal(o2.SyncedAt) {
			t.Fatalf("after a late older write: doc %s synced %s, want %s %s", v.Doc, v.SyncedAt, docOf(o2), o2.SyncedAt)
		}

		// The list serves the same documents.
		o3 := order(3, 7, base.Add(time.Minute), "pending")
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o3}, nil, false); err != nil {
			t.Fatal(err)
		}
		list, err := s.Orders().ListOrderViews(ctx, sh.ID, orders.ListFilter{CustomerID: 7, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != 3 || string(list[0].Doc) != docOf(o3) || list[1].ID != 1 || string(list[1].Doc) != docOf(o2) {
			t.Fatalf("list = %+v", list)
		}
		if _, err := s.Orders().OrderView(ctx, sh.ID, 99); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("missing order: %v, want ErrNotFound", err)
		}
	})
}

// A document is only served while it shows the row's facts and is of the
// current shape; otherwise the order is rebuilt from its facts.
func TestOrderViewWithoutCurrentDocument(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "views.myshopify.com")
		o1, o2 := order(1, 7, base, "paid"), order(2, 7, base.Add(time.Minute), "paid")

		// Written without a renderer: no document.
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o1}, nil, false); err != nil {
			t.Fatal(err)
		}
		s.RenderOrdersWith(testRenderer(1))
		if v := mustView(t, s, sh.ID, 1); v.Order == nil || v.Order.ID != 1 || !v.SyncedAt.Equal(o1.SyncedAt) {
			t.Fatalf("an order stored without a document: %+v", v)
		}
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o2}, nil, false); err != nil {
			t.Fatal(err)
		}
		list, err := s.Orders().ListOrderViews(ctx, sh.ID, orders.ListFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != 2 || list[0].Doc == nil || list[1].ID != 1 || list[1].Order == nil || list[1].Order.ID != 1 {
			t.Fatalf("list of one with a document and one without: %+v", list)
		}

		// A release of another shape does not serve version 1 documents.
		s.RenderOrdersWith(testRenderer(2))
		if v := mustView(t, s, sh.ID, 2); v.Order == nil {
			t.Fatalf("a document of version 1 served by version 2: %s", v.Doc)
		}
		s.RenderOrdersWith(testRenderer(1))
		if v := mustView(t, s, sh.ID, 2); v.Doc == nil {
			t.Fatal("version 1 does not serve its own document")
		}

		// A writer that knows of the documents may write the same one for
		// new facts (a webhook's payload, then Shopify's answer to a
		// refresh, of one state): it is kept.
		same := o2.Source
		same.Phone = "+15555550100" // a fact the test document does not show
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{orders.Build(same, base.Add(6*time.Hour))}, nil, false); err != nil {
			t.Fatal(err)
		}
		if v := mustView(t, s, sh.ID, 2); v.Doc == nil {
			t.Fatal("the same document written for new facts was dropped")
		}
		// A writer that changes the facts and not the document (an older
		// release still running): the document is dropped, not served.
		newer := `{"id":2,"name":"#1002","updated_at":"2026-12-01T00:00:00Z","currency":"USD","total_price":"99.00","financial_status":"paid"}`
		if err := s.Exec(ctx, "UPDATE orders SET shopify = ?, updated_at = ? WHERE shop_id = ? AND id = ?", newer, base.Add(time.Hour), sh.ID, 2); err != nil {
			t.Fatal(err)
		}
		v := mustView(t, s, sh.ID, 2)
		if v.Order == nil || v.Order.TotalPrice.String() != "99" {
			t.Fatalf("after a write of the facts alone: doc %s order %+v, want the order rebuilt from the new facts", v.Doc, v.Order)
		}
		// A write of synced_at alone keeps the document: synced_at is read
		// from its column.
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o1}, nil, false); err != nil {
			t.Fatal(err)
		}
		later := base.Add(5 * time.Hour)
		if err := s.Exec(ctx, "UPDATE orders SET synced_at = ? WHERE shop_id = ? AND id = ?", later, sh.ID, 1); err != nil {
			t.Fatal(err)
		}
		if v := mustView(t, s, sh.ID, 1); v.Doc == nil || !v.SyncedAt.Equal(later) {
			t.Fatalf("after a write of synced_at: doc %s synced %s, want the document and %s", v.Doc, v.SyncedAt, later)
		}
	})
}

func TestOrderDocRenderFailureStoresNothing(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "views.myshopify.com")
		s.RenderOrdersWith(orders.Renderer{Version: 1, Render: func(orders.Order) ([]byte, error) { return nil, errors.New("boom") }})
		err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{order(1, 7, base, "paid")}, nil, false)
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("save with a failing renderer: %v", err)
		}
		if _, err := s.Orders().OrderView(ctx, sh.ID, 1); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("an order whose document failed was stored: %v", err)
		}
	})
}

// customers/redact erases the contact from the document too.
func TestRedactRendersTheDocumentAgain(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.RenderOrdersWith(testRenderer(1))
		sh := shop(t, s, "views.myshopify.com")
		o := order(1, 7, base, "paid")
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o}, nil, false); err != nil {
			t.Fatal(err)
		}
		if v := mustView(t, s, sh.ID, 1); !strings.Contains(string(v.Doc), "@") {
			t.Fatalf("document %s shows no email before the redaction", v.Doc)
		}
		if err := s.Orders().RedactCustomer(ctx, sh.ID, 7, nil); err != nil {
			t.Fatal(err)
		}
		v := mustView(t, s, sh.ID, 1)
		if v.Doc == nil || strings.Contains(string(v.Doc), "@") {
			t.Fatalf("document after the redaction: %s", v.Doc)
		}
		// Without a renderer the redaction drops the document.
		s.RenderOrdersWith(orders.Renderer{})
		o2 := order(2, 8, base, "paid")
		s.RenderOrdersWith(testRenderer(1))
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o2}, nil, false); err != nil {
			t.Fatal(err)
		}
		s.RenderOrdersWith(orders.Renderer{})
		if err := s.Orders().RedactCustomer(ctx, sh.ID, 8, nil); err != nil {
			t.Fatal(err)
		}
		s.RenderOrdersWith(testRenderer(1))
		if v := mustView(t, s, sh.ID, 2); v.Order == nil || v.Order.Customer.Email != "" {
			t.Fatalf("redacted without a renderer: doc %s", v.Doc)
		}
	})
}
