package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

var quiet = slog.New(slog.DiscardHandler)

// dbURL is a fresh database of kind that several stores can open in turn
// (a process restarted on the same database).
func dbURL(t *testing.T, kind string) string {
	t.Helper()
	if kind == "postgres" {
		u, _ := storetest.SchemaURL(t)
		return u
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "orderdesk.db")
}

func openStore(t *testing.T, rawURL string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background(), quiet); err != nil {
		t.Fatal(err)
	}
	return s
}

func forEachDB(t *testing.T, test func(t *testing.T, url string, s *store.Store)) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			u := dbURL(t, kind)
			test(t, u, openStore(t, u))
		})
	}
}

var created = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// paidOrder is a paid order: its facts are order.placed and order.paid.
func paidOrder(id int64) orders.Order {
	price := decimal.RequireFromString("19.90")
	src := orders.ShopifyOrder{
		ID: id, Name: fmt.Sprintf("#%d", 1000+id), OrderNumber: int(1000 + id), Email: "c@example.com",
		CreatedAt: created, UpdatedAt: created, Currency: "USD", TotalPrice: price, FinancialStatus: "paid",
		Customer:     &orders.ShopifyCustomer{ID: 7, Email: "c@example.com"},
		LineItems:    []orders.ShopifyLineItem{{ID: id * 10, Title: "Mug", Quantity: 1, Price: price}},
		Transactions: []orders.ShopifyTransaction{{ID: id * 100, Kind: "sale", Status: "success", Amount: price, CreatedAt: created}},
	}
	return orders.Build(src, created)
}

// refunded adds a refund (order.refunded) to an order.
func refunded(o orders.Order, refundID int64) orders.Order {
	src := o.Source
	src.UpdatedAt = src.UpdatedAt.Add(time.Minute)
	src.Refunds = append(src.Refunds, orders.ShopifyRefund{ID: refundID, CreatedAt: src.UpdatedAt,
		Transactions: []orders.ShopifyTransaction{{ID: refundID + 1, Kind: "refund", Status: "success", Amount: decimal.RequireFromString("5.00"), CreatedAt: src.UpdatedAt}}})
	src.FinancialStatus = "partially_refunded"
	return orders.Build(src, created)
}

func save(t *testing.T, s *store.Store, shopID int64, os ...orders.Order) {
	t.Helper()
	if err := s.Orders().SaveOrders(context.Background(), shopID, os, nil, false); err != nil {
		t.Fatal(err)
	}
}

func newShop(t *testing.T, s *store.Store, domain string) int64 {
	t.Helper()
	sh, err := s.Tenants().EnsureShop(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return sh.ID
}

// receipt is one delivery a receiver accepted.
type receipt struct {
	WebhookID string
	Event     events.Event
}

// receiver is a CRM verifying each delivery with the Standard Webhooks
// library, with every secret it knows; it answers status.
type receiver struct {
	t          *testing.T
	secrets    []string
	checkClock bool
	status     atomic.Int32
	mu         sync.Mutex
	got        []receipt
	refused    int
	srv        *httptest.Server
}

func newReceiver(t *testing.T, checkClock bool) *receiver {
	r := &receiver{t: t, checkClock: checkClock}
	r.status.Store(200)
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secrets := r.secrets
	r.mu.Unlock()
	if len(secrets) == 0 {
		r.t.Error("a delivery before the receiver knows its secret")
	}
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			r.t.Errorf("secret %q: %v", s, err)
			return
		}
		verify := wh.VerifyIgnoringTimestamp
		if r.checkClock {
			verify = wh.Verify
		}
		if err := verify(body, req.Header); err != nil {
			r.t.Errorf("delivery %s not verified with %s…: %v", req.Header.Get("webhook-id"), s[:10], err)
			w.WriteHeader(400)
			return
		}
	}
	st := int(r.status.Load())
	r.mu.Lock()
	defer r.mu.Unlock()
	if st/100 != 2 {
		r.refused++
		w.WriteHeader(st)
		return
	}
	var ev events.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body: %v", err)
	}
	if ev.ID != req.Header.Get("webhook-id") {
		r.t.Errorf("webhook-id %q is not the event id %q", req.Header.Get("webhook-id"), ev.ID)
	}
	r.got = append(r.got, receipt{WebhookID: req.Header.Get("webhook-id"), Event: ev})
	w.WriteHeader(st)
}

