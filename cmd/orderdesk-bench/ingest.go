package main

import (
	"context"
	"io"
	"net/http"
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
// says how long after now that was (or the wait, negated, when it was not).
func drain(ctx context.Context, dbURL string, since time.Time, within time.Duration) time.Duration {
	start := time.Now()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	for time.Since(start) < within {
		var left int
		if err := conn.QueryRow(ctx, unapplied, since).Scan(&left); err == nil && left == 0 {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return -time.Since(start)
}

type lagResult struct {
	sent, applied, failed int
	// behind counts orders whose stored copy is older than the newest
	// delivery sent for them (a lost delivery).
	behind        int
	p50, p99, max float64
}

// sustained sends rate deliveries a second for d, then measures, per
// delivery, the time from its record (received_at) to its order stored
// (applied_at, set after the batch's transaction commits), and checks
// every order sent holds at least its newest delivery's state.
func sustained(ctx context.Context, base, dbURL string, sb *shopifysandbox.Sandbox, ids []int64, rate int, d time.Duration, now time.Time) (lagResult, error) {
	total := rate * int(d.Seconds())
	type delivery struct {
		id, sig string
		body    []byte
	}
	list := make([]delivery, total)
	newest := map[int64]time.Time{}
	for i := range list {
		id := ids[(i*7919)%len(ids)]
		at := now.Add(time.Hour + time.Duration(i+1)*time.Millisecond)
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
	drain(ctx, dbURL, start, 3*time.Minute)
	r := lagResult{sent: total, failed: int(failed.Load())}
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
