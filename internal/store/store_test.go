package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// forEachStore runs one suite against every implementation.
func forEachStore(t *testing.T, test func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, storetest.New(t, kind))
		})
	}
}

var base = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func order(id int64, customerID int64, created time.Time, financial string) orders.Order {
	src := orders.ShopifyOrder{
		ID: id, Name: fmt.Sprintf("#%d", 1000+id), OrderNumber: int(1000 + id),
		Email: fmt.Sprintf("c%d@example.com", customerID), CreatedAt: created, UpdatedAt: created,
		Currency: "USD", TotalPrice: decimal.RequireFromString("19.90"), FinancialStatus: financial,
		Customer:  &orders.ShopifyCustomer{ID: customerID, Email: fmt.Sprintf("C%d@Example.com", customerID), Phone: "+13125551212"},
		LineItems: []orders.ShopifyLineItem{{ID: id * 10, Title: "Mug", Quantity: 1, Price: decimal.RequireFromString("19.90")}},
	}
	return orders.Build(src, base)
}

func shop(t *testing.T, s *store.Store, domain string) tenant.Shop {
	t.Helper()
	sh, err := s.Tenants().EnsureShop(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func TestMigrateEmptyDatabase(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v, err := s.MigrationVersion(ctx)
		if want := newestMigration(t); err != nil || v != want {
			t.Fatalf("version = %d, %v; want %d", v, err, want)
		}
		// Running again (a second replica starting) is a no-op.
		if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// newestMigration is the number of the newest migration file, the same
// in both dialects.
func newestMigration(t *testing.T) int64 {
	t.Helper()
	var newest [2]int64
	for i, dialect := range []string{"postgres", "sqlite"} {
		files, err := os.ReadDir("migrations/" + dialect)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			n, _ := strconv.ParseInt(strings.SplitN(f.Name(), "_", 2)[0], 10, 64)
			newest[i] = max(newest[i], n)
		}
	}
	if newest[0] != newest[1] {
		t.Fatalf("newest migrations differ: postgres %d, sqlite %d", newest[0], newest[1])
	}
	return newest[0]
}

func TestMigrateConcurrentReplicas(t *testing.T) {
	t.Parallel()
	u, _ := storetest.SchemaURL(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, u)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(ctx, slog.New(slog.DiscardHandler))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("replica migrate: %v", err)
		}
	}
}

func TestTenants(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tn := s.Tenants()
		a := shop(t, s, "a.myshopify.com")
		again := shop(t, s, "a.myshopify.com")
		if a.ID == 0 || again.ID != a.ID {
			t.Fatalf("EnsureShop not idempotent: %+v vs %+v", a, again)
		}
		b := shop(t, s, "b.myshopify.com")
		hash := tenant.HashKey("key-a")
		for range 2 {
			if err := tn.EnsureAPIKey(ctx, a.ID, hash, "bootstrap"); err != nil {
				t.Fatalf("EnsureAPIKey: %v", err)
			}
		}
		if err := tn.EnsureAPIKey(ctx, b.ID, hash, "steal"); err == nil {
			t.Error("binding shop A's key to shop B succeeded")
		}
		p, err := tn.PrincipalByKeyHash(ctx, hash)
		if err != nil || p.Shop != a || p.KeyID == 0 {
			t.Errorf("PrincipalByKeyHash = %+v, %v", p, err)
		}
		if _, err := tn.PrincipalByKeyHash(ctx, tenant.HashKey("nope")); !errors.Is(err, tenant.ErrUnauthenticated) {
			t.Errorf("unknown key err = %v", err)
		}
		if _, err := tn.ShopByDomain(ctx, "zzz.myshopify.com"); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("unknown shop err = %v", err)
		}
	})
}

func TestOrderRoundTripAndScoping(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := shop(t, s, "a.myshopify.com"), shop(t, s, "b.myshopify.com")
		st := s.Orders()
		want := order(1, 7, base, "paid")
		if err := st.UpsertOrders(ctx, a.ID, []orders.Order{want}); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetOrder(ctx, a.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "#1001" || got.FinancialStatus != orders.FinancialPaid || !got.Refundable.Equal(decimal.RequireFromString("19.90")) ||
			!got.CreatedAt.Equal(base) || !got.SyncedAt.Equal(base) || got.Customer == nil || got.Customer.ID != 7 {
			t.Errorf("round trip = %+v", got)
		}
		if _, err := st.GetOrder(ctx, b.ID, 1); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("shop B sees shop A's order: err = %v", err)
		}
		if _, err := st.GetOrder(ctx, a.ID, 999); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("missing order err = %v", err)
		}
	})
}

// GetOrders reads many orders at once, scoped by shop like GetOrder, and
// leaves out the ids the shop has not got; more ids than one IN list holds
// are read in chunks.
func TestGetOrdersScopedAndChunked(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := shop(t, s, "a.myshopify.com"), shop(t, s, "b.myshopify.com")
		st := s.Orders()
		var list []orders.Order
		for id := int64(1); id <= 1205; id++ {
			list = append(list, order(id, 7, base, "paid"))
		}
		if err := st.UpsertOrders(ctx, a.ID, list); err != nil {
			t.Fatal(err)
		}
		if err := st.UpsertOrders(ctx, b.ID, []orders.Order{order(5000, 8, base, "pending")}); err != nil {
			t.Fatal(err)
		}
		ids := []int64{5000, 999999}
		for id := int64(1); id <= 1205; id++ {
			ids = append(ids, id)
		}
		got, err := st.GetOrders(ctx, a.ID, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1205 {
			t.Fatalf("GetOrders = %d orders, want the shop's 1205", len(got))
		}
		if _, ok := got[5000]; ok {
			t.Error("shop A's read returned shop B's order")
		}
		if o := got[1205]; o.ID != 1205 || o.Name != "#2205" || o.FinancialStatus != orders.FinancialPaid || o.Customer == nil || o.Customer.ID != 7 {
			t.Errorf("order 1205 = %+v", o)
		}
		if none, err := st.GetOrders(ctx, a.ID, nil); err != nil || len(none) != 0 {
			t.Errorf("GetOrders(no ids) = %v, %v", none, err)
		}
	})
}