// trust sets the secrets the receiver verifies with (each must verify).
func (r *receiver) trust(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = secrets
}

func (r *receiver) receipts() []receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receipt(nil), r.got...)
}

// clock is a fake clock for the delivery schedule.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var devPolicy = events.URLPolicy{AllowHTTP: true, AllowPrivate: true}

// endpoint subscribes r to the shop's events.
func endpoint(t *testing.T, s *store.Store, shopID int64, r *receiver) events.Endpoint {
	t.Helper()
	ep, err := events.NewService(s.Events(), devPolicy, nil).CreateEndpoint(context.Background(), shopID, events.NewEndpoint{URL: r.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r.trust(ep.Secrets...)
	return ep
}

func deliverer(s *store.Store, c *clock) *events.Deliverer {
	return events.NewDeliverer(s.Events(), devPolicy.Client(5*time.Second), 5*time.Second, quiet, events.WithClock(c.Now))
}

func getEndpoint(t *testing.T, s *store.Store, id string) events.Endpoint {
	t.Helper()
	ep, err := s.Events().Endpoint(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// pumpAndRun dispatches what was written and delivers what is due at ep
// until nothing is; it returns the attempts made.
func pumpAndRun(t *testing.T, s *store.Store, d *events.Deliverer, now time.Time, ep string) int {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Events().DispatchEvents(ctx, now, 500); err != nil {
		t.Fatal(err)
	}
	total := 0
	for {
		n, err := d.Run(ctx, ep)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n == 0 {
			return total
		}
	}
}

func listed(t *testing.T, s *store.Store, shopID int64) []events.Event {
	t.Helper()
	got, err := s.Events().ListEvents(context.Background(), shopID, events.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.Event, 0, len(got))
	for _, g := range got {
		out = append(out, g.Event)
	}
	return out
}

// checkSequence: every listed event was received at least once, and no
// event was received before an earlier one of its order.
func checkSequence(t *testing.T, want []events.Event, got []receipt) {
	t.Helper()
	seen := map[string]bool{}
	last := map[int64]int64{} // order → highest sequence received
	for _, r := range got {
		o, sq := r.Event.Order.ID, r.Event.Sequence
		if !seen[r.WebhookID] && sq < last[o] {
			t.Errorf("order %d: sequence %d received after %d", o, sq, last[o])
		}
		if sq > last[o]+1 && !seen[r.WebhookID] {
			t.Errorf("order %d: sequence %d received before %d", o, sq, last[o]+1)
		}
		seen[r.WebhookID] = true
		last[o] = max(last[o], sq)
	}
	for _, e := range want {
		if !seen[e.ID] {
			t.Errorf("event %s (%s, order %d #%d) never received", e.ID, e.Type, e.Order.ID, e.Sequence)
		}
	}
}

// TestReceiverDownForADay: a receiver answering 503 for a (simulated) day
// gets everything once it is back, each event at least once and never
// before an earlier event of its order; every delivery verified by the
// Standard Webhooks library.
func TestReceiverDownForADay(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		shopID := newShop(t, s, "down.myshopify.com")
		r := newReceiver(t, false)
		ep := endpoint(t, s, shopID, r)
		c := &clock{t: time.Now()}
		d := deliverer(s, c)
		r.status.Store(503)
		save(t, s, shopID, paidOrder(1), paidOrder(2), paidOrder(3))
		start := c.Now()
		for step := 0; c.Now().Sub(start) < 24*time.Hour; step++ {
			if step == 10 { // more changes while the receiver is down
				save(t, s, shopID, refunded(paidOrder(1), 501), refunded(paidOrder(3), 503))
			}
			pumpAndRun(t, s, d, c.Now(), ep.ID)
			c.Add(20 * time.Minute)
		}
		if got := r.receipts(); len(got) != 0 || r.refused == 0 {
			t.Fatalf("while down: %d accepted, %d refused", len(got), r.refused)
		}
		if st := getEndpoint(t, s, ep.ID); st.State != events.EndpointEnabled {
			t.Fatalf("a day of failures disabled the endpoint: %s", st.DisabledReason)
		}
		r.status.Store(200)
		c.Add(11 * time.Hour) // past the longest wait (8h +25%)
		pumpAndRun(t, s, d, c.Now(), ep.ID)
		want := listed(t, s, shopID)
		if len(want) != 8 {
			t.Fatalf("%d events written, want 8 (3 placed, 3 paid, 2 refunded)", len(want))
		}
		checkSequence(t, want, r.receipts())
		// Nothing is left to send.
		if n := pumpAndRun(t, s, d, c.Now().Add(time.Hour), ep.ID); n != 0 {
			t.Errorf("%d more attempts after everything was delivered", n)
		}
	})
}

// TestGoneDisables: 410 disables the endpoint at once, with its reason;
// re-enabling sends what it missed.
func TestGoneDisables(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "gone.myshopify.com")
		r := newReceiver(t, false)
		ep := endpoint(t, s, shopID, r)
		c := &clock{t: time.Now()}
		d := deliverer(s, c)
		r.status.Store(410)
		save(t, s, shopID, paidOrder(1), paidOrder(2))
		pumpAndRun(t, s, d, c.Now(), ep.ID)
		got := getEndpoint(t, s, ep.ID)
		if got.State != events.EndpointDisabled || !strings.Contains(got.DisabledReason, "410") || got.DisabledAt == nil {
			t.Fatalf("after a 410: state %s, reason %q", got.State, got.DisabledReason)
		}
		refusedThen := r.refused
		c.Add(time.Hour)
		if n := pumpAndRun(t, s, d, c.Now(), ep.ID); n != 0 || r.refused != refusedThen {
			t.Fatalf("a disabled endpoint got %d attempts", n)
		}
		r.status.Store(200)
		if _, err := events.NewService(s.Events(), devPolicy, nil).EnableEndpoint(ctx, shopID, ep.ID); err != nil {
			t.Fatal(err)
		}
		pumpAndRun(t, s, d, c.Now(), ep.ID)
		checkSequence(t, listed(t, s, shopID), r.receipts())
		atts, err := s.Events().RecentAttempts(ctx, ep.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		var gone, ok int
		for _, a := range atts {
			switch a.Status {
			case 410:
				gone++
				if a.Error == "" {
					t.Errorf("a 410 attempt recorded no error")
				}
			case 200:
				ok++
			}
		}
		if gone == 0 || ok != 4 {
			t.Errorf("attempts: %d answered 410, %d delivered (want 4): %+v", gone, ok, atts)
		}
	})
}

