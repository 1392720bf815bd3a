package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// jobMetrics times River jobs per kind: how long a job waited past the
// time it was due, how long its work took and how it ended; and, for
// webhook deliveries, the lag from the delivery's arrival to its order
// being stored (observed by the batch loop for pending deliveries, and
// here from the job's insert for a delivery applied by its own job).
// Kinds are the registered workers' (a bounded, code-defined set).
type jobMetrics struct {
	river.MiddlewareDefaults
	wait     *prometheus.HistogramVec
	duration *prometheus.HistogramVec
	lag      prometheus.Histogram
	now      func() time.Time
}

func newJobMetrics(reg prometheus.Registerer) (*jobMetrics, error) {
	m := &jobMetrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderdesk_river_job_wait_seconds",
			Help:    "Time a River job waited between being due (inserted, or its retry's time) and an attempt starting, by kind.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderdesk_river_job_duration_seconds",
			Help:    "Time a River job attempt took, by kind and outcome (ok, error, cancelled, snoozed, panic).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120},
		}, []string{"kind", "outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderdesk_webhook_apply_lag_seconds",
			Help:    "Webhook-to-visible lag: from a Shopify delivery's arrival to its order stored (its batch committed, or its apply job succeeding from the job's insert), retries included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}),
		now: time.Now,
	}
	for _, c := range []prometheus.Collector{m.wait, m.duration, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register job metrics: %w", err)
		}
	}
	return m, nil
}

// Work implements rivertype.WorkerMiddleware.
func (m *jobMetrics) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	start := m.now()
	m.wait.WithLabelValues(job.Kind).Observe(max(0, start.Sub(job.ScheduledAt).Seconds()))
	outcome := "panic"
	defer func() {
		m.duration.WithLabelValues(job.Kind, outcome).Observe(m.now().Sub(start).Seconds())
	}()
	err = doInner(ctx)
	outcome = outcomeOf(err)
	if err == nil && job.Kind == (ApplyWebhookArgs{}).Kind() {
		m.lag.Observe(max(0, m.now().Sub(job.CreatedAt).Seconds()))
	}
	return err
}

func outcomeOf(err error) string {
	var (
		cancel *river.JobCancelError
		snooze *river.JobSnoozeError
	)
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &cancel):
		return "cancelled"
	case errors.As(err, &snooze):
		return "snoozed"
	}
	return "error"
}
