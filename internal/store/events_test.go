package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

func listEvents(t *testing.T, s *store.Store, shopID int64, f events.Filter) []events.Event {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 100
	}
	got, err := s.Events().ListEvents(context.Background(), shopID, f)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.Event, 0, len(got))
	for _, g := range got {
		out = append(out, g.Event)
	}
	return out
}

func types(evs []events.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// withRefund adds a refund of amount to an order, one second later.
func withRefund(o orders.Order, id int64, amount string) orders.Order {
	src := o.Source
	src.UpdatedAt = src.UpdatedAt.Add(time.Second)
	src.Refunds = append(src.Refunds, orders.ShopifyRefund{ID: id, CreatedAt: src.UpdatedAt,
		Transactions:    []orders.ShopifyTransaction{{ID: id + 1, Kind: "refund", Status: "success", Amount: decimal.RequireFromString(amount), CreatedAt: src.UpdatedAt}},
		RefundLineItems: []orders.ShopifyRefundLine{{LineItemID: o.LineItems[0].ID, Quantity: 1, RestockType: "no_restock"}}})
	src.FinancialStatus = "partially_refunded"
	return orders.Build(src, base)
}

func TestOutboxWritesEachFactOnceInSequence(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		o := order(1, 7, base, "paid")
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{o}, nil, false); err != nil {
			t.Fatal(err)
		}
		// The same facts again (a webhook retry, a re-read) tell nothing new.
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{o}, nil, false); err != nil {
			t.Fatal(err)
		}
		r := withRefund(o, 70, "5.00")
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{r}, nil, false); err != nil {
			t.Fatal(err)
		}
		// An older copy arriving late tells nothing new either.
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{o}, nil, false); err != nil {
			t.Fatal(err)
		}
		got := listEvents(t, s, a.ID, events.Filter{})
		want := []string{events.TypeOrderRefunded, events.TypeOrderPaid, events.TypeOrderPlaced}
		if len(got) != 3 {
			t.Fatalf("events = %v, want %v", types(got), want)
		}
		for i, e := range got {
			if e.Type != want[i] || e.Sequence != int64(3-i) || e.Order.ID != 1 || e.Shop.Domain != "a.myshopify.com" ||
				e.Contact.CustomerID == nil || *e.Contact.CustomerID != 7 || e.ID == "" {
				t.Errorf("event %d = %+v", i, e)
			}
		}
		ref := got[0].Refund
		if ref == nil || ref.ShopifyRefundID != 70 || ref.Amount != "5.00" || ref.Currency != "USD" || ref.Shipping != "0.00" ||
			len(ref.LineItems) != 1 || ref.LineItems[0].Quantity != 1 || got[0].Order.FinancialStatus != "partially_refunded" {
			t.Errorf("refund part = %+v, order %+v", ref, got[0].Order)
		}
		if f := listEvents(t, s, a.ID, events.Filter{Type: events.TypeOrderPaid}); len(f) != 1 {
			t.Errorf("type filter = %v", types(f))
		}
		if f := listEvents(t, s, a.ID, events.Filter{OrderID: 2}); len(f) != 0 {
			t.Errorf("order filter = %v", types(f))
		}
		if f := listEvents(t, s, a.ID, events.Filter{Before: 0, Limit: 1}); len(f) != 1 || f[0].Type != events.TypeOrderRefunded {
			t.Errorf("limit = %v", types(f))
		}
	})
}

func TestOutboxHistoryIsSilentNewsIsNot(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		o := order(1, 7, base, "paid")
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{o}, nil, true); err != nil {
			t.Fatal(err)
		}
		if got := listEvents(t, s, a.ID, events.Filter{}); len(got) != 0 {
			t.Fatalf("a backfilled order's past was announced: %v", types(got))
		}
		// Later facts of a known order are news, even learned by a backfill.
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{withRefund(o, 70, "5.00")}, nil, true); err != nil {
			t.Fatal(err)
		}
		got := listEvents(t, s, a.ID, events.Filter{})
		if len(got) != 1 || got[0].Type != events.TypeOrderRefunded || got[0].Sequence != 3 {
			t.Fatalf("events = %+v", got)
		}
	})
}

func TestOutboxRollbackNeitherLosesNorInvents(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		o := order(1, 7, base, "paid")
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{o}, nil, false); err != nil {
			t.Fatal(err)
		}
		crash := errors.New("crash before commit")
		s.FailBeforeCommit(func() error { return crash })
		r := withRefund(o, 70, "5.00")
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{r}, nil, false); !errors.Is(err, crash) {
			t.Fatalf("err = %v", err)
		}
		// Nothing of the failed change is visible: neither the order's new
		// state nor its event.
		if got, _ := st.GetOrder(ctx, a.ID, 1); len(got.Refunds) != 0 {
			t.Errorf("the order's change survived its rollback")
		}
		if got := listEvents(t, s, a.ID, events.Filter{}); len(got) != 2 {
			t.Errorf("an event was invented for a change that did not commit: %v", types(got))
		}
		// The change applied again (the webhook's retry) reports it, once,
		// with the next number in the order's sequence.
		s.FailBeforeCommit(nil)
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{r}, nil, false); err != nil {
			t.Fatal(err)
		}
		got := listEvents(t, s, a.ID, events.Filter{})
		if len(got) != 3 || got[0].Type != events.TypeOrderRefunded || got[0].Sequence != 3 {
			t.Errorf("events after the retry = %v", types(got))
		}
	})
}

