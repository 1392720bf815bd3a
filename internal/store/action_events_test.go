package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestActionEventInFinalTransaction: action.succeeded / action.failed is
// written in the transaction that makes the action final, after the
// order's own events in its sequence; a final transaction that rolls back
// leaves no event and the action pending.
func TestActionEventInFinalTransaction(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "act-events.myshopify.com")
		st := s.Orders()
		if err := st.SaveOrders(ctx, a.ID, []orders.Order{order(9, 7, base, "paid")}, nil, false); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("crash before commit")
		crash := true
		s.OnActionFinal(func(_ context.Context, _ any, act orders.Action) error {
			if crash {
				return boom
			}
			return nil
		})
		finish := func(id string, status orders.ActionStatus) error {
			_, err := st.UpdateAction(ctx, a.ID, id, func(x *orders.Action) error {
				now := time.Now()
				x.Status, x.CompletedAt = status, &now
				if status == orders.ActionSucceeded {
					x.RefundDone = true
				} else {
					x.Error = "Shopify said no"
				}
				return nil
			})
			return err
		}
		if err := st.CreateAction(ctx, newAction(a.ID, "act-ok", 9)); err != nil {
			t.Fatal(err)
		}
		if err := finish("act-ok", orders.ActionSucceeded); !errors.Is(err, boom) {
			t.Fatalf("rolled-back final: %v", err)
		}
		if got, _ := st.GetAction(ctx, a.ID, "act-ok"); got.Status != orders.ActionPending {
			t.Errorf("rolled-back action is %s", got.Status)
		}
		if evs := listEvents(t, s, a.ID, events.Filter{Type: events.TypeActionSucceeded}); len(evs) != 0 {
			t.Fatalf("a rolled-back final left %d events", len(evs))
		}
		crash = false
		if err := finish("act-ok", orders.ActionSucceeded); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAction(ctx, newAction(a.ID, "act-failed", 9)); err != nil {
			t.Fatal(err)
		}
		if err := finish("act-failed", orders.ActionFailed); err != nil {
			t.Fatal(err)
		}
		// Final stays final: a second update writes no second event.
		if _, err := st.UpdateAction(ctx, a.ID, "act-ok", func(x *orders.Action) error { x.Error = ""; return nil }); err != nil {
			t.Fatal(err)
		}
		evs := listEvents(t, s, a.ID, events.Filter{OrderID: 9})
		var acts []events.Event
		for _, e := range evs {
			if e.Action != nil {
				acts = append(acts, e)
			}
		}
		if len(acts) != 2 {
			t.Fatalf("action events %v, want act-failed's and act-ok's", types(acts))
		}
		failed, ok := acts[0], acts[1] // newest first
		if ok.Type != events.TypeActionSucceeded || ok.Action.ID != "act-ok" || !ok.Action.Outcome.Refunded ||
			failed.Type != events.TypeActionFailed || failed.Action.ID != "act-failed" || failed.Action.Outcome.Error == "" {
			t.Errorf("events: %+v / %+v", ok.Action, failed.Action)
		}
		if ok.Order.Name != "#1009" || ok.Contact.CustomerID == nil || *ok.Contact.CustomerID != 7 {
			t.Errorf("action event's order %+v contact %+v", ok.Order, ok.Contact)
		}
		if ok.Sequence != 3 || failed.Sequence != 4 {
			t.Errorf("sequences %d, %d; want 3, 4 after placed and paid", ok.Sequence, failed.Sequence)
		}
	})
}
