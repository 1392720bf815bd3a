package orders_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// countingOrders counts GetOrders calls and can fail them.
type countingOrders struct {
	*store.Orders
	calls int
	fail  error
}

func (c *countingOrders) GetOrders(ctx context.Context, shopID int64, ids []int64) (map[int64]orders.Order, error) {
	c.calls++
	if c.fail != nil {
		return nil, c.fail
	}
	return c.Orders.GetOrders(ctx, shopID, ids)
}

func reviewSrc(id int64, at time.Time, note string) orders.ShopifyOrder {
	return orders.ShopifyOrder{ID: id, Name: "#1", OrderNumber: 1, CreatedAt: at, UpdatedAt: at,
		Currency: "USD", TotalPrice: decimal.RequireFromString("1.00"), FinancialStatus: "paid", Email: note + "@example.com"}
}

func TestReviewApplyBatchReads(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.New(t, kind)
			ten := tenant.NewService(st.Tenants())
			a, err := ten.Bootstrap(ctx, "a.myshopify.com", "key-a-0123456789abcdef")
			if err != nil {
				t.Fatal(err)
			}
			b, err := st.Tenants().EnsureShop(ctx, "b.myshopify.com")
			if err != nil {
				t.Fatal(err)
			}
			co := &countingOrders{Orders: st.Orders()}
			log := slog.New(slog.DiscardHandler)
			sy := orders.NewSyncer(orders.NewService(co, nil, time.Hour, log), st.Orders(), time.Hour)
			t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

			// Duplicate: refused before any read.
			_, err = sy.ApplyShopifyOrders(ctx, a, []orders.ShopifyOrder{reviewSrc(1, t0, ""), reviewSrc(1, t0, "")}, nil)
			if !errors.Is(err, orders.ErrSameOrderTwice) || co.calls != 0 {
				t.Fatalf("duplicate: err %v, %d reads", err, co.calls)
			}
			// Shop B holds a newer order 1: shop A's body must not be judged against it.
			if _, err := orders.NewSyncer(orders.NewService(st.Orders(), nil, time.Hour, log), st.Orders(), time.Hour).ApplyShopifyOrders(ctx, b, []orders.ShopifyOrder{reviewSrc(1, t0.Add(time.Hour), "b")}, nil); err != nil {
				t.Fatal(err)
			}
			var sawCopy []bool
			_, err = sy.ApplyShopifyOrders(ctx, a, []orders.ShopifyOrder{reviewSrc(1, t0, "a"), reviewSrc(2, t0, "a")}, func(c *orders.Order, _ orders.ShopifyOrder) bool {
				sawCopy = append(sawCopy, c != nil)
				return true
			})
			if err != nil || co.calls != 1 || len(sawCopy) != 2 || sawCopy[0] || sawCopy[1] {
				t.Fatalf("cross-shop: err %v, reads %d, copies seen %v", err, co.calls, sawCopy)
			}
			if o, err := st.Orders().GetOrder(ctx, a.ID, 1); err != nil || o.Source.Email != "a@example.com" {
				t.Fatalf("shop A's order 1 = %+v, %v", o.Source.Email, err)
			}
			// A failed read stores nothing and is wrapped.
			boom := errors.New("boom")
			co.fail = boom
			_, err = sy.ApplyShopifyOrders(ctx, a, []orders.ShopifyOrder{reviewSrc(3, t0, "")}, nil)
			if !errors.Is(err, boom) {
				t.Fatalf("failed read: %v", err)
			}
			t.Logf("single-order read error reads: %v", err)
			if _, err := st.Orders().GetOrder(ctx, a.ID, 3); !errors.Is(err, orders.ErrNotFound) {
				t.Fatalf("order 3 stored after a failed read: %v", err)
			}
		})
	}
}
