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
	parallel int
	timeout  time.Duration
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
// once (each to a different order), default 32. It is also how many one
// round claims.
func WithParallel(n int) DelivererOption {
	return func(d *Deliverer) {
		if n > 0 {
			d.parallel = n
		}
	}
}

// NewDeliverer sends with client (URLPolicy.Client), each attempt bounded
// by timeout. A run claims one round at a time, as many deliveries as it
// sends at once, so a round lasts at most one timeout (the client's
// timeout covers the whole answer) and is recorded before the next is
// claimed. A claimed delivery whose sender died is due again after a
// lease of twice the timeout plus recordTimeout: a round (one timeout) and
// its recording (at most recordTimeout) always end within it, whatever the
// timeout, and a sender killed mid-round holds its deliveries no longer.
func NewDeliverer(st Store, client *http.Client, timeout time.Duration, log *slog.Logger, opts ...DelivererOption) *Deliverer {
	d := &Deliverer{store: st, client: client, log: log, now: time.Now, parallel: 32, timeout: timeout,
		lease: 2*timeout + recordTimeout, budget: 30 * time.Second}
	for _, o := range opts {
		o(d)
	}
	return d
}

// MaxRun is how long a Run can last: its budget, then the round begun
// just before the budget ran out, and that round's recording.
func (d *Deliverer) MaxRun() time.Duration { return d.budget + d.lease }

// Run delivers what is due at the endpoint until nothing is, or for about
// 30 s. It returns how many attempts it made. A disabled or deleted
// endpoint gets nothing. It claims no round it could not finish before
// ctx's deadline (a job's timeout): what it sent is always recorded.
//
// An order's next event leaves as soon as the previous one is delivered:
// when nothing is due after a round that delivered, the run fans out
// events committed meanwhile itself (an action's outcome written while
// the order's refund was in flight) and looks again, rather than leaving
// them to the pump's next round.
func (d *Deliverer) Run(ctx context.Context, endpointID string) (int, error) {
	start := time.Now()
	made, delivered := 0, false
	for time.Since(start) < d.budget {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d.timeout {
			return made, nil
		}
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
		dues, err := d.store.ClaimDeliveries(ctx, endpointID, d.now(), d.lease, d.parallel)
		if err != nil {
			return made, err
		}
		if len(dues) == 0 && delivered {
			delivered = false
			n, err := d.store.DispatchEvents(ctx, d.now(), dispatchBatch)
			if err != nil {
				return made, err
			}
			if n > 0 {
				continue
			}
		}
		if len(dues) == 0 {
			return made, nil
		}
		results := make([]Result, len(dues))
		var wg sync.WaitGroup
		for i, due := range dues {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = d.attempt(ctx, ep, due)
			}()
		}
		wg.Wait()
		made += len(results)
		// Recorded even when ctx ended meanwhile (shutdown): the receiver
		// has what it answered, and must not get it again for that.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		err = d.store.RecordAttempts(rctx, results)
		cancel()
		if err != nil {
			return made, err
		}
		for _, r := range results {
			if r.Outcome.State == DeliveryDelivered {
				delivered = true
			}
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

const (
	// dispatchBatch is how many events one dispatch fans out.
	dispatchBatch = 500
	// recordTimeout bounds recording a round after its run's ctx ended.
	recordTimeout = 10 * time.Second
)

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
