package store_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestOrderLeases: holders have their own tokens; nobody shares, renews or
// releases another's lease (the old LockOrder was re-entrant by action id,
// so a reconciler using the action's id shared and released an agent's
// lease); an expired lease is taken over on the database's clock.
func TestOrderLeases(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		// Racing executors: exactly one takes the order.
		var wg sync.WaitGroup
		wins := make(chan string, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				holder := string(rune('a' + i))
				ok, err := st.AcquireLease(ctx, a.ID, 1, "act-1", holder, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins <- holder
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
			t.Fatalf("%d holders took the lease", len(winner))
		}
		// The same action under another token (a reconciler) does not share it.
		if ok, _ := st.AcquireLease(ctx, a.ID, 1, "act-1", "reconciler", time.Minute); ok {
			t.Error("a second token for the same action shared the lease")
		}
		// Nor can it renew or release it.
		if ok, _ := st.RenewLease(ctx, a.ID, 1, "reconciler", time.Minute); ok {
			t.Error("another token renewed the lease")
		}
		if err := st.ReleaseLease(ctx, a.ID, 1, "reconciler"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.AcquireLease(ctx, a.ID, 1, "act-2", "third", time.Minute); ok {
			t.Error("another token released the holder's lease: a third action ran concurrently")
		}
		// Another order is free.
		if ok, _ := st.AcquireLease(ctx, a.ID, 2, "act-3", "other", time.Minute); !ok {
			t.Error("another order's lease was refused")
		}
		// The holder renews and releases its own.
		if ok, _ := st.RenewLease(ctx, a.ID, 1, winner[0], time.Minute); !ok {
			t.Error("the holder could not renew")
		}
		if err := st.ReleaseLease(ctx, a.ID, 1, winner[0]); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.AcquireLease(ctx, a.ID, 1, "act-2", "short", 50*time.Millisecond); !ok {
			t.Fatal("a released lease was not free")
		}
		if ok, _ := st.AcquireLease(ctx, a.ID, 1, "act-3", "next", time.Minute); ok {
			t.Fatal("a live lease was taken over")
		}
		time.Sleep(120 * time.Millisecond) // the lease runs out on the database's clock
		if ok, _ := st.AcquireLease(ctx, a.ID, 1, "act-3", "next", time.Minute); !ok {
			t.Fatal("an expired lease was not taken over")
		}
		if ok, _ := st.RenewLease(ctx, a.ID, 1, "short", time.Minute); ok {
			t.Error("the expired holder renewed a lease taken over by another")
		}
	})
}

func newAction(shopID int64, id string, order int64) orders.Action {
	return orders.Action{ID: id, ShopID: shopID, OrderID: order, Kind: orders.ActionRefund, Status: orders.ActionPending, AgentID: "7",
		RefundRequested: true, RefundKey: "k-" + id, Plan: orders.ActionPlan{Refund: &orders.RefundRequest{Note: "n"}},
		CreatedAt: base, UpdatedAt: base}
}