func TestOutboxShopIsolation(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := shop(t, s, "a.myshopify.com"), shop(t, s, "b.myshopify.com")
		// Both shops have an order 1: each keeps its own facts and sequence.
		if err := s.Orders().SaveOrders(ctx, a.ID, []orders.Order{order(1, 7, base, "paid")}, nil, false); err != nil {
			t.Fatal(err)
		}
		if err := s.Orders().SaveOrders(ctx, b.ID, []orders.Order{order(1, 8, base, "pending")}, nil, false); err != nil {
			t.Fatal(err)
		}
		ga, gb := listEvents(t, s, a.ID, events.Filter{}), listEvents(t, s, b.ID, events.Filter{})
		if len(ga) != 2 || len(gb) != 1 || gb[0].Shop.ID != b.ID || gb[0].Sequence != 1 {
			t.Fatalf("a = %v, b = %v", types(ga), types(gb))
		}
		if _, err := s.Events().Redeliver(ctx, b.ID, ga[0].ID, time.Now()); !errors.Is(err, events.ErrNotFound) {
			t.Errorf("shop b redelivered shop a's event: %v", err)
		}
	})
}

// saveSyncBatch prepares and saves a backfill batch, as Backfill does.
func saveSyncBatch(ctx context.Context, st *store.Orders, shopID int64, list []orders.Order, run orders.SyncRun) error {
	b, err := st.PrepareSyncBatch(ctx, shopID, list, nil)
	if err != nil {
		return err
	}
	return st.SaveSyncBatch(ctx, shopID, b, run)
}

// TestSaveSyncBatchKeepsOrdersAndCheckpointTogether: a crash before a
// backfill batch commits loses the batch and its checkpoint together, so
// the resumed run saves that batch once, from the previous checkpoint; and
// the orders of one batch each get their own events and sequence.
func TestSaveSyncBatchKeepsOrdersAndCheckpointTogether(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		run := orders.SyncRun{StartedAt: base, Checkpoint: "cp0"}
		if err := st.SaveSyncRun(ctx, a.ID, run); err != nil {
			t.Fatal(err)
		}
		first := []orders.Order{order(1, 7, base, "paid"), order(2, 8, base, "paid")}
		run1 := run
		run1.Orders, run1.Pages, run1.Checkpoint = 2, 1, "cp1"
		if err := saveSyncBatch(ctx, st, a.ID, first, run1); err != nil {
			t.Fatal(err)
		}
		crash := errors.New("crash before commit")
		s.FailBeforeCommit(func() error { return crash })
		second := []orders.Order{order(3, 9, base, "paid"), withRefund(order(1, 7, base, "paid"), 70, "5.00")}
		run2 := run1
		run2.Orders, run2.Pages, run2.Checkpoint = 4, 2, "cp2"
		// The failed save's prepared batch is saved again as it is: the
		// failed attempt changed nothing in it (its silenced events).
		prepared, err := st.PrepareSyncBatch(ctx, a.ID, second, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSyncBatch(ctx, a.ID, prepared, run2); !errors.Is(err, crash) {
			t.Fatalf("err = %v", err)
		}
		got, found, err := st.SyncRun(ctx, a.ID)
		if err != nil || !found || got.Checkpoint != "cp1" || got.Orders != 2 {
			t.Fatalf("after the crash the run is %+v (found %v, %v), want batch 1's checkpoint", got, found, err)
		}
		if _, err := st.GetOrder(ctx, a.ID, 3); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("order 3 of the failed batch was kept without its checkpoint: %v", err)
		}
		if o, _ := st.GetOrder(ctx, a.ID, 1); len(o.Refunds) != 0 {
			t.Errorf("order 1's change of the failed batch was kept without its checkpoint")
		}
		s.FailBeforeCommit(nil)
		if err := st.SaveSyncBatch(ctx, a.ID, prepared, run2); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := st.SyncRun(ctx, a.ID); got.Checkpoint != "cp2" || got.Orders != 4 {
			t.Errorf("run after the resumed batch = %+v", got)
		}
		// Orders 1-3 were history (silent); order 1's refund, learned after
		// it was known, is news, numbered after its two silent facts.
		evs := listEvents(t, s, a.ID, events.Filter{})
		if len(evs) != 1 || evs[0].Type != events.TypeOrderRefunded || evs[0].Order.ID != 1 || evs[0].Sequence != 3 {
			t.Errorf("events = %+v", evs)
		}
	})
}