// TestGiveUpAfterThreeDays: an endpoint failing every attempt is retried
// with backoff for at least three days, then disabled with the reason.
func TestGiveUpAfterThreeDays(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		shopID := newShop(t, s, "flaky.myshopify.com")
		r := newReceiver(t, false)
		ep := endpoint(t, s, shopID, r)
		// Whole microseconds, as Postgres keeps the first failure's time
		// (CI saw "disabled after 71h59m59.999999226s" from a start with
		// nanoseconds rounded in the database).
		c := &clock{t: time.Now().Truncate(time.Microsecond)}
		d := deliverer(s, c)
		r.status.Store(500)
		save(t, s, shopID, paidOrder(1))
		start := c.Now()
		got := failUntilDisabled(t, s, d, c, ep.ID, nil)
		if took := got.DisabledAt.Sub(start); took < events.GiveUpAfter {
			t.Errorf("disabled after %s, before 3 days", took)
		}
		if !strings.Contains(got.DisabledReason, "HTTP 500") {
			t.Errorf("reason %q does not say what failed", got.DisabledReason)
		}
		// ~18 tries of the first event; the second waits for it.
		if r.refused < 12 || r.refused > 30 {
			t.Errorf("%d attempts in 3 days, want the schedule's ~18", r.refused)
		}
	})
}

