// Command orderdesk-chaos runs randomized fault trials of orderdesk's
// cancel/refund actions against the real binary: it builds orderdesk,
// serves it against an in-process Shopify sandbox on SQLite and/or
// Postgres, and in each trial has 1–5 agents act on a fresh order (every
// action kind, own or shared Idempotency-Keys) while the sandbox injects
// seeded faults (5xx, delays past the Shopify timeout, applied-but-answer-
// lost, THROTTLED, INTERNAL_SERVER_ERROR, userErrors) and serve is killed
// with SIGKILL mid-action and restarted. Agents retry like a careful CRM.
// After each round the faults clear and every trial's invariants are
// checked:
//
//	money        money the sandbox refunded == the refunds of the actions reported succeeded
//	once         at most one refund per action (by its key and by its note marker)
//	distinct     no two actions name one refund
//	settled      nothing pending 45 s after the faults clear
//	no500        no answer was a 500
//	story        an agent's final answer is the action's final state; an order
//	             cancelled at the sandbox has exactly one succeeded cancel action
//
// Usage: orderdesk-chaos -trials 500 -db both -seed 1 -parallel 4
package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to make a schema
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

const (
	shop   = "chaos.myshopify.com"
	token  = "shpat_chaos"
	apiKey = "chaos-api-key-0123456789"
	secret = "chaos-secret"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orderdesk-chaos:", err)
		os.Exit(1)
	}
}

type options struct {
	trials    int
	dbs       []string
	seed      uint64
	parallel  int
	killRate  float64
	minKills  int
	faultRate float64
	bin       string
	pgURL     string
	verbose   bool
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("orderdesk-chaos", flag.ContinueOnError)
	var o options
	var db string
	fs.IntVar(&o.trials, "trials", 20, "trials per database")
	fs.StringVar(&db, "db", "both", "sqlite, postgres or both")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the trial mix and the faults")
	fs.IntVar(&o.parallel, "parallel", 4, "trials per round (run together against one serve)")
	fs.Float64Var(&o.killRate, "kill", 0.35, "probability that serve is killed (SIGKILL) during a round")
	fs.IntVar(&o.minKills, "min-kills", 0, "kill serve in at least this many rounds per database (the last rounds are killed if the draw did not reach it)")
	fs.Float64Var(&o.faultRate, "faults", 0.3, "probability of a fault per Shopify mutation call")
	fs.StringVar(&o.bin, "bin", "", "orderdesk binary (default: go build ./cmd/orderdesk)")
	fs.StringVar(&o.pgURL, "postgres", os.Getenv("ORDERDESK_TEST_POSTGRES_URL"), "Postgres URL (a fresh schema is made in it)")
	fs.BoolVar(&o.verbose, "v", false, "print every trial")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch db {
	case "both":
		o.dbs = []string{"sqlite", "postgres"}
	case "sqlite", "postgres":
		o.dbs = []string{db}
	default:
		return fmt.Errorf("-db %q: want sqlite, postgres or both", db)
	}
	tmp, err := os.MkdirTemp("", "orderdesk-chaos")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.bin == "" {
		o.bin = filepath.Join(tmp, "orderdesk")
		build := exec.Command("go", "build", "-o", o.bin, "./cmd/orderdesk")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build orderdesk: %w", err)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]*summary, len(o.dbs))
	errs := make([]error, len(o.dbs))
	for i, kind := range o.dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = series(kind, o, tmp, out)
		}()
	}
	wg.Wait()
	failed := false
	for i, kind := range o.dbs {
		if errs[i] != nil {
			return fmt.Errorf("%s: %w", kind, errs[i])
		}
		results[i].print(out, kind)
		failed = failed || results[i].violations() > 0
	}
	fmt.Fprintf(out, "total run time %s\n", time.Since(start).Round(time.Second))
	if failed {
		return errors.New("invariant violations")
	}
	return nil
}

// summary counts a series' trials, their mix and the invariants' checks.
type summary struct {
	mu       sync.Mutex
	trials   int
	rounds   int
	kills    int
	mix      map[string]int
	agents   map[int]int
	answers  map[int]int
	faults   map[string]int
	checked  map[string]int
	violated map[string]int
	notes    []string
	elapsed  time.Duration
}

