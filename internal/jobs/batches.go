package jobs

import (
	"context"
	"log/slog"
	"time"
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
	kick    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func newBatchLoop(applier Applier, metrics *jobMetrics, log *slog.Logger, every time.Duration) *batchLoop {
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	return &batchLoop{applier: applier, metrics: metrics, log: log, every: every, kick: make(chan struct{}, 1)}
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

func (b *batchLoop) run(ctx context.Context) {
	tick := time.NewTicker(b.every)
	defer tick.Stop()
	for {
		res, err := b.applier.ApplyPending(ctx)
		if b.metrics != nil {
			now := b.metrics.now()
			for _, at := range res.ReceivedAt {
				b.metrics.lag.Observe(max(0, now.Sub(at).Seconds()))
			}
		}
		if err != nil && ctx.Err() == nil {
			b.log.ErrorContext(ctx, "applying pending webhook deliveries", "err", err)
		}
		if err == nil && res.Claimed > 0 {
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
