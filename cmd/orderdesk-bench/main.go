// Command orderdesk-bench is `make bench`: it loads generated orders into a
// fresh Postgres database, starts `orderdesk serve` on it against an
// in-process Shopify sandbox, starts a bare reference handler (net/http +
// pgx reading the same table's stored JSON by primary key), drives both
// with wrk (and pgbench for the one-INSERT-per-commit ingest reference), and
// prints issue 9's table. The compared runs go in -rounds rounds, both
// sides back to back in each, their order alternated from round to round;
// a target is checked on the median of the rounds' ratios (rounds.go).
//
//	orderdesk-bench [-orders 20000] [-duration 10s] [-rounds 4] [-out docs/benchmarks.md]
//	orderdesk-bench reference -addr 127.0.0.1:8091 -db URL   (used by the bench itself)
//	orderdesk-bench backfill [-orders 20000] [-db sqlite|postgres]   (make backfill-bench, see backfill.go)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sys/unix"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

const (
	benchShop   = "bench.myshopify.com"
	benchToken  = "shpat_bench"
	benchKey    = "od_bench_key_0123456789"
	benchSecret = "bench_app_secret"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "backfill" {
		if err := backfill(context.Background(), os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "backfill:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "reference" {
		if err := reference(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "reference:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "orderdesk-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	adminURL  string
	dbName    string
	binary    string
	n         int
	duration  time.Duration
	conns     int
	hookConns int
	rate      int
	sustain   time.Duration
	out       string
	rows      string
	rounds    int
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("orderdesk-bench", flag.ContinueOnError)
	fs.StringVar(&c.adminURL, "postgres", envOr("ORDERDESK_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "Postgres server (the -db database is created on it)")
	fs.StringVar(&c.binary, "binary", "bin/orderdesk", "the orderdesk binary to serve")
	fs.IntVar(&c.n, "orders", 20000, "generated orders (plus the sandbox catalogue)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "each wrk run")
	fs.IntVar(&c.conns, "c", 64, "wrk connections for views")
	fs.IntVar(&c.hookConns, "hook-c", 32, "wrk connections for webhook ingest")
	fs.IntVar(&c.rate, "rate", 500, "sustained webhook deliveries per second for the apply-lag run")
	fs.DurationVar(&c.sustain, "sustain", 20*time.Second, "length of the sustained run")
	fs.StringVar(&c.dbName, "db", "orderdesk_bench", "the database created (dropped first) on the -postgres server")
	fs.StringVar(&c.out, "out", "docs/benchmarks.md", "results file")
	fs.IntVar(&c.rounds, "rounds", defaultRounds, "rounds of each compared pair of runs (views, ingest), their order alternated round to round (an even number has each side first as often); the targets are checked on the median of the rounds' ratios")
	fs.StringVar(&c.rows, "rows", "all", "all; ingest: only webhook ingest, its burst's drain and the sustained apply lag; views: only the views of one order (fresh, stale) and of the list (both printed; -out is not written)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.rounds < 1 {
		return fmt.Errorf("-rounds %d: at least 1", c.rounds)
	}
	switch c.rows {
	case "all", "views", "ingest":
	default:
		return fmt.Errorf("-rows %q: all, views or ingest", c.rows)
	}
	if c.rounds%2 == 1 {
		logf("-rounds %d is odd: the reference (and pgbench) runs first in one round more than orderdesk", c.rounds)
	}
	for _, tool := range []string{"wrk", "pgbench"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (apt-get install -y wrk postgresql-contrib): %w", tool, err)
		}
	}
	dir, err := os.MkdirTemp("", "orderdesk-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	dbURL, err := freshDatabase(ctx, c.adminURL, c.dbName)
	if err != nil {
		return err
	}
	logf("database %s", redact(dbURL))

	// Shopify: the sandbox catalogue plus n generated orders.
	now := time.Now().UTC()
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: benchShop, Token: benchToken})
	sb.Seed(now)
	sb.AddGenerated(c.n, now)
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()

	ids, err := load(ctx, dbURL, sb, c.n, now)
	if err != nil {
		return err
	}
	logf("loaded %d orders", len(ids))
	idFile := filepath.Join(dir, "ids")
	var sbuf strings.Builder
	for _, id := range ids {
		sbuf.WriteString(strconv.FormatInt(id, 10) + "\n")
	}
	if err := os.WriteFile(idFile, []byte(sbuf.String()), 0o600); err != nil {
		return err
	}

	odAddr, err := freeAddr()
	if err != nil {
		return err
	}
	refAddr, err := freeAddr()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// The reference runs from a copy of this binary: the running one's
	// mapped pages cannot leave the page cache.
	refBin := filepath.Join(dir, "reference")
	if err := copyFile(self, refBin); err != nil {
		return err
	}
	// Both binaries start read from disk, as one written by write(2) (a
	// copy, an image layer extracted) or evicted does: a binary the Go
	// linker has just written sits in the page cache in large folios, which
	// map whole into the process and count in its RSS (serve measured
	// 43 MB so, 38.8-39.3 MB from the same file copied with cp or evicted).
	evicted := true
	for _, bin := range []string{c.binary, refBin} {
		if err := evictFromPageCache(bin); err != nil {
			evicted = false
			logf("%s stays in the page cache as it is (its RSS may read high): %v", bin, err)
		}
	}
	serve := exec.CommandContext(ctx, c.binary, "serve")
	// ORDERDESK_RATE_LIMIT=0: the per-key limit (20/s) would measure 429s.
	serve.Env = append(os.Environ(),
		"ORDERDESK_DATABASE_URL="+dbURL, "ORDERDESK_HTTP_ADDR="+odAddr, "ORDERDESK_API_KEY="+benchKey,
		"ORDERDESK_LOG_LEVEL=error", "ORDERDESK_RATE_LIMIT=0", "SHOPIFY_SHOP="+benchShop, "SHOPIFY_ACCESS_TOKEN="+benchToken,
		"SHOPIFY_BASE_URL="+sbSrv.URL, "SHOPIFY_API_SECRET="+benchSecret, "ORDERDESK_ORDER_TTL=2m")
	serve.Stdout, serve.Stderr = os.Stderr, os.Stderr
	if err := serve.Start(); err != nil {
		return fmt.Errorf("start serve: %w", err)
	}
	defer stop(serve)
	ref := exec.CommandContext(ctx, refBin, "reference", "-addr", refAddr, "-db", dbURL)
	ref.Stdout, ref.Stderr = os.Stderr, os.Stderr
	if err := ref.Start(); err != nil {
		return fmt.Errorf("start reference: %w", err)
	}
	defer stop(ref)
	for _, u := range []string{"http://" + odAddr + "/readyz", "http://" + refAddr + "/healthz"} {
		if err := waitReady(u, 60*time.Second); err != nil {
			return err
		}
	}
	time.Sleep(5 * time.Second) // start-up settles
	r := results{n: len(ids), rounds: c.rounds, duration: c.duration, conns: c.conns, hookConns: c.hookConns, rate: c.rate, evicted: evicted}
	r.idleRSS = rssMB(serve.Process.Pid)
	r.idleAnon, r.idleFile = rssParts(serve.Process.Pid)
	r.refRSS = rssMB(ref.Process.Pid)
	logf("idle RSS: serve %.1f MB (%.1f anonymous, %.1f file), reference %.1f MB", r.idleRSS, r.idleAnon, r.idleFile, r.refRSS)
	if c.rows == "ingest" {
		return onlyIngest(ctx, c, dir, dbURL, "http://"+odAddr, sb, ids, now, &r)
	}

	auth := "Bearer " + benchKey
	view := func(base string) (wrkResult, error) {
		return runWrk(dir, base, c.conns, c.duration, viewScript(idFile, auth))
	}
	// Warm both (connection pools, page cache), then measure.
	_, _ = runWrk(dir, "http://"+refAddr, c.conns, 3*time.Second, viewScript(idFile, auth))
	_, _ = runWrk(dir, "http://"+odAddr, c.conns, 3*time.Second, viewScript(idFile, auth))
	if err := viewRounds(ctx, c, dbURL, sb, view, "http://"+refAddr, "http://"+odAddr, &r); err != nil {
		return err
	}

	list := func(base string) (wrkResult, error) {
		return runWrk(dir, base, c.conns, c.duration, listScript(shopifysandbox.Bob.Id, auth))
	}
	// Bob has every generated order: his first list answers after the
	// Shopify pages it shows and the rest is read in the background (5
	// orders a Shopify page, within the shop's refresh budget). The first
	// answer is timed on its own, not inside wrk's request timeout; the
	// list runs below measure the store while that read goes on, and the
	// table says how far it got.
	if c.rows == "views" {
		// Only the views: the list is served from the store as it stands,
		// Bob's list marked read now (his read-through is not measured).
		r.firstListSkipped = true
		if err := exec1(ctx, dbURL, fmt.Sprintf("INSERT INTO customer_syncs (shop_id, customer_id, synced_at) SELECT id, %d, now() FROM shops", shopifysandbox.Bob.Id)); err != nil {
			return err
		}
	} else {
		listStart := time.Now()
		complete, err := firstList("http://"+odAddr, auth, shopifysandbox.Bob.Id, 20)
		if r.firstListErr = err; err != nil {
			logf("first list: %v", err)
		}
		r.firstList = time.Since(listStart)
		r.listStart = listStart
		logf("first list of the customer (read-through): %s, complete %t", r.firstList, complete)
	}
	// Both lists are planned on statistics of the loaded table (the
	// loading wrote 20,000 rows since any analyze).
	if err := exec1(ctx, dbURL, "ANALYZE orders"); err != nil {
		return err
	}
	// A failed list run is reported as 0 rather than ending the bench.
	if r.refList, err = list("http://" + refAddr); err != nil {
		logf("reference list: %v", err)
	}
	if r.odList, err = list("http://" + odAddr); err != nil {
		logf("orderdesk list: %v", err)
	}
	logf("list: reference %.0f/s, orderdesk %.0f/s", r.refList.rps, r.odList.rps)
	if !r.firstListSkipped && r.firstListErr == nil {
		// How far Bob's background read got while the lists ran.
		r.listElapsed = time.Since(r.listStart)
		if r.listDone, err = firstList("http://"+odAddr, auth, shopifysandbox.Bob.Id, 1); err != nil {
			logf("list state: %v", err)
		}
		if err := queryInt(ctx, dbURL, fmt.Sprintf("SELECT coalesce(max(fill_orders), 0) FROM customer_syncs WHERE customer_id = %d", shopifysandbox.Bob.Id), &r.listStored); err != nil {
			logf("list state: %v", err)
		}
		logf("the customer's list after %s: complete %t, %d orders read", r.listElapsed, r.listDone, r.listStored)
	}
	if c.rows == "views" {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n\n| | reference | orderdesk | ratio | target |\n|---|---|---|---|---|\n", machine())
		r.viewRows(&b)
		r.viewFailures(&b)
		b.WriteString("\n" + r.roundsNote(c.rows) + "\n")
		fmt.Println(b.String())
		return nil
	}

	if err := ingestRows(ctx, c, dir, dbURL, "http://"+odAddr, sb, ids, now, &r); err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	r.afterRSS = rssMB(serve.Process.Pid)

	r.machine = machine()
	table := r.table()
	fmt.Println(table)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(table), 0o644); err != nil {
			return err
		}
		logf("wrote %s", c.out)
	}
	return nil
}

// Copies within the TTL, and every copy older than it.
const (
	freshSQL = "UPDATE orders SET synced_at = now()"
	staleSQL = "UPDATE orders SET synced_at = now() - interval '1 hour'"
)

// viewRounds runs the view rounds (viewPlan): the reference, orderdesk on
// fresh copies and on stale ones, back to back, and counts the Shopify
// calls of orderdesk's runs.
func viewRounds(ctx context.Context, c config, dbURL string, sb *shopifysandbox.Sandbox, view func(string) (wrkResult, error), refBase, odBase string, r *results) error {
	for round := range c.rounds {
		for _, v := range viewPlan(round) {
			switch v {
			case refView:
				res, err := view(refBase)
				if err != nil {
					return fmt.Errorf("round %d, reference view: %w", round+1, err)
				}
				r.refFresh = append(r.refFresh, res)
			case freshView:
				// Fresh means read within the TTL, so set before every
				// fresh run: loading takes minutes on a busy machine,
				// longer than the 2m TTL, and a stale run may have gone
				// before. The refreshes a stale run left queued find the
				// copies fresh and call nobody; the one under way as the
				// UPDATE committed (one at a time a shop) is given a
				// moment to end before the calls are counted.
				if err := setCopies(ctx, dbURL, freshSQL); err != nil {
					return fmt.Errorf("round %d, fresh copies: %w", round+1, err)
				}
				calls0 := shopifyCalls(sb)
				res, err := view(odBase)
				if err != nil {
					return fmt.Errorf("round %d, fresh view: %w", round+1, err)
				}
				r.freshCalls += shopifyCalls(sb) - calls0
				r.odFresh = append(r.odFresh, res)
			case staleView:
				if err := setCopies(ctx, dbURL, staleSQL); err != nil {
					return fmt.Errorf("round %d, stale copies: %w", round+1, err)
				}
				calls0, start := shopifyCalls(sb), time.Now()
				res, err := view(odBase)
				if err != nil {
					return fmt.Errorf("round %d, stale view: %w", round+1, err)
				}
				r.staleCalls += shopifyCalls(sb) - calls0
				r.staleBudget += refreshBudget(time.Since(start))
				r.odStale = append(r.odStale, res)
			}
		}
		ref, fresh, stale := r.refFresh[round], r.odFresh[round], r.odStale[round]
		logf("view round %d/%d (%v): reference %.0f/s p99 %s, fresh %.0f/s p99 %s (%.2fx, p99 %.2fx), stale %.0f/s p99 %s (%.2fx the fresh); Shopify calls so far: fresh %d, stale %d",
			round+1, c.rounds, viewPlan(round), ref.rps, ref.p99, fresh.rps, fresh.p99, fresh.rps/ref.rps, float64(fresh.p99)/float64(ref.p99),
			stale.rps, stale.p99, stale.rps/fresh.rps, r.freshCalls, r.staleCalls)
	}
	return nil
}

// setCopies runs the UPDATE that makes every copy fresh or stale, then
// vacuums its dead rows and writes its dirty pages (settle), and pauses a
// second, so that none of it lands in the run that follows.
func setCopies(ctx context.Context, dbURL, update string) error {
	if err := exec1(ctx, dbURL, update); err != nil {
		return err
	}
	if err := settle(ctx, dbURL, "orders"); err != nil {
		return err
	}
	time.Sleep(time.Second)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func redact(u string) string { return regexp.MustCompile(`//[^@]*@`).ReplaceAllString(u, "//…@") }

// freshDatabase drops and creates the database and returns its URL.
func freshDatabase(ctx context.Context, adminURL, name string) (string, error) {
	if !regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`).MatchString(name) {
		return "", fmt.Errorf("-db %q: a database name of lower-case letters, digits and _", name)
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	cfg := conn.Config()
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name), nil
}

// load migrates the database, creates the shop and key, and stores every
// sandbox order as a fresh copy the way a backfill would (REST-shaped JSON
// through the same conversion), in batches.
func load(ctx context.Context, dbURL string, sb *shopifysandbox.Sandbox, n int, now time.Time) ([]int64, error) {
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// As serve writes them: each order with its view's document.
	st.RenderOrdersWith(api.OrderRenderer())
	if err := st.Migrate(ctx, log); err != nil {
		return nil, err
	}
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(ctx, benchShop, benchKey)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var batch []orders.Order
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var events []orders.TimelineEvent
		for _, o := range batch {
			events = append(events, orders.TimelineFor(o)...)
		}
		err := st.Orders().SaveOrders(ctx, shop.ID, batch, events, true)
		batch = batch[:0]
		return err
	}
	for _, id := range sandboxIDs(n) {
		o, ok := sb.Order(id)
		if !ok {
			continue
		}
		raw, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		src, err := shopify.DecodeOrder(raw)
		if err != nil {
			return nil, err
		}
		batch = append(batch, orders.Build(src, now))
		ids = append(ids, src.ID)
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return ids, flush()
}

// sandboxIDs are the catalogue's ids and the generated ones.
func sandboxIDs(n int) []uint64 {
	ids := []uint64{
		shopifysandbox.OrderInTransit, shopifysandbox.OrderPaidUnfulfilled, shopifysandbox.OrderPending,
		shopifysandbox.OrderAuthorized, shopifysandbox.OrderPartiallyPaid, shopifysandbox.OrderPartiallyRefunded,
		shopifysandbox.OrderRefunded, shopifysandbox.OrderCancelledVoided, shopifysandbox.OrderArchived,
		shopifysandbox.OrderOutForDelivery, shopifysandbox.OrderReadyForPickup, shopifysandbox.OrderAttemptedDelivery,
		shopifysandbox.OrderDelivered, shopifysandbox.OrderEUR, shopifysandbox.OrderJPY,
	}
	for i := range n {
		ids = append(ids, 600000000+uint64(i))
	}
	return ids
}

// queryInt reads one integer.
func queryInt(ctx context.Context, dbURL, sql string, v *int) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(v)
}

// settle does the maintenance that a bulk write leaves due, so that it
// lands before the next run rather than inside one side's: VACUUM of the
// tables written (every row of orders after a bulk UPDATE; the deliveries
// and apply jobs after a burst) and a CHECKPOINT (their dirty pages and
// WAL written out now, not by the checkpointer mid-run).
func settle(ctx context.Context, dbURL string, tables ...string) error {
	for _, t := range tables {
		if err := exec1(ctx, dbURL, "VACUUM "+t); err != nil {
			return err
		}
	}
	return exec1(ctx, dbURL, "CHECKPOINT")
}

func exec1(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
	}
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(u string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within %s", u, within)
}

func rssMB(pid int) float64 { return procStatusMB(pid, "VmRSS") }

// rssParts is the process's RSS split into anonymous memory (heap, stacks)
// and file pages (its binary's, mapped from the page cache).
func rssParts(pid int) (anon, file float64) {
	return procStatusMB(pid, "RssAnon"), procStatusMB(pid, "RssFile")
}

// procStatusMB is a "Name: N kB" line of /proc/PID/status, in MB (0 when
// there is none).
func procStatusMB(pid int, name string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`(?m)^` + name + `:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

// copyFile copies an executable.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// evictFromPageCache writes the file's pages out and asks the kernel to
// drop them from the page cache, so that the next process to map it reads
// it from disk.
func evictFromPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fdatasync: %w", err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise: %w", err)
	}
	return nil
}

// shopifyCalls is every Admin API call a view can cause (an order's or a
// customer's reads, GraphQL or REST: the sandbox counts both under the
// operation), plus every GraphQL document the sandbox refused as invalid
// and every REST call whatever its operation (orderdesk is meant to make
// none: a REST read of an order counts twice, once under its operation
// and once as REST, which only makes a failing count larger). The
// reconciliation sweep's GraphQL order listings are not counted.
func shopifyCalls(sb *shopifysandbox.Sandbox) int {
	n := len(sb.RefusedDocuments()) + sb.RESTCalls()
	for _, op := range []string{shopifysandbox.OpOrderGet, shopifysandbox.OpCustomerOrders,
		shopifysandbox.OpTransactionsList, shopifysandbox.OpFulfillmentEvents} {
		n += sb.Calls(op)
	}
	return n
}

// callsPerRefresh is the Shopify calls one refresh of an order makes: one
// GraphQL order query (shopify.Client.Order: the order with its
// transactions, fulfilments and refunds), counted once under order.get.
const callsPerRefresh = 1

// refreshBudget is the most Shopify calls a stale run of d may cause
// within the shop's refresh budget (orders.DefaultRefreshBudget: one
// refresh a second, a burst of one): a refresh for each second begun, and
// one more for the token the limiter holds when the run begins.
func refreshBudget(d time.Duration) int {
	return (int(math.Ceil(d.Seconds())) + 1) * callsPerRefresh
}

type wrkResult struct {
	rps      float64
	p99      time.Duration
	requests int
	non2xx   int
	// sockErrs are wrk's socket errors (connect, read, write, timeout):
	// requests that got no answer, left out of its latency figures.
	sockErrs int
	// threads and wrapped are hookScript's report: how many of wrk's
	// threads reported, and how many came round to their first delivery
	// again (a resend).
	threads, wrapped int
}

// failures are the requests that got no 2xx answer: non-2xx answers and
// socket errors (a timed-out request is one).
func (w wrkResult) failures() int { return w.non2xx + w.sockErrs }

// wrkTimeout is wrk's --timeout: a request slower than it is a socket
// error, not a latency (wrk's default of 2 s would drop slow answers from
// the p99 unseen).
const wrkTimeout = 10 * time.Second

// firstList lists the customer's orders, waits for the answer and says
// whether the list is complete.
func firstList(base, auth string, customer uint64, limit int) (bool, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/orders?customer_id=%d&limit=%d", base, customer, limit), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", auth)
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var body struct {
		Complete bool `json:"complete"`
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("first list: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return false, fmt.Errorf("first list: %w", err)
	}
	return body.Complete, nil
}

func viewScript(idFile, auth string) string {
	return fmt.Sprintf(`local ids = {}
for line in io.lines(%q) do ids[#ids+1] = line end
wrk.headers["Authorization"] = %q
function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1000000)) end
function request() return wrk.format("GET", "/orders/" .. ids[math.random(#ids)]) end
`, idFile, auth)
}

func listScript(customer uint64, auth string) string {
	return fmt.Sprintf(`wrk.headers["Authorization"] = %q
function request() return wrk.format("GET", "/orders?customer_id=%d&limit=20") end
`, auth, customer)
}

// hookScript sends the prepared deliveries, each of wrk's 2 threads its
// half, once each. A thread that runs out starts its half again (a resend,
// which measures the dedup): each thread counts how often it did, and
// done() prints every thread's count (wrk's thread:get of the thread's
// globals), parsed into wrkResult.threads and wrapped.
func hookScript(file string) string {
	return fmt.Sprintf(`local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  threads[#threads+1] = thread
  counter = counter + 1
end
local reqs, i = {}, 0
held, wrapped = 0, 0
function init(args)
  local k = 0
  for line in io.lines(%q) do
    if k %% 2 == tid then
      local id, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      reqs[#reqs+1] = wrk.format("POST", "/webhooks/shopify", {
        ["Content-Type"] = "application/json", ["X-Shopify-Topic"] = "orders/updated",
        ["X-Shopify-Shop-Domain"] = %q, ["X-Shopify-Webhook-Id"] = id,
        ["X-Shopify-Event-Id"] = id, ["X-Shopify-Hmac-Sha256"] = sig}, body)
    end
    k = k + 1
  end
  held = #reqs
end
function request()
  i = i + 1
  if i > #reqs then i = 1; wrapped = wrapped + 1 end
  return reqs[i]
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("hook thread %%d: %%d deliveries, wrapped %%d\n", t:get("tid"), t:get("held"), t:get("wrapped")))
  end
end
`, file, benchShop)
}

var (
	rpsRe    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	p99Re    = regexp.MustCompile(`\s99%\s+([\d.]+)(us|ms|s)`)
	reqRe    = regexp.MustCompile(`(\d+) requests in`)
	non2xxRe = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	threadRe = regexp.MustCompile(`hook thread \d+: \d+ deliveries, wrapped (\d+)`)
	sockRe   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func runWrk(dir, base string, conns int, d time.Duration, script string) (wrkResult, error) {
	f := filepath.Join(dir, fmt.Sprintf("s%d.lua", time.Now().UnixNano()))
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		return wrkResult{}, err
	}
	out, err := exec.Command("wrk", "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(d.Seconds())),
		fmt.Sprintf("--timeout=%ds", int(wrkTimeout.Seconds())), "--latency", "-s", f, base).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(out)
}

// parseWrk reads wrk's report: its rate, p99 (--latency), requests,
// non-2xx answers and socket errors. No rate or no p99 is an error: a
// p99 of 0 would meet any "at most" target.
func parseWrk(out []byte) (wrkResult, error) {
	var r wrkResult
	if m := rpsRe.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := p99Re.FindSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[2])]
		r.p99 = time.Duration(v * float64(unit))
	}
	if m := reqRe.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(string(m[1]))
	}
	if m := non2xxRe.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(string(m[1]))
	}
	if m := sockRe.FindSubmatch(out); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.sockErrs += n
		}
	}
	for _, m := range threadRe.FindAllSubmatch(out, -1) {
		r.threads++
		if n, _ := strconv.Atoi(string(m[1])); n > 0 {
			r.wrapped++
		}
	}
	if r.rps == 0 {
		return r, fmt.Errorf("wrk gave no rate: %s", out)
	}
	if r.p99 <= 0 {
		return r, fmt.Errorf("wrk gave no p99 latency: %s", out)
	}
	return r, nil
}