func newSummary() *summary {
	return &summary{mix: map[string]int{}, agents: map[int]int{}, answers: map[int]int{}, faults: map[string]int{},
		checked: map[string]int{}, violated: map[string]int{}}
}

func (s *summary) check(name string, ok bool, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checked[name]++
	if !ok {
		s.violated[name]++
		s.notes = append(s.notes, name+": "+fmt.Sprintf(format, args...))
	}
}

func (s *summary) violations() int {
	n := 0
	for _, v := range s.violated {
		n += v
	}
	return n
}

func (s *summary) print(out io.Writer, kind string) {
	fmt.Fprintf(out, "== %s: %d trials in %d rounds, %d kills of serve, %s\n", kind, s.trials, s.rounds, s.kills, s.elapsed.Round(time.Second))
	fmt.Fprintf(out, "   actions by kind %v\n   trials by agents %v\n   final answers %v\n   faults applied %v\n", s.mix, s.agents, s.answers, s.faults)
	names := make([]string, 0, len(s.checked))
	for n := range s.checked {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "   %-9s checked %5d  violated %d\n", n, s.checked[n], s.violated[n])
	}
	for i, n := range s.notes {
		if i == 30 {
			fmt.Fprintf(out, "   ... %d more\n", len(s.notes)-30)
			break
		}
		fmt.Fprintln(out, "   !", n)
	}
}

// server is one orderdesk serve process, restarted after each kill.
type server struct {
	bin, addr string
	env       []string
	mu        sync.Mutex
	cmd       *exec.Cmd
	log       *bytes.Buffer
}

func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, "serve")
	cmd.Env = s.env
	s.log = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, &lockedWriter{w: s.log}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get("http://" + s.addr + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("serve did not become ready: %s", s.log.String())
}

// kill sends SIGKILL: no shutdown, no cleanup, mid-action.
func (s *server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func series(kind string, o options, tmp string, out io.Writer) (*summary, error) {
	sum := newSummary()
	began := time.Now()
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: shop, Token: token, BucketSize: 100000, LeakPerSecond: 100000})
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()
	var dbURL string
	switch kind {
	case "sqlite":
		dbURL = "sqlite:" + filepath.Join(tmp, "chaos.db")
	default:
		u, drop, err := pgSchema(o.pgURL, o.seed)
		if err != nil {
			return nil, err
		}
		defer drop()
		dbURL = u
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	srv := &server{bin: o.bin, addr: addr, env: append(os.Environ(),
		"ORDERDESK_HTTP_ADDR="+addr, "ORDERDESK_DATABASE_URL="+dbURL, "ORDERDESK_API_KEY="+apiKey,
		"SHOPIFY_SHOP="+shop, "SHOPIFY_ACCESS_TOKEN="+token, "SHOPIFY_BASE_URL="+sbSrv.URL, "SHOPIFY_API_SECRET="+secret,
		"SHOPIFY_TIMEOUT=400ms", "ORDERDESK_ACTION_WAIT=2s", "ORDERDESK_ACTION_LEASE=3s", "ORDERDESK_LOG_LEVEL=error",
		"ORDERDESK_RATE_LIMIT=100000", "ORDERDESK_RATE_BURST=100000")}
	if err := srv.start(); err != nil {
		return nil, err
	}
	defer srv.kill()
	base := uint64(700000000)
	if kind == "postgres" {
		base = 800000000
	}
	rng := rand.New(rand.NewPCG(o.seed, 0xc4a05))
	shown := 0
	for first := 0; first < o.trials; first += o.parallel {
		n := min(o.parallel, o.trials-first)
		roundsLeft := (o.trials - first + o.parallel - 1) / o.parallel
		round(sum, sb, srv, rng, o, base, first, n, o.minKills-sum.kills >= roundsLeft)
		if o.verbose {
			sum.mu.Lock()
			for _, note := range sum.notes[shown:] {
				fmt.Fprintf(out, "%s ! %s\n", kind, note)
			}
			shown = len(sum.notes)
			sum.mu.Unlock()
			fmt.Fprintf(out, "%s: %d/%d trials, %d violations\n", kind, first+n, o.trials, sum.violations())
		}
	}
	if o.verbose {
		srv.mu.Lock()
		for _, line := range strings.Split(srv.log.String(), "\n") {
			if strings.Contains(line, "status=500") || strings.Contains(line, "request failed") {
				fmt.Fprintf(out, "%s serve: %.400s\n", kind, line)
			}
		}
		srv.mu.Unlock()
	}
	for _, f := range sb.AppliedFaults() {
		sum.faults[faultName(f)]++
	}
	sum.elapsed = time.Since(began)
	return sum, nil
}

