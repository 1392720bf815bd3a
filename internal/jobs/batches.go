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
	kick    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func newBatchLoop(applier Applier, metrics *jobMetrics, log *slog.Logger, every time.Duration) *batchLoop {
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	return &batchLoop{applier: applier, metrics: metrics, log: log, every: every, clock: time.Now, kick: make(chan struct{}, 1)}
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
// deliveries go on arriving in this process and those it applied waited
// less than yieldWithin, it pauses as long as the batch took (at most
// maxYield) before the next. Answering Shopify comes first: a delivery
// not answered within its 5 s is retried and counts towards the
// subscription's removal, while a recorded one is safe and only applied
// later. Below a full batch (a sustained rate the loop keeps up with) it
// never pauses, and once the oldest delivery it applies has waited
// yieldWithin it runs batches back to back again, so under sustained
// overload the copy falls at most about yieldWithin behind for this.
const (
	yieldWithin = 10 * time.Second
	maxYield    = time.Second
)

func (b *batchLoop) run(ctx context.Context) {
	tick := time.NewTicker(b.every)
	defer tick.Stop()
	for {
		// A kick left from before this batch says nothing about ingest
		// while it runs.
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
			if pause := b.yield(res, now.Sub(start), now); pause > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(pause):
				}
			}
			continue // more may be waiting
		}
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
// recorded while it ran, and the oldest of those it applied waited less
// than yieldWithin.
func (b *batchLoop) yield(res webhooks.Applied, took time.Duration, now time.Time) time.Duration {
	if res.Claimed < webhooks.BatchSize || len(res.ReceivedAt) == 0 {
		return 0
	}
	select {
	case <-b.kick:
		// Put back: the loop's wait after the pause would miss it.
		b.rearm()
	default:
		return 0 // no delivery recorded here while the batch ran
	}
	if now.Sub(slices.MinFunc(res.ReceivedAt, time.Time.Compare)) >= yieldWithin {
		return 0
	}
	return min(took, maxYield)
}

// rearm re-arms the loop's wake-up.
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
	select {
	case r.batches.kick <- struct{}{}:
	default:
	}
}
