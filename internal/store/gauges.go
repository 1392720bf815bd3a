package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Gauges is a Prometheus collector of what the database holds and waits
// on, read at each scrape: stored actions by kind and status and the age of
// the oldest still pending, River's queue by job kind and state with the
// age of the oldest job ready to run, and the outbound event deliveries
// still pending. Every replica reports the same database: aggregate with
// max(), not sum(). Label values come from code-defined sets (job kinds,
// states, action kinds); at most maxLabelValues distinct values per label
// are reported, the rest as "other".
type Gauges struct {
	s       *Store
	log     *slog.Logger
	timeout time.Duration
	now     func() time.Time
}

// Gauges returns the store's collector; register it with the registry
// /metrics serves.
func (s *Store) Gauges(log *slog.Logger) *Gauges {
	return &Gauges{s: s, log: log, timeout: 3 * time.Second, now: time.Now}
}

const maxLabelValues = 50

var (
	descActions = prometheus.NewDesc("orderdesk_actions",
		"Stored cancel/refund actions by kind and status (succeeded, failed, pending).", []string{"kind", "status"}, nil)
	descPendingAge = prometheus.NewDesc("orderdesk_actions_pending_oldest_age_seconds",
		"Age of the oldest action still pending (0 when none): an action Shopify has not settled.", nil, nil)
	descJobs = prometheus.NewDesc("orderdesk_river_jobs",
		"River jobs waiting or running, by kind and state (available, scheduled, retryable, running): the queue depth.", []string{"kind", "state"}, nil)
	descJobAge = prometheus.NewDesc("orderdesk_river_job_oldest_available_age_seconds",
		"How long the oldest job ready to run has waited since it was due, by kind.", []string{"kind"}, nil)
	descEventsPending = prometheus.NewDesc("orderdesk_event_deliveries_pending",
		"Outbound event deliveries not yet accepted by their endpoint: the delivery backlog.", nil, nil)
	descEventsAge = prometheus.NewDesc("orderdesk_event_deliveries_pending_oldest_age_seconds",
		"Age of the oldest outbound event delivery still pending (0 when none).", nil, nil)
	descEndpointPending = prometheus.NewDesc("orderdesk_event_endpoint_pending",
		"Outbound event deliveries an endpoint has not accepted yet, by endpoint id (disabled endpoints' included).", []string{"endpoint_id"}, nil)
	descEndpointRetrying = prometheus.NewDesc("orderdesk_event_endpoint_retrying",
		"Pending deliveries of an endpoint that failed at least once and wait for their retry: the retry backlog, by endpoint id.", []string{"endpoint_id"}, nil)
	descEndpointAge = prometheus.NewDesc("orderdesk_event_endpoint_oldest_undelivered_age_seconds",
		"Age of the oldest event an endpoint has not received yet (from the event's creation), by endpoint id.", []string{"endpoint_id"}, nil)
	descWebhooksPending = prometheus.NewDesc("orderdesk_webhook_deliveries_pending",
		"Webhook deliveries recorded with their order and not yet applied: the apply loop's backlog (deliveries handed to a job are in orderdesk_river_jobs).", nil, nil)
	descWebhooksAge = prometheus.NewDesc("orderdesk_webhook_deliveries_pending_oldest_age_seconds",
		"Age of the oldest webhook delivery waiting to be applied (0 when none): its delay to visible so far.", nil, nil)
	descUp = prometheus.NewDesc("orderdesk_store_gauges_up",
		"1 when the last scrape read every database gauge, 0 when a query failed (the failed gauges are left out).", nil, nil)
)

// Describe implements prometheus.Collector.
func (g *Gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descActions, descPendingAge, descJobs, descJobAge, descEventsPending, descEventsAge, descEndpointPending, descEndpointRetrying, descEndpointAge, descWebhooksPending, descWebhooksAge, descUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *Gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	up := 1.0
	for _, read := range []func(context.Context, chan<- prometheus.Metric) error{g.actions, g.jobs, g.events, g.webhooks} {
		if err := read(ctx, ch); err != nil {
			up = 0
			g.log.WarnContext(ctx, "database gauges", "err", err)
		}
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}

type countRow struct {
	A, B string
	N    int64
}

// bounded keeps at most maxLabelValues distinct values of a label.
type bounded map[string]bool

func (b bounded) label(v string) string {
	if b[v] || len(b) < maxLabelValues {
		b[v] = true
		return v
	}
	return "other"
}

func (g *Gauges) age(t *time.Time) float64 {
	if t == nil {
		return 0
	}
	return max(0, g.now().Sub(*t).Seconds())
}

func (g *Gauges) actions(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []countRow
	if err := g.s.db.WithContext(ctx).Raw("SELECT kind AS a, status AS b, count(*) AS n FROM actions GROUP BY kind, status").Scan(&rows).Error; err != nil {
		return err
	}
	kinds, statuses := bounded{}, bounded{}
	sums := map[[2]string]float64{}
	for _, r := range rows {
		status := r.B
		if status == "unknown" { // the name of pending before migration 00005
			status = "pending"
		}
		sums[[2]string{kinds.label(r.A), statuses.label(status)}] += float64(r.N)
	}
	for k, n := range sums {
		ch <- prometheus.MustNewConstMetric(descActions, prometheus.GaugeValue, n, k[0], k[1])
	}
	oldest, err := g.oldest(ctx, "SELECT created_at FROM actions WHERE status IN ('pending', 'unknown') ORDER BY created_at LIMIT 1")
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descPendingAge, prometheus.GaugeValue, g.age(oldest))
	return nil
}

