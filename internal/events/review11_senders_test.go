package events_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestLateSenderDoesNotUndoAnotherSendersDelivery (review of 855e63c):
// since delivery jobs are unique per sender, two live jobs run on one
// endpoint at once, and the claim's lease is all that keeps them apart.
// Sender A claims an order's first event, but its claim commits a lease
// late (it waited that long for SQLite's write lock or a pool connection:
// `now` is taken before ClaimDeliveries runs; or A's clock is behind B's).
// Sender B then claims the same delivery, delivers it, and delivers the
// order's next event. A's answer (a timeout, a 503) is recorded last and
// must not turn B's delivery back to pending: it does, so the order's
// first event is sent again after its second, the attempts are counted
// twice, and the backlog shows a delivery the CRM has had.
func TestLateSenderDoesNotUndoAnotherSendersDelivery(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "two-senders.myshopify.com")

		type got struct {
			id  string
			seq int64
		}
		var (
			mu       sync.Mutex
			received []got
			first    = true
			aArrived = make(chan struct{})
			releaseA = make(chan struct{})
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var ev events.Event
			_ = json.Unmarshal(body, &ev)
			mu.Lock()
			isA := first
			first = false
			mu.Unlock()
			if isA { // sender A's attempt: held, then refused
				close(aArrived)
				<-releaseA
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			mu.Lock()
			received = append(received, got{ev.ID, ev.Sequence})
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		ep, err := events.NewService(s.Events(), devPolicy, nil).CreateEndpoint(ctx, shopID, events.NewEndpoint{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		save(t, s, shopID, paidOrder(1)) // order.placed #1, order.paid #2
		if _, err := s.Events().DispatchEvents(ctx, t0, 500); err != nil {
			t.Fatal(err)
		}
		const timeout = 5 * time.Second
		lease := 2*timeout + 10*time.Second
		newD := func(c *clock) *events.Deliverer {
			return events.NewDeliverer(s.Events(), devPolicy.Client(timeout), timeout, quiet, events.WithClock(c.Now), events.WithParallel(1))
		}
		cA := &clock{t: t0}                          // A's claim: now taken at t0
		cB := &clock{t: t0.Add(lease + time.Second)} // B claims once A's lease ran out
		aDone := make(chan error, 1)
		go func() { _, err := newD(cA).Run(ctx, ep.ID); aDone <- err }()
		<-aArrived
		if _, err := newD(cB).Run(ctx, ep.ID); err != nil { // delivers #1 then #2
			t.Fatal(err)
		}
		close(releaseA)
		if err := <-aDone; err != nil {
			t.Fatal(err)
		}
		stats, err := s.Events().EndpointStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stats {
			if st.EndpointID == ep.ID && st.Pending != 0 {
				t.Errorf("after B delivered both events, %d deliveries are pending again (A's late 503 overwrote B's delivered)", st.Pending)
			}
		}
		// A later round, past A's backoff: nothing is owed to the CRM.
		cB.Add(time.Hour)
		if _, err := newD(cB).Run(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		var last int64
		for _, g := range received {
			if g.seq < last {
				t.Errorf("sequence %d (%s) sent again after %d: received %v", g.seq, g.id, last, received)
			}
			last = max(last, g.seq)
		}
	})
}