// hookBody is a signed orders/updated delivery of order id, a newer state.
func hookBody(sb *shopifysandbox.Sandbox, id int64, at time.Time) ([]byte, error) {
	o, ok := sb.Order(uint64(id))
	if !ok {
		return nil, fmt.Errorf("no sandbox order %d", id)
	}
	o.UpdatedAt = &at
	return json.Marshal(o)
}

// writeHooks writes n deliveries (webhook id, signature, body per line),
// new webhook ids with states newer than from, and returns one body, the
// size pgbench's INSERT stores.
func writeHooks(file string, sb *shopifysandbox.Sandbox, ids []int64, n int, from time.Time) ([]byte, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var sample []byte
	for i := range n {
		body, err := hookBody(sb, ids[i%len(ids)], from.Add(time.Duration(i+1)*time.Millisecond))
		if err != nil {
			return nil, err
		}
		sample = body
		if _, err := fmt.Fprintf(f, "%s\t%s\t%s\n", uuid.NewString(), webhooksig.Sign([]byte(benchSecret), body), body); err != nil {
			return nil, err
		}
	}
	// On disk before the runs: its writeback does not land in one.
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return sample, f.Close()
}

// runPgbench: one INSERT of a delivery-sized row per commit.
func runPgbench(ctx context.Context, dir, dbURL string, body []byte, conns int, d time.Duration) (float64, error) {
	if err := exec1(ctx, dbURL, "CREATE TABLE IF NOT EXISTS bench_ingest (id bigserial PRIMARY KEY, webhook_id text UNIQUE NOT NULL, body jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"); err != nil {
		return 0, err
	}
	// Every round inserts into an empty table (a later round into a bigger
	// one and its index would measure less).
	if err := exec1(ctx, dbURL, "TRUNCATE bench_ingest"); err != nil {
		return 0, err
	}
	script := filepath.Join(dir, "ingest.sql")
	lit := strings.ReplaceAll(string(body), "'", "''")
	sql := "INSERT INTO bench_ingest (webhook_id, body) VALUES (md5(random()::text || clock_timestamp()::text), '" + lit + "');\n"
	if err := os.WriteFile(script, []byte(sql), 0o600); err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, "pgbench", "-n", "-c", strconv.Itoa(conns), "-j", "2", "-T", strconv.Itoa(int(d.Seconds())), "-f", script, dbURL).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := regexp.MustCompile(`tps = ([\d.]+)`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench gave no tps: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.*)`).FindSubmatch(b); m != nil {
			cpu = string(m[1])
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%s, %d CPUs visible to Go (GOMAXPROCS %d), load average %s (other work was running), %s %s/%s",
		cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), load, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

type results struct {
	n, conns, hookConns, rate  int
	rounds                     int
	duration                   time.Duration
	idleRSS, refRSS, afterRSS  float64
	idleAnon, idleFile         float64
	evicted                    bool // both binaries were dropped from the page cache before they started
	refFresh, odFresh, odStale runs // one run a round
	refList, odList            wrkResult
	firstList                  time.Duration
	firstListErr               error
	listStart                  time.Time
	listElapsed                time.Duration
	listDone                   bool
	listStored                 int
	firstListSkipped           bool
	freshCalls, staleCalls     int
	staleBudget                int       // refreshBudget of the stale runs, summed
	pgbench                    []float64 // one run a round, as odIngest
	odIngest                   runs
	burstDrain                 []time.Duration
	drainErrs                  []string // why a round's drain ended unfinished
	hooksPerRound              int
	lag                        lagResult
	machine                    string
}

func per1000(calls, requests int) float64 {
	if requests == 0 {
		return 0
	}
	return float64(calls) * 1000 / float64(requests)
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func (r results) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks (issue 9)\n\nProduced by `make bench` (cmd/orderdesk-bench) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s.\n\n", r.machine)
	fmt.Fprintf(&b, "Setup: Postgres, %d synced orders; `orderdesk serve` against an in-process Shopify sandbox; the reference is a bare net/http + pgx handler reading the same `orders` table's stored JSON by primary key (no auth, no rendering). wrk, 2 threads, %d connections, %s per run, random order ids; webhook ingest with %d connections, signed `orders/updated` deliveries with new webhook ids, over the orders in turn (%d deliveries a round, so each order gets about %.0f, each a newer state); the ingest reference is pgbench, one INSERT of a delivery-sized row per commit, %d clients.\n\n",
		r.n, r.conns, r.duration, r.hookConns, r.hooksPerRound, float64(r.hooksPerRound)/float64(max(r.n, 1)), r.hookConns)
	fmt.Fprintf(&b, "Rounds: the compared runs go in %s, each round's runs back to back and in reverse order every other round (ABBA…). A view round runs the reference, orderdesk on copies within the TTL and orderdesk on copies older than it, the fresh run in the middle so that it is next to both runs it is compared with (the copies are set fresh, or stale, just before each orderdesk run). An ingest round runs pgbench and orderdesk's ingest with %d new deliveries (new webhook ids, newer states than any round before), and waits for orderdesk's burst to be applied before the next run.\n\n",
		plural(r.rounds, "round"), r.hooksPerRound)
	b.WriteString("| | reference | orderdesk | ratio | target |\n|---|---|---|---|---|\n")
	r.viewRows(&b)
	r.ingestRows(&b)
	how := "both binaries started read from disk (evicted from the page cache the build left, as a copied or extracted binary starts)"
	if !r.evicted {
		how = "the binaries started from the page cache the build left (eviction failed: see the log)"
	}
	fmt.Fprintf(&b, "| idle RSS of `serve` (%s) | %.1f MB (reference) | %.1f MB at start (%.1f MB anonymous, %.1f MB of the binary's pages), %.1f MB after the runs | | < 40 MB: %s |\n",
		how, r.refRSS, r.idleRSS, r.idleAnon, r.idleFile, r.afterRSS, met(r.idleRSS > 0 && r.idleRSS < 40))
	r.viewFailures(&b)
	b.WriteString("\n" + r.roundsNote("all") + "\n")
	return b.String()
}

// roundsNote closes the table: where its ratios come from. rows is -rows:
// the note names only the rows printed.
func (r results) roundsNote(rows string) string {
	inRounds, once := "the views of one order, webhook ingest", "The list and the sustained apply-lag run are one run each."
	switch rows {
	case "views":
		inRounds, once = "the views of one order", "The list is one run a side."
	case "ingest":
		inRounds, once = "webhook ingest", "The sustained apply-lag run is one run."
	}
	if r.rounds == 1 {
		return "The machine is shared (see the load average): absolute figures move between runs; the ratios come from one round, both sides' runs back to back, and are what the targets are about (`-rounds N` takes the median of N rounds' ratios). " + once
	}
	// The median of two is their mean: one disturbed round of two moves it
	// as much as the mean does.
	robust := "which a single disturbed round moves less than it moves the mean"
	if r.rounds == 2 {
		robust = "with 2 rounds their mean (with 3 or more a single disturbed round moves the median less than the mean)"
	}
	balance := "each side first in as many rounds as second"
	if r.rounds%2 == 1 {
		balance = fmt.Sprintf("with %d rounds (odd) the reference first in one round more than orderdesk", r.rounds)
	}
	return fmt.Sprintf("The machine is shared (see the load average): absolute figures move between runs. The rows measured in rounds (%s) show medians over the %d rounds; each of their ratios is taken within a round, between runs seconds apart, with the order of the sides alternated from round to round (%s), and the figure checked against a target is the median of the %d rounds' ratios (each round's listed beside it in the order they ran), %s. %s", inRounds, r.rounds, balance, r.rounds, robust, once)
}

// viewRows writes the view rows of the results table: one order, fresh
// and stale, the list, and the Shopify calls they made.
func (r results) viewRows(b *strings.Builder) {
	fr := perRound(r.odFresh.rps(), r.refFresh.rps())
	fp := perRoundAtMost(r.odFresh.p99(), r.refFresh.p99())
	fmt.Fprintf(b, "| `GET /orders/{id}`, copies fresh | %s | %s | throughput %s; p99 %s | ≥ 0.8×, p99 ≤ 1.5× (medians): %s |\n",
		r.refFresh.medians(), r.odFresh.medians(), ratioText(fr), ratioText(fp), met(median(fr) >= 0.8 && median(fp) <= 1.5 && r.refFresh.failures() == 0 && r.odFresh.failures() == 0))
	sr := perRound(r.odStale.rps(), r.odFresh.rps())
	fmt.Fprintf(b, "| `GET /orders/{id}`, copies older than the TTL | — | %s | %s the fresh view | ≥ 0.9× (median): %s |\n",
		r.odStale.medians(), ratioText(sr), met(median(sr) >= 0.9 && r.odFresh.failures() == 0 && r.odStale.failures() == 0))
	lr := r.odList.rps / r.refList.rps
	first := fmt.Sprintf("a read-through of %d orders: first answer after %s; %s later, while these runs read the store, complete %t, %d of them read by then (the rest is read in the background, 5 orders a Shopify page within the shop's refresh budget; the bench's sync had stored them all before, so the lists read a full store)",
		r.n, r.firstList.Round(time.Millisecond), r.listElapsed.Round(time.Second), r.listDone, r.listStored)
	switch {
	case r.firstListSkipped:
		first = "marked read instead: -rows views measures no read-through"
	case r.firstListErr != nil:
		first = fmt.Sprintf("a read-through of %d orders whose first answer **failed** after %s: %v", r.n, r.firstList.Round(100*time.Millisecond), r.firstListErr)
	}
	fmt.Fprintf(b, "| `GET /orders?customer_id=…&limit=20` (after the customer's first list, %s) | %.0f req/s, p99 %s | %.0f req/s, p99 %s | %.2f× | — (one run a side, the reference first, not rounds) |\n",
		first, r.refList.rps, ms(r.refList.p99), r.odList.rps, ms(r.odList.p99), lr)
	fc := per1000(r.freshCalls, r.odFresh.requests())
	fmt.Fprintf(b, "| Shopify calls per 1,000 repeat views (copies within the TTL) | — | %.2f (%d in %d views over %s) | | 0: %s |\n",
		fc, r.freshCalls, r.odFresh.requests(), plural(len(r.odFresh), "fresh run"), met(r.freshCalls == 0))
	fmt.Fprintf(b, "| Shopify calls while viewing copies older than the TTL | — | %d in %d views over %s: background refreshes, at most 1 a second per shop (the budget), none waited on | | within the budget, ≤ %d (a refresh of %d call a second begun, +1 a run): %s |\n",
		r.staleCalls, r.odStale.requests(), plural(len(r.odStale), "stale run"), r.staleBudget, callsPerRefresh, met(r.staleCalls <= r.staleBudget))
}

// viewFailures says which view runs had requests without a 2xx answer
// (non-2xx answers, socket errors such as wrk's timeout); a row whose runs
// had any is not met.
func (r results) viewFailures(b *strings.Builder) {
	if n := r.refFresh.failures() + r.odFresh.failures() + r.odStale.failures() + r.refList.failures() + r.odList.failures(); n > 0 {
		fmt.Fprintf(b, "\n**View requests without a 2xx answer** (non-2xx answers + socket errors, e.g. no answer within wrk's %s timeout; those runs do not measure what they claim and their rows are not met), over the rounds: reference fresh %d + %d, orderdesk fresh %d + %d, stale %d + %d; reference list %d + %d, orderdesk list %d + %d.\n",
			wrkTimeout, r.refFresh.non2xx(), r.refFresh.sockErrs(), r.odFresh.non2xx(), r.odFresh.sockErrs(), r.odStale.non2xx(), r.odStale.sockErrs(),
			r.refList.non2xx, r.refList.sockErrs, r.odList.non2xx, r.odList.sockErrs)
	}
}

// reference serves GET /orders/{id} and GET /orders?customer_id= straight
// from the orders table's stored JSON: the floor orderdesk is compared with.
func reference(args []string) error {
	fs := flag.NewFlagSet("reference", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	db := fs.String("db", "", "Postgres URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	var shopID int64
	if err := pool.QueryRow(ctx, "SELECT id FROM shops WHERE domain = $1", benchShop).Scan(&shopID); err != nil {
		return fmt.Errorf("shop: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		var doc []byte
		err = pool.QueryRow(r.Context(), "SELECT shopify FROM orders WHERE shop_id = $1 AND id = $2", shopID, id).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		customer, _ := strconv.ParseInt(r.URL.Query().Get("customer_id"), 10, 64)
		rows, err := pool.Query(r.Context(), "SELECT shopify FROM orders WHERE shop_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT 21", shopID, customer)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		buf := []byte(`{"orders":[`)
		first := true
		for rows.Next() {
			var doc []byte
			if err := rows.Scan(&doc); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, doc...)
		}
		buf = append(buf, "]}"...)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(buf)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}
