package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

// TestPumpQueuesNextGenerationBesideADeadJob: River keeps one delivery job
// waiting or running per endpoint and sender. A job whose process died
// stays "running" until River rescues it; once the endpoint's job has
// looked busy for longer than a job can run, the pump queues the next
// generation beside it, and only then.
func TestPumpQueuesNextGenerationBesideADeadJob(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	running := map[string]bool{} // senders whose job is waiting or running
	var inserted []DeliverEventsArgs
	r := &Runner{insert: func(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (bool, error) {
		a := args.(DeliverEventsArgs)
		if running[a.EndpointID+" "+a.Sender] {
			return true, nil
		}
		running[a.EndpointID+" "+a.Sender] = true
		inserted = append(inserted, a)
		return false, nil
	}}
	p := &pump{runner: r, log: slog.New(slog.DiscardHandler), process: "p1", stale: 2 * time.Minute,
		now: func() time.Time { return now }, gen: map[string]int{}, busySince: map[string]time.Time{}}
	ctx := context.Background()
	step := func(after time.Duration, wantSkipped bool, wantInserted int) {
		t.Helper()
		now = now.Add(after)
		skipped, err := p.queue(ctx, "ep1")
		if err != nil {
			t.Fatal(err)
		}
		if skipped != wantSkipped || len(inserted) != wantInserted {
			t.Fatalf("at +%s: skipped %v with %d jobs queued (%v), want %v with %d", after, skipped, len(inserted), inserted, wantSkipped, wantInserted)
		}
	}
	step(0, false, 1)           // the first job
	step(time.Second, true, 1)  // busy: nothing new
	step(time.Minute, true, 1)  // busy for a minute: still within a job's run
	step(time.Minute, true, 1)  // exactly stale: still the same job
	step(time.Second, false, 2) // longer than a job runs: the next generation
	if got := inserted[1]; got.EndpointID != "ep1" || got.Sender != "p1/1" {
		t.Fatalf("next generation queued as %+v", got)
	}
	// The new generation's job finishes: the next insert goes through and
	// the busy clock starts again from nothing.
	running["ep1 p1/1"] = false
	step(time.Second, false, 3)
	step(time.Second, true, 3)
	if inserted[2].Sender != "p1/1" {
		t.Fatalf("after the new generation's job ended: queued as %+v", inserted[2])
	}
	// Another endpoint has its own clock and generation.
	skipped, err := p.queue(ctx, "ep2")
	if err != nil || skipped || inserted[3] != (DeliverEventsArgs{EndpointID: "ep2", Sender: "p1"}) {
		t.Fatalf("ep2: skipped %v, %v, queued %+v", skipped, err, inserted[3:])
	}
}
