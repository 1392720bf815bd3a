package store_test

import (
	"context"
	"testing"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestSequencesOfALargeBatch: one save of more orders than an IN list
// holds numbers each order's events from 1, and a later save of a new fact
// for every one of them numbers it after the order's own, with the
// sequence rows and events agreeing (the orders' ids, past 2^32, go into
// SQLite's statement as JSON).
func TestSequencesOfALargeBatch(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "large.myshopify.com")
		st := s.Orders()
		const n = 1200
		const first = int64(5_000_000_000_000)
		list := make([]orders.Order, n)
		for i := range list {
			src := order(first+int64(i), 7, base, "paid").Source
			src.OrderNumber = 1001 + i // order numbers are small; ids are not
			list[i] = orders.Build(src, base)
		}
		if err := st.SaveOrders(ctx, sh.ID, list, nil, false); err != nil {
			t.Fatal(err)
		}
		check := func(wantMax int64) {
			t.Helper()
			var orderCount, bad int64
			if err := s.QueryRowForTest(`SELECT count(*), coalesce(sum(CASE WHEN s.last = (SELECT max(e.sequence) FROM events e WHERE e.shop_id = s.shop_id AND e.order_id = s.order_id)
				AND s.last = ? AND (SELECT count(*) FROM events e WHERE e.shop_id = s.shop_id AND e.order_id = s.order_id) = s.last THEN 0 ELSE 1 END), 0)
				FROM event_sequences s WHERE s.shop_id = ?`, []any{wantMax, sh.ID}, &orderCount, &bad); err != nil {
				t.Fatal(err)
			}
			if orderCount != n || bad != 0 {
				t.Fatalf("%d sequence rows, %d not numbered 1..%d without a gap", orderCount, bad, wantMax)
			}
		}
		var facts int64
		if err := s.QueryRowForTest("SELECT count(*) FROM events WHERE shop_id = ? AND order_id = ?", []any{sh.ID, first}, &facts); err != nil || facts == 0 {
			t.Fatalf("events of one order: %d, %v", facts, err)
		}
		check(facts)
		refunded := make([]orders.Order, n)
		for i, o := range list {
			refunded[i] = withRefund(o, 9000+int64(i), "1.00")
		}
		if err := st.SaveOrders(ctx, sh.ID, refunded, nil, false); err != nil {
			t.Fatal(err)
		}
		check(facts + 1)
	})
}