func apiKey(t *testing.T, s *store.Store, shopID int64) int64 {
	t.Helper()
	if err := s.Tenants().EnsureAPIKey(context.Background(), shopID, "hash", "k"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Tenants().PrincipalByKeyHash(context.Background(), "hash")
	if err != nil {
		t.Fatal(err)
	}
	return p.KeyID
}

// TestSubmitAction: the key, the action and its job are one transaction;
// a second pending action on the order is refused and claims nothing (the
// old store kept 409 action_in_progress as the key's answer forever).
func TestSubmitAction(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		keyID := apiKey(t, s, a.ID)
		claim := func(key, hash string) orders.IdempotencyClaim {
			return orders.IdempotencyClaim{ShopID: a.ID, APIKeyID: keyID, Key: key, RequestHash: hash, ExpiresAt: base.Add(idempotency.Retention)}
		}
		var enqueued []string
		enqueue := func(_ context.Context, tx any, act orders.Action) error {
			if _, ok := tx.(*sql.Tx); !ok {
				t.Errorf("enqueue got a %T, not the *sql.Tx", tx)
			}
			enqueued = append(enqueued, act.ID)
			return nil
		}
		got, err := st.SubmitAction(ctx, orders.Submission{Claim: claim("k1", "h1"), Action: newAction(a.ID, "act-1", 9)}, enqueue)
		if err != nil || !got.Created || got.Action.ID != "act-1" {
			t.Fatalf("submit = %+v, %v", got, err)
		}
		// Same key, same request: the same action, nothing new.
		got, err = st.SubmitAction(ctx, orders.Submission{Claim: claim("k1", "h1"), Action: newAction(a.ID, "act-x", 9)}, enqueue)
		if err != nil || got.Created || got.Action.ID != "act-1" || got.Answer != nil {
			t.Fatalf("retry = %+v, %v", got, err)
		}
		if _, err := st.SubmitAction(ctx, orders.Submission{Claim: claim("k1", "other"), Action: newAction(a.ID, "act-y", 9)}, enqueue); !errors.Is(err, idempotency.ErrKeyReused) {
			t.Errorf("another request under the key: %v", err)
		}
		// Another key on the same order while act-1 is pending: refused, and
		// the key is not claimed.
		if _, err := st.SubmitAction(ctx, orders.Submission{Claim: claim("k2", "h2"), Action: newAction(a.ID, "act-2", 9)}, enqueue); !errors.Is(err, orders.ErrActionInProgress) {
			t.Fatalf("second pending action: %v", err)
		}
		if len(enqueued) != 1 {
			t.Errorf("jobs enqueued: %v", enqueued)
		}
		// A failed enqueue rolls everything back.
		boom := errors.New("boom")
		if _, err := st.SubmitAction(ctx, orders.Submission{Claim: claim("k3", "h3"), Action: newAction(a.ID, "act-3", 10)},
			func(context.Context, any, orders.Action) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("enqueue failure: %v", err)
		}
		if _, err := st.GetAction(ctx, a.ID, "act-3"); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("action recorded without its job: %v", err)
		}
		// Once act-1 is final, k2 runs.
		if _, err := st.UpdateAction(ctx, a.ID, "act-1", func(x *orders.Action) error { x.Status = orders.ActionFailed; return nil }); err != nil {
			t.Fatal(err)
		}
		got, err = st.SubmitAction(ctx, orders.Submission{Claim: claim("k2", "h2"), Action: newAction(a.ID, "act-2", 9)}, enqueue)
		if err != nil || !got.Created {
			t.Fatalf("k2 after act-1 = %+v, %v", got, err)
		}
		// The first final answer is kept; a second is not stored over it.
		idem := idempotency.NewService(s.Idempotency())
		k := idempotency.Key{ShopID: a.ID, APIKeyID: keyID, Key: "k2"}
		if r, err := idem.Settle(ctx, k, 200, []byte(`{"a":1}`)); err != nil || r.Status != 200 {
			t.Fatalf("settle = %+v, %v", r, err)
		}
		if r, _ := idem.Settle(ctx, k, 502, []byte(`{"b":2}`)); r.Status != 200 || string(r.Body) != `{"a":1}` {
			t.Errorf("a second answer replaced the first: %+v", r)
		}
		got, _ = st.SubmitAction(ctx, orders.Submission{Claim: claim("k2", "h2"), Action: newAction(a.ID, "act-z", 9)}, enqueue)
		if got.Answer == nil || got.Answer.Status != 200 || got.Action.ID != "act-2" {
			t.Errorf("replay = %+v", got)
		}
		// Concurrent submissions of one key: one action.
		var wg sync.WaitGroup
		created := make(chan string, 6)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := st.SubmitAction(ctx, orders.Submission{Claim: claim("k4", "h4"), Action: newAction(a.ID, "act-c"+string(rune('0'+i)), 11)}, enqueue)
				if err == nil && got.Created {
					created <- got.Action.ID
				} else if err != nil && !errors.Is(err, idempotency.ErrInFlight) && !errors.Is(err, orders.ErrActionInProgress) {
					t.Errorf("concurrent submit: %v", err)
				}
			}()
		}
		wg.Wait()
		close(created)
		if n := len(created); n != 1 {
			t.Errorf("%d actions created for one key", n)
		}
		// Kept 24 h, then swept.
		if n, err := s.Idempotency().DeleteExpired(ctx, base.Add(idempotency.Retention-time.Minute)); err != nil || n != 0 {
			t.Errorf("swept a live key: %d, %v", n, err)
		}
	})
}

