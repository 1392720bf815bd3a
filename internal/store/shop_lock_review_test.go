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
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

func r10fks(t *testing.T, s *store.Store) string {
	t.Helper()
	var list string
	if err := s.QueryRowForTest(`SELECT COALESCE(string_agg(conrelid::regclass::text || ':' || conname, ',' ORDER BY conname), '')
		FROM pg_constraint WHERE contype = 'f' AND confrelid = 'shops'::regclass
		AND conrelid::regclass::text IN ('orders', 'events', 'event_sequences', 'timeline_events')`, nil, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// Review: up drops the four keys (the names match), Down removes orphans and adds
// them back, Up again drops them.
func TestReview10MigrationUpDown(t *testing.T) {
	t.Parallel()
	s := storetest.Postgres(t)
	ctx := context.Background()
	if got := r10fks(t, s); got != "" {
		t.Fatalf("after 00021 the keys remain: %s", got)
	}
	gone, kept := shop(t, s, "gone.myshopify.com"), shop(t, s, "kept.myshopify.com")
	fill(t, s, gone.ID, 1)
	fill(t, s, kept.ID, 100)
	// An orphan, as a writer of the release before 00021 could leave: it
	// took no lock, and inserts for a shop deleted under it.
	if err := s.ExecForTest("ALTER TABLE shops DISABLE TRIGGER shops_delete_rows"); err != nil {
		t.Fatal(err)
	}
	if err := s.ExecForTest(fmt.Sprintf("DELETE FROM shops WHERE id = %d", gone.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.ExecForTest("ALTER TABLE shops ENABLE TRIGGER shops_delete_rows"); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(t, s, gone.ID)["orders"]; n == 0 {
		t.Fatalf("no orphan to clean")
	}
	if err := s.MigrateToForTest(ctx, 20, true); err != nil {
		t.Fatalf("down to 20: %v", err)
	}
	if got := r10fks(t, s); got != "event_sequences:event_sequences_shop_id_fkey,events:events_shop_id_fkey,orders:orders_shop_id_fkey,timeline_events:timeline_events_shop_id_fkey" {
		t.Fatalf("after down: %q", got)
	}
	for table, n := range rowsOf(t, s, gone.ID) {
		if n != 0 {
			t.Errorf("down left %d orphans in %s", n, table)
		}
	}
	if rowsOf(t, s, kept.ID)["orders"] != 3 {
		t.Errorf("down deleted the kept shop's orders")
	}
	if err := s.MigrateToForTest(ctx, 21, false); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if got := r10fks(t, s); got != "" {
		t.Fatalf("after up again: %s", got)
	}
}

// Review: a replica still running the release before 00021 (a rolling
// deploy: the new binary migrates at start, the old ones keep serving)
// forgets a shop with its one statement, DELETE FROM shops, relying on the
// keys' cascade: 00021's trigger deletes the four tables' rows instead.
func TestReview10OldReplicaForgetsEverything(t *testing.T) {
	t.Parallel()
	s := storetest.Postgres(t)
	ctx := context.Background()
	sh := shop(t, s, "gone.myshopify.com")
	fill(t, s, sh.ID, 1)
	if _, err := s.Tenants().MarkUninstalled(ctx, sh.ID, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	// The release before's ForgetShop: Where("id = ? AND state = ?", ...).Delete(&shopRow{})
	if err := s.ExecForTest(fmt.Sprintf("DELETE FROM shops WHERE id = %d AND state = 'uninstalled'", sh.ID)); err != nil {
		t.Fatal(err)
	}
	for table, n := range rowsOf(t, s, sh.ID) {
		if n != 0 {
			t.Errorf("the old ForgetShop left %d rows in %s", n, table)
		}
	}
}

// Review: writers of every kind race shop/redact; afterwards no row of the shop
// may remain, and every failed write must be tenant.ErrNotFound (not a
// deadlock or a key error).
func TestReview10RaceForgetShop(t *testing.T) {
	t.Parallel()
	s := storetest.Postgres(t)
	ctx := context.Background()
	var unexpected []string
	var mu sync.Mutex
	note := func(what string, err error) {
		if err == nil || errors.Is(err, tenant.ErrNotFound) {
			return
		}
		mu.Lock()
		unexpected = append(unexpected, what+": "+err.Error())
		mu.Unlock()
	}
	for round := range 15 {
		sh := shop(t, s, fmt.Sprintf("race%d.myshopify.com", round))
		if _, err := s.Tenants().MarkUninstalled(ctx, sh.ID, time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
		st := s.Orders()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		writer := func(name string, f func(i int64) error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int64(1); ; i++ {
					err := f(int64(round)*100000 + i)
					note(name, err)
					if err != nil {
						return
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		writer("SaveOrders", func(i int64) error {
			return st.SaveOrders(ctx, sh.ID, []orders.Order{order(i, 7, base, "paid"), order(i+50000, 8, base, "paid")},
				[]orders.TimelineEvent{{ID: fmt.Sprintf("s-%d", i), CustomerID: 7, OrderID: i, Type: "order.placed", OccurredAt: base, Summary: "x"}}, false)
		})
		writer("UpsertOrders", func(i int64) error {
			return st.UpsertOrders(ctx, sh.ID, []orders.Order{order(i+20000, 9, base, "paid")})
		})
		writer("AddTimelineEvents", func(i int64) error {
			return st.AddTimelineEvents(ctx, sh.ID, []orders.TimelineEvent{{ID: fmt.Sprintf("a-%d", i), CustomerID: 7, Type: "order.placed", OccurredAt: base, Summary: "x"}})
		})
		writer("SaveSyncBatch", func(i int64) error {
			b, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(i+30000, 9, base, "paid")}, nil)
			if err != nil {
				return err
			}
			if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{StartedAt: base}); err != nil {
				return err
			}
			return st.SaveSyncBatch(ctx, sh.ID, b, orders.SyncRun{StartedAt: base, Pages: 1, Orders: 1})
		})
		time.Sleep(30 * time.Millisecond)
		ok, err := st.ForgetShop(ctx, sh.ID)
		if err != nil || !ok {
			t.Fatalf("round %d: forget: %v %v", round, ok, err)
		}
		close(stop)
		wg.Wait()
		for table, n := range rowsOf(t, s, sh.ID) {
			if n != 0 {
				t.Errorf("round %d: %s keeps %d rows of the forgotten shop", round, table, n)
			}
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("%d unexpected errors, first: %s", len(unexpected), unexpected[0])
	}
}

// Review: customers/redact and shop/redact of one shop. RedactCustomer
// updates the customer's orders, then deletes their timeline; ForgetShop
// deleted timeline_events before orders (the first version of 00021's
// change), the opposite order. With RedactCustomer holding an order row,
// ForgetShop took the timeline rows and waited for the order;
// RedactCustomer then waited for the timeline rows: a deadlock. Before 00021 the cascade from shops deleted
// orders first (its keys' triggers fire in creation order), the order
// RedactCustomer takes, and the two only waited for each other.
func TestReview10RedactCustomerVsForgetShopDeadlock(t *testing.T) {
	for _, variant := range []string{"ForgetShop", "before 00021: keys, cascade"} {
		t.Run(variant, func(t *testing.T) {
			s := storetest.Postgres(t)
			ctx := context.Background()
			old := strings.HasPrefix(variant, "before 00021")
			if old {
				if err := s.MigrateToForTest(ctx, 20, true); err != nil {
					t.Fatal(err)
				}
			}
			sh := shop(t, s, "both.myshopify.com")
			st := s.Orders()
			if err := st.SaveOrders(ctx, sh.ID, []orders.Order{order(1, 7, base, "paid"), order(2, 7, base, "paid"), order(3, 7, base, "paid")},
				[]orders.TimelineEvent{{ID: "t-1", CustomerID: 7, OrderID: 1, Type: "order.placed", OccurredAt: base, Summary: "x"}}, false); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Tenants().MarkUninstalled(ctx, sh.ID, time.Now(), time.Now()); err != nil {
				t.Fatal(err)
			}
			entered, release := make(chan struct{}), make(chan struct{})
			var calls int
			var once sync.Once
			s.RenderOrdersWith(orders.Renderer{Version: 1, Render: func(orders.Order) ([]byte, error) {
				calls++
				if calls == 2 { // the first order is updated (its row held)
					once.Do(func() { close(entered); <-release })
				}
				return []byte(`{}`), nil
			}})
			redacted := make(chan error, 1)
			go func() { redacted <- st.RedactCustomer(ctx, sh.ID, 7, nil) }()
			<-entered
			forgot := make(chan error, 1)
			go func() {
				if old {
					forgot <- s.ExecForTest(fmt.Sprintf("DELETE FROM shops WHERE id = %d AND state = 'uninstalled'", sh.ID))
					return
				}
				_, err := st.ForgetShop(ctx, sh.ID)
				forgot <- err
			}()
			time.Sleep(500 * time.Millisecond) // ForgetShop reaches the held order row
			close(release)
			errR, errF := <-redacted, <-forgot
			for name, err := range map[string]error{"RedactCustomer": errR, "ForgetShop": errF} {
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}
