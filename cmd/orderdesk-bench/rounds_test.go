package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{0.7}, 0.7},
		{"two: the mean of both", []float64{0.6, 1.0}, 0.8},
		{"odd, unsorted", []float64{1.01, 0.88, 0.93}, 0.93},
		{"even, unsorted", []float64{4, 1, 3, 2}, 2.5},
		{"one outlier moves it less than the mean", []float64{0.9, 0.1, 0.95}, 0.9},
		{"repeated values", []float64{2, 2, 1}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("median reordered its input: %v, was %v", tc.in, in)
			}
		})
	}
}

func TestInOrder(t *testing.T) {
	for _, tc := range []struct {
		round int
		want  []string
	}{
		{0, []string{"A", "B"}},
		{1, []string{"B", "A"}},
		{2, []string{"A", "B"}},
		{3, []string{"B", "A"}},
	} {
		if got := inOrder(tc.round, "A", "B"); !slices.Equal(got, tc.want) {
			t.Errorf("round %d: %v, want %v", tc.round, got, tc.want)
		}
	}
	// Rounds in sequence are ABBA…: each side goes first as often.
	var seq []string
	first := map[string]int{}
	for round := range 4 {
		o := inOrder(round, "A", "B")
		first[o[0]]++
		seq = append(seq, o...)
	}
	if want := []string{"A", "B", "B", "A", "A", "B", "B", "A"}; !slices.Equal(seq, want) {
		t.Errorf("four rounds ran %v, want %v", seq, want)
	}
	if first["A"] != first["B"] {
		t.Errorf("first runs %v, want as many of each", first)
	}
	// The arguments are not reordered in place.
	in := []string{"A", "B", "C"}
	_ = inOrder(1, in...)
	if !slices.Equal(in, []string{"A", "B", "C"}) {
		t.Errorf("inOrder changed its arguments: %v", in)
	}
}

// TestDefaultRoundsBalance: at -rounds' default every side of a view or
// ingest round runs first as often as any other, and in each position as
// often.
func TestDefaultRoundsBalance(t *testing.T) {
	if defaultRounds%2 != 0 {
		t.Fatalf("defaultRounds %d is odd", defaultRounds)
	}
	first := map[string]int{}
	pos := map[string]map[int]int{}
	for round := range defaultRounds {
		for i, v := range viewPlan(round) {
			if pos[v.String()] == nil {
				pos[v.String()] = map[int]int{}
			}
			pos[v.String()][i]++
		}
		first[ingestPlan(round)[0].String()]++
	}
	if first["pgbench"] != first["orderdesk"] {
		t.Errorf("ingest rounds: first %v, want as often each", first)
	}
	// The reference and the stale run swap ends; the fresh one stays between.
	if pos["reference"][0] != pos["reference"][2] || pos["stale"][0] != pos["stale"][2] || pos["reference"][0] != pos["stale"][0] {
		t.Errorf("view rounds: positions %v, want each end as often", pos)
	}
	if note := (results{rounds: defaultRounds}).roundsNote("all"); !strings.Contains(note, "each side first in as many rounds as second") {
		t.Errorf("the note at the default: %s", note)
	}
	if note := (results{rounds: 3}).roundsNote("all"); !strings.Contains(note, "the reference first in one round more") {
		t.Errorf("the note at 3 rounds: %s", note)
	}
}

func TestViewPlan(t *testing.T) {
	for _, tc := range []struct {
		round int
		want  []viewRun
	}{
		{0, []viewRun{refView, freshView, staleView}},
		{1, []viewRun{staleView, freshView, refView}},
		{2, []viewRun{refView, freshView, staleView}},
	} {
		got := viewPlan(tc.round)
		if !slices.Equal(got, tc.want) {
			t.Errorf("round %d: %v, want %v", tc.round, got, tc.want)
		}
	}
	// Over any two rounds the reference goes before the fresh view once and
	// after it once, and so does the fresh view before the stale one.
	before := func(plan []viewRun, a, b viewRun) bool {
		return slices.Index(plan, a) < slices.Index(plan, b)
	}
	for round := range 6 {
		p, q := viewPlan(round), viewPlan(round+1)
		if before(p, refView, freshView) == before(q, refView, freshView) {
			t.Errorf("rounds %d and %d run the reference and the fresh view in the same order", round, round+1)
		}
		if before(p, freshView, staleView) == before(q, freshView, staleView) {
			t.Errorf("rounds %d and %d run the fresh and stale views in the same order", round, round+1)
		}
		// Each ratio's two runs are back to back.
		f := slices.Index(p, freshView)
		for _, other := range []viewRun{refView, staleView} {
			if d := slices.Index(p, other) - f; d != 1 && d != -1 {
				t.Errorf("round %d: %v is not next to the fresh view: %v", round, other, p)
			}
		}
	}
}