// failUntilDisabled pumps and runs every 10 simulated minutes until the
// endpoint is disabled, at most 5 days; each(elapsed) runs after every
// round. It returns the disabled endpoint.
func failUntilDisabled(t *testing.T, s *store.Store, d *events.Deliverer, c *clock, ep string, each func(elapsed time.Duration)) events.Endpoint {
	t.Helper()
	start := c.Now()
	for {
		got := getEndpoint(t, s, ep)
		if got.State != events.EndpointEnabled {
			return got
		}
		if c.Now().Sub(start) > 5*24*time.Hour {
			t.Fatal("still enabled after 5 days of failures")
		}
		pumpAndRun(t, s, d, c.Now(), ep)
		if each != nil {
			each(c.Now().Sub(start))
		}
		c.Add(10 * time.Minute)
	}
}

// TestRedeliverSameWebhookID: a redelivery carries the event's id again
// (receivers deduplicate on it), signed anew.
func TestRedeliverSameWebhookID(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "again.myshopify.com")
		r := newReceiver(t, true)
		ep := endpoint(t, s, shopID, r)
		c := &clock{t: time.Now()}
		d := deliverer(s, c)
		save(t, s, shopID, paidOrder(1))
		pumpAndRun(t, s, d, c.Now(), ep.ID)
		first := r.receipts()
		if len(first) != 2 {
			t.Fatalf("%d receipts, want 2", len(first))
		}
		svc := events.NewService(s.Events(), devPolicy, nil)
		eps, err := svc.Redeliver(ctx, shopID, first[0].WebhookID)
		if err != nil || len(eps) != 1 || eps[0] != ep.ID {
			t.Fatalf("redeliver: %v %v", eps, err)
		}
		// The service's clock is the real one, which under load may have run
		// past the fake clock during the first delivery.
		c.Add(time.Since(c.Now()) + time.Second)
		pumpAndRun(t, s, d, c.Now(), ep.ID)
		got := r.receipts()
		if len(got) != 3 || got[2].WebhookID != first[0].WebhookID || got[2].Event.Sequence != first[0].Event.Sequence {
			t.Fatalf("redelivery: %+v", got)
		}
		if _, err := svc.Redeliver(ctx, shopID+1000, first[0].WebhookID); !errors.Is(err, events.ErrNotFound) {
			t.Errorf("another shop's redelivery: %v", err)
		}
	})
}

// TestShopsNeverCross: each endpoint gets its own shop's events only.
func TestShopsNeverCross(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		a, b := newShop(t, s, "a.myshopify.com"), newShop(t, s, "b.myshopify.com")
		ra, rb := newReceiver(t, true), newReceiver(t, true)
		ea, eb := endpoint(t, s, a, ra), endpoint(t, s, b, rb)
		c := &clock{t: time.Now()}
		d := deliverer(s, c)
		save(t, s, a, paidOrder(1), paidOrder(2))
		save(t, s, b, paidOrder(3))
		pumpAndRun(t, s, d, c.Now(), ea.ID)
		pumpAndRun(t, s, d, c.Now(), eb.ID)
		for _, tc := range []struct {
			r    *receiver
			shop int64
			n    int
		}{{ra, a, 4}, {rb, b, 2}} {
			got := tc.r.receipts()
			if len(got) != tc.n {
				t.Errorf("shop %d's endpoint got %d events, want %d", tc.shop, len(got), tc.n)
			}
			for _, g := range got {
				if g.Event.Shop.ID != tc.shop {
					t.Errorf("shop %d's endpoint got shop %d's event %s", tc.shop, g.Event.Shop.ID, g.WebhookID)
				}
			}
		}
	})
}

