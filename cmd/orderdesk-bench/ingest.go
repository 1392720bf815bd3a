package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// unapplied counts what deliveries received since `since` left to do: the
// pending ones (recorded with their order, not yet stored) and the apply
// jobs not finished (deliveries handed to a job, other topics).
const unapplied = `SELECT
	(SELECT count(*) FROM webhook_deliveries WHERE received_at >= $1 AND payload IS NOT NULL AND applied_at IS NULL) +
	(SELECT count(*) FROM river_job WHERE kind = 'apply_webhook' AND created_at >= $1 AND finalized_at IS NULL)`

// drain waits until every delivery received since `since` is applied and
// says how long after now that was. When it was not (the wait ended, or the
// count could not be read) the duration is the wait, negated (at most
// -1ns), and an error says why: a drain that failed is not a drain.
func drain(ctx context.Context, dbURL string, since time.Time, within time.Duration) (time.Duration, error) {
	start := time.Now()
	waited := func() time.Duration { return min(-time.Since(start), -1) }
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return waited(), fmt.Errorf("drain: %w", err)
	}
	defer conn.Close(ctx)
	left := -1
	for time.Since(start) < within {
		if err := conn.QueryRow(ctx, unapplied, since).Scan(&left); err != nil {
			return waited(), fmt.Errorf("drain: %w", err)
		}
		if left == 0 {
			return time.Since(start), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return waited(), fmt.Errorf("drain: %d deliveries or apply jobs still unapplied after %s", left, within)
}

// drained is whether every drain finished (none negative).
func drained(ds []time.Duration) bool {
	for _, d := range ds {
		if d < 0 {
			return false
		}
	}
	return len(ds) > 0
}

type lagResult struct {
	sent, applied, failed int
	// behind counts orders whose stored copy is older than the newest
	// delivery sent for them (a lost delivery).
	behind        int
	p50, p99, max float64
	// drainErr is why the wait for every delivery to be applied ended
	// before they were (nil when they all were).
	drainErr error
}

// sustained sends rate deliveries a second for d, of states newer than
// from (newer than any stored), then measures, per delivery, the time from
// its record (received_at) to its order stored (applied_at, set after the
// batch's transaction commits), and checks every order sent holds at least
// its newest delivery's state.
func sustained(ctx context.Context, base, dbURL string, sb *shopifysandbox.Sandbox, ids []int64, rate int, d time.Duration, from time.Time) (lagResult, error) {
	total := rate * int(d.Seconds())
	type delivery struct {
		id, sig string
		body    []byte
	}
	list := make([]delivery, total)
	newest := map[int64]time.Time{}
	for i := range list {
		id := ids[(i*7919)%len(ids)]
		at := from.Add(time.Duration(i+1) * time.Millisecond)
		body, err := hookBody(sb, id, at)
		if err != nil {
			return lagResult{}, err
		}
		newest[id] = at
		list[i] = delivery{uuid.NewString(), webhooksig.Sign([]byte(benchSecret), body), body}
	}
	start := time.Now()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	var failed atomic.Int64
	var wg sync.WaitGroup
	work := make(chan delivery, total)
	for range 64 {
		wg.Go(func() {
			for dl := range work {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/shopify", strings.NewReader(string(dl.body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Shopify-Topic", "orders/updated")
				req.Header.Set("X-Shopify-Shop-Domain", benchShop)
				req.Header.Set("X-Shopify-Webhook-Id", dl.id)
				req.Header.Set("X-Shopify-Hmac-Sha256", dl.sig)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for _, dl := range list {
		<-tick.C
		work <- dl
	}
	tick.Stop()
	close(work)
	wg.Wait()
	r := lagResult{sent: total, failed: int(failed.Load())}
	if _, r.drainErr = drain(ctx, dbURL, start, 3*time.Minute); r.drainErr != nil {
		logf("sustained: %v", r.drainErr)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	err = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE applied_at IS NOT NULL),
		coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)), 0),
		coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)), 0),
		coalesce(max(extract(epoch FROM applied_at - received_at)), 0)
		FROM webhook_deliveries WHERE received_at >= $1`, start).Scan(&r.applied, &r.p50, &r.p99, &r.max)
	if err != nil {
		return r, err
	}
	sentIDs := make([]int64, 0, len(newest))
	for id := range newest {
		sentIDs = append(sentIDs, id)
	}
	rows, err := pool.Query(ctx, "SELECT id, updated_at FROM orders WHERE id = ANY($1)", sentIDs)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	have := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return r, err
		}
		have[id] = at
	}
	for id, at := range newest {
		if h, ok := have[id]; !ok || h.Before(at.Truncate(time.Millisecond)) {
			r.behind++
		}
	}
	return r, rows.Err()
}

// ingestRows runs the ingest rows: rounds of webhook ingest beside
// pgbench's one INSERT per commit (ingestPlan), each burst's drain, then
// once the apply lag under a sustained rate.
func ingestRows(ctx context.Context, c config, dir, dbURL, base string, sb *shopifysandbox.Sandbox, ids []int64, now time.Time, r *results) error {
	r.hooksPerRound = hooksPerRound(c.duration)
	hookFile := filepath.Join(dir, "hooks")
	for round := range c.rounds {
		// Signed orders/updated deliveries, new every round: new webhook
		// ids (one seen before measures the dedup) with newer states than
		// the rounds before sent. They go over the loaded orders in turn,
		// so each order gets several a round (hooksPerRound / len(ids):
		// about 6 at the defaults), each a newer state than the last.
		body, err := writeHooks(hookFile, sb, ids, r.hooksPerRound, roundStates(now, round, r.hooksPerRound))
		if err != nil {
			return fmt.Errorf("round %d, deliveries: %w", round+1, err)
		}
		for _, run := range ingestPlan(round) {
			switch run {
			case pgbenchRun:
				tps, err := runPgbench(ctx, dir, dbURL, body, c.hookConns, c.duration)
				if err != nil {
					return fmt.Errorf("round %d: %w", round+1, err)
				}
				r.pgbench = append(r.pgbench, tps)
				// Its WAL and dirty pages written out before the next run,
				// as after orderdesk's burst.
				if err := settle(ctx, dbURL); err != nil {
					return fmt.Errorf("round %d, after pgbench: %w", round+1, err)
				}
			case hookRun:
				start := time.Now()
				res, err := runWrk(dir, base, c.hookConns, c.duration, hookScript(hookFile))
				if err != nil {
					return fmt.Errorf("round %d, ingest: %w", round+1, err)
				}
				if res.threads == 0 {
					return fmt.Errorf("round %d, ingest: the hook script reported no thread's resends", round+1)
				}
				r.odIngest = append(r.odIngest, res)
				// The burst is applied before anything else is measured:
				// pgbench or the next round would share the machine
				// with its apply otherwise.
				d, err := drain(ctx, dbURL, start, 3*time.Minute)
				if err != nil {
					logf("round %d: %v", round+1, err)
					r.drainErrs = append(r.drainErrs, fmt.Sprintf("round %d: %v", round+1, err))
				}
				r.burstDrain = append(r.burstDrain, d)
				// The burst's dead rows vacuumed and its pages written
				// before the next run, not by autovacuum or the
				// checkpointer inside it.
				if err := settle(ctx, dbURL, "webhook_deliveries", "river_job"); err != nil {
					return fmt.Errorf("round %d, after the burst: %w", round+1, err)
				}
			}
		}
		od := r.odIngest[round]
		logf("ingest round %d/%d (%v): pgbench %.0f/s, orderdesk %.0f/s (%.2fx, %d non-2xx, %d socket errors, %d requests of %d deliveries), burst applied %s after it ended",
			round+1, c.rounds, ingestPlan(round), r.pgbench[round], od.rps, od.rps/r.pgbench[round], od.non2xx, od.sockErrs, od.requests, r.hooksPerRound, r.burstDrain[round])
	}

	// Apply lag under a sustained rate.
	var err error
	if r.lag, err = sustained(ctx, base, dbURL, sb, ids, c.rate, c.sustain, sustainedStates(now, c.rounds, r.hooksPerRound)); err != nil {
		return err
	}
	logf("sustained %d/s: sent %d, applied %d, lag p50 %.3fs p99 %.3fs", c.rate, r.lag.sent, r.lag.applied, r.lag.p50, r.lag.p99)
	return nil
}

// onlyIngest is -rows ingest: the ingest rows alone, printed.
func onlyIngest(ctx context.Context, c config, dir, dbURL, base string, sb *shopifysandbox.Sandbox, ids []int64, now time.Time, r *results) error {
	if err := ingestRows(ctx, c, dir, dbURL, base, sb, ids, now, r); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| | reference | orderdesk | ratio | target |\n|---|---|---|---|---|\n", machine())
	r.ingestRows(&b)
	b.WriteString("\n" + r.roundsNote(c.rows) + "\n")
	fmt.Println(b.String())
	return nil
}

// ingestRows writes the ingest rows of the results table.
func (r results) ingestRows(b *strings.Builder) {
	ir := perRound(r.odIngest.rps(), r.pgbench)
	odCell := fmt.Sprintf("%.0f/s (%d non-2xx, %d socket errors)", median(r.odIngest.rps()), r.odIngest.non2xx(), r.odIngest.sockErrs())
	resent := false
	for i, run := range r.odIngest {
		// A wrk thread came round to its first delivery again (each
		// holds its own share and wraps on its own, so the total need
		// not pass the deliveries): the repeats measure the dedup.
		switch {
		case run.wrapped > 0:
			resent = true
			odCell += fmt.Sprintf("; **round %d: %d of %d wrk threads came round to their first delivery again** (%d requests of %d deliveries; repeats measure the dedup)", i+1, run.wrapped, run.threads, run.requests, r.hooksPerRound)
		case run.requests > r.hooksPerRound:
			resent = true
			odCell += fmt.Sprintf("; **round %d sent %d requests of %d deliveries** (repeats measure the dedup)", i+1, run.requests, r.hooksPerRound)
		}
	}
	prefix := ""
	if len(r.pgbench) > 1 {
		prefix = "median "
	}
	fmt.Fprintf(b, "| webhook ingest vs one INSERT per commit | %s%.0f/s (pgbench) | %s%s | %s | ≥ 0.5× (median): %s |\n",
		prefix, median(r.pgbench), prefix, odCell, ratioText(ir), met(median(ir) >= 0.5 && r.odIngest.failures() == 0 && !resent && drained(r.burstDrain)))
	drainCell := drainText(r.burstDrain)
	if len(r.drainErrs) > 0 {
		drainCell += "; **" + strings.Join(r.drainErrs, "; ") + "**"
	}
	fmt.Fprintf(b, "| applying that burst (batches of pending deliveries) | — | %s | | every round's burst applied before the next run (else the ingest row is not met): %s |\n", drainCell, met(drained(r.burstDrain)))
	lagErr := ""
	if r.lag.drainErr != nil {
		lagErr = fmt.Sprintf("; **%v**", r.lag.drainErr)
	}
	fmt.Fprintf(b, "| apply lag at a sustained %d deliveries/s for %d s (delivery recorded → copy stored) | — | p50 %.3f s, p99 %.3f s, max %.3f s; %d sent, %d applied, %d refused/failed, %d orders behind their newest delivery%s | | p99 < 1 s, nothing lost: %s |\n",
		r.rate, r.lag.sent/max(r.rate, 1), r.lag.p50, r.lag.p99, r.lag.max, r.lag.sent, r.lag.applied, r.lag.failed, r.lag.behind, lagErr,
		met(r.lag.p99 < 1 && r.lag.applied == r.lag.sent && r.lag.behind == 0 && r.lag.drainErr == nil))
}