func TestIngestPlan(t *testing.T) {
	for _, tc := range []struct {
		round int
		want  []ingestRun
	}{
		{0, []ingestRun{pgbenchRun, hookRun}},
		{1, []ingestRun{hookRun, pgbenchRun}},
		{2, []ingestRun{pgbenchRun, hookRun}},
	} {
		if got := ingestPlan(tc.round); !slices.Equal(got, tc.want) {
			t.Errorf("round %d: %v, want %v", tc.round, got, tc.want)
		}
	}
}

func TestPerRound(t *testing.T) {
	for _, tc := range []struct {
		name     string
		num, den []float64
		want     []float64
	}{
		{"each round its own ratio", []float64{8, 9, 12}, []float64{10, 10, 12}, []float64{0.8, 0.9, 1}},
		{"a round that measured nothing is 0", []float64{5, 5}, []float64{0, 10}, []float64{0, 0.5}},
		{"only the rounds both sides ran", []float64{1, 2, 3}, []float64{2, 4}, []float64{0.5, 0.5}},
		{"none", nil, nil, []float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := perRound(tc.num, tc.den); !slices.Equal(got, tc.want) {
				t.Errorf("perRound(%v, %v) = %v, want %v", tc.num, tc.den, got, tc.want)
			}
		})
	}
}

// TestRoundRatios is the bookkeeping of a view comparison: per-round
// ratios of throughput and p99, and the medians the table shows, which are
// not the ratio of the medians.
func TestRoundRatios(t *testing.T) {
	ref := runs{{rps: 1000, p99: 10 * time.Millisecond}, {rps: 500, p99: 40 * time.Millisecond}, {rps: 1000, p99: 20 * time.Millisecond}}
	od := runs{{rps: 900, p99: 12 * time.Millisecond, requests: 10}, {rps: 400, p99: 20 * time.Millisecond, requests: 20, non2xx: 1}, {rps: 1100, p99: 30 * time.Millisecond, requests: 30, non2xx: 2}}
	if got, want := perRound(od.rps(), ref.rps()), []float64{0.9, 0.8, 1.1}; !slices.Equal(got, want) {
		t.Errorf("throughput ratios %v, want %v", got, want)
	}
	if got, want := perRound(od.p99(), ref.p99()), []float64{1.2, 0.5, 1.5}; !slices.Equal(got, want) {
		t.Errorf("p99 ratios %v, want %v", got, want)
	}
	if got := median(perRound(od.rps(), ref.rps())); got != 0.9 {
		t.Errorf("median throughput ratio %v, want 0.9", got)
	}
	if got := od.medianRPS(); got != 900 {
		t.Errorf("median rate %v, want 900", got)
	}
	if got := od.medianP99(); got != 20*time.Millisecond {
		t.Errorf("median p99 %v, want 20ms", got)
	}
	if got := od.requests(); got != 60 {
		t.Errorf("requests %d, want 60", got)
	}
	if got := od.non2xx(); got != 3 {
		t.Errorf("non-2xx %d, want 3", got)
	}
}

