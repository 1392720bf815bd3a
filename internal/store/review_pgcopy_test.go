package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// Review: nullable columns reach Postgres as NULL, not ” or 0, through the
// array statements; time zones are kept.
func TestReviewNullsAndZones(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "nulls.myshopify.com")
		st := s.Orders()
		o := order(1, 7, base, "paid")
		src := o.Source
		src.Customer, src.Email, src.Phone = nil, "", ""
		paris := time.FixedZone("CET", 3600)
		src.CreatedAt = time.Date(2026, 11, 1, 10, 0, 0, 123456000, paris)
		src.UpdatedAt = src.CreatedAt
		o = orders.Build(src, base)
		tl := []orders.TimelineEvent{{ID: "note:1", Type: "note", OccurredAt: time.Date(2026, 11, 1, 10, 0, 0, 0, paris), Summary: "x", Data: map[string]any{}}}
		if err := st.SaveOrders(ctx, sh.ID, []orders.Order{o}, tl, true); err != nil {
			t.Fatal(err)
		}
		var cust sql.NullInt64
		var email, phone, e164, doc sql.NullString
		var docAt sql.NullTime
		var created time.Time
		if err := s.QueryRowForTest("SELECT customer_id, email, phone, phone_e164, doc, doc_written_at, created_at FROM orders WHERE id = 1", nil,
			&cust, &email, &phone, &e164, &doc, &docAt, &created); err != nil {
			t.Fatal(err)
		}
		if cust.Valid || email.Valid || phone.Valid || e164.Valid || doc.Valid || docAt.Valid {
			t.Errorf("NULLs not kept: %v %v %v %v %v %v", cust, email, phone, e164, doc, docAt)
		}
		if !created.Equal(src.CreatedAt) {
			t.Errorf("created_at = %s, want %s", created, src.CreatedAt)
		}
		var tcust, tord sql.NullInt64
		var tname, tagent sql.NullString
		var occ time.Time
		if err := s.QueryRowForTest("SELECT customer_id, order_id, order_name, agent_id, occurred_at FROM timeline_events WHERE id = 'note:1'", nil,
			&tcust, &tord, &tname, &tagent, &occ); err != nil {
			t.Fatal(err)
		}
		if tcust.Valid || tord.Valid || tname.Valid || tagent.Valid || !occ.Equal(tl[0].OccurredAt) {
			t.Errorf("timeline NULLs/zone: %v %v %v %v %s", tcust, tord, tname, tagent, occ)
		}
	})
}

// Review: the same order twice in one save, far apart in the list (a
// customer's pages shifting under the read). The old path's statements
// were chunks of 200 rows; one array statement has them all.
func TestReviewDuplicateOrderInOneSave(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "dup.myshopify.com")
		var list []orders.Order
		for i := range 300 {
			list = append(list, order(int64(i+1), 7, base.Add(time.Duration(i)*time.Minute), "paid"))
		}
		list = append(list, list[0]) // order 1 again, 300 rows later
		// main: saved on both databases (the copies fell in different
		// 200-row statements); pgcopy: refused on Postgres until a save
		// wrote each order once, as its newest copy.
		if err := s.Orders().SaveOrders(ctx, sh.ID, list, nil, false); err != nil {
			t.Errorf("%s: save with a duplicate 300 rows apart: %v", s.Dialect(), err)
		}
		// Refused on Postgres by main and pgcopy alike, saved on SQLite;
		// now saved on both.
		adj := []orders.Order{order(1000, 7, base, "paid"), order(1000, 7, base, "paid")}
		if err := s.Orders().SaveOrders(ctx, sh.ID, adj, nil, false); err != nil {
			t.Errorf("%s: save with an adjacent duplicate: %v", s.Dialect(), err)
		}
	})
}

// Review: an order number beyond int32 (column INTEGER).
func TestReviewOrderNumberOverflow(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "big.myshopify.com")
		o := order(1, 7, base, "paid")
		src := o.Source
		src.OrderNumber = 1<<31 + 5
		o = orders.Build(src, base)
		err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{o}, nil, false)
		var n int64
		if err == nil {
			_ = s.QueryRowForTest("SELECT order_number FROM orders WHERE id = 1", nil, &n)
		}
		// Postgres refuses it (INTEGER; main: pgx's int4 check, now the
		// cast of the bigint array); SQLite's INTEGER holds 64 bits.
		// Never stored wrapped.
		if err == nil && n != int64(src.OrderNumber) {
			t.Errorf("%s: order_number %d stored as %d", s.Dialect(), src.OrderNumber, n)
		}
		if s.Dialect() == "postgres" && (err == nil || !strings.Contains(err.Error(), "out of range")) {
			t.Errorf("postgres: order_number %d: %v, want integer out of range", src.OrderNumber, err)
		}
	})
}

// Review: equal updated_at, different facts: the incoming copy wins (as
// before, <=) and its new fact is reported once.
func TestReviewEqualUpdatedAt(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "equal.myshopify.com")
		st := s.Orders()
		o := order(1, 7, base, "paid")
		if err := st.SaveOrders(ctx, sh.ID, []orders.Order{o}, nil, false); err != nil {
			t.Fatal(err)
		}
		r := withRefund(o, 50, "1.00")
		src := r.Source
		src.UpdatedAt = o.Source.UpdatedAt
		r = orders.Build(src, base)
		if err := st.SaveOrders(ctx, sh.ID, []orders.Order{r}, nil, false); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetOrder(ctx, sh.ID, 1)
		if err != nil || len(got.Refunds) != 1 {
			t.Errorf("equal updated_at: %d refunds, %v", len(got.Refunds), err)
		}
		if evs := listEvents(t, s, sh.ID, events.Filter{Type: events.TypeOrderRefunded}); len(evs) != 1 {
			t.Errorf("refund events = %d", len(evs))
		}
	})
}

