// Package jobs runs orderdesk's background work on River, in the same
// database as everything else: Postgres through riverpgxv5 (sharing the
// store's pgx pool) or the embedded SQLite through riversqlite. It applies
// Shopify webhooks and runs the periodic reconciliation.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// ApplyWebhookArgs is a verified, deduplicated webhook waiting to be applied.
type ApplyWebhookArgs struct {
	ShopID     int64  `json:"shop_id"`
	ShopDomain string `json:"shop_domain"`
	Topic      string `json:"topic"`
	WebhookID  string `json:"webhook_id"`
	EventID    string `json:"event_id,omitempty"`
	// TriggeredAt: when Shopify says the change happened (an
	// app/uninstalled from before a reinstall is stale). Jobs queued
	// before it existed have none.
	TriggeredAt time.Time       `json:"triggered_at,omitzero"`
	Payload     json.RawMessage `json:"payload"`
}

// Kind names the job in River's tables.
func (ApplyWebhookArgs) Kind() string { return "apply_webhook" }

// InsertOpts: a webhook is worth a few tries, then a human should look.
func (ApplyWebhookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

// RegisterWebhooksArgs subscribes a shop just installed to orderdesk's
// webhook topics.
type RegisterWebhooksArgs struct {
	ShopID     int64  `json:"shop_id"`
	ShopDomain string `json:"shop_domain"`
}

// Kind names the job in River's tables.
func (RegisterWebhooksArgs) Kind() string { return "register_webhooks" }

// InsertOpts: Shopify may be down for a while; registering is idempotent,
// so a shop installed twice is registered twice harmlessly.
func (RegisterWebhooksArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

// WebhookRegistrar subscribes a shop to orderdesk's topics (idempotent).
type WebhookRegistrar interface {
	RegisterShopWebhooks(ctx context.Context, shop tenant.Shop) error
}

type registerWorker struct {
	river.WorkerDefaults[RegisterWebhooksArgs]
	registrar WebhookRegistrar
	log       *slog.Logger
}

func (w *registerWorker) Work(ctx context.Context, job *river.Job[RegisterWebhooksArgs]) error {
	shop := tenant.Shop{ID: job.Args.ShopID, Domain: job.Args.ShopDomain}
	if w.registrar == nil {
		w.log.WarnContext(ctx, "not registering the shop's webhooks: ORDERDESK_PUBLIC_URL is not set; run `orderdesk webhooks register`", "shop", shop.Domain)
		return river.JobCancel(errors.New("no ORDERDESK_PUBLIC_URL to subscribe"))
	}
	err := w.registrar.RegisterShopWebhooks(ctx, shop)
	if errors.Is(err, tenant.ErrShopUninstalled) {
		return river.JobCancel(fmt.Errorf("skipped: %w", err))
	}
	return err
}

// ActionArgs is one cancel/refund action, carried out until it is final.
// It is inserted in the transaction that records the action; the request
// usually finishes the action first, and the job finds it final.
type ActionArgs struct {
	ShopID     int64  `json:"shop_id"`
	ShopDomain string `json:"shop_domain"`
	ActionID   string `json:"action_id"`
}

// ActionQueue is the actions' own queue: a slow Shopify holding actions
// never delays webhooks, and the other way round.
const ActionQueue = "actions"

// Kind names the job in River's tables.
func (ActionArgs) Kind() string { return "action" }

// InsertOpts: an action is retried until it is final (every few seconds,
// see NextRetry), so it settles soon after Shopify answers again.
func (ActionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: ActionQueue, MaxAttempts: 100000}
}

// ActionExecutor carries an action on; done reports it final.
type ActionExecutor interface {
	ExecuteAction(ctx context.Context, shop tenant.Shop, actionID string) (done bool, err error)
}

type actionWorker struct {
	river.WorkerDefaults[ActionArgs]
	exec ActionExecutor
}

func (w *actionWorker) Work(ctx context.Context, job *river.Job[ActionArgs]) error {
	done, err := w.exec.ExecuteAction(ctx, tenant.Shop{ID: job.Args.ShopID, Domain: job.Args.ShopDomain}, job.Args.ActionID)
	switch {
	case done:
		return nil
	case err == nil:
		// Another executor holds the order: look again soon.
		return river.JobSnooze(2 * time.Second)
	}
	return err
}

// NextRetry: a pending action is tried again within 5 s, however often it
// failed, so it settles within 30 s of Shopify answering again.
func (w *actionWorker) NextRetry(job *river.Job[ActionArgs]) time.Time {
	return time.Now().Add(min(time.Duration(1<<min(job.Attempt, 3))*500*time.Millisecond, 5*time.Second))
}

// Timeout bounds one run of an action (the domain bounds its own run
// below this).
func (w *actionWorker) Timeout(*river.Job[ActionArgs]) time.Duration { return 2 * time.Minute }

// ReconcileArgs is the periodic reconciliation.
type ReconcileArgs struct{}

// Kind names the job in River's tables.
func (ReconcileArgs) Kind() string { return "reconcile" }

// Applier applies a webhook's payload (one delivery's job), and the
// pending deliveries that carry their order, a batch at a time.
type Applier interface {
	ApplyWebhook(ctx context.Context, j webhooks.Job) error
	ApplyPending(ctx context.Context) (webhooks.Applied, error)
}

// Reconciler settles what drifted: unknown action outcomes and stale copies.
type Reconciler interface {
	ReconcileAll(ctx context.Context) error
}

type applyWorker struct {
	river.WorkerDefaults[ApplyWebhookArgs]
	applier Applier
}

func (w *applyWorker) Work(ctx context.Context, job *river.Job[ApplyWebhookArgs]) error {
	a := job.Args
	triggered := a.TriggeredAt
	if triggered.IsZero() {
		triggered = job.CreatedAt // queued when the delivery was received
	}
	err := w.applier.ApplyWebhook(ctx, webhooks.Job{Shop: tenant.Shop{ID: a.ShopID, Domain: a.ShopDomain}, Topic: a.Topic,
		WebhookID: a.WebhookID, EventID: a.EventID, TriggeredAt: triggered, Payload: a.Payload})
	if errors.Is(err, tenant.ErrShopUninstalled) {
		// Retrying cannot help until the shop installs the app again; the
		// reason stays on the cancelled job.
		return river.JobCancel(fmt.Errorf("skipped: %w", err))
	}
	return err
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	reconciler Reconciler
}

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	return w.reconciler.ReconcileAll(ctx)
}