func TestRatioText(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want string
	}{
		{nil, "no rounds"},
		{[]float64{0.934}, "0.93× (1 round)"},
		{[]float64{0.88, 1.01, 0.93}, "median 0.93× (rounds 0.88, 1.01, 0.93)"},
		{[]float64{0.5, 0.7}, "median 0.60× (rounds 0.50, 0.70)"},
	} {
		if got := ratioText(tc.in); got != tc.want {
			t.Errorf("ratioText(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDrainText(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want string
	}{
		{"one round", []time.Duration{15600 * time.Millisecond}, "all applied 15.6s after the burst ended (1 round)"},
		{"median of the rounds", []time.Duration{20 * s, 12 * s, 14 * s}, "all applied 14s after the burst ended (median of the rounds: 20s, 12s, 14s)"},
		{"a round still queued", []time.Duration{12 * s, -180 * s, 14 * s}, "**still queued** 3m0s after the burst of round 2 ended (the runs after it overlapped its apply)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := drainText(tc.in); got != tc.want {
				t.Errorf("drainText(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRoundStates(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	const n = 60000
	// Round r's states are (start, start + n ms]: each round's after the
	// one before, none shared.
	for round := range 5 {
		end := roundStates(now, round, n).Add(n * time.Millisecond)
		if next := roundStates(now, round+1, n); next.Before(end) {
			t.Errorf("round %d's states end at %s, after round %d's start at %s", round, end, round+1, next)
		}
	}
	if got := roundStates(now, 0, n); !got.Equal(now) {
		t.Errorf("round 0 starts at %s, want now", got)
	}
	for _, tc := range []struct {
		name   string
		rounds int
		want   time.Time
	}{
		{"a few rounds: an hour on, as before", 3, now.Add(time.Hour)},
		{"more rounds than an hour of states: after the last", 90, now.Add(90 * n * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sustainedStates(now, tc.rounds, n)
			if !got.Equal(tc.want) {
				t.Errorf("sustained states start at %s, want %s", got, tc.want)
			}
			if last := roundStates(now, tc.rounds-1, n).Add(n * time.Millisecond); got.Before(last) {
				t.Errorf("sustained states start at %s, before the last round's end %s", got, last)
			}
		})
	}
}

func TestHooksPerRound(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{2 * time.Second, 60000},
		{5 * time.Second, 60000},
		{10 * time.Second, 120000},
		{30 * time.Second, 360000},
	} {
		if got := hooksPerRound(tc.d); got != tc.want {
			t.Errorf("hooksPerRound(%s) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

// TestRowsCheckTheMedian: the table checks a target on the median of the
// rounds' ratios, so one round far off does not decide it, and shows every
// round's ratio.
func TestRowsCheckTheMedian(t *testing.T) {
	ms := time.Millisecond
	r := results{
		rounds:   3,
		refFresh: runs{{rps: 1000, p99: 10 * ms}, {rps: 1000, p99: 10 * ms}, {rps: 1000, p99: 10 * ms}},
		// Round 2 far off (0.50×, p99 3×); rounds 1 and 3 within the targets.
		odFresh: runs{{rps: 900, p99: 12 * ms, requests: 100}, {rps: 500, p99: 30 * ms, requests: 100}, {rps: 850, p99: 11 * ms, requests: 100}},
		// Stale: one round at 1.00×, the median below the target.
		odStale:       runs{{rps: 700, requests: 100}, {rps: 500, requests: 100}, {rps: 700, requests: 100}},
		refList:       wrkResult{rps: 100},
		odList:        wrkResult{rps: 80},
		pgbench:       []float64{1000, 1000, 1000},
		odIngest:      runs{{rps: 400, requests: 4000}, {rps: 600, requests: 6000}, {rps: 700, requests: 7000}},
		burstDrain:    []time.Duration{2 * time.Second, 3 * time.Second, 4 * time.Second},
		hooksPerRound: 60000,
	}
	var b strings.Builder
	r.viewRows(&b)
	r.ingestRows(&b)
	got := b.String()
	for _, want := range []string{
		"throughput median 0.85× (rounds 0.90, 0.50, 0.85); p99 median 1.20× (rounds 1.20, 3.00, 1.10) | ≥ 0.8×, p99 ≤ 1.5× (medians): met",
		"median 0.82× (rounds 0.78, 1.00, 0.82) the fresh view | ≥ 0.9× (median): **not met**",
		"0 in 300 views over 3 fresh runs",
		"0 in 300 views over 3 stale runs: background refreshes, at most 1 a second per shop (the budget), none waited on | | within the budget, ≤ 0",
		"median 0.60× (rounds 0.40, 0.60, 0.70) | ≥ 0.5× (median): met",
		"all applied 3s after the burst ended (median of the rounds: 2s, 3s, 4s)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the rows lack %q:\n%s", want, got)
		}
	}

	// A round whose wrk sent more requests than deliveries measured the
	// dedup: the ingest target is not met whatever the ratio.
	r.odIngest[1].requests = 60001
	b.Reset()
	r.ingestRows(&b)
	if got := b.String(); !strings.Contains(got, "**round 2 sent 60001 requests of 60000 deliveries**") || !strings.Contains(got, "(median): **not met**") {
		t.Errorf("a round that resent deliveries is not flagged:\n%s", got)
	}

	// One thread came round to its first delivery while the total stayed
	// below the deliveries (the other thread was slower).
	r.odIngest[1].requests = 40000
	r.odIngest[1].threads, r.odIngest[1].wrapped = 2, 1
	b.Reset()
	r.ingestRows(&b)
	if got := b.String(); !strings.Contains(got, "**round 2: 1 of 2 wrk threads came round to their first delivery again**") || !strings.Contains(got, "(median): **not met**") {
		t.Errorf("a thread that resent deliveries is not flagged:\n%s", got)
	}
	r.odIngest[1].wrapped = 0

	// A burst still queued (or a drain that failed) when the next run
	// started: that run shared the machine with its apply.
	r.odIngest[1].requests = 6000
	r.burstDrain[2] = -180 * time.Second
	r.drainErrs = []string{"round 3: drain: 5 deliveries or apply jobs still unapplied after 3m0s"}
	b.Reset()
	r.ingestRows(&b)
	if got := b.String(); !strings.Contains(got, "(median): **not met**") || !strings.Contains(got, "**still queued**") ||
		!strings.Contains(got, "**round 3: drain: 5 deliveries") || !strings.Contains(got, "else the ingest row is not met): **not met**") {
		t.Errorf("a burst still queued does not fail the ingest row:\n%s", got)
	}
}

func TestRoundsNote(t *testing.T) {
	for _, tc := range []struct {
		rows         string
		rounds       int
		want, reject []string
	}{
		{"all", 3, []string{"(the views of one order, webhook ingest)", "median of the 3 rounds' ratios", "a single disturbed round moves less than it moves the mean", "The list and the sustained apply-lag run are one run each."}, nil},
		{"views", 3, []string{"(the views of one order)", "The list is one run a side."}, []string{"ingest", "apply-lag"}},
		{"ingest", 3, []string{"(webhook ingest)", "The sustained apply-lag run is one run."}, []string{"views", "The list"}},
		{"all", 2, []string{"with 2 rounds their mean"}, []string{"does not move", "moves less than it moves"}},
		{"all", 1, []string{"from one round"}, []string{"median of the"}},
	} {
		got := results{rounds: tc.rounds}.roundsNote(tc.rows)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("-rows %s, %d rounds: lacks %q: %s", tc.rows, tc.rounds, w, got)
			}
		}
		for _, w := range tc.reject {
			if strings.Contains(got, w) {
				t.Errorf("-rows %s, %d rounds: says %q: %s", tc.rows, tc.rounds, w, got)
			}
		}
	}
}

const wrkOutput = `Running 2s test @ http://127.0.0.1:8080
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    2.00ms  40.00ms   90.00%
    Req/Sec     6.00k   500.00    7.00k    70.00%
  Latency Distribution
     50%    4.80ms
     75%    6.00ms
     90%    7.50ms
     99%   12.34ms
  24000 requests in 2.00s, 30.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:  12000.00
Transfer/sec:     15.00MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk([]byte(wrkOutput))
	if err != nil {
		t.Fatal(err)
	}
	if want := (wrkResult{rps: 12000, p99: 12340 * time.Microsecond, requests: 24000, non2xx: 5, sockErrs: 10}); r != want {
		t.Errorf("parsed %+v, want %+v", r, want)
	}
	hooks := wrkOutput + "hook thread 0: 30000 deliveries, wrapped 0\nhook thread 1: 30000 deliveries, wrapped 2\n"
	if h, err := parseWrk([]byte(hooks)); err != nil || h.threads != 2 || h.wrapped != 1 {
		t.Errorf("hook threads: %+v, %v; want 2 threads, 1 wrapped", h, err)
	}
	if r.failures() != 15 {
		t.Errorf("failures %d, want 15", r.failures())
	}
	// No p99 line (or a p99 of 0): an error, not a p99 that meets any
	// "at most" target.
	for _, out := range []string{
		strings.Replace(wrkOutput, "     99%   12.34ms\n", "", 1),
		strings.Replace(wrkOutput, "12.34ms", "0.00us", 1),
	} {
		if _, err := parseWrk([]byte(out)); err == nil || !strings.Contains(err.Error(), "no p99") {
			t.Errorf("no p99: error %v", err)
		}
	}
	if _, err := parseWrk([]byte(strings.Replace(wrkOutput, "Requests/sec:  12000.00", "", 1))); err == nil {
		t.Error("no rate: no error")
	}
}

func TestPerRoundAtMost(t *testing.T) {
	got := perRoundAtMost([]float64{12, 30, 5}, []float64{10, 0, 10})
	if got[0] != 1.2 || !math.IsInf(got[1], 1) || got[2] != 0.5 {
		t.Errorf("at-most ratios %v, want [1.2 +Inf 0.5]", got)
	}
	// A zero denominator fails the p99 target instead of passing it.
	ms := time.Millisecond
	r := results{
		rounds:   1,
		refFresh: runs{{rps: 1000, p99: 0}},
		odFresh:  runs{{rps: 1000, p99: 10 * ms, requests: 100}},
		odStale:  runs{{rps: 1000, p99: 10 * ms, requests: 100}},
	}
	var b strings.Builder
	r.viewRows(&b)
	if got := b.String(); !strings.Contains(got, "p99 +Inf× (1 round) | ≥ 0.8×, p99 ≤ 1.5× (medians): **not met**") {
		t.Errorf("a zero reference p99 meets the target:\n%s", got)
	}
}

func TestSocketErrorsFail(t *testing.T) {
	ms := time.Millisecond
	r := results{
		rounds:   1,
		refFresh: runs{{rps: 1000, p99: 10 * ms}},
		odFresh:  runs{{rps: 1000, p99: 10 * ms, requests: 100, sockErrs: 3}},
		odStale:  runs{{rps: 1000, p99: 10 * ms, requests: 100}},
		pgbench:  []float64{1000},
		odIngest: runs{{rps: 900, p99: 10 * ms, requests: 100, sockErrs: 1}},
		// Drained.
		burstDrain:    []time.Duration{time.Second},
		hooksPerRound: 60000,
	}
	var b strings.Builder
	r.viewRows(&b)
	r.ingestRows(&b)
	r.viewFailures(&b)
	got := b.String()
	for _, want := range []string{
		"(medians): **not met**",
		"the fresh view | ≥ 0.9× (median): **not met**",
		"900/s (0 non-2xx, 1 socket errors)",
		"0.90× (1 round) | ≥ 0.5× (median): **not met**",
		"orderdesk fresh 0 + 3",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
}

func TestStaleCallsBudget(t *testing.T) {
	if got := refreshBudget(10*time.Second + 30*time.Millisecond); got != 12*callsPerRefresh {
		t.Errorf("budget of a 10.03 s run: %d, want 12 refreshes", got)
	}
	r := results{rounds: 2, odStale: runs{{requests: 1000}, {requests: 1000}}, staleBudget: 24, staleCalls: 24}
	var b strings.Builder
	r.viewRows(&b)
	if got := b.String(); !strings.Contains(got, "24 in 2000 views over 2 stale runs") || !strings.Contains(got, "≤ 24 (a refresh of 1 call a second begun, +1 a run): met") {
		t.Errorf("stale calls within the budget:\n%s", got)
	}
	// Repeat views of stale copies multiplying calls: not met.
	r.staleCalls = 25
	b.Reset()
	r.viewRows(&b)
	if got := b.String(); !strings.Contains(got, "+1 a run): **not met**") {
		t.Errorf("stale calls past the budget:\n%s", got)
	}
}

// TestRowsFlag: an unknown -rows is refused before anything runs (it ran
// everything and overwrote -out).
func TestRowsFlag(t *testing.T) {
	for _, rows := range []string{"view", "ingests", ""} {
		err := run(t.Context(), []string{"-rows", rows, "-out", t.TempDir() + "/never.md"})
		if err == nil || !strings.Contains(err.Error(), "all, views or ingest") {
			t.Errorf("-rows %q: %v", rows, err)
		}
	}
}
