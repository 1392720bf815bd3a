package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// Review of issue 9: the orders stored before their documents were (every
// order of a database migrated to 00018), or with a document of another
// version (a release that changed the answer's shape), are served by
// rendering them from their facts on every view, for as long as Shopify
// does not change them (an archived order: for ever). Start-up renders
// their documents in the background (RenderMissingDocs), without
// overwriting a writer's newer facts.
func TestRenderMissingDocs(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "docs-backfill.myshopify.com")
		o1, o2, o3 := order(1, 7, base, "paid"), order(2, 7, base.Add(time.Minute), "paid"), order(3, 8, base.Add(2*time.Minute), "paid")
		// o1 and o2 written before documents were; o3 with version 1's.
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o1, o2}, nil, false); err != nil {
			t.Fatal(err)
		}
		s.RenderOrdersWith(testRenderer(1))
		if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o3}, nil, false); err != nil {
			t.Fatal(err)
		}
		if v := mustView(t, s, sh.ID, 1); v.Doc != nil {
			t.Fatalf("order 1 has a document before the backfill: %s", v.Doc)
		}
		s.RenderOrdersWith(testRenderer(2)) // a release of a new shape starts
		if n, err := s.RenderMissingDocs(ctx); err != nil || n != 3 {
			t.Fatalf("rendered %d: %v, want 3", n, err)
		}
		want := func(o orders.Order) string {
			b, _ := testRenderer(2).Render(o)
			return string(b)
		}
		for _, o := range []orders.Order{o1, o2, o3} {
			v := mustView(t, s, sh.ID, o.ID)
			if v.Doc == nil || string(v.Doc) != want(o) {
				t.Errorf("order %d after start-up: doc %q, want %q", o.ID, v.Doc, want(o))
			}
			if !v.SyncedAt.Equal(o.SyncedAt) {
				t.Errorf("order %d: synced_at %s, want %s", o.ID, v.SyncedAt, o.SyncedAt)
			}
		}
		// Nothing left to do: a second start renders nothing again.
		if n, err := s.RenderMissingDocs(ctx); err != nil || n != 0 {
			t.Fatalf("second run rendered %d: %v, want 0", n, err)
		}
		if v := mustView(t, s, sh.ID, 2); string(v.Doc) != want(o2) {
			t.Errorf("order 2 after a second start: %q", v.Doc)
		}
		// An older release rewrites order 2's facts (the trigger drops its
		// document): the next run renders the new facts.
		newer := `{"id":2,"name":"#1002","updated_at":"2026-12-01T00:00:00Z","currency":"USD","total_price":"99.00","financial_status":"paid"}`
		if err := s.Exec(ctx, "UPDATE orders SET shopify = ? WHERE shop_id = ? AND id = ?", newer, sh.ID, 2); err != nil {
			t.Fatal(err)
		}
		if n, err := s.RenderMissingDocs(ctx); err != nil || n != 1 {
			t.Fatalf("after an older release's write: rendered %d: %v, want 1", n, err)
		}
		if v := mustView(t, s, sh.ID, 2); v.Doc == nil || !strings.Contains(string(v.Doc), `"total":"99"`) {
			t.Errorf("order 2 after its facts changed: %q", v.Doc)
		}
	})
}
