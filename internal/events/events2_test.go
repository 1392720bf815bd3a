package events_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestSlowReceiverIsMarkedDelivered: a receiver that takes most of the
// timeout to answer, and a run cut short by its job's deadline (River's
// timeout), as a slow CRM under ORDERDESK_EVENTS_TIMEOUT=60s is. Every
// delivery the receiver accepted is recorded before the run ends, so the
// next run sends none of them again: each event arrives once.
func TestSlowReceiverIsMarkedDelivered(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		shopID := newShop(t, s, "slow.myshopify.com")
		r := newReceiver(t, false)
		const hold, timeout = 150 * time.Millisecond, 400 * time.Millisecond
		inner := r.srv.Config.Handler
		r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			time.Sleep(hold) // the receiver is slow, not down: it answers within the timeout
			inner.ServeHTTP(w, req)
		})
		ep := endpoint(t, s, shopID, r)
		for i := int64(1); i <= 8; i++ {
			save(t, s, shopID, paidOrder(i)) // 8 orders: order.placed first, 8 due at once
		}
		ctx := context.Background()
		if _, err := s.Events().DispatchEvents(ctx, time.Now(), 500); err != nil {
			t.Fatal(err)
		}
		d := events.NewDeliverer(s.Events(), devPolicy.Client(timeout), timeout, quiet, events.WithParallel(2))
		// The job's deadline falls in the middle of what a 4-round batch
		// (8 due, 2 in flight) would take.
		jctx, cancel := context.WithTimeout(ctx, 2*hold+timeout)
		if _, err := d.Run(jctx, ep.ID); err != nil && jctx.Err() == nil {
			t.Fatal(err)
		}
		cancel()
		if len(r.receipts()) == 0 {
			t.Fatal("nothing received in the first run")
		}
		for {
			n, err := d.Run(ctx, ep.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if _, err := s.Events().DispatchEvents(ctx, time.Now(), 500); err != nil {
				t.Fatal(err)
			}
		}
		got := r.receipts()
		checkSequence(t, listed(t, s, shopID), got)
		seen := map[string]int{}
		for _, g := range got {
			if seen[g.WebhookID]++; seen[g.WebhookID] == 2 {
				t.Errorf("event %s (%s, order %d) delivered twice: its answer was not recorded", g.WebhookID, g.Event.Type, g.Event.Order.ID)
			}
		}
		if len(seen) != 16 {
			t.Errorf("%d events received, want 16", len(seen))
		}
	})
}

// TestNextEventOfAnOrderFollowsAtOnce: an order's second event committed
// while its first is in flight (an action's outcome right after the
// refund's webhook) leaves in the same run, right after the first is
// delivered, without waiting for the pump's next round.
func TestNextEventOfAnOrderFollowsAtOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "follow.myshopify.com")
		r := newReceiver(t, false)
		o := paidOrder(1)
		save(t, s, shopID, o)
		ep := endpoint(t, s, shopID, r)
		var once sync.Once
		inner := r.srv.Config.Handler
		r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			// While the order's last event so far is in flight, the refund
			// commits its event.
			if req.Header.Get("webhook-id") != "" && len(r.receipts()) == 1 {
				once.Do(func() { save(t, s, shopID, refunded(o, 900)) })
			}
			inner.ServeHTTP(w, req)
		})
		if _, err := s.Events().DispatchEvents(ctx, time.Now(), 500); err != nil {
			t.Fatal(err)
		}
		d := events.NewDeliverer(s.Events(), devPolicy.Client(5*time.Second), 5*time.Second, quiet)
		if _, err := d.Run(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		got := r.receipts()
		if len(got) != 3 || got[2].Event.Type != events.TypeOrderRefunded {
			types := []string{}
			for _, g := range got {
				types = append(types, g.Event.Type)
			}
			t.Fatalf("one run delivered %v, want order.placed, order.paid and the order.refunded committed meanwhile", types)
		}
		checkSequence(t, listed(t, s, shopID), got)
	})
}

// TestRedeliverKeepsTheRetryClock: redelivering an event whose delivery
// is still failing sends it again now, but keeps the time of its first
// failure: the endpoint is still disabled 3 days after it, not 3 days
// after the redelivery.
func TestRedeliverKeepsTheRetryClock(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "redeliver.myshopify.com")
		r := newReceiver(t, false)
		ep := endpoint(t, s, shopID, r)
		c := &clock{t: time.Now()}
		d := deliverer(s, c)
		r.status.Store(503)
		save(t, s, shopID, paidOrder(1))
		start := c.Now()
		svc := events.NewService(s.Events(), devPolicy, nil)
		first := listed(t, s, shopID)
		redelivered := false
		got := failUntilDisabled(t, s, d, c, ep.ID, func(elapsed time.Duration) {
			if !redelivered && elapsed > 48*time.Hour {
				// The agent asks for the stuck event again on day 2.
				if _, err := svc.Redeliver(ctx, shopID, first[len(first)-1].ID); err != nil {
					t.Fatal(err)
				}
				redelivered = true
			}
		})
		if took := got.DisabledAt.Sub(start); took > events.GiveUpAfter+10*time.Hour {
			t.Errorf("disabled %s after the first failure: the redelivery on day 2 restarted the 3 days", took.Round(time.Minute))
		}
		// A redelivery names the disabled endpoint too: it receives the
		// event once re-enabled.
		if eps, err := svc.Redeliver(ctx, shopID, first[0].ID); err != nil || len(eps) != 1 || eps[0] != ep.ID {
			t.Errorf("redeliver with the endpoint disabled: %v %v, want [%s]", eps, err, ep.ID)
		}
	})
}
