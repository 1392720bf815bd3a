package jobs

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderdesk/orderdesk/internal/events"
)

// EventMetrics counts outbound events: written (by type), delivery
// attempts by endpoint id and outcome, and the lag from an event's
// creation to its delivery. The backlog per endpoint is read from the
// database at scrape time (store gauges).
type EventMetrics struct {
	written  *prometheus.CounterVec
	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
	lag      prometheus.Histogram
}

// NewEventMetrics registers the events' metrics with reg.
func NewEventMetrics(reg prometheus.Registerer) (*EventMetrics, error) {
	m := &EventMetrics{
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_events_written_total",
			Help: "Outbound events written to the outbox (with the change they report), by type.",
		}, []string{"type"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_event_deliveries_total",
			Help: "Outbound event delivery attempts by endpoint id and outcome (delivered: 2xx; failed: anything else, retried; gone: 410, endpoint disabled).",
		}, []string{"endpoint_id", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderdesk_event_delivery_duration_seconds",
			Help:    "Time an endpoint took to answer a delivery attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderdesk_event_delivery_lag_seconds",
			Help:    "From an event's creation (its change committed) to its endpoint accepting it, retries included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400},
		}),
	}
	for _, c := range []prometheus.Collector{m.written, m.attempts, m.latency, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register event metrics: %w", err)
		}
	}
	return m, nil
}

// Written counts events just committed.
func (m *EventMetrics) Written(evs []events.Event) {
	for _, e := range evs {
		m.written.WithLabelValues(e.Type).Inc()
	}
}

// Attempted implements events.Observer.
func (m *EventMetrics) Attempted(endpointID string, v events.Verdict, latency, lag time.Duration) {
	outcome := "failed"
	switch v {
	case events.Delivered:
		outcome = "delivered"
		m.lag.Observe(lag.Seconds())
	case events.Gone:
		outcome = "gone"
	}
	m.attempts.WithLabelValues(endpointID, outcome).Inc()
	if latency > 0 {
		m.latency.Observe(latency.Seconds())
	}
}