// Review: many concurrent writers of the same new facts for the same
// orders (webhook replicas in both key orders), with actions of the same
// orders made final meanwhile: nobody fails (the key conflict is waited
// for and skipped, a sequence is never taken twice), each fact is one
// event, sequences are 1..n with gaps only.
func TestReviewConcurrentWritersSameFacts(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "conc.myshopify.com")
		st := s.Orders()
		const n = 40
		var first []orders.Order
		for i := range n {
			first = append(first, order(int64(i+1), 7, base, "paid"))
		}
		if err := st.SaveOrders(ctx, sh.ID, first, nil, false); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := st.CreateAction(ctx, newAction(sh.ID, fmt.Sprintf("act-%d", i+1), int64(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range 3 {
					list := make([]orders.Order, 0, n)
					for i := range n {
						idx := i
						if w%2 == 1 {
							idx = n - 1 - i
						}
						list = append(list, withRefund(first[idx], int64(1000*(r+1)+idx), "1.00"))
					}
					if err := st.SaveOrders(ctx, sh.ID, list, nil, w%3 == 0); err != nil {
						errs <- fmt.Errorf("writer %d round %d: %w", w, r, err)
					}
				}
			}()
		}
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.UpdateAction(ctx, sh.ID, fmt.Sprintf("act-%d", i+1), func(x *orders.Action) error {
					now := time.Now()
					x.Status, x.CompletedAt, x.RefundDone = orders.ActionSucceeded, &now, true
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("action %d final: %w", i+1, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var dupKeys, dupSeq int64
		if err := s.QueryRowForTest("SELECT count(*) - count(DISTINCT key) FROM events", nil, &dupKeys); err != nil {
			t.Fatal(err)
		}
		if err := s.QueryRowForTest("SELECT count(*) - count(DISTINCT order_id || ':' || sequence) FROM events", nil, &dupSeq); err != nil {
			t.Fatal(err)
		}
		var nEvents int64
		if err := s.QueryRowForTest("SELECT count(*) FROM events WHERE type = 'order.refunded'", nil, &nEvents); err != nil {
			t.Fatal(err)
		}
		if dupKeys != 0 || dupSeq != 0 || nEvents != 3*n {
			t.Errorf("dup keys %d, dup sequences %d, refund events %d (want %d)", dupKeys, dupSeq, nEvents, 3*n)
		}
	})
}

// Review: 00020 sets lz4 on the three columns, goes down and up again.
func TestReviewLZ4MigrationUpDown(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := storetest.New(t, kind)
			ctx := context.Background()
			comp := func() string {
				if kind != "postgres" {
					return ""
				}
				var c string
				if err := s.QueryRowForTest(`SELECT string_agg(attrelid::regclass || '.' || attname || '=' || attcompression::text, ',' ORDER BY attrelid::regclass::text, attname)
					FROM pg_attribute WHERE attrelid IN ('orders'::regclass, 'sync_runs'::regclass) AND attname IN ('doc', 'shopify', 'checkpoint')`, nil, &c); err != nil {
					t.Fatal(err)
				}
				return c
			}
			lz4, pglz := "orders.doc=l,orders.shopify=l,sync_runs.checkpoint=l", "orders.doc=,orders.shopify=,sync_runs.checkpoint="
			if kind != "postgres" {
				lz4, pglz = "", ""
			}
			if got := comp(); got != lz4 {
				t.Errorf("up: %s", got)
			}
			if err := s.MigrateToForTest(ctx, 19, true); err != nil {
				t.Fatalf("down to 19: %v", err)
			}
			if got := comp(); got != pglz {
				t.Errorf("down: %s", got)
			}
			if err := s.MigrateToForTest(ctx, 20, false); err != nil {
				t.Fatalf("up to 20: %v", err)
			}
			if got := comp(); got != lz4 {
				t.Errorf("up again: %s", got)
			}
		})
	}
}

// Review: an event_sequences row behind the order's events (restored from
// an older backup than events, edited by hand): the action's final
// transaction failed (and the action stayed pending) where the bare ON
// CONFLICT DO NOTHING dropped the action's event silently. The sequence
// upsert now numbers above the stored events: both are recorded.
func TestReviewSequenceBehindAtFinal(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "behind.myshopify.com")
		st := s.Orders()
		if err := st.SaveOrders(ctx, sh.ID, []orders.Order{order(9, 7, base, "paid")}, nil, false); err != nil {
			t.Fatal(err)
		}
		if err := s.ExecForTest("UPDATE event_sequences SET last = 0"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAction(ctx, newAction(sh.ID, "act-1", 9)); err != nil {
			t.Fatal(err)
		}
		_, err := st.UpdateAction(ctx, sh.ID, "act-1", func(x *orders.Action) error {
			now := time.Now()
			x.Status, x.CompletedAt, x.RefundDone = orders.ActionSucceeded, &now, true
			return nil
		})
		got, _ := st.GetAction(ctx, sh.ID, "act-1")
		var n int64
		_ = s.QueryRowForTest("SELECT count(*) FROM events WHERE key = 'action:act-1'", nil, &n)
		// main: succeeded, its event dropped; pgcopy before the repair:
		// the final transaction failed, the action stayed pending.
		if err != nil || got.Status != orders.ActionSucceeded || n != 1 {
			t.Errorf("%s: final err=%v; action %s; its events %d", s.Dialect(), err, got.Status, n)
		}
	})
}
