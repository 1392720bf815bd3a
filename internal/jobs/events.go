package jobs

import (
	"context"
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
type DeliverEventsArgs struct {
	EndpointID string `json:"endpoint_id"`
}

// Kind names the job in River's tables.
func (DeliverEventsArgs) Kind() string { return "deliver_events" }

// InsertOpts: one job waiting per endpoint (a running one does not take
// new work it has not claimed: the pump queues the next). The job never
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
	return w.d.MaxRun() + time.Minute
}

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
		skipped, err := p.runner.insert(ctx, DeliverEventsArgs{EndpointID: id}, nil)
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
