package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/webhooks"
)

func full(received time.Time) webhooks.Applied {
	res := webhooks.Applied{Claimed: webhooks.BatchSize}
	for range webhooks.BatchSize {
		res.ReceivedAt = append(res.ReceivedAt, received)
	}
	return res
}

// The loop yields to ingest only under a burst: a full batch, deliveries
// recorded meanwhile, and the copy less than yieldWithin behind.
func TestBatchLoopYieldsOnlyUnderABurst(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	took := 300 * time.Millisecond
	tests := []struct {
		name   string
		res    webhooks.Applied
		took   time.Duration
		kicked bool
		want   time.Duration
	}{
		{"burst: full, kicked, recent", full(now.Add(-2 * time.Second)), took, true, took},
		{"a long batch pauses at most maxYield", full(now.Add(-2 * time.Second)), 3 * time.Second, true, maxYield},
		{"no delivery recorded while it ran", full(now.Add(-2 * time.Second)), took, false, 0},
		{"the copy is yieldWithin behind: catch up", full(now.Add(-yieldWithin)), took, true, 0},
		{"not full: the loop keeps up", webhooks.Applied{Claimed: 40, ReceivedAt: []time.Time{now}}, took, true, 0},
		{"full but nothing finished", webhooks.Applied{Claimed: webhooks.BatchSize}, took, true, 0},
	}
	for _, tt := range tests {
		b := newBatchLoop(nil, nil, slog.New(slog.DiscardHandler), 0)
		if tt.kicked {
			b.kick <- struct{}{}
		}
		if got := b.yield(tt.res, tt.took, now); got != tt.want {
			t.Errorf("%s: yield = %v, want %v", tt.name, got, tt.want)
		}
		// A kick seen by yield is kept for the loop's wait.
		if tt.kicked && len(b.kick) != 1 {
			t.Errorf("%s: the kick was lost", tt.name)
		}
	}
}

// applier hands out a scripted batch per call and records when it was called.
type scriptedApplier struct {
	batches []webhooks.Applied
	took    time.Duration
	kick    func()
	calls   chan time.Time
}

func (a *scriptedApplier) ApplyWebhook(context.Context, webhooks.Job) error { return nil }

func (a *scriptedApplier) ApplyPending(context.Context) (webhooks.Applied, error) {
	a.calls <- time.Now()
	if len(a.batches) == 0 {
		return webhooks.Applied{}, nil
	}
	res := a.batches[0]
	a.batches = a.batches[1:]
	time.Sleep(a.took)
	a.kick() // a delivery recorded while the batch ran
	return res, nil
}

// Run end to end: under a burst the next batch starts about one batch's
// time later; once deliveries stop arriving the loop drains back to back.
func TestBatchLoopPausesBetweenBurstBatches(t *testing.T) {
	t.Parallel()
	var b *batchLoop
	kicks := 2
	a := &scriptedApplier{took: 100 * time.Millisecond, calls: make(chan time.Time, 10)}
	a.kick = func() {
		if kicks > 0 {
			kicks--
			b.rearm()
		}
	}
	now := time.Now()
	a.batches = []webhooks.Applied{full(now), full(now), full(now), full(now)}
	b = newBatchLoop(a, nil, slog.New(slog.DiscardHandler), time.Hour)
	b.start(context.Background())
	defer b.stop()
	var at []time.Time
	for range 5 {
		select {
		case c := <-a.calls:
			at = append(at, c)
		case <-time.After(5 * time.Second):
			t.Fatalf("the loop made %d calls", len(at))
		}
	}
	gap := func(i int) time.Duration { return at[i+1].Sub(at[i]) }
	// Batches 1 and 2 were kicked: each is followed by a pause as long as
	// it took (100 ms) besides its own 100 ms.
	for i := range 2 {
		if g := gap(i); g < 190*time.Millisecond {
			t.Errorf("after burst batch %d the next started %v later, want about 200ms (batch and pause)", i+1, g)
		}
	}
	// Batches 3 and 4 saw no delivery arrive: back to back.
	for i := 2; i < 4; i++ {
		if g := gap(i); g > 180*time.Millisecond {
			t.Errorf("after drain batch %d the next started %v later, want about 100ms (no pause)", i+1, g)
		}
	}
}
