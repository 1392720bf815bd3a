package store_test

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// Review: DispatchEvents (event_delivery.go:147) locks undispatched events
// FOR UPDATE, reads the shop's endpoints, then inserts event_deliveries (whose
// key checks take the endpoint row FOR KEY SHARE). Its statements are run here
// by hand on a second connection, so that ForgetShop can run between them.
// Before 00021 the cascade from shops deleted events (key made in 00007
// before event_endpoints') first: ForgetShop waited for the dispatch, which
// finished. 00021's trigger, first written AFTER DELETE, ran after every
// key's cascade trigger ("RI_ConstraintTrigger_*" sorts before
// "shops_delete_rows"): the endpoint was deleted (locked) first, then the
// trigger's DELETE FROM events waited for the dispatch, whose insert waited
// for the endpoint: a deadlock. It runs BEFORE DELETE now, also after Down.
func TestReview10bDispatchVsForgetShop(t *testing.T) {
	t.Parallel()
	for _, variant := range []string{"00021", "before 00021 (Down from 21)", "release before (fresh, up to 20)"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			u, _ := storetest.SchemaURL(t)
			s, err := store.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if variant == "release before (fresh, up to 20)" {
				if err := s.MigrateToForTest(ctx, 20, false); err != nil {
					t.Fatal(err)
				}
			} else if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			if variant == "before 00021 (Down from 21)" {
				if err := s.MigrateToForTest(ctx, 20, true); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := sql.Open("pgx", u)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if variant != "00021" {
				// The code under test writes sync_runs.run_id (00022); these
				// variants are about 00021's keys and trigger.
				if _, err := raw.ExecContext(ctx, "ALTER TABLE sync_runs ADD COLUMN run_id TEXT NOT NULL DEFAULT ''"); err != nil {
					t.Fatal(err)
				}
			}
			sh := shop(t, s, "dispatch.myshopify.com")
			now := time.Now().UTC()
			ep := events.Endpoint{ID: "ep_1", ShopID: sh.ID, URL: "https://crm.example.com/hook", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
				Source: events.SourceAPI, State: events.EndpointEnabled, CreatedAt: now, UpdatedAt: now}
			if err := s.Events().CreateEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
			fill(t, s, sh.ID, 1) // orders, timeline, undispatched events
			if _, err := s.Tenants().MarkUninstalled(ctx, sh.ID, now, now); err != nil {
				t.Fatal(err)
			}
			tx, err := raw.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			// DispatchEvents' statements, in its order.
			rows, err := tx.QueryContext(ctx, `SELECT pos, shop_id, order_id, sequence, created_at FROM events WHERE dispatched = false ORDER BY pos LIMIT 500 FOR UPDATE SKIP LOCKED`)
			if err != nil {
				t.Fatal(err)
			}
			type ev struct {
				pos, shop, order, seq int64
				at                    time.Time
			}
			var evs []ev
			for rows.Next() {
				var e ev
				if err := rows.Scan(&e.pos, &e.shop, &e.order, &e.seq, &e.at); err != nil {
					t.Fatal(err)
				}
				evs = append(evs, e)
			}
			rows.Close()
			if len(evs) == 0 {
				t.Fatal("no event to dispatch")
			}
			var epID string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM event_endpoints WHERE shop_id IN ($1)`, sh.ID).Scan(&epID); err != nil {
				t.Fatal(err)
			}
			forgot := make(chan error, 1)
			go func() {
				_, err := s.Orders().ForgetShop(ctx, sh.ID)
				forgot <- err
			}()
			time.Sleep(500 * time.Millisecond) // ForgetShop under way, waiting for the locked events (or deleting)
			var dispatchErr error
			for _, e := range evs {
				if _, err := tx.ExecContext(ctx, `INSERT INTO event_deliveries (endpoint_id, event_pos, shop_id, order_id, sequence, state, next_attempt_at, created_at)
					VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT DO NOTHING`, epID, e.pos, e.shop, e.order, e.seq, now, e.at); err != nil {
					dispatchErr = err
					break
				}
			}
			if dispatchErr == nil {
				for _, e := range evs {
					if _, err := tx.ExecContext(ctx, `UPDATE events SET dispatched = true WHERE pos = $1`, e.pos); err != nil {
						dispatchErr = err
						break
					}
				}
			}
			if dispatchErr == nil {
				dispatchErr = tx.Commit()
			} else {
				tx.Rollback()
			}
			forgetErr := <-forgot
			if dispatchErr != nil {
				t.Errorf("dispatch: %v", dispatchErr)
			}
			if forgetErr != nil {
				t.Errorf("ForgetShop: %v", forgetErr)
			}
			for table, n := range rowsOf(t, s, sh.ID) {
				if n != 0 {
					t.Errorf("%s keeps %d rows of the forgotten shop", table, n)
				}
			}
		})
	}
}
