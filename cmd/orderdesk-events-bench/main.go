// Command orderdesk-events-bench measures outbound event delivery on a real
// database (make events-bench): the throughput of delivery to a local
// receiver (events already in the outbox, delivered as fast as one
// endpoint takes them), and the lag from an event written (its change
// committed) to its receipt, at a sustained write rate (200 events/s by
// default). Everything runs in this process: the store, the River jobs and
// their pump, the deliverer, and a receiver verifying every signature with
// the Standard Webhooks library.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/jobs"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orderdesk-events-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("orderdesk-events-bench", flag.ContinueOnError)
	dbURL := fs.String("db", envOr("ORDERDESK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "database (postgres://… or sqlite:PATH); a fresh shop is used in it")
	backlog := fs.Int("backlog", 10000, "events in the outbox for the throughput run")
	rate := fs.Int("rate", 200, "events per second written during the lag run")
	dur := fs.Duration("duration", 30*time.Second, "length of the lag run")
	parallel := fs.Int("parallel", 32, "deliveries in flight per endpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	rcv := &receiver{got: map[string]time.Duration{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	policy := events.URLPolicy{AllowHTTP: true, AllowPrivate: true}
	svc := events.NewService(st.Events(), policy, nil)
	var total int
	// Phase 1: a backlog, delivered as fast as the endpoint takes it.
	shop1, err := st.Tenants().EnsureShop(ctx, fmt.Sprintf("bench-%d.myshopify.com", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	ep1, err := svc.CreateEndpoint(ctx, shop1.ID, events.NewEndpoint{URL: "http://" + ln.Addr().String() + "/"})
	if err != nil {
		return err
	}
	if err := rcv.trust(ep1.Secrets[0]); err != nil {
		return err
	}
	if total, err = writeEvents(ctx, st, shop1.ID, 1, *backlog); err != nil {
		return err
	}
	runner, err := newRunner(st, policy, *parallel, log)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := runner.Start(ctx); err != nil {
		return err
	}
	if err := rcv.wait(ctx, total, 10*time.Minute); err != nil {
		return err
	}
	took := time.Since(start)
	throughput := float64(total) / took.Seconds()
	fmt.Fprintf(out, "delivery throughput: %d events in %s = %.0f events/s (one endpoint, %d in flight, %s)\n",
		total, took.Round(time.Millisecond), throughput, *parallel, dialect(*dbURL))

	// Phase 2: a sustained rate, lag from written to received.
	rcv.reset()
	shop2, err := st.Tenants().EnsureShop(ctx, fmt.Sprintf("bench-lag-%d.myshopify.com", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	ep2, err := svc.CreateEndpoint(ctx, shop2.ID, events.NewEndpoint{URL: "http://" + ln.Addr().String() + "/"})
	if err != nil {
		return err
	}
	if err := rcv.trust(ep2.Secrets[0]); err != nil {
		return err
	}
	// Each paid order is 2 events; a tick every 50 ms writes rate/20 events.
	perTick := max(*rate/20/2, 1)
	ticks := int(*dur / (50 * time.Millisecond))
	t := time.NewTicker(50 * time.Millisecond)
	written, next := 0, int64(1_000_000)
	behind := 0
	for range ticks {
		<-t.C
		before := time.Now()
		n, err := writeEvents(ctx, st, shop2.ID, next, perTick*2)
		if err != nil {
			t.Stop()
			return err
		}
		next += int64(perTick)
		written += n
		runner.KickEvents()
		if time.Since(before) > 50*time.Millisecond {
			behind++
		}
	}
	t.Stop()
	if err := rcv.wait(ctx, written, 2*time.Minute); err != nil {
		return err
	}
	_ = runner.Stop(ctx)
	lags := rcv.lags()
	fmt.Fprintf(out, "lag at %.0f events/s for %s (%d events): p50 %s, p99 %s, max %s (written → received; %d of %d write ticks ran late)\n",
		float64(written)/dur.Seconds(), *dur, written, pct(lags, 50), pct(lags, 99), pct(lags, 100), behind, ticks)
	return nil
}

func dialect(u string) string {
	if len(u) > 7 && u[:7] == "sqlite:" {
		return "SQLite"
	}
	return "Postgres"
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

type noReconcile struct{}

func (noReconcile) ReconcileAll(context.Context) error { return nil }

func newRunner(st *store.Store, policy events.URLPolicy, parallel int, log *slog.Logger) (*jobs.Runner, error) {
	d := events.NewDeliverer(st.Events(), policy.Client(10*time.Second), 10*time.Second, log, events.WithParallel(parallel))
	o := jobs.Options{ReconcileEvery: time.Hour, SQL: st.SQL(), Events: &jobs.EventsOptions{Store: st.Events(), Deliverer: d}}
	var r *jobs.Runner
	var err error
	if st.Pool() != nil {
		r, err = jobs.NewPostgres(st.Pool(), nil, noReconcile{}, log, o)
	} else {
		r, err = jobs.NewSQLite(st.SQL(), nil, noReconcile{}, log, o)
	}
	if err != nil {
		return nil, err
	}
	st.OnEventsWritten(func([]events.Event) { r.KickEvents() })
	return r, nil
}

// writeEvents stores paid orders from id first on, two events each, in
// batches, until n events are written; it returns how many.
func writeEvents(ctx context.Context, st *store.Store, shopID, first int64, n int) (int, error) {
	price := decimal.RequireFromString("19.90")
	now := time.Now()
	written := 0
	for id := first; written < n; {
		var batch []orders.Order
		for ; len(batch) < 50 && written+2*len(batch) < n; id++ {
			src := orders.ShopifyOrder{ID: id, Name: fmt.Sprintf("#%d", id), OrderNumber: int(id), Email: "bench@example.com",
				CreatedAt: now, UpdatedAt: now, Currency: "USD", TotalPrice: price, FinancialStatus: "paid",
				LineItems:    []orders.ShopifyLineItem{{ID: id * 10, Title: "Mug", Quantity: 1, Price: price}},
				Transactions: []orders.ShopifyTransaction{{ID: id * 10, Kind: "sale", Status: "success", Amount: price, CreatedAt: now}}}
			batch = append(batch, orders.Build(src, now))
		}
		if err := st.Orders().SaveOrders(ctx, shopID, batch, nil, false); err != nil {
			return written, err
		}
		written += 2 * len(batch)
	}
	return written, nil
}

// receiver verifies each delivery and records its lag (event created_at
// to receipt), once per event.
type receiver struct {
	mu  sync.Mutex
	wh  *standardwebhooks.Webhook
	got map[string]time.Duration
}

func (r *receiver) trust(secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.wh = wh
	r.mu.Unlock()
	return nil
}

func (r *receiver) reset() {
	r.mu.Lock()
	r.got = map[string]time.Duration{}
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	wh := r.wh
	r.mu.Unlock()
	if err := wh.Verify(body, req.Header); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if _, dup := r.got[ev.ID]; !dup {
		r.got[ev.ID] = at.Sub(ev.CreatedAt)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *receiver) wait(ctx context.Context, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for r.count() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d events received after %s", r.count(), n, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func (r *receiver) lags() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]time.Duration, 0, len(r.got))
	for _, d := range r.got {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))].Round(time.Millisecond)
}