// Timeout: a reconciliation round reads Shopify within the rate limit.
func (w *reconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration { return 2 * time.Minute }

// Options tune the runner.
type Options struct {
	// ReconcileEvery is the reconciliation period (default 10s, so unknown
	// outcomes settle within 30 s of Shopify answering again).
	ReconcileEvery time.Duration
	// PollInterval is how often workers look for new jobs when the database
	// cannot notify them (SQLite); default 200ms.
	PollInterval time.Duration
	Workers      int
	// Registrar subscribes newly installed shops to webhooks; nil when
	// orderdesk has no public URL (the jobs are then cancelled, saying so).
	Registrar WebhookRegistrar
	// Tracing, when set, traces job inserts and work (see tracing.go).
	Tracing trace.TracerProvider
	// Metrics, when set, receives the jobs' wait, duration and webhook
	// lag histograms (see metrics.go).
	Metrics prometheus.Registerer
	// Actions carries out action jobs; nil runs none (they stay queued).
	Actions ActionExecutor
	// ActionWorkers bounds concurrent action jobs (default 10).
	ActionWorkers int
	// Events, when set, delivers outbound events (see events.go).
	Events *EventsOptions
	// SQL is the database/sql handle of the Postgres pool: action jobs are
	// inserted in GORM's transactions, which are database/sql ones.
	SQL *sql.DB
}

// Runner is the River client for whichever database orderdesk runs on.
type Runner struct {
	start    func(context.Context) error
	stop     func(context.Context) error
	insertTx func(ctx context.Context, tx any, args river.JobArgs, opts *river.InsertOpts) error
	// insert inserts outside a transaction; the result says whether a
	// unique job was already waiting or running, and that job's state.
	insert func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (inserted, error)
	// pump, when events are delivered, runs beside the workers.
	pump     *pump
	stopPump context.CancelFunc
	pumpDone chan struct{}
	// batches applies pending webhook deliveries beside the workers.
	batches *batchLoop
}

// inserted is what an insert outside a transaction did.
type inserted struct {
	// Skipped: a unique job was already waiting or running; State and
	// AttemptedAt are that job's (AttemptedAt zero when never worked).
	Skipped     bool
	State       rivertype.JobState
	AttemptedAt time.Time
}

func insertedOf(res *rivertype.JobInsertResult) inserted {
	if res == nil || !res.UniqueSkippedAsDuplicate {
		return inserted{}
	}
	out := inserted{Skipped: true}
	if res.Job != nil {
		out.State = res.Job.State
		if res.Job.AttemptedAt != nil {
			out.AttemptedAt = *res.Job.AttemptedAt
		}
	}
	return out
}

func config(applier Applier, reconciler Reconciler, log *slog.Logger, o Options) (*river.Config, *jobMetrics, error) {
	if o.ReconcileEvery <= 0 {
		o.ReconcileEvery = 10 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.Workers <= 0 {
		o.Workers = 10
	}
	if o.ActionWorkers <= 0 {
		o.ActionWorkers = 10
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &applyWorker{applier: applier}); err != nil {
		return nil, nil, fmt.Errorf("jobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &reconcileWorker{reconciler: reconciler}); err != nil {
		return nil, nil, fmt.Errorf("jobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &registerWorker{registrar: o.Registrar, log: log}); err != nil {
		return nil, nil, fmt.Errorf("jobs: %w", err)
	}
	var (
		middleware []rivertype.Middleware
		metrics    *jobMetrics
	)
	if o.Metrics != nil {
		m, err := newJobMetrics(o.Metrics)
		if err != nil {
			return nil, nil, err
		}
		metrics = m
		middleware = append(middleware, m)
	}
	if o.Tracing != nil {
		middleware = append(middleware, tracingMiddleware(o.Tracing)...)
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
	if e := o.Events; e != nil {
		if err := river.AddWorkerSafely(workers, &deliverWorker{d: e.Deliverer}); err != nil {
			return nil, nil, fmt.Errorf("jobs: %w", err)
		}
		n := e.Workers
		if n <= 0 {
			n = 10
		}
		queues[EventsQueue] = river.QueueConfig{MaxWorkers: n}
	}
	if o.Actions != nil {
		if err := river.AddWorkerSafely(workers, &actionWorker{exec: o.Actions}); err != nil {
			return nil, nil, fmt.Errorf("jobs: %w", err)
		}
		queues[ActionQueue] = river.QueueConfig{MaxWorkers: o.ActionWorkers}
	}
	cfg := &river.Config{
		Middleware: middleware,
		Logger:     log,
		Queues:     queues,
		// A job whose process died is rescued after this (the actions'
		// sweep resumes their actions sooner, on the lease).
		RescueStuckJobsAfter: 3 * time.Minute,
		Workers:              workers,
		FetchPollInterval:    o.PollInterval,
		FetchCooldown:        min(o.PollInterval, river.FetchCooldownDefault),
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(o.ReconcileEvery),
				func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
				&river.PeriodicJobOpts{ID: "reconcile", RunOnStart: true}),
		},
	}
	return cfg, metrics, nil
}

// NewPostgres runs jobs on Postgres through the store's pgx pool; only the
// elected leader among replicas schedules the periodic reconciliation.
func NewPostgres(pool *pgxpool.Pool, applier Applier, reconciler Reconciler, log *slog.Logger, o Options) (*Runner, error) {
	cfg, metrics, err := config(applier, reconciler, log, o)
	if err != nil {
		return nil, err
	}
	c, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	// An insert-only client for database/sql transactions (GORM's).
	var sqlc *river.Client[*sql.Tx]
	if o.SQL != nil {
		if sqlc, err = river.NewClient(riverdatabasesql.New(o.SQL), &river.Config{Logger: log}); err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
	}
	return withPump(&Runner{start: c.Start, stop: c.Stop, insert: func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (inserted, error) {
		res, err := c.Insert(ctx, args, opts)
		return insertedOf(res), err
	}, insertTx: func(ctx context.Context, tx any, args river.JobArgs, opts *river.InsertOpts) error {
		switch t := tx.(type) {
		case pgx.Tx:
			_, err := c.InsertTx(ctx, t, args, opts)
			return err
		case *sql.Tx:
			if sqlc == nil {
				return errors.New("jobs: no database/sql handle for Postgres inserts (Options.SQL)")
			}
			_, err := sqlc.InsertTx(ctx, t, args, opts)
			return err
		}
		return fmt.Errorf("jobs: want a pgx.Tx or *sql.Tx, got %T", tx)
	}}, applier, metrics, log, o), nil
}

// NewSQLite runs jobs on the embedded SQLite database.
func NewSQLite(db *sql.DB, applier Applier, reconciler Reconciler, log *slog.Logger, o Options) (*Runner, error) {
	cfg, metrics, err := config(applier, reconciler, log, o)
	if err != nil {
		return nil, err
	}
	c, err := river.NewClient(riversqlite.New(db), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return withPump(&Runner{start: c.Start, stop: c.Stop, insert: func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (inserted, error) {
		res, err := c.Insert(ctx, args, opts)
		return insertedOf(res), err
	}, insertTx: func(ctx context.Context, tx any, args river.JobArgs, opts *river.InsertOpts) error {
		stx, ok := tx.(*sql.Tx)
		if !ok {
			return fmt.Errorf("jobs: want a *sql.Tx, got %T", tx)
		}
		_, err := c.InsertTx(ctx, stx, args, opts)
		return err
	}}, applier, metrics, log, o), nil
}

// withPump adds the event pump when events are delivered, and the loop
// that applies pending webhook deliveries.
func withPump(r *Runner, applier Applier, metrics *jobMetrics, log *slog.Logger, o Options) *Runner {
	if applier != nil {
		r.batches = newBatchLoop(applier, metrics, log, o.PollInterval)
	}
	if e := o.Events; e != nil {
		every := e.Every
		if every <= 0 {
			every = time.Second
		}
		r.pump = &pump{st: e.Store, runner: r, every: every, kick: make(chan struct{}, 1), log: log,
			process: uuid.NewString(), stale: deliverTimeout(e.Deliverer) + 30*time.Second, now: time.Now,
			gen: map[string]int{}}
	}
	return r
}

// Start starts the workers (and the event pump).
func (r *Runner) Start(ctx context.Context) error {
	if err := r.start(ctx); err != nil {
		return err
	}
	if r.batches != nil {
		r.batches.start(ctx)
	}
	if r.pump != nil {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r.stopPump, r.pumpDone = cancel, make(chan struct{})
		go func() {
			defer close(r.pumpDone)
			r.pump.run(pctx)
		}()
		r.KickEvents()
	}
	return nil
}

// Stop lets running jobs finish (bounded by ctx) and stops the workers.
func (r *Runner) Stop(ctx context.Context) error {
	if r.stopPump != nil {
		r.stopPump()
		<-r.pumpDone
	}
	if r.batches != nil {
		r.batches.stop()
	}
	if err := r.stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop jobs: %w", err)
	}
	return nil
}

// EnqueueWebhook inserts an apply job inside tx, the transaction that
// records the delivery.
func (r *Runner) EnqueueWebhook(ctx context.Context, tx any, j webhooks.Job) error {
	args := ApplyWebhookArgs{ShopID: j.Shop.ID, ShopDomain: j.Shop.Domain, Topic: j.Topic, WebhookID: j.WebhookID, EventID: j.EventID, TriggeredAt: j.TriggeredAt, Payload: j.Payload}
	if err := r.insertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("enqueue webhook: %w", err)
	}
	return nil
}

// EnqueueRegisterWebhooks inserts the shop's webhook registration inside
// tx, the transaction that records its install.
func (r *Runner) EnqueueRegisterWebhooks(ctx context.Context, tx any, shop tenant.Shop) error {
	if err := r.insertTx(ctx, tx, RegisterWebhooksArgs{ShopID: shop.ID, ShopDomain: shop.Domain}, nil); err != nil {
		return fmt.Errorf("enqueue webhook registration: %w", err)
	}
	return nil
}

// actionHeadStart is how long an action's job waits before its first run:
// the request that submitted the action usually finishes it meanwhile.
const actionHeadStart = 2 * time.Second

// EnqueueAction inserts an action's job inside tx, the transaction that
// records the action and claims its key.
func (r *Runner) EnqueueAction(ctx context.Context, tx any, shop tenant.Shop, actionID string) error {
	opts := ActionArgs{}.InsertOpts()
	opts.ScheduledAt = time.Now().Add(actionHeadStart)
	if err := r.insertTx(ctx, tx, ActionArgs{ShopID: shop.ID, ShopDomain: shop.Domain, ActionID: actionID}, &opts); err != nil {
		return fmt.Errorf("enqueue action: %w", err)
	}
	return nil
}
