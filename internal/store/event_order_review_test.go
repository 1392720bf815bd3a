package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// TestClaimWaitsForAnEarlierUndispatchedEvent (review-11 finding 1): on
// Postgres every replica's pump dispatches, skipping the events another
// replica has locked. While replica 1 is inside its dispatch of an order's
// sequence 1, replica 2 dispatches the same order's sequence 2 and commits
// first: the endpoint then holds a delivery of sequence 2 and none of
// sequence 1, and a claim must not send sequence 2 before sequence 1.
func TestClaimWaitsForAnEarlierUndispatchedEvent(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			if kind == "sqlite" {
				t.Skip("SQLite has one writer: two dispatches never interleave")
			}
			s := storetest.New(t, kind)
			ctx := context.Background()
			sh := shop(t, s, "order.myshopify.com")
			ev := s.Events()
			now := time.Now().UTC()
			ep := events.Endpoint{ID: "ep_1", ShopID: sh.ID, URL: "https://crm.example.com/hook", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
				Source: events.SourceAPI, State: events.EndpointEnabled, CreatedAt: now, UpdatedAt: now}
			if err := ev.CreateEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
			// order.placed (sequence 1) and order.paid (sequence 2).
			if err := s.Orders().SaveOrders(ctx, sh.ID, []orders.Order{order(1, 7, base, "paid")}, nil, false); err != nil {
				t.Fatal(err)
			}
			release := holdFirstEvent(t, s)
			if n, err := ev.DispatchEvents(ctx, now, 500); err != nil || n != 1 {
				t.Fatalf("second replica's dispatch = %d, %v; want the one event not held", n, err)
			}
			due, err := ev.ClaimDeliveries(ctx, ep.ID, now, time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range due {
				t.Errorf("claimed %s while the order's sequence 1 is still being dispatched: it would reach the receiver before order.placed", d.EventType)
			}
			release()
			if n, err := ev.DispatchEvents(ctx, now, 500); err != nil || n != 1 {
				t.Fatalf("first replica's dispatch = %d, %v", n, err)
			}
			due, err = ev.ClaimDeliveries(ctx, ep.ID, now, time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(due) != 1 || due[0].EventType != events.TypeOrderPlaced {
				t.Fatalf("claimed %+v, want order.placed first", due)
			}
		})
	}
}

// holdFirstEvent holds the order's sequence 1 as another replica's
// dispatch transaction that has taken it does: its row lock, which
// DispatchEvents skips. The returned func lets it go, undispatched.
func holdFirstEvent(t *testing.T, s *store.Store) func() {
	t.Helper()
	ctx := context.Background()
	tx, err := s.SQL().BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pos int64
	if err := tx.QueryRowContext(ctx, "SELECT pos FROM events WHERE sequence = 1 FOR UPDATE").Scan(&pos); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	return func() {
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
}
