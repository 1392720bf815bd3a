package orders_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// Review of issue 9: the sweep resumed the first 100 unfinished customer
// lists by (shop, customer) id, every time. Lists whose reads keep failing
// (a shop whose token Shopify no longer honours, still marked installed)
// took those 100 places for ever: every list after them was never resumed
// by the sweep. Each sweep now takes the next ones, round the list.
func TestResumeCustomerListsRotates(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.New(t, kind)
			sh, err := st.Tenants().EnsureShop(ctx, "resume.myshopify.com")
			if err != nil {
				t.Fatal(err)
			}
			for _, customer := range []int64{101, 102, 103} {
				mid := orders.CustomerList{Started: true, Cursor: "stuck", Orders: 1,
					Oldest: orders.Cursor{CreatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ID: customer}}
				if err := st.Orders().SaveCustomerPage(ctx, sh.ID, customer, nil, nil, orders.CustomerList{}, mid); err != nil {
					t.Fatal(err)
				}
			}
			svc := orders.NewService(st.Orders(), nil, time.Hour, slog.New(slog.DiscardHandler))
			// Closed: the fills are not run (they would fail, as the stuck
			// lists' do), only scheduled.
			if err := svc.Close(ctx); err != nil {
				t.Fatal(err)
			}
			syncer := orders.NewSyncer(svc, st.Orders(), 0)
			var got []int
			for range 4 {
				n, err := syncer.ResumeCustomerLists(ctx, 2)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, n)
			}
			// 101 and 102, then 103, then from the first again.
			if want := []int{2, 1, 2, 1}; len(got) != len(want) || got[0] != 2 || got[1] != 1 || got[2] != 2 || got[3] != 1 {
				t.Errorf("lists resumed per sweep: %v, want %v (a list past the first two never resumed)", got, want)
			}
		})
	}
}