// TestRotation: after a rotation both secrets sign (a receiver holding
// either verifies) until the grace ends, then only the new one.
func TestRotation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "rotate.myshopify.com")
		r := newReceiver(t, true)
		ep := endpoint(t, s, shopID, r)
		old := ep.Secrets[0]
		rot, err := events.NewService(s.Events(), devPolicy, nil).RotateSecret(ctx, shopID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rot.Secrets) != 2 || rot.Secrets[1] != old || rot.Secrets[0] == old || rot.SecretsRetireAt == nil {
			t.Fatalf("rotated: %+v", rot)
		}
		r.trust(old, rot.Secrets[0]) // each must verify on its own
		c := &clock{t: time.Now()}
		save(t, s, shopID, paidOrder(1))
		pumpAndRun(t, s, deliverer(s, c), c.Now(), ep.ID)
		if n := len(r.receipts()); n != 2 {
			t.Fatalf("%d receipts, want 2", n)
		}
		if got := rot.SigningSecrets(rot.SecretsRetireAt.Add(time.Second)); len(got) != 1 || got[0] != rot.Secrets[0] {
			t.Errorf("after the grace: %v", got)
		}
	})
}

// TestPrivateAddressesRefused: a loopback URL is refused at creation and,
// stored anyway (or a name resolving to one), at dial time.
func TestPrivateAddressesRefused(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "ssrf.myshopify.com")
		r := newReceiver(t, false)
		strict := events.URLPolicy{AllowHTTP: true}
		_, err := events.NewService(s.Events(), strict, nil).CreateEndpoint(ctx, shopID, events.NewEndpoint{URL: r.srv.URL})
		var verr *orders.ValidationError
		if !errors.As(err, &verr) || verr.Code != "invalid_url" {
			t.Fatalf("creating %s: %v", r.srv.URL, err)
		}
		// Stored as if it had passed (a rebinding name): the dialer refuses.
		for i, u := range []string{r.srv.URL, strings.Replace(r.srv.URL, "127.0.0.1", "localhost", 1)} {
			ep := endpoint(t, s, shopID, r)
			ep.URL = u
			if err := s.Events().UpdateEndpointConfig(ctx, ep); err != nil {
				t.Fatal(err)
			}
			d := events.NewDeliverer(s.Events(), strict.Client(5*time.Second), 5*time.Second, quiet)
			save(t, s, shopID, paidOrder(int64(i+1)))
			pumpAndRun(t, s, d, time.Now(), ep.ID)
			atts, err := s.Events().RecentAttempts(ctx, ep.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(atts) == 0 || !strings.Contains(atts[0].Error, "loopback") || atts[0].Status != 0 {
				t.Errorf("%s: attempts %+v", u, atts)
			}
			if err := s.Events().DeleteEndpoint(ctx, shopID, ep.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(r.receipts()) + r.refused; n != 0 {
			t.Errorf("the private receiver was reached %d times", n)
		}
	})
}

// TestCrashLosesNothing: a process that dies after the change committed
// but before its event was dispatched, or while a delivery was in flight
// (claimed, never recorded), loses nothing: the next process on the same
// database delivers it.
func TestCrashLosesNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, url string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "crash.myshopify.com")
		r := newReceiver(t, true)
		ep := endpoint(t, s, shopID, r)
		save(t, s, shopID, paidOrder(1)) // committed; nothing dispatched
		if _, err := s.Events().DispatchEvents(ctx, time.Now(), 500); err != nil {
			t.Fatal(err)
		}
		// A sender claims the first delivery and dies before sending.
		claimed, err := s.Events().ClaimDeliveries(ctx, ep.ID, time.Now(), time.Minute, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		save(t, s, shopID, paidOrder(2)) // committed, never dispatched
		_ = s.Close()

		// The next process.
		s2 := openStore(t, url)
		c := &clock{t: time.Now()}
		d := deliverer(s2, c)
		pumpAndRun(t, s2, d, c.Now(), ep.ID)
		if got := r.receipts(); len(got) != 2 {
			t.Fatalf("before the lease ran out: %d receipts, want order 2's two", len(got))
		}
		c.Add(2 * time.Minute) // the dead sender's lease runs out
		pumpAndRun(t, s2, d, c.Now(), ep.ID)
		checkSequence(t, listed(t, s2, shopID), r.receipts())
		if n := len(r.receipts()); n != 4 {
			t.Errorf("%d receipts, want 4", n)
		}
	})
}
