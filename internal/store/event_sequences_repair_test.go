package store_test

import (
	"context"
	"testing"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// An order's sequence row missing or behind its events (a partial
// restore, a hand edit): the next events are numbered above the stored
// ones, once, and the numbering goes on from there without a jump.
func TestEventSequenceRepairsItself(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "repair.myshopify.com")
		st := s.Orders()
		o := order(1, 7, base, "paid")
		save := func(o orders.Order) {
			t.Helper()
			if err := st.SaveOrders(ctx, sh.ID, []orders.Order{o}, nil, false); err != nil {
				t.Fatal(err)
			}
		}
		sequences := func() (n, distinct, highest, last int64) {
			t.Helper()
			if err := s.QueryRowForTest("SELECT count(*), count(DISTINCT sequence), max(sequence) FROM events WHERE order_id = 1", nil, &n, &distinct, &highest); err != nil {
				t.Fatal(err)
			}
			if err := s.QueryRowForTest("SELECT last FROM event_sequences WHERE order_id = 1", nil, &last); err != nil {
				t.Fatal(err)
			}
			return n, distinct, highest, last
		}
		save(o)
		for i, damage := range []string{"DELETE FROM event_sequences", "UPDATE event_sequences SET last = 1", ""} {
			if damage != "" {
				if err := s.ExecForTest(damage); err != nil {
					t.Fatal(err)
				}
			}
			o = withRefund(o, int64(100*(i+1)), "1.00")
			save(o)
			n, distinct, highest, last := sequences()
			if distinct != n || highest != n || last != n {
				t.Errorf("after %q: %d events, %d distinct sequences, highest %d, last %d; want all equal", damage, n, distinct, highest, last)
			}
		}
	})
}