// TestUpdateAction: one transaction per change; the written-ahead inputs
// round-trip; a failed change changes nothing; a final outcome never
// changes; outcome hooks run once, in the transaction that makes it final.
func TestUpdateAction(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		var hooked []orders.Action
		s.OnActionFinal(func(_ context.Context, tx any, act orders.Action) error {
			if _, ok := tx.(*sql.Tx); !ok {
				t.Errorf("hook got a %T", tx)
			}
			hooked = append(hooked, act)
			return nil
		})
		if err := st.CreateAction(ctx, newAction(a.ID, "act-1", 9)); err != nil {
			t.Fatal(err)
		}
		amount := decimal.RequireFromString("1.50")
		input := &orders.RefundCommand{OrderID: 9, IdempotencyKey: "k-act-1", Note: "n orderdesk:act-1", Currency: "EUR",
			Transactions: []orders.RefundTransaction{{ParentID: 5, Amount: amount, Gateway: "bogus"}, {Amount: amount, Gateway: "manual"}}}
		if _, err := st.UpdateAction(ctx, a.ID, "act-1", func(x *orders.Action) error {
			x.Amount, x.Currency, x.RefundInput, x.RefundAttempts = &amount, "USD", input, 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetAction(ctx, a.ID, "act-1")
		if err != nil || got.RefundInput == nil || got.RefundInput.Note != input.Note || len(got.RefundInput.Transactions) != 2 ||
			!got.RefundInput.Transactions[1].Amount.Equal(amount) || got.RefundInput.Transactions[1].ParentID != 0 || got.RefundAttempts != 1 ||
			got.Plan.Refund == nil || got.Plan.Refund.Note != "n" {
			t.Fatalf("round trip = %+v, %v", got, err)
		}
		boom := errors.New("boom")
		if _, err := st.UpdateAction(ctx, a.ID, "act-1", func(x *orders.Action) error { x.RefundAttempts = 9; return boom }); !errors.Is(err, boom) {
			t.Fatalf("change error = %v", err)
		}
		if got, _ := st.GetAction(ctx, a.ID, "act-1"); got.RefundAttempts != 1 {
			t.Error("a failed change was saved")
		}
		// A failing hook rolls the outcome back.
		failing := true
		s.OnActionFinal(func(context.Context, any, orders.Action) error {
			if failing {
				return boom
			}
			return nil
		})
		if _, err := st.UpdateAction(ctx, a.ID, "act-1", func(x *orders.Action) error { x.Status = orders.ActionSucceeded; return nil }); !errors.Is(err, boom) {
			t.Fatalf("failing hook = %v", err)
		}
		if got, _ := st.GetAction(ctx, a.ID, "act-1"); got.Status != orders.ActionPending {
			t.Error("an outcome was saved although its hook failed")
		}
		failing = false
		hooked = nil
		if _, err := st.UpdateAction(ctx, a.ID, "act-1", func(x *orders.Action) error { x.Status = orders.ActionSucceeded; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateAction(ctx, a.ID, "act-1", func(x *orders.Action) error { x.Status = orders.ActionFailed; return nil }); err == nil {
			t.Error("a succeeded action was made failed")
		}
		if _, err := st.UpdateAction(ctx, a.ID, "act-1", func(x *orders.Action) error { x.Error = "note"; return nil }); err != nil {
			t.Errorf("a final action's other fields: %v", err)
		}
		if len(hooked) != 1 || hooked[0].Status != orders.ActionSucceeded {
			t.Errorf("hooks ran %d times: %+v", len(hooked), hooked)
		}
		if _, err := st.UpdateAction(ctx, a.ID, "nope", func(*orders.Action) error { return nil }); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("missing action = %v", err)
		}
	})
}

// TestPendingActions: the sweep sees pending actions untouched since the
// cut-off whose order nobody holds (the old store listed only 'unknown',
// so a crash between refundCreate and the save left 'pending' forever).
func TestPendingActions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		_ = st.CreateAction(ctx, newAction(a.ID, "act-1", 9))
		done := newAction(a.ID, "act-2", 10)
		done.Status = orders.ActionSucceeded
		_ = st.CreateAction(ctx, done)
		list, err := st.PendingActions(ctx, base.Add(time.Minute), 10)
		if err != nil || len(list) != 1 || list[0].Action.ID != "act-1" || list[0].Shop.Domain != "a.myshopify.com" {
			t.Fatalf("pending = %+v, %v", list, err)
		}
		if list, _ := st.PendingActions(ctx, base, 10); len(list) != 0 {
			t.Error("an action touched after the cut-off was listed")
		}
		if ok, _ := st.AcquireLease(ctx, a.ID, 9, "act-1", "h", time.Minute); !ok {
			t.Fatal("lease")
		}
		if list, _ := st.PendingActions(ctx, base.Add(time.Minute), 10); len(list) != 0 {
			t.Error("an action being worked on (live lease) was listed")
		}
		list2, _ := st.ListActions(ctx, a.ID, 9)
		if len(list2) != 1 {
			t.Errorf("list = %+v", list2)
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
			Summary: "Refund of 1.00 USD by agent 7: pending", AgentID: "7", Data: map[string]any{"status": "pending"}}
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
