package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// withPhone is order() with the customer's phone written as given.
func withPhone(id int64, phone string) orders.Order {
	o := order(id, 100+id, base.Add(time.Duration(id)*time.Hour), "paid")
	o.Source.Customer.Phone = phone
	return orders.Build(o.Source, base)
}

func listIDs(t *testing.T, s *store.Store, shopID int64, f orders.ListFilter) []int64 {
	t.Helper()
	f.Limit = 20
	got, err := s.Orders().ListOrders(context.Background(), shopID, f)
	if err != nil {
		t.Fatal(err)
	}
	out := []int64{}
	for _, o := range got {
		out = append(out, o.ID)
	}
	return out
}

// Phones are stored as Shopify sends them (any notation) and compared in
// E.164; names match with or without '#'.
func TestListByPhoneAndName(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		list := []orders.Order{
			withPhone(1, "+13125551212"), withPhone(2, "(312) 555-1212"), withPhone(3, "312.555.1212"),
			withPhone(4, "+44 20 7123 4567"), withPhone(5, "not a phone"), withPhone(6, ""),
		}
		if err := s.Orders().UpsertOrders(ctx, a.ID, list); err != nil {
			t.Fatal(err)
		}
		// Another shop's same number stays its own.
		b := shop(t, s, "b.myshopify.com")
		if err := s.Orders().UpsertOrders(ctx, b.ID, []orders.Order{withPhone(9, "3125551212")}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			f    orders.ListFilter
			want []int64
		}{
			{orders.ListFilter{Phone: "+13125551212"}, []int64{3, 2, 1}},
			{orders.ListFilter{Phone: "3125551212"}, []int64{3, 2, 1}},
			{orders.ListFilter{Phone: "+1 312 555 1212"}, []int64{3, 2, 1}},
			{orders.ListFilter{Phone: "(312) 555-1212"}, []int64{3, 2, 1}},
			{orders.ListFilter{Phone: "+442071234567"}, []int64{4}},
			{orders.ListFilter{Phone: "+13125551213"}, []int64{}},
			// Not a number matches nothing, not the stored non-numbers.
			{orders.ListFilter{Phone: "not a phone"}, []int64{}},
			{orders.ListFilter{Phone: "+13125551212", Email: "c102@example.com"}, []int64{2}},
			{orders.ListFilter{Name: "1003"}, []int64{3}},
			{orders.ListFilter{Name: "#1003"}, []int64{3}},
			{orders.ListFilter{Name: "##1003"}, []int64{}},
			{orders.ListFilter{Name: "100"}, []int64{}},
			{orders.ListFilter{Name: "1003", Phone: "+442071234567"}, []int64{}},
		}
		for _, tt := range tests {
			if got := listIDs(t, s, a.ID, tt.f); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%+v: ids = %v, want %v", tt.f, got, tt.want)
			}
		}
		// Redacting the customer forgets the normalised phone too.
		if err := s.Orders().RedactCustomer(ctx, a.ID, 101, nil); err != nil {
			t.Fatal(err)
		}
		if got := listIDs(t, s, a.ID, orders.ListFilter{Phone: "3125551212"}); fmt.Sprint(got) != "[3 2]" {
			t.Errorf("after redacting customer 101: ids = %v, want [3 2]", got)
		}
	})
}

// Orders stored before migration 00008 have a phone and no phone_e164:
// migrating fills it, once, with the store's region.
func TestMigrateBackfillsPhones(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		if err := s.Orders().UpsertOrders(ctx, a.ID, []orders.Order{
			withPhone(1, "(312) 555-1212"), withPhone(2, "+1 312 555 1212"), withPhone(3, "nope"), withPhone(4, ""),
		}); err != nil {
			t.Fatal(err)
		}
		// As the rows were before 00008 (the column did not exist).
		if _, err := s.SQL().ExecContext(ctx, "UPDATE orders SET phone_e164 = NULL"); err != nil {
			t.Fatal(err)
		}
		if got := listIDs(t, s, a.ID, orders.ListFilter{Phone: "3125551212"}); len(got) != 0 {
			t.Fatalf("before the backfill: ids = %v", got)
		}
		if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		if got := listIDs(t, s, a.ID, orders.ListFilter{Phone: "3125551212"}); fmt.Sprint(got) != "[2 1]" {
			t.Errorf("after the backfill: ids = %v, want [2 1]", got)
		}
		var nulls, unparsed int
		if err := s.SQL().QueryRowContext(ctx, "SELECT count(*) FROM orders WHERE phone IS NOT NULL AND phone_e164 IS NULL").Scan(&nulls); err != nil {
			t.Fatal(err)
		}
		if err := s.SQL().QueryRowContext(ctx, "SELECT count(*) FROM orders WHERE phone_e164 = ''").Scan(&unparsed); err != nil {
			t.Fatal(err)
		}
		if nulls != 0 || unparsed != 1 {
			t.Errorf("left unfilled %d, marked not a phone %d; want 0, 1", nulls, unparsed)
		}
	})
}