func faultName(f shopifysandbox.FaultRecord) string {
	k := "?"
	switch x := f.Fault; {
	case x.ApplyFirst:
		k = "lost"
	case x.Status == http.StatusTooManyRequests:
		k = "throttled"
	case x.Status >= 500:
		k = "5xx"
	case x.Latency > 0:
		k = "timeout"
	case x.TopLevel != "":
		k = "internal"
	case len(x.UserErrors) > 0:
		k = "user_error"
	}
	return strings.TrimPrefix(f.Op, "graphql.") + ":" + k
}

func pgSchema(base string, seed uint64) (string, func(), error) {
	if base == "" {
		return "", nil, errors.New("no Postgres URL: set ORDERDESK_TEST_POSTGRES_URL or -postgres")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("chaos_%d_%d", seed, time.Now().UnixNano())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	pu, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String(), func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	}, nil
}

// intent is one agent's action: its path, body and key.
type intent struct {
	kind string
	path string
	body string
	key  string
}

// answer is what an agent was finally told.
type answer struct {
	status   int
	actionID string
	state    string
	code     string
}

func (a intent) String() string { return a.kind }

// plan draws a trial: 1–5 agents, each an action of any kind, some
// sharing a key (and so a body) with the agent before them.
func plan(rng *rand.Rand, order uint64) []intent {
	n := 1 + rng.IntN(5)
	out := make([]intent, 0, n)
	amounts := []string{"1.00", "1.00", "5.00", "10.00", "20.00", "64.90"}
	for i := range n {
		if i > 0 && rng.Float64() < 0.25 {
			prev := out[i-1]
			out = append(out, prev) // a second tab, a double click: same key, same body
			continue
		}
		var it intent
		switch rng.IntN(6) {
		case 0, 1:
			it = intent{kind: "refund_amount", path: fmt.Sprintf("/orders/%d/refund", order), body: fmt.Sprintf(`{"amount":%q,"note":"trial"}`, amounts[rng.IntN(len(amounts))])}
		case 2:
			it = intent{kind: "refund_lines", path: fmt.Sprintf("/orders/%d/refund", order), body: fmt.Sprintf(`{"line_items":[{"line_item_id":%d,"quantity":1,"restock":true}]}`, lineItemID(order, rng.IntN(2)))}
		case 3:
			it = intent{kind: "cancel", path: fmt.Sprintf("/orders/%d/cancel", order), body: `{"reason":"customer","staff_note":"trial"}`}
		case 4:
			it = intent{kind: "cancel_refund_full", path: fmt.Sprintf("/orders/%d/cancel", order), body: `{"reason":"customer","refund":{"mode":"full"}}`}
		default:
			it = intent{kind: "cancel_refund_amount", path: fmt.Sprintf("/orders/%d/cancel", order), body: fmt.Sprintf(`{"reason":"inventory","refund":{"mode":"amount","amount":%q}}`, amounts[rng.IntN(4)])}
		}
		it.key = fmt.Sprintf("trial-%d-agent-%d-%d", order, i, rng.Uint64())
		out = append(out, it)
	}
	return out
}

// lineItemID is the id the sandbox gives a trial order's line i.
func lineItemID(order uint64, i int) uint64 { return order*10 + uint64(i) }

type trial struct {
	mu      sync.Mutex
	order   uint64
	intents []intent
	answers []answer
	saw500  []string
}