func TestUpsertKeepsNewerCopy(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		newer := order(1, 7, base, "refunded")
		newer.Source.UpdatedAt = base.Add(time.Hour)
		newer = orders.Build(newer.Source, base)
		older := order(1, 7, base, "paid")
		if err := st.UpsertOrders(ctx, a.ID, []orders.Order{newer}); err != nil {
			t.Fatal(err)
		}
		if err := st.UpsertOrders(ctx, a.ID, []orders.Order{older}); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetOrder(ctx, a.ID, 1)
		if got.FinancialStatus != orders.FinancialRefunded {
			t.Errorf("older copy overwrote newer: financial = %s", got.FinancialStatus)
		}
		// The same updated_at refreshes (a forced re-read).
		same := orders.Build(newer.Source, base.Add(time.Minute))
		if err := st.UpsertOrders(ctx, a.ID, []orders.Order{same}); err != nil {
			t.Fatal(err)
		}
		got, _ = st.GetOrder(ctx, a.ID, 1)
		if !got.SyncedAt.Equal(base.Add(time.Minute)) {
			t.Errorf("synced_at = %v, want refreshed", got.SyncedAt)
		}
	})
}

func TestListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := shop(t, s, "a.myshopify.com"), shop(t, s, "b.myshopify.com")
		st := s.Orders()
		var list []orders.Order
		for i := int64(1); i <= 7; i++ {
			fin := "paid"
			if i%2 == 0 {
				fin = "pending"
			}
			// Orders 6 and 7 share a created_at: the id breaks the tie.
			created := base.Add(time.Duration(min(i, 6)) * time.Hour)
			list = append(list, order(i, 100+i%2, created, fin))
		}
		if err := st.UpsertOrders(ctx, a.ID, list); err != nil {
			t.Fatal(err)
		}
		if err := st.UpsertOrders(ctx, b.ID, []orders.Order{order(50, 100, base, "paid")}); err != nil {
			t.Fatal(err)
		}
		ids := func(os []orders.Order) []int64 {
			out := []int64{}
			for _, o := range os {
				out = append(out, o.ID)
			}
			return out
		}
		tests := []struct {
			name string
			f    orders.ListFilter
			want []int64
		}{
			{"all newest first", orders.ListFilter{Limit: 20}, []int64{7, 6, 5, 4, 3, 2, 1}},
			{"customer", orders.ListFilter{CustomerID: 100, Limit: 20}, []int64{6, 4, 2}},
			{"email any case", orders.ListFilter{Email: "c101@EXAMPLE.com", Limit: 20}, []int64{7, 5, 3, 1}},
			{"phone", orders.ListFilter{Phone: "+13125551212", Limit: 2}, []int64{7, 6}},
			{"name", orders.ListFilter{Name: "#1003", Limit: 20}, []int64{3}},
			{"financial", orders.ListFilter{FinancialStatus: orders.FinancialPending, Limit: 20}, []int64{6, 4, 2}},
			{"status", orders.ListFilter{Status: orders.StatusArchived, Limit: 20}, []int64{}},
			{"fulfillment", orders.ListFilter{FulfillmentStatus: orders.FulfillmentUnfulfilled, Limit: 3}, []int64{7, 6, 5}},
			{"updated since", orders.ListFilter{UpdatedSince: base.Add(5 * time.Hour), Limit: 20}, []int64{7, 6, 5}},
			{"after cursor at a tie", orders.ListFilter{After: &orders.Cursor{CreatedAt: base.Add(6 * time.Hour), ID: 7}, Limit: 2}, []int64{6, 5}},
		}
		for _, tt := range tests {
			got, err := st.ListOrders(ctx, a.ID, tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(tt.want) {
				t.Errorf("%s: ids = %v, want %v", tt.name, ids(got), tt.want)
			}
		}
	})
}

func TestCustomerSyncTimes(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		got, err := st.CustomerSyncedAt(ctx, a.ID, 5)
		if err != nil || !got.IsZero() {
			t.Fatalf("never synced = %v, %v", got, err)
		}
		for _, at := range []time.Time{base, base.Add(time.Hour)} {
			if err := st.MarkCustomerSynced(ctx, a.ID, 5, at); err != nil {
				t.Fatal(err)
			}
		}
		got, _ = st.CustomerSyncedAt(ctx, a.ID, 5)
		if !got.Equal(base.Add(time.Hour)) {
			t.Errorf("synced at = %v", got)
		}
	})
}

// TestShopsHaveNoWebhookSecret: shops.webhook_secret (00009) was stored
// and never read; webhooks are verified with the app's secret alone
// (DESIGN.md), so 00014 drops it. Writing the column must fail.
func TestShopsHaveNoWebhookSecret(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		if _, err := s.SQL().ExecContext(context.Background(), "UPDATE shops SET webhook_secret = NULL"); err == nil {
			t.Fatal("shops still has a webhook_secret column")
		}
	})
}
