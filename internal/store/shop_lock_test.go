package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// shopTables are the tables with a shop_id column, read from the schema:
// a table added later is checked without being named here.
func shopTables(t *testing.T, s *store.Store) []string {
	t.Helper()
	q := `SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.columns
		WHERE column_name = 'shop_id' AND table_schema = current_schema()`
	if s.Dialect() == "sqlite" {
		q = `SELECT group_concat(name, ',') FROM (SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND p.name = 'shop_id' ORDER BY m.name)`
	}
	var list string
	if err := s.QueryRowForTest(q, nil, &list); err != nil {
		t.Fatal(err)
	}
	tables := strings.Split(list, ",")
	for _, want := range []string{"orders", "events", "event_sequences", "timeline_events", "sync_runs"} {
		if !strings.Contains(","+list+",", ","+want+",") {
			t.Fatalf("shop tables %v: no %s", tables, want)
		}
	}
	return tables
}

// rowsOf is how many rows each table holds for the shop.
func rowsOf(t *testing.T, s *store.Store, shopID int64) map[string]int64 {
	t.Helper()
	n := map[string]int64{}
	for _, table := range shopTables(t, s) {
		var c int64
		if err := s.QueryRowForTest("SELECT count(*) FROM "+table+" WHERE shop_id = ?", []any{shopID}, &c); err != nil {
			t.Fatal(err)
		}
		n[table] = c
	}
	return n
}

// fill stores orders with their events, sequences and timeline, and a
// backfill's progress, for the shop.
func fill(t *testing.T, s *store.Store, shopID, firstID int64) {
	t.Helper()
	ctx := context.Background()
	st := s.Orders()
	list := []orders.Order{order(firstID, 7, base, "paid"), order(firstID+1, 8, base, "paid")}
	if err := st.SaveOrders(ctx, shopID, list, []orders.TimelineEvent{{ID: fmt.Sprintf("t-%d", firstID), CustomerID: 7, OrderID: firstID,
		Type: "order.placed", OccurredAt: base, Summary: "placed"}}, false); err != nil {
		t.Fatal(err)
	}
	b, err := st.PrepareSyncBatch(ctx, shopID, []orders.Order{order(firstID+2, 9, base, "paid")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSyncRun(ctx, shopID, orders.SyncRun{StartedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSyncBatch(ctx, shopID, b, orders.SyncRun{StartedAt: base, Pages: 1, Orders: 1, Checkpoint: "cp"}); err != nil {
		t.Fatal(err)
	}
}

// shop/redact deletes every row of the shop, in every table with a
// shop_id (on Postgres orders, events, event_sequences and timeline_events
// have no foreign key to cascade from), and nothing of another shop.
func TestForgetShopLeavesNoRowOfTheShop(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		gone, kept := shop(t, s, "gone.myshopify.com"), shop(t, s, "kept.myshopify.com")
		fill(t, s, gone.ID, 1)
		fill(t, s, kept.ID, 100)
		before, keptBefore := rowsOf(t, s, gone.ID), rowsOf(t, s, kept.ID)
		for _, table := range []string{"orders", "events", "event_sequences", "timeline_events", "sync_runs"} {
			if before[table] == 0 {
				t.Fatalf("nothing in %s to delete: %v", table, before)
			}
		}
		if forgotten, err := s.Orders().ForgetShop(ctx, gone.ID); err != nil || forgotten {
			t.Fatalf("forget an installed shop: %v, %v; want false", forgotten, err)
		}
		if after := rowsOf(t, s, gone.ID); after["orders"] != before["orders"] {
			t.Fatalf("forgetting an installed shop deleted its rows: %v", after)
		}
		if _, err := s.Tenants().MarkUninstalled(ctx, gone.ID, time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if forgotten, err := s.Orders().ForgetShop(ctx, gone.ID); err != nil || !forgotten {
			t.Fatalf("forget: %v, %v", forgotten, err)
		}
		for table, n := range rowsOf(t, s, gone.ID) {
			if n != 0 {
				t.Errorf("%s keeps %d rows of the forgotten shop", table, n)
			}
		}
		for table, n := range rowsOf(t, s, kept.ID) {
			if n != keptBefore[table] || (table == "orders" && n != 3) {
				t.Errorf("%s: %d rows of the other shop, %d before", table, n, keptBefore[table])
			}
		}
	})
}

// A write under way when shop/redact arrives is waited for and then
// deleted with the rest; a write after it fails and stores nothing. Either
// way no row of the shop outlives it.
func TestForgetShopWaitsForAWriteUnderWay(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "racing.myshopify.com")
		if _, err := s.Tenants().MarkUninstalled(ctx, sh.ID, time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
		entered, release := make(chan struct{}), make(chan struct{})
		var once, released sync.Once
		free := func() { released.Do(func() { close(release) }) }
		defer free() // a failed check must not leave the write waiting
		s.FailBeforeCommit(func() error {
			once.Do(func() { close(entered); <-release })
			return nil
		})
		saved := make(chan error, 1)
		go func() {
			saved <- s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{order(1, 7, base, "paid")}, nil, false)
		}()
		<-entered // the write holds the shop
		forgot := make(chan error, 1)
		go func() {
			ok, err := s.Orders().ForgetShop(ctx, sh.ID)
			if err == nil && !ok {
				err = errors.New("not forgotten")
			}
			forgot <- err
		}()
		select {
		case err := <-forgot:
			t.Fatalf("ForgetShop returned (%v) while a write of the shop was under way", err)
		case <-time.After(300 * time.Millisecond):
		}
		free()
		if err := <-saved; err != nil {
			t.Fatalf("the write under way: %v", err)
		}
		if err := <-forgot; err != nil {
			t.Fatalf("forget: %v", err)
		}
		s.FailBeforeCommit(nil)
		for table, n := range rowsOf(t, s, sh.ID) {
			if n != 0 {
				t.Errorf("%s keeps %d rows of the forgotten shop", table, n)
			}
		}

		// After it, every writer of the unkeyed tables is refused.
		st := s.Orders()
		writes := map[string]error{
			"SaveOrders":        st.SaveOrders(ctx, sh.ID, []orders.Order{order(2, 7, base, "paid")}, nil, false),
			"UpsertOrders":      st.UpsertOrders(ctx, sh.ID, []orders.Order{order(3, 7, base, "paid")}),
			"AddTimelineEvents": st.AddTimelineEvents(ctx, sh.ID, []orders.TimelineEvent{{ID: "t-late", CustomerID: 7, Type: "order.placed", OccurredAt: base, Summary: "late"}}),
		}
		for name, err := range writes {
			if err == nil {
				t.Errorf("%s for a forgotten shop succeeded", name)
			} else if s.Dialect() == "postgres" && !errors.Is(err, tenant.ErrNotFound) {
				t.Errorf("%s for a forgotten shop: %v, want tenant.ErrNotFound", name, err)
			}
		}
		for table, n := range rowsOf(t, s, sh.ID) {
			if n != 0 {
				t.Errorf("%s: %d rows written for a forgotten shop", table, n)
			}
		}
	})
}