// round runs n trials against one serve; with mustKill, serve is killed
// during it whatever the draw.
func round(sum *summary, sb *shopifysandbox.Sandbox, srv *server, rng *rand.Rand, o options, base uint64, first, n int, mustKill bool) {
	trials := make([]*trial, n)
	for i := range n {
		id := base + uint64(first+i)
		sb.AddTrialOrder(id, time.Now())
		trials[i] = &trial{order: id, intents: plan(rng, id)}
	}
	sb.SetChaos(shopifysandbox.Chaos{
		Seed: int64(rng.Uint64() >> 1), Rate: o.faultRate, Latency: 1500 * time.Millisecond,
		Ops:   []string{shopifysandbox.OpRefundCreate, shopifysandbox.OpOrderCancel, shopifysandbox.OpJob, shopifysandbox.OpSuggestRefund},
		Kinds: []string{"5xx", "timeout", "lost", "429", "internal", "user_error"},
	})
	kill := rng.Float64() < o.killRate || mustKill
	killAfter := time.Duration(rng.IntN(2500)) * time.Millisecond
	var wg sync.WaitGroup
	// A careful CRM retries a busy order for a while, then tells the agent.
	deadline := time.Now().Add(25 * time.Second)
	for _, t := range trials {
		t.answers = make([]answer, len(t.intents))
		for j, it := range t.intents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(rng2(t.order, j).IntN(300)) * time.Millisecond)
				t.answers[j] = act(srv.addr, it, deadline, func(where string) {
					t.mu.Lock()
					defer t.mu.Unlock()
					t.saw500 = append(t.saw500, where)
				})
			}()
		}
	}
	if kill {
		time.Sleep(killAfter)
		srv.kill()
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		if err := srv.start(); err != nil {
			sum.check("restart", false, "serve did not restart: %v", err)
		}
	}
	wg.Wait()
	sb.ClearFaults()
	cleared := time.Now()
	sum.mu.Lock()
	sum.rounds++
	sum.trials += n
	if kill {
		sum.kills++
	}
	for _, t := range trials {
		sum.agents[len(t.intents)]++
		for j, it := range t.intents {
			sum.mix[it.kind]++
			sum.answers[t.answers[j].status]++
		}
	}
	sum.mu.Unlock()
	for _, t := range trials {
		verify(sum, sb, srv.addr, t, cleared)
	}
}

func rng2(order uint64, j int) *rand.Rand { return rand.New(rand.NewPCG(order, uint64(j))) }

