package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// fakeJobs stands in for River's unique inserts: one job per endpoint and
// sender, with the state the test gives it.
type fakeJobs struct {
	now      *time.Time
	jobs     map[string]inserted // endpoint+sender → the job's state
	inserted []DeliverEventsArgs
}

func (f *fakeJobs) insert(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (inserted, error) {
	a := args.(DeliverEventsArgs)
	k := a.EndpointID + " " + a.Sender
	if j, ok := f.jobs[k]; ok {
		j.Skipped = true
		return j, nil
	}
	f.jobs[k] = inserted{State: rivertype.JobStateAvailable}
	f.inserted = append(f.inserted, a)
	return inserted{}, nil
}

func newTestPump(f *fakeJobs, stale time.Duration) *pump {
	return &pump{runner: &Runner{insert: f.insert}, log: slog.New(slog.DiscardHandler), process: "p1", stale: stale,
		now: func() time.Time { return *f.now }, gen: map[string]int{}}
}

// TestPumpQueuesNextGenerationBesideADeadJob: River keeps one delivery job
// waiting or running per endpoint and sender. A job whose process died
// stays "running" until River rescues it; once it has been running for
// longer than a job can run, the pump queues the next generation beside
// it, and only then.
func TestPumpQueuesNextGenerationBesideADeadJob(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	f := &fakeJobs{now: &now, jobs: map[string]inserted{}}
	p := newTestPump(f, 2*time.Minute)
	ctx := context.Background()
	step := func(after time.Duration, wantSkipped bool, wantInserted int) {
		t.Helper()
		now = now.Add(after)
		skipped, err := p.queue(ctx, "ep1")
		if err != nil {
			t.Fatal(err)
		}
		if skipped != wantSkipped || len(f.inserted) != wantInserted {
			t.Fatalf("at +%s: skipped %v with %d jobs queued (%v), want %v with %d", after, skipped, len(f.inserted), f.inserted, wantSkipped, wantInserted)
		}
	}
	step(0, false, 1) // the first job
	started := now
	f.jobs["ep1 p1"] = inserted{State: rivertype.JobStateRunning, AttemptedAt: started}
	step(time.Second, true, 1)    // running: nothing new
	step(time.Minute, true, 1)    // a minute: still within a job's run
	step(59*time.Second, true, 1) // exactly stale: still the same job
	step(time.Second, false, 2)   // running longer than a job runs: the next generation
	if got := f.inserted[1]; got.EndpointID != "ep1" || got.Sender != "p1/1" {
		t.Fatalf("next generation queued as %+v", got)
	}
	step(time.Second, true, 2) // the new generation's job is waiting: nothing new
	// Another endpoint has its own generation.
	skipped, err := p.queue(ctx, "ep2")
	if err != nil || skipped || f.inserted[2] != (DeliverEventsArgs{EndpointID: "ep2", Sender: "p1"}) {
		t.Fatalf("ep2: skipped %v, %v, queued %+v", skipped, err, f.inserted[2:])
	}
}

// TestPumpDoesNotPileUpJobsWaitingForAWorker (review of 855e63c): a job
// waiting for a worker (available: the events queue's workers are all
// busy with slow endpoints), scheduled or retryable is not a dead
// process's job: however long it waits, the pump queues nothing beside it.
func TestPumpDoesNotPileUpJobsWaitingForAWorker(t *testing.T) {
	t.Parallel()
	for _, state := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable} {
		now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		f := &fakeJobs{now: &now, jobs: map[string]inserted{}}
		p := newTestPump(f, 150*time.Second)
		if _, err := p.queue(context.Background(), "ep1"); err != nil {
			t.Fatal(err)
		}
		f.jobs["ep1 p1"] = inserted{State: state, AttemptedAt: now} // a retryable one was worked once
		for range 3600 {                                            // the pump's 1 s tick, for an hour
			now = now.Add(time.Second)
			if _, err := p.queue(context.Background(), "ep1"); err != nil {
				t.Fatal(err)
			}
		}
		if len(f.inserted) != 1 {
			t.Errorf("%s: %d jobs queued for one endpoint whose job only waits, want 1", state, len(f.inserted))
		}
	}
}
