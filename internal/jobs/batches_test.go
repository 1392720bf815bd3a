package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// burstBatch is a full batch whose deliveries were received at received.
func burstBatch(received time.Time) webhooks.Applied {
	res := webhooks.Applied{Claimed: webhooks.BatchSize}
	for range webhooks.BatchSize {
		res.ReceivedAt = append(res.ReceivedAt, received)
	}
	return res
}

// The loop yields to ingest only under a burst: a full batch, deliveries
// recorded meanwhile, and not catching up.
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
		{"burst: full, kicked, recent", burstBatch(now.Add(-2 * time.Second)), took, true, took},
		{"a long batch pauses at most maxYield", burstBatch(now.Add(-2 * time.Second)), 3 * time.Second, true, maxYield},
		{"no delivery recorded while it ran", burstBatch(now.Add(-2 * time.Second)), took, false, 0},
		{"the copy is yieldWithin behind: catch up", burstBatch(now.Add(-yieldWithin)), took, true, 0},
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
	}
}

// Once behind by yieldWithin the loop catches up until a batch comes back
// not full: it does not yield again when the backlog's head is younger
// (review of dc50c9b: without this, a sustained rate between half and all
// of the loop's capacity kept the copy about yieldWithin behind for good).
func TestBatchLoopCatchesUpUntilTheBacklogIsGone(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	b := newBatchLoop(nil, nil, slog.New(slog.DiscardHandler), 0)
	step := func(res webhooks.Applied) time.Duration {
		b.rearm() // ingest goes on throughout
		return b.yield(res, 200*time.Millisecond, now)
	}
	if got := step(burstBatch(now.Add(-time.Second))); got == 0 {
		t.Fatal("a burst batch did not yield")
	}
	if got := step(burstBatch(now.Add(-yieldWithin))); got != 0 {
		t.Fatalf("behind by yieldWithin: yield = %v", got)
	}
	// Catching up: the head is younger now, still no pause.
	if got := step(burstBatch(now.Add(-time.Second))); got != 0 {
		t.Fatalf("catching up, a younger head: yield = %v, want none until the backlog is gone", got)
	}
	if got := step(webhooks.Applied{Claimed: 10, ReceivedAt: []time.Time{now}}); got != 0 {
		t.Fatalf("a batch not full: yield = %v", got)
	}
	// The backlog was gone: the next burst yields again.
	if got := step(burstBatch(now.Add(-time.Second))); got == 0 {
		t.Fatal("after catching up, a new burst did not yield")
	}
}

// scriptedApplier hands out a scripted batch per call on a fake clock: each
// batch takes took, and kicks says which batches saw deliveries recorded
// while they ran.
type scriptedApplier struct {
	loop    *batchLoop
	clock   *time.Time
	took    time.Duration
	batches []webhooks.Applied
	kicks   []bool
	calls   chan time.Time
}

func (a *scriptedApplier) ApplyWebhook(context.Context, webhooks.Job) error { return nil }

func (a *scriptedApplier) ApplyPending(context.Context) (webhooks.Applied, error) {
	a.calls <- *a.clock
	if len(a.batches) == 0 {
		return webhooks.Applied{}, nil
	}
	res, kicked := a.batches[0], a.kicks[0]
	a.batches, a.kicks = a.batches[1:], a.kicks[1:]
	*a.clock = a.clock.Add(a.took)
	if kicked {
		a.loop.kick <- struct{}{}
	}
	return res, nil
}

// Run end to end on a fake clock: each burst batch is followed by a pause
// as long as it took; once deliveries stop arriving the loop drains
// without pausing.
func TestBatchLoopPausesBetweenBurstBatches(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	a := &scriptedApplier{clock: &clock, took: 100 * time.Millisecond, calls: make(chan time.Time, 10)}
	head := clock.Add(-time.Second)
	a.batches = []webhooks.Applied{burstBatch(head), burstBatch(head), burstBatch(head), burstBatch(head)}
	a.kicks = []bool{true, true, false, false}
	b := newBatchLoop(a, nil, slog.New(slog.DiscardHandler), time.Hour)
	a.loop = b
	b.clock = func() time.Time { return clock }
	var pauses []time.Duration
	b.sleep = func(_ context.Context, d time.Duration) bool {
		pauses = append(pauses, d)
		clock = clock.Add(d)
		return true
	}
	b.start(context.Background())
	var at []time.Time
	for range 5 {
		select {
		case c := <-a.calls:
			at = append(at, c)
		case <-time.After(10 * time.Second):
			t.Fatalf("the loop made %d calls", len(at))
		}
	}
	b.stop()
	want := []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	for i, w := range want {
		if g := at[i+1].Sub(at[i]); g != w {
			t.Errorf("batch %d: the next started %v later, want %v", i+1, g, w)
		}
	}
	if len(pauses) != 2 || pauses[0] != 100*time.Millisecond || pauses[1] != 100*time.Millisecond {
		t.Errorf("pauses = %v, want two of 100ms (the burst batches')", pauses)
	}
}