// act runs one agent's action like a careful CRM: it retries the same key
// on anything transient (connection lost, 5xx, 429, the key or the order
// busy) and follows a 202 until the action is final.
func act(addr string, it intent, deadline time.Time, saw500 func(string)) answer {
	client := &http.Client{Timeout: 15 * time.Second}
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+it.path, strings.NewReader(it.body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", it.key)
		req.Header.Set("X-Agent-Id", "agent-"+it.key[len(it.key)-4:])
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(300 * time.Millisecond) // serve is down: try again
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var res struct {
			Action struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"action"`
			Code string `json:"code"`
		}
		_ = json.Unmarshal(body, &res)
		switch {
		case resp.StatusCode == http.StatusInternalServerError:
			saw500(fmt.Sprintf("%s %s: %s", it.path, it.kind, body))
			time.Sleep(300 * time.Millisecond)
		case resp.StatusCode == http.StatusOK:
			return answer{status: 200, actionID: res.Action.ID, state: res.Action.Status}
		case resp.StatusCode == http.StatusAccepted:
			time.Sleep(500 * time.Millisecond) // pending: ask again with the same key
		case resp.StatusCode == http.StatusConflict && (res.Code == "action_in_progress" || res.Code == "idempotency_key_in_use"),
			resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
			time.Sleep(400 * time.Millisecond)
		default:
			return answer{status: resp.StatusCode, code: res.Code}
		}
	}
	return answer{status: 0, code: "gave_up"}
}

type actionView struct {
	ID              string  `json:"id"`
	Kind            string  `json:"kind"`
	Status          string  `json:"status"`
	Amount          *string `json:"amount"`
	ShopifyRefundID *uint64 `json:"shopify_refund_id"`
	Parts           struct {
		Cancel string `json:"cancel"`
		Refund string `json:"refund"`
	} `json:"parts"`
}

func listActions(addr string, order uint64) ([]actionView, error) {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/orders/%d/actions", addr, order), nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET actions = %d %s", resp.StatusCode, b)
	}
	var out struct {
		Actions []actionView `json:"actions"`
	}
	return out.Actions, json.NewDecoder(resp.Body).Decode(&out)
}

func verify(sum *summary, sb *shopifysandbox.Sandbox, addr string, t *trial, cleared time.Time) {
	var acts []actionView
	var err error
	settled := false
	for time.Since(cleared) < 45*time.Second {
		acts, err = listActions(addr, t.order)
		if err == nil {
			pending := 0
			for _, a := range acts {
				if a.Status == "pending" {
					pending++
				}
			}
			if pending == 0 {
				settled = true
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	sum.check("settled", settled, "order %d: pending 45 s after the faults cleared (%v, %+v)", t.order, err, acts)
	sum.check("no500", len(t.saw500) == 0, "order %d: %v", t.order, t.saw500)

	var ledger []shopifysandbox.LedgerEntry
	for _, e := range sb.Ledger() {
		if e.OrderID == t.order {
			ledger = append(ledger, e)
		}
	}
	byRefund := map[uint64]shopifysandbox.LedgerEntry{}
	refunded := decimal.Zero
	for _, e := range ledger {
		byRefund[e.RefundID] = e
		refunded = refunded.Add(e.Amount)
	}
	reported := decimal.Zero
	named := map[uint64]string{}
	distinct := true
	for _, a := range acts {
		if a.Status != "succeeded" || a.ShopifyRefundID == nil {
			continue
		}
		if other, dup := named[*a.ShopifyRefundID]; dup {
			distinct = false
			sum.check("distinct", false, "order %d: actions %s and %s name refund %d", t.order, other, a.ID, *a.ShopifyRefundID)
		}
		named[*a.ShopifyRefundID] = a.ID
		if a.Amount != nil {
			reported = reported.Add(decimal.RequireFromString(*a.Amount))
		}
	}
	if distinct {
		sum.check("distinct", true, "")
	}
	unnamed := 0
	for _, e := range ledger {
		if _, ok := named[e.RefundID]; !ok {
			unnamed++
		}
	}
	sum.check("money", refunded.Equal(reported) && unnamed == 0, "order %d: sandbox refunded %s in %d refunds (%d named by no succeeded action), succeeded actions report %s",
		t.order, refunded, len(ledger), unnamed, reported)
	perAction := map[string]int{}
	perKey := map[string]int{}
	for _, e := range ledger {
		perKey[e.Key]++
		if i := strings.Index(e.Note, "orderdesk:"); i >= 0 {
			perAction[e.Note[i+len("orderdesk:"):]]++
		}
	}
	once := true
	for k, c := range perKey {
		if c > 1 {
			once = false
			sum.check("once", false, "order %d: %d refunds under key %s", t.order, c, k)
		}
	}
	for a, c := range perAction {
		if c > 1 {
			once = false
			sum.check("once", false, "order %d: %d refunds marked with action %s", t.order, c, a)
		}
	}
	if once {
		sum.check("once", true, "")
	}
	// The story: what agents were told is what the actions say; a
	// cancellation at the sandbox has exactly one succeeded cancel.
	status := map[string]string{}
	cancels := 0
	for _, a := range acts {
		status[a.ID] = a.Status
		// A cancel+refund whose refund Shopify then refused is failed,
		// with its cancel part succeeded: the cancellation is still its.
		if a.Kind == "cancel" && a.Parts.Cancel == "succeeded" {
			cancels++
		}
	}
	story := true
	for _, ans := range t.answers {
		if ans.status == 200 && (ans.state != "succeeded" || status[ans.actionID] != "succeeded") {
			story = false
			sum.check("story", false, "order %d: an agent was told %s for action %s, which is %s", t.order, ans.state, ans.actionID, status[ans.actionID])
		}
	}
	o, _ := sb.Order(t.order)
	wantCancels := 0
	if o.CancelledAt != nil {
		wantCancels = 1
	}
	if cancels != wantCancels {
		story = false
		sum.check("story", false, "order %d: cancelled at the sandbox: %v; actions whose cancel succeeded: %d", t.order, o.CancelledAt != nil, cancels)
	}
	if story {
		sum.check("story", true, "")
	}
}
