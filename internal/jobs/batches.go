package jobs

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// batchLoop applies pending webhook deliveries (those that carry their
// order) a batch at a time, beside the River workers: it runs a batch when
// a delivery is recorded in this process (KickApply), and otherwise every
// poll interval, for deliveries recorded by other replicas or left by a
// process that stopped before applying them. It runs batches back to back
// while they come back full.
type batchLoop struct {
	applier Applier
	metrics *jobMetrics // nil: no lag histogram
	log     *slog.Logger
	every   time.Duration
	clock   func() time.Time
	sleep   func(ctx context.Context, d time.Duration) bool
	kick    chan struct{}
	// catchingUp: a batch's oldest delivery had waited yieldWithin; no
	// yielding until a batch comes back not full.
	catchingUp bool
	cancel     context.CancelFunc
	done       chan struct{}
}

func newBatchLoop(applier Applier, metrics *jobMetrics, log *slog.Logger, every time.Duration) *batchLoop {
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	clock := time.Now
	if metrics != nil {
		clock = metrics.now // one clock for the lag histogram and the yield
	}
	return &batchLoop{applier: applier, metrics: metrics, log: log, every: every, clock: clock, sleep: sleepCtx, kick: make(chan struct{}, 1)}
}

func (b *batchLoop) start(ctx context.Context) {
	ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.done = make(chan struct{})
	go func() {
		defer close(b.done)
		b.run(ctx)
	}()
}

// stop ends the loop after the batch it is applying, if any.
func (b *batchLoop) stop() {
	if b.cancel != nil {
		b.cancel()
		<-b.done
	}
}

// Under a burst the loop yields to ingest: after a full batch, while
// deliveries go on arriving in this process, it pauses as long as the
// batch took (at most maxYield) before the next. Answering Shopify comes
// first: a delivery not answered within its 5 s is retried and counts
// towards the subscription's removal, while a recorded one is safe and
// only applied later. It never pauses below a full batch (a rate the loop
// keeps up with). Once the oldest delivery a batch applied has waited
// yieldWithin it catches up: batches back to back until one comes back
// not full (the backlog is gone), so after a burst the copy is again
// within a batch of the deliveries, whatever rate goes on. Replicas yield
// to their own ingest only (another replica's deliveries do not kick this
// loop).
const (
	yieldWithin = 10 * time.Second
	maxYield    = time.Second
)

func (b *batchLoop) run(ctx context.Context) {
	tick := time.NewTicker(b.every)
	defer tick.Stop()
	for {
		// A kick left from before this batch says nothing about ingest
		// while it runs (and the batch claims what it announced).
		select {
		case <-b.kick:
		default:
		}
		start := b.clock()
		res, err := b.applier.ApplyPending(ctx)
		now := b.clock()
		if b.metrics != nil {
			for _, at := range res.ReceivedAt {
				b.metrics.lag.Observe(max(0, now.Sub(at).Seconds()))
			}
		}
		if err != nil && ctx.Err() == nil {
			b.log.ErrorContext(ctx, "applying pending webhook deliveries", "err", err)
		}
		if err == nil && res.Claimed > 0 {
			if pause := b.yield(res, now.Sub(start), now); pause > 0 && !b.sleep(ctx, pause) {
				return
			}
			continue // more may be waiting
		}
		b.catchingUp = false // nothing waiting
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		case <-tick.C:
		}
	}
}

// yield is how long to pause after a batch that claimed res and took
// took (see yieldWithin): 0 unless the batch was full, deliveries were
// recorded while it ran, and the loop is not catching up.
func (b *batchLoop) yield(res webhooks.Applied, took time.Duration, now time.Time) time.Duration {
	if res.Claimed < webhooks.BatchSize {
		b.catchingUp = false // the backlog is gone
		return 0
	}
	if len(res.ReceivedAt) > 0 && now.Sub(slices.MinFunc(res.ReceivedAt, time.Time.Compare)) >= yieldWithin {
		b.catchingUp = true
	}
	select {
	case <-b.kick:
	default:
		return 0 // no delivery recorded here while the batch ran
	}
	if b.catchingUp || len(res.ReceivedAt) == 0 {
		return 0
	}
	return min(took, maxYield)
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// rearm wakes the loop (a delivery recorded).
func (b *batchLoop) rearm() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// KickApply wakes the loop that applies pending webhook deliveries.
func (r *Runner) KickApply() {
	if r.batches == nil {
		return
	}
	r.batches.rearm()
}
