package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/orderdesk/orderdesk/internal/events"
)

// EventsQueue is the outbound events' own queue: a slow CRM never delays
// webhooks or actions.
const EventsQueue = "events"

// DeliverEventsArgs delivers what is due at one event endpoint.
//
// Sender names the pump that queued the job: a process id (new at every
// start) and a generation. River keeps one such job waiting or running
// (UniqueOpts below), and a job whose process was killed stays "running"
// in River's table until River rescues it (RescueStuckJobsAfter, minutes
// later). Unique on the endpoint alone, that dead job would hold the
// endpoint's deliveries back until then; unique per sender, a restarted
// process queues its own at once, and a live one queues a new generation
// when its job has been running longer than a job can run (a job waiting
// for a worker is not replaced). Jobs of several senders on one endpoint
// are safe: ClaimDeliveries gives each delivery to one of them under a
// claim token, an order's next event only after its earlier ones are
// delivered, and a sender whose claim was taken over records its attempt
// without changing the delivery.
type DeliverEventsArgs struct {
	EndpointID string `json:"endpoint_id"`
	Sender     string `json:"sender,omitempty"`
}

// Kind names the job in River's tables.
func (DeliverEventsArgs) Kind() string { return "deliver_events" }

// InsertOpts: one job waiting per endpoint and sender (a running one does
// not take new work it has not claimed: the pump queues the next). The job never
// fails: attempts and their retries live in event_deliveries.
func (DeliverEventsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: EventsQueue, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable,
	}}}
}

// EventDeliverer sends an endpoint's due deliveries (events.Deliverer).
type EventDeliverer interface {
	Run(ctx context.Context, endpointID string) (int, error)
	// MaxRun is the longest a Run lasts (it claims no round it could not
	// finish before its deadline).
	MaxRun() time.Duration
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverEventsArgs]
	d EventDeliverer
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverEventsArgs]) error {
	_, err := w.d.Run(ctx, job.Args.EndpointID)
	return err
}

// Timeout bounds one run: longer than a run lasts (its budget and its
// last round, derived from ORDERDESK_EVENTS_TIMEOUT), so River never cuts
// a round whose answers are not recorded yet.
func (w *deliverWorker) Timeout(*river.Job[DeliverEventsArgs]) time.Duration {
	return deliverTimeout(w.d)
}

func deliverTimeout(d EventDeliverer) time.Duration { return d.MaxRun() + time.Minute }

// EventsOptions turn outbound event delivery on.
type EventsOptions struct {
	Store     events.Store
	Deliverer EventDeliverer
	// Workers bounds concurrent endpoint jobs (default 10).
	Workers int
	// Every is how often the pump looks for work without being kicked:
	// retries coming due, events written by another replica (default 1s).
	Every time.Duration
}

// pump fans written events out into deliveries and queues a job for each
// endpoint with deliveries due. It runs on every replica: when kicked
// (events were just written here) and every Every. Dispatching skips the
// events another replica is dispatching, and a job waiting for an
// endpoint is never queued twice.
type pump struct {
	st     events.Store
	runner *Runner
	every  time.Duration
	kick   chan struct{}
	log    *slog.Logger

	// process is this pump's id, new at every start; stale is how long an
	// endpoint's job may have been running before its sender moves to the
	// next generation (longer than a job can run: River's timeout of it).
	process string
	stale   time.Duration
	now     func() time.Time
	// gen is the sender's generation per endpoint (only the pump's
	// goroutine touches it).
	gen map[string]int
}

// sender is the Sender of the endpoint's next job.
func (p *pump) sender(endpointID string) string {
	if g := p.gen[endpointID]; g > 0 {
		return fmt.Sprintf("%s/%d", p.process, g)
	}
	return p.process
}

// queue inserts the endpoint's job and reports whether one of this sender
// was already waiting or running. One that has been running for longer
// than a job can run belongs to a process that died while running it
// (River's row still says running until it is rescued): the next
// generation is queued beside it.
func (p *pump) queue(ctx context.Context, endpointID string) (bool, error) {
	res, err := p.runner.insert(ctx, DeliverEventsArgs{EndpointID: endpointID, Sender: p.sender(endpointID)}, nil)
	if err != nil || !res.Skipped {
		return res.Skipped, err
	}
	if res.State != rivertype.JobStateRunning || res.AttemptedAt.IsZero() || p.now().Sub(res.AttemptedAt) <= p.stale {
		return true, nil
	}
	p.gen[endpointID]++
	p.log.WarnContext(ctx, "an event endpoint's delivery job has been running longer than a job runs (its process died): queueing another beside it",
		"endpoint", endpointID, "running_for", p.now().Sub(res.AttemptedAt).Round(time.Second))
	res, err = p.runner.insert(ctx, DeliverEventsArgs{EndpointID: endpointID, Sender: p.sender(endpointID)}, nil)
	return res.Skipped, err
}

// KickEvents wakes the pump: events were written (call after the commit).
func (r *Runner) KickEvents() {
	if r.pump == nil {
		return
	}
	select {
	case r.pump.kick <- struct{}{}:
	default:
	}
}

func (p *pump) run(ctx context.Context) {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-t.C:
		}
		if err := p.once(ctx); err != nil && ctx.Err() == nil {
			p.log.ErrorContext(ctx, "event pump", "err", err)
		}
	}
}

// once dispatches everything undispatched and queues the endpoints' jobs.
func (p *pump) once(ctx context.Context) error {
	now := time.Now()
	for {
		n, err := p.st.DispatchEvents(ctx, now, 500)
		if err != nil {
			return err
		}
		if n < 500 {
			break
		}
	}
	due, err := p.st.EndpointsWithDue(ctx, now)
	if err != nil {
		return err
	}
	busy := false
	for _, id := range due {
		skipped, err := p.queue(ctx, id)
		if err != nil {
			return err
		}
		busy = busy || skipped
	}
	if busy {
		// The endpoint's job is running and may have looked for work
		// before this arrived: look again soon, not at the next tick.
		time.AfterFunc(recheck, p.runner.KickEvents)
	}
	return nil
}

// recheck is how soon the pump looks again while an endpoint's job runs.
const recheck = 100 * time.Millisecond
