package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Result is one attempt with its outcome, recorded together.
type Result struct {
	Due     Due
	Attempt Attempt
	Outcome Outcome
}

// Observer is told about every attempt (metrics).
type Observer interface {
	// Attempted: one attempt at endpointID; lag is from the event's
	// creation to the answer, for attempts that delivered.
	Attempted(endpointID string, v Verdict, latency, lag time.Duration)
}

// Deliverer sends an endpoint's due deliveries: each order's events in
// sequence, several orders at once, each attempt signed and recorded.
type Deliverer struct {
	store    Store
	client   *http.Client
	log      *slog.Logger
	obs      Observer
	now      func() time.Time
	rnd      func() float64
	batch    int
	parallel int
	lease    time.Duration
	budget   time.Duration
}

// DelivererOption tunes a Deliverer.
type DelivererOption func(*Deliverer)

// WithClock replaces the clock (tests: a receiver down for a day).
func WithClock(now func() time.Time) DelivererOption { return func(d *Deliverer) { d.now = now } }

// WithJitter replaces the jitter source (uniform in [0, 1)).
func WithJitter(r func() float64) DelivererOption { return func(d *Deliverer) { d.rnd = r } }

// WithObserver reports every attempt to o.
func WithObserver(o Observer) DelivererOption { return func(d *Deliverer) { d.obs = o } }

// WithParallel sets how many deliveries of one endpoint are in flight at
// once (each to a different order), default 32.
func WithParallel(n int) DelivererOption {
	return func(d *Deliverer) {
		if n > 0 {
			d.parallel, d.batch = n, 4*n
		}
	}
}

// NewDeliverer sends with client (URLPolicy.Client), each attempt bounded
// by timeout: a claimed delivery whose sender died is due again after a
// lease of twice the timeout plus 30 s.
func NewDeliverer(st Store, client *http.Client, timeout time.Duration, log *slog.Logger, opts ...DelivererOption) *Deliverer {
	d := &Deliverer{store: st, client: client, log: log, now: time.Now, parallel: 32, batch: 128,
		lease: 2*timeout + 30*time.Second, budget: 30 * time.Second}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Run delivers what is due at the endpoint until nothing is, or for about
// 30 s. It returns how many attempts it made. A disabled or deleted
// endpoint gets nothing.
func (d *Deliverer) Run(ctx context.Context, endpointID string) (int, error) {
	start := time.Now()
	made := 0
	for time.Since(start) < d.budget {
		ep, err := d.store.Endpoint(ctx, endpointID)
		if errors.Is(err, ErrNotFound) {
			return made, nil
		}
		if err != nil {
			return made, err
		}
		if ep.State != EndpointEnabled {
			return made, nil
		}
		dues, err := d.store.ClaimDeliveries(ctx, endpointID, d.now(), d.lease, d.batch)
		if err != nil {
			return made, err
		}
		if len(dues) == 0 {
			return made, nil
		}
		results := make([]Result, len(dues))
		sem := make(chan struct{}, d.parallel)
		var wg sync.WaitGroup
		for i, due := range dues {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = d.attempt(ctx, ep, due)
			}()
		}
		wg.Wait()
		made += len(results)
		if err := d.store.RecordAttempts(ctx, results); err != nil {
			return made, err
		}
		for _, r := range results {
			if r.Outcome.Disable != "" {
				d.log.WarnContext(ctx, "event endpoint disabled", "endpoint_id", endpointID, "reason", r.Outcome.Disable)
				return made, nil
			}
		}
	}
	return made, nil
}

// attempt sends one delivery and judges the answer.
func (d *Deliverer) attempt(ctx context.Context, ep Endpoint, due Due) Result {
	at := d.now()
	status, errText, latency := d.send(ctx, ep, due, at)
	out := Next(status, errText, due.Attempts, due.FirstFailedAt, at, d.rnd)
	a := Attempt{EndpointID: ep.ID, EventID: due.EventID, At: at, Status: status, Latency: latency, Error: errText}
	if out.State == DeliveryPending {
		next := out.Next
		a.NextAttempt = &next
	}
	if d.obs != nil {
		lag := time.Duration(0)
		if out.State == DeliveryDelivered && !due.CreatedAt.IsZero() {
			lag = time.Since(due.CreatedAt)
		}
		d.obs.Attempted(ep.ID, Judge(status), latency, lag)
	}
	return Result{Due: due, Attempt: a, Outcome: out}
}

const maxErrorText = 500

func (d *Deliverer) send(ctx context.Context, ep Endpoint, due Due, at time.Time) (int, string, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(due.Payload))
	if err != nil {
		return 0, clip(fmt.Sprintf("build request: %v", err)), 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "orderdesk-events/1")
	if err := Sign(req.Header, due.EventID, at, due.Payload, ep.SigningSecrets(at)); err != nil {
		return 0, clip(err.Error()), 0
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, clip(err.Error()), time.Since(start)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	latency := time.Since(start)
	if Judge(resp.StatusCode) == Delivered {
		return resp.StatusCode, "", latency
	}
	return resp.StatusCode, "HTTP " + resp.Status, latency
}

func clip(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText]
	}
	return s
}
