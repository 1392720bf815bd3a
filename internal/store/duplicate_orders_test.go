package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// An order twice in one save, with its timeline twice (the service's
// timelineOf of the list), through SaveOrders and a backfill's batch: it
// is stored as its newest copy, each of its facts is one event, on both
// databases.
func TestSaveKeepsTheNewestCopyOfARepeatedOrder(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "copies.myshopify.com")
		st := s.Orders()
		timelineOf := func(list []orders.Order) []orders.TimelineEvent {
			var tl []orders.TimelineEvent
			for _, o := range list {
				tl = append(tl, orders.TimelineFor(o)...)
			}
			return tl
		}

		// The newer copy first: the older one, later in the list, does not win.
		o := order(1, 7, base, "paid")
		r := withRefund(o, 50, "1.00")
		list := []orders.Order{r, order(2, 7, base, "paid"), o}
		if err := st.SaveOrders(ctx, sh.ID, list, timelineOf(list), false); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetOrder(ctx, sh.ID, 1)
		if err != nil || len(got.Refunds) != 1 {
			t.Errorf("stored copy: %d refunds, %v; want the newer copy's 1", len(got.Refunds), err)
		}
		if evs := listEvents(t, s, sh.ID, events.Filter{Type: events.TypeOrderRefunded}); len(evs) != 1 {
			t.Errorf("refund events = %d, want 1", len(evs))
		}

		// Equal updated_at: the later copy, in a backfill's batch.
		a, b := order(3, 7, base, "paid"), order(3, 8, base, "paid")
		batch, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{a, b}, timelineOf([]orders.Order{a, b}))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{StartedAt: base}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSyncBatch(ctx, sh.ID, batch, orders.SyncRun{StartedAt: base, Pages: 1}); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetOrder(ctx, sh.ID, 3); err != nil || got.Source.Email != b.Source.Email {
			t.Errorf("tie: stored %q, %v; want the later copy's %q", got.Source.Email, err, b.Source.Email)
		}

		var dupKeys, dupSeq int64
		if err := s.QueryRowForTest("SELECT count(*) - count(DISTINCT key), count(*) - count(DISTINCT order_id || ':' || sequence) FROM events", nil, &dupKeys, &dupSeq); err != nil {
			t.Fatal(err)
		}
		if dupKeys != 0 || dupSeq != 0 {
			t.Errorf("duplicate keys %d, duplicate sequences %d", dupKeys, dupSeq)
		}
		var ids []string
		for _, e := range timelineOf(list) {
			if !slices.Contains(ids, e.ID) {
				ids = append(ids, e.ID)
			}
		}
		var n int64
		if err := s.QueryRowForTest("SELECT count(*) FROM timeline_events WHERE order_id IN (1, 2)", nil, &n); err != nil {
			t.Fatal(err)
		}
		if n != int64(len(ids)) {
			t.Errorf("timeline rows of orders 1 and 2 = %d, want %d", n, len(ids))
		}
	})
}
