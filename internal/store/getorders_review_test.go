package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// The same order id held by two shops: each shop's GetOrders sees only
// its own copy, exactly as GetOrder does.
func TestGetOrdersSameIDTwoShops(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := shop(t, s, "a.myshopify.com"), shop(t, s, "b.myshopify.com")
		st := s.Orders()
		if err := st.UpsertOrders(ctx, a.ID, []orders.Order{order(5, 7, base, "paid")}); err != nil {
			t.Fatal(err)
		}
		if err := st.UpsertOrders(ctx, b.ID, []orders.Order{order(5, 8, base.Add(1), "pending"), order(6, 8, base, "pending")}); err != nil {
			t.Fatal(err)
		}
		for _, sh := range []struct {
			id       int64
			customer int64
		}{{a.ID, 7}, {b.ID, 8}} {
			got, err := st.GetOrders(ctx, sh.id, []int64{5, 6})
			if err != nil {
				t.Fatal(err)
			}
			one, err := st.GetOrder(ctx, sh.id, 5)
			if err != nil {
				t.Fatal(err)
			}
			if got[5].Customer == nil || got[5].Customer.ID != sh.customer || got[5].Customer.ID != one.Customer.ID || !got[5].Source.UpdatedAt.Equal(one.Source.UpdatedAt) {
				t.Errorf("shop %d: GetOrders[5] = %+v, GetOrder = %+v", sh.id, got[5].Customer, one.Customer)
			}
			_, has6 := got[6]
			_, err6 := st.GetOrder(ctx, sh.id, 6)
			if has6 != (err6 == nil) {
				t.Errorf("shop %d: GetOrders has 6 = %v, GetOrder(6) err = %v", sh.id, has6, err6)
			}
		}
		// A row that does not decode fails the read, naming the order.
		if err := s.ExecForReview(ctx, `UPDATE orders SET shopify = '"x"' WHERE shop_id = ? AND id = 5`, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetOrders(ctx, a.ID, []int64{5}); err == nil || !strings.Contains(err.Error(), "order 5") {
			t.Errorf("GetOrders of an undecodable row = %v", err)
		}
	})
}
