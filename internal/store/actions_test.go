package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

func TestOrderLockLeases(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		later := time.Now().Add(time.Minute)
		// Racing replicas: exactly one takes the order.
		var wg sync.WaitGroup
		wins := make(chan string, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := string(rune('a' + i))
				ok, err := st.LockOrder(ctx, a.ID, 1, id, later)
				if err != nil {
					t.Errorf("lock: %v", err)
				}
				if ok {
					wins <- id
				}
			}()
		}
		wg.Wait()
		close(wins)
		var winner []string
		for w := range wins {
			winner = append(winner, w)
		}
		if len(winner) != 1 {
			t.Fatalf("%d winners: %v", len(winner), winner)
		}
		if ok, _ := st.LockOrder(ctx, a.ID, 1, winner[0], later); !ok {
			t.Error("the holder cannot renew its lease")
		}
		if ok, _ := st.LockOrder(ctx, a.ID, 2, "other", later); !ok {
			t.Error("another order is locked too")
		}
		if err := st.UnlockOrder(ctx, a.ID, 1, "not-the-holder"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.LockOrder(ctx, a.ID, 1, "late", later); ok {
			t.Error("a non-holder released the lease")
		}
		_ = st.UnlockOrder(ctx, a.ID, 1, winner[0])
		if ok, _ := st.LockOrder(ctx, a.ID, 1, "late", time.Now().Add(-time.Second)); !ok {
			t.Error("released lease not free")
		}
		// An expired lease (a crashed replica) is taken over.
		if ok, _ := st.LockOrder(ctx, a.ID, 1, "next", later); !ok {
			t.Error("expired lease not taken over")
		}
	})
}

func TestActionRoundTrip(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		amount := decimal.RequireFromString("10.50")
		act := orders.Action{ID: "act-1", ShopID: a.ID, OrderID: 9, Kind: orders.ActionCancel, Status: orders.ActionPending, AgentID: "42",
			Reason: "customer", RefundRequested: true, Request: []byte(`{"reason":"customer"}`), CreatedAt: base, UpdatedAt: base}
		if err := st.CreateAction(ctx, act); err != nil {
			t.Fatal(err)
		}
		refundID := int64(77)
		act.Status, act.Amount, act.Currency, act.CancelDone, act.ShopifyRefundID, act.UpdatedAt = orders.ActionUnknown, &amount, "USD", true, &refundID, base.Add(time.Minute)
		if err := st.UpdateAction(ctx, act); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetAction(ctx, a.ID, "act-1")
		if err != nil || got.Status != orders.ActionUnknown || !got.Amount.Equal(amount) || !got.CancelDone || got.RefundDone ||
			*got.ShopifyRefundID != 77 || !got.RefundRequested || got.Reason != "customer" {
			t.Fatalf("round trip = %+v, %v", got, err)
		}
		if _, err := st.GetAction(ctx, a.ID+1, "act-1"); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("another shop sees the action: %v", err)
		}
		unknown, err := st.UnknownActions(ctx, base.Add(2*time.Minute), 10)
		if err != nil || len(unknown) != 1 || unknown[0].Shop != a || unknown[0].Action.ID != "act-1" {
			t.Errorf("unknown actions = %+v, %v", unknown, err)
		}
		if unknown, _ := st.UnknownActions(ctx, base, 10); len(unknown) != 0 {
			t.Errorf("an action touched after the cut-off was listed")
		}
		second := orders.Action{ID: "act-2", ShopID: a.ID, OrderID: 9, Kind: orders.ActionRefund, Status: orders.ActionFailed, AgentID: "7", CreatedAt: base.Add(time.Hour), UpdatedAt: base}
		_ = st.CreateAction(ctx, second)
		list, _ := st.ListActions(ctx, a.ID, 9)
		if len(list) != 2 || list[0].ID != "act-2" {
			t.Errorf("list newest first = %+v", list)
		}
	})
}

func TestTimelineEventUpsert(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		ev := orders.TimelineEvent{ID: "action:x", CustomerID: 5, OrderID: 9, OrderName: "#1009", Type: "action.refund", OccurredAt: base,
			Summary: "Refund of 1.00 USD by agent 7: unknown", AgentID: "7", Data: map[string]any{"status": "unknown"}}
		_ = st.AddTimelineEvents(ctx, a.ID, []orders.TimelineEvent{ev})
		ev.Summary, ev.Data = "Refund of 1.00 USD by agent 7: succeeded", map[string]any{"status": "succeeded"}
		if err := st.AddTimelineEvents(ctx, a.ID, []orders.TimelineEvent{ev}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Timeline(ctx, a.ID, 5, nil, 10)
		if err != nil || len(got) != 1 || got[0].Summary != ev.Summary || got[0].Data["status"] != "succeeded" || got[0].OrderName != "#1009" {
			t.Errorf("timeline = %+v, %v", got, err)
		}
	})
}

func TestIdempotencyClaims(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		if err := s.Tenants().EnsureAPIKey(ctx, a.ID, "hash", "k"); err != nil {
			t.Fatal(err)
		}
		p, _ := s.Tenants().PrincipalByKeyHash(ctx, "hash")
		k := idempotency.Key{ShopID: a.ID, APIKeyID: p.KeyID, Key: "k1"}
		svc := idempotency.NewService(s.Idempotency())

		// Concurrent first requests: one runs, the others are told it is in flight.
		var wg sync.WaitGroup
		results := make(chan error, 6)
		ids := make(chan string, 6)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := svc.Begin(ctx, k, "h1")
				results <- err
				if err == nil {
					ids <- b.ActionID
				}
			}()
		}
		wg.Wait()
		close(results)
		close(ids)
		ran, inflight := 0, 0
		for err := range results {
			switch {
			case err == nil:
				ran++
			case errors.Is(err, idempotency.ErrInFlight):
				inflight++
			default:
				t.Errorf("begin: %v", err)
			}
		}
		if ran != 1 || inflight != 5 {
			t.Fatalf("ran %d, in flight %d", ran, inflight)
		}
		first := <-ids
		if _, err := svc.Begin(ctx, k, "other"); !errors.Is(err, idempotency.ErrKeyReused) {
			t.Errorf("different request: %v", err)
		}
		// A 5xx releases the key: the retry resumes the same action.
		if err := svc.Finish(ctx, k, 504, []byte("x")); err != nil {
			t.Fatal(err)
		}
		b, err := svc.Begin(ctx, k, "h1")
		if err != nil || b.Replay != nil || b.ActionID != first {
			t.Fatalf("resume = %+v, %v (first action %s)", b, err, first)
		}
		// A final answer is replayed, byte for byte.
		if err := svc.Finish(ctx, k, 200, []byte(`{"ok":true}`)); err != nil {
			t.Fatal(err)
		}
		b, err = svc.Begin(ctx, k, "h1")
		if err != nil || b.Replay == nil || b.Replay.Status != 200 || string(b.Replay.Body) != `{"ok":true}` {
			t.Fatalf("replay = %+v, %v", b, err)
		}
		// Kept 24 h, then swept.
		if n, err := s.Idempotency().DeleteExpired(ctx, time.Now().Add(idempotency.Retention-time.Minute)); err != nil || n != 0 {
			t.Errorf("swept a live key: %d, %v", n, err)
		}
		if n, err := s.Idempotency().DeleteExpired(ctx, time.Now().Add(idempotency.Retention+time.Minute)); err != nil || n != 1 {
			t.Errorf("expired key not swept: %d, %v", n, err)
		}
	})
}
