package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The bench compares sides in rounds. On a shared machine the load drifts
// over minutes: one run of each side compares two moments more than two
// programs (runs of the same code minutes apart crossed the targets either
// way). A round runs the sides back to back, seconds apart, and its ratio
// is taken between those runs; the figure checked against a target is the
// median of the rounds' ratios: a single disturbed round moves the median
// less than the mean.

// inOrder is a round's order of runs: as given in even rounds (0, 2, …),
// reversed in odd ones. Round after round the runs go ABBA…, so a drift of
// the load over the bench favours no side; over an even number of rounds
// (the default, defaultRounds) each side runs first (after an idle moment)
// as often as second, while an odd number has the first-listed side (the
// reference, pgbench) first once more.
//
// defaultRounds is -rounds' default: even, for that balance.
const defaultRounds = 4

func inOrder[T any](round int, runs ...T) []T {
	out := slices.Clone(runs)
	if round%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// median is the middle value, or the mean of the two middle ones; 0 for
// none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// perRound is each round's ratio num[i] / den[i], over the rounds both
// sides measured. A round whose denominator measured nothing gives 0, a
// ratio that meets no "at least" target rather than an infinite one that
// meets it.
func perRound(num, den []float64) []float64 { return ratios(num, den, 0) }

// perRoundAtMost is perRound for a ratio checked against an "at most"
// target (a p99's): a round whose denominator measured nothing gives +Inf,
// which meets none, rather than 0, which would meet any.
func perRoundAtMost(num, den []float64) []float64 { return ratios(num, den, math.Inf(1)) }

// ratios is num[i] / den[i] over the rounds both sides measured, none
// where den[i] measured nothing.
func ratios(num, den []float64, none float64) []float64 {
	n := min(len(num), len(den))
	out := make([]float64, n)
	for i := range n {
		if den[i] > 0 {
			out[i] = num[i] / den[i]
		} else {
			out[i] = none
		}
	}
	return out
}

// ratioText is how the table shows a ratio over rounds: the median that is
// checked, then every round's ratio in the order they ran.
func ratioText(rs []float64) string {
	switch len(rs) {
	case 0:
		return "no rounds"
	case 1:
		return fmt.Sprintf("%.2f× (1 round)", rs[0])
	}
	each := make([]string, len(rs))
	for i, x := range rs {
		each[i] = fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("median %.2f× (rounds %s)", median(rs), strings.Join(each, ", "))
}

// runs are one side's wrk runs, one a round.
type runs []wrkResult

func (rs runs) rps() []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.rps
	}
	return out
}

func (rs runs) p99() []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = float64(r.p99)
	}
	return out
}

func (rs runs) medianRPS() float64 { return median(rs.rps()) }

func (rs runs) medianP99() time.Duration { return time.Duration(median(rs.p99())) }

func (rs runs) requests() int {
	n := 0
	for _, r := range rs {
		n += r.requests
	}
	return n
}

func (rs runs) non2xx() int {
	n := 0
	for _, r := range rs {
		n += r.non2xx
	}
	return n
}

func (rs runs) sockErrs() int {
	n := 0
	for _, r := range rs {
		n += r.sockErrs
	}
	return n
}

func (rs runs) failures() int { return rs.non2xx() + rs.sockErrs() }

// viewRun is one run of a view round.
type viewRun int

const (
	refView   viewRun = iota // the reference handler
	freshView                // orderdesk, every copy within the TTL
	staleView                // orderdesk, every copy older than the TTL
)

func (v viewRun) String() string {
	return [...]string{"reference", "fresh", "stale"}[v]
}

// viewPlan is a view round's runs: the fresh view in the middle, next to
// the reference (its throughput and p99 ratios) and to the stale view (the
// stale/fresh ratio), so one fresh run serves both comparisons and each
// pair's order alternates from round to round.
func viewPlan(round int) []viewRun { return inOrder(round, refView, freshView, staleView) }

// ingestRun is one run of an ingest round.
type ingestRun int

const (
	pgbenchRun ingestRun = iota // one INSERT per commit
	hookRun                     // orderdesk's webhook ingest
)

func (r ingestRun) String() string { return [...]string{"pgbench", "orderdesk"}[r] }

func ingestPlan(round int) []ingestRun { return inOrder(round, pgbenchRun, hookRun) }

// hooksPerRound is how many deliveries an ingest round prepares: 12,000 a
// second of the run (ingest reached 6,100/s here, and each of wrk's threads
// has half of them), at least 60,000, so no thread comes round to its first
// again (a repeated webhook id measures the dedup, not the ingest).
func hooksPerRound(d time.Duration) int {
	return max(60000, 12000*int(d.Seconds()))
}

// roundStates is the time after which a round's deliveries' states lie:
// delivery i of round r is updated at roundStates(now, r, n) + (i+1) ms, so
// every round sends newer states than any before it (an older state than
// the stored copy's is not stored: a cheaper apply than a real update).
func roundStates(now time.Time, round, perRound int) time.Time {
	return now.Add(time.Duration(round*perRound) * time.Millisecond)
}

// sustainedStates is where the sustained run's states start: an hour on,
// as before rounds, unless the ingest rounds' states reach further. Its
// check of lost deliveries needs them newer than anything stored before.
func sustainedStates(now time.Time, rounds, perRound int) time.Time {
	return maxTime(now.Add(time.Hour), roundStates(now, rounds, perRound))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// drainText says how long the rounds' bursts took to apply: the median of
// the rounds (each listed), or the first round whose burst was not known
// to be applied when the wait ended (a negative drain: still queued, or its
// count could not be read), after which the runs overlapped that apply.
func drainText(ds []time.Duration) string {
	each := make([]string, len(ds))
	fs := make([]float64, len(ds))
	for i, d := range ds {
		if d < 0 {
			return fmt.Sprintf("**still queued** %s after the burst of round %d ended (the runs after it overlapped its apply)", (-d).Round(time.Second), i+1)
		}
		each[i] = d.Round(100 * time.Millisecond).String()
		fs[i] = float64(d)
	}
	switch len(ds) {
	case 0:
		return "no rounds"
	case 1:
		return "all applied " + each[0] + " after the burst ended (1 round)"
	}
	return fmt.Sprintf("all applied %s after the burst ended (median of the rounds: %s)",
		time.Duration(median(fs)).Round(100*time.Millisecond), strings.Join(each, ", "))
}

// medians is a side's cell of the table: its median rate and median p99
// over the rounds (each median of its own: not necessarily one run's).
func (rs runs) medians() string {
	if len(rs) == 1 {
		return fmt.Sprintf("%.0f req/s, p99 %s", rs[0].rps, ms(rs[0].p99))
	}
	return fmt.Sprintf("median %.0f req/s, p99 %s", rs.medianRPS(), ms(rs.medianP99()))
}

// plural is "1 run" or "3 runs".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