// jobStates are the states of a job not yet finished: the queue.
var jobStates = []string{"available", "scheduled", "retryable", "running"}

func (g *Gauges) jobs(ctx context.Context, ch chan<- prometheus.Metric) error {
	// Every kind River has seen (finished jobs stay a while) gets a series
	// per state, 0 when empty, so a drained queue shows as 0, not as gone.
	var kinds []string
	if err := g.s.db.WithContext(ctx).Raw("SELECT DISTINCT kind FROM river_job ORDER BY kind").Scan(&kinds).Error; err != nil {
		return err
	}
	var rows []countRow
	err := g.s.db.WithContext(ctx).Raw("SELECT kind AS a, state AS b, count(*) AS n FROM river_job WHERE state IN ? GROUP BY kind, state", jobStates).Scan(&rows).Error
	if err != nil {
		return err
	}
	labels := bounded{}
	counts := map[[2]string]float64{}
	ages := map[string]float64{}
	for _, k := range kinds {
		l := labels.label(k)
		ages[l] = 0
		for _, st := range jobStates {
			counts[[2]string{l, st}] += 0
		}
	}
	for _, r := range rows {
		counts[[2]string{labels.label(r.A), r.B}] += float64(r.N)
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, n, k[0], k[1])
	}
	for _, kind := range kinds {
		var due []time.Time
		// Per kind: the kinds are few, and River indexes jobs by state,
		// queue, priority and scheduled_at.
		if err := g.s.db.WithContext(ctx).Raw("SELECT scheduled_at FROM river_job WHERE state = 'available' AND kind = ? ORDER BY scheduled_at LIMIT 1", kind).Scan(&due).Error; err != nil {
			return err
		}
		if len(due) == 1 {
			l := labels.label(kind)
			ages[l] = max(ages[l], g.age(&due[0]))
		}
	}
	for kind, a := range ages {
		ch <- prometheus.MustNewConstMetric(descJobAge, prometheus.GaugeValue, a, kind)
	}
	return nil
}

// webhooks reports the pending deliveries, read through their partial
// index (webhook_deliveries_pending).
func (g *Gauges) webhooks(ctx context.Context, ch chan<- prometheus.Metric) error {
	const pending = "FROM webhook_deliveries WHERE payload IS NOT NULL AND applied_at IS NULL"
	var n int64
	if err := g.s.db.WithContext(ctx).Raw("SELECT count(*) " + pending).Scan(&n).Error; err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descWebhooksPending, prometheus.GaugeValue, float64(n))
	oldest, err := g.oldest(ctx, "SELECT received_at "+pending+" ORDER BY received_at LIMIT 1")
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descWebhooksAge, prometheus.GaugeValue, g.age(oldest))
	return nil
}

func (g *Gauges) events(ctx context.Context, ch chan<- prometheus.Metric) error {
	var n int64
	if err := g.s.db.WithContext(ctx).Raw("SELECT count(*) FROM event_deliveries WHERE state = 'pending'").Scan(&n).Error; err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descEventsPending, prometheus.GaugeValue, float64(n))
	oldest, err := g.oldest(ctx, "SELECT created_at FROM event_deliveries WHERE state = 'pending' ORDER BY created_at LIMIT 1")
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descEventsAge, prometheus.GaugeValue, g.age(oldest))
	// Per endpoint (ids, never shop domains), the largest backlogs first.
	var rows []struct {
		EndpointID string
		Pending    int64
		Retrying   int64
	}
	if err := g.s.db.WithContext(ctx).Raw(`SELECT endpoint_id, count(*) AS pending, sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS retrying
		FROM event_deliveries WHERE state <> 'delivered' GROUP BY endpoint_id ORDER BY pending DESC, endpoint_id LIMIT ?`, maxLabelValues).Scan(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(descEndpointPending, prometheus.GaugeValue, float64(r.Pending), r.EndpointID)
		ch <- prometheus.MustNewConstMetric(descEndpointRetrying, prometheus.GaugeValue, float64(r.Retrying), r.EndpointID)
		var ts []time.Time
		if err := g.s.db.WithContext(ctx).Raw("SELECT created_at FROM event_deliveries WHERE endpoint_id = ? AND state <> 'delivered' ORDER BY created_at LIMIT 1",
			r.EndpointID).Scan(&ts).Error; err != nil {
			return err
		}
		if len(ts) == 1 {
			ch <- prometheus.MustNewConstMetric(descEndpointAge, prometheus.GaugeValue, g.age(&ts[0]), r.EndpointID)
		}
	}
	return nil
}

// oldest runs a query selecting one created_at, or none.
func (g *Gauges) oldest(ctx context.Context, query string) (*time.Time, error) {
	var ts []time.Time
	if err := g.s.db.WithContext(ctx).Raw(query).Scan(&ts).Error; err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, nil
	}
	return &ts[0], nil
}
