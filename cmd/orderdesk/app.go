package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/jobs"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/secrets"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/telemetry"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// app is the wired service: store, domain services and the HTTP handler.
type app struct {
	store      *store.Store
	orders     *orders.Service
	syncer     *orders.Syncer
	shopify    *shopify.Client
	shop       tenant.Shop
	handler    http.Handler
	background *background
	jobs       *jobs.Runner
	ingest     *webhooks.Batcher
	tracing    *telemetry.Tracing
	log        *slog.Logger
}

// core is what every command that talks to Shopify needs.
type core struct {
	store   *store.Store
	tenants *tenant.Service
	keyring *secrets.Keyring // nil without ORDERDESK_ENCRYPTION_KEY
	shop    tenant.Shop      // SHOPIFY_SHOP's; zero when serving many shops
	shopify *shopify.Client
	orders  *orders.Service
	syncer  *orders.Syncer
	// tokens is the Shopify adapter's token source (and cache).
	tokens *tenant.Tokens
	// metrics is the registry /metrics serves.
	metrics *prometheus.Registry
}

// newCore opens and migrates the database, binds the configured shop (and
// API key, when set), and builds the Shopify adapter and domain services.
// tp, when set, traces the database and the Shopify calls.
func newCore(ctx context.Context, cfg config.Config, log *slog.Logger, tp trace.TracerProvider) (*core, error) {
	keyring, opener, err := openKeyring(cfg)
	if err != nil {
		return nil, err
	}
	storeOpts := []store.Option{store.WithPhoneRegion(cfg.PhoneRegion)}
	if tp != nil {
		storeOpts = append(storeOpts, store.WithTracing(tp))
	}
	if keyring != nil {
		storeOpts = append(storeOpts, store.WithSecretSealer(keyring))
	}
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), storeOpts...)
	if err != nil {
		return nil, err
	}
	// Every order written carries the document its views answer with.
	st.RenderOrdersWith(api.OrderRenderer())
	if err := st.Migrate(ctx, log); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := sealEndpointSecrets(ctx, st, keyring, log); err != nil {
		_ = st.Close()
		return nil, err
	}
	tenants := tenant.NewService(st.Tenants(), tenant.WithKeyCache(cfg.KeyCacheTTL, 10000), tenant.WithLogger(log))
	var shop tenant.Shop
	pinned := map[string]string{}
	if cfg.Shopify.Shop != "" {
		if shop, err = tenants.Bootstrap(ctx, cfg.Shopify.Shop, cfg.APIKey.Reveal()); err != nil {
			_ = st.Close()
			if errors.Is(err, tenant.ErrKeyRevoked) {
				return nil, &config.Error{Var: "ORDERDESK_API_KEY", Msg: "this key was revoked with `orderdesk keys revoke`; set a new one"}
			}
			return nil, err
		}
		pinned[cfg.Shopify.Shop] = cfg.Shopify.AccessToken.Reveal()
	}
	reg := prometheus.NewRegistry()
	tokens := tenant.NewTokens(st.Tenants(), opener, pinned, 30*time.Second)
	if err := reg.Register(st.Gauges(log)); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("register database gauges: %w", err)
	}
	sc, err := shopify.New(shopify.Config{
		APIVersion: cfg.Shopify.APIVersion,
		BaseURL:    cfg.Shopify.BaseURL,
		Timeout:    cfg.Shopify.Timeout,
		Tokens:     tokens,
		Metrics:    reg,
		Tracing:    tp,
	}, log)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	svc := orders.NewService(st.Orders(), sc, cfg.OrderTTL, log, orders.WithLeaseTTL(cfg.ActionLease))
	return &core{store: st, tenants: tenants, keyring: keyring, shop: shop, shopify: sc, orders: svc, syncer: orders.NewSyncer(svc, st.Orders(), cfg.StaleAfter), tokens: tokens, metrics: reg}, nil
}

// sealEndpointSecrets seals the event endpoints' signing secrets still
// stored in clear (from before they were sealed) under the keyring, like
// shop tokens. Without ORDERDESK_ENCRYPTION_KEY, as tokens cannot be
// stored at all, secrets are stored as they are: said once, at start-up.
func sealEndpointSecrets(ctx context.Context, st *store.Store, keyring *secrets.Keyring, log *slog.Logger) error {
	if keyring == nil {
		log.Warn("ORDERDESK_ENCRYPTION_KEY is not set: event endpoints' signing secrets are stored unencrypted")
		return nil
	}
	n, err := st.SealClearSecrets(ctx, keyring)
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("sealed event endpoints' signing secrets stored in clear", "endpoints", n, "key_id", keyring.Current())
	}
	return nil
}

// newApp is the core plus webhooks, background jobs and the HTTP handler,
// traced per OTEL_* (console spans go to traceOut).
func newApp(ctx context.Context, cfg config.Config, log *slog.Logger, traceOut io.Writer) (*app, error) {
	tr, err := telemetry.New(ctx, cfg.Telemetry, version, traceOut)
	if err != nil {
		return nil, err
	}
	log.Info("tracing", "exporter", tr.Exporter())
	telemetry.ReportErrorsTo(log)
	tp := tr.Provider() // nil when nothing is exported: no instrumentation
	c, err := newCore(ctx, cfg, log, tp)
	if err != nil {
		_ = tr.Shutdown(ctx)
		return nil, err
	}
	st, tenants, shop, sc, svc, syncer := c.store, c.tenants, c.shop, c.shopify, c.orders, c.syncer
	if cfg.Shopify.APISecret == "" {
		log.Warn("SHOPIFY_API_SECRET is not set: webhooks will be refused (401)")
	}
	hooks := webhooks.NewService([]byte(cfg.Shopify.APISecret.Reveal()), st.Tenants(), st, syncer, shopify.DecodeOrder, log)
	hooks.OnUninstalled(c.tokens.Forget)
	hooks.ConfirmUninstallsWith(sc)
	// Webhook deliveries are applied, and unknown outcomes reconciled
	// (every 10 s: within 30 s of Shopify answering again), by River jobs.
	// Actions are River jobs on their own queue; the reconcile sweep (every
	// 5 s) carries on pending actions whose executor died.
	// Outbound events: the store writes them with their changes; the pump
	// fans them out per endpoint and River jobs deliver them.
	evMetrics, err := jobs.NewEventMetrics(c.metrics)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	policy := events.URLPolicy{AllowHTTP: !cfg.Production(), AllowPrivate: cfg.EventsAllowPrivate}
	deliverer := events.NewDeliverer(st.Events(), policy.Client(cfg.EventsTimeout), cfg.EventsTimeout, log, events.WithObserver(evMetrics))
	runner, err := newRunner(st, hooks, syncer, log, jobs.Options{Registrar: registrar(cfg, sc), Actions: svc, SQL: st.SQL(), ReconcileEvery: 5 * time.Second, Tracing: tp, Metrics: c.metrics,
		Events: &jobs.EventsOptions{Store: st.Events(), Deliverer: deliverer}})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	st.OnEventsWritten(func(evs []events.Event) {
		evMetrics.Written(evs)
		runner.KickEvents()
	})
	evs := events.NewService(st.Events(), policy, runner.KickEvents)
	if err := bootstrapEvents(ctx, cfg, shop, evs, log); err != nil {
		_ = st.Close()
		return nil, err
	}
	hooks.SetQueue(runner)
	svc.SetActionQueue(runner)
	idem := idempotency.NewService(st.Idempotency())
	deps := api.Deps{
		Log: log, Auth: tenants, Orders: svc, Idempotency: idem, Webhooks: hooks,
		Ready: st.Ping, Registry: c.metrics, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), ActionWait: cfg.ActionWait,
		PhoneRegion: cfg.PhoneRegion, Tracing: tp, Events: evs,
	}
	if lim := tenant.NewLimiter(cfg.RateLimit, cfg.RateBurst, 10000, nil); lim != nil {
		deps.Limits = lim
	}
	if cfg.OAuth() {
		if deps.Install, err = newInstaller(cfg, st, c.keyring, runner, log); err != nil {
			_ = st.Close()
			return nil, err
		}
	}
	h, err := api.NewRouter(deps)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	// Concurrent deliveries that carry their order share one INSERT and
	// one commit.
	ingest, err := webhooks.NewBatcher(st, webhooks.BatcherOptions{Metrics: c.metrics})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	hooks.RecordInBatches(ingest)
	if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
		_ = ingest.Close(ctx)
		_ = st.Close()
		return nil, fmt.Errorf("start jobs: %w", err)
	}
	bg := newBackground(ctx)
	bg.Go(func(ctx context.Context) { sweepIdempotencyKeys(ctx, idem, log) })
	// The orders stored without a document of this release's version
	// (before migration 00018, or by a release of another shape) get one,
	// so their views send stored bytes too; serve does not wait for it.
	bg.Go(func(ctx context.Context) {
		n, err := st.RenderMissingDocs(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.ErrorContext(ctx, "render the documents of stored orders", "rendered", n, "err", err)
		case n > 0:
			log.InfoContext(ctx, "rendered the documents of stored orders", "orders", n)
		}
	})
	bg.Go(func(ctx context.Context) {
		tenants.RunLastUsedFlusher(ctx, 30*time.Second, func(err error) { log.ErrorContext(ctx, "record api key use", "err", err) })
	})
	return &app{store: st, orders: svc, syncer: syncer, shopify: sc, shop: shop, handler: h, background: bg, jobs: runner, ingest: ingest, tracing: tr, log: log}, nil
}

// bootstrapEvents creates (or updates) the bootstrap shop's endpoint of
// ORDERDESK_EVENTS_URL / _SECRET.
func bootstrapEvents(ctx context.Context, cfg config.Config, shop tenant.Shop, evs *events.Service, log *slog.Logger) error {
	if cfg.EventsURL == "" {
		return nil
	}
	if shop.ID == 0 {
		log.Warn("ORDERDESK_EVENTS_URL is ignored without SHOPIFY_SHOP: with many shops, each shop creates its endpoints with POST /event-endpoints")
		return nil
	}
	ep, err := evs.Bootstrap(ctx, shop.ID, cfg.EventsURL, cfg.EventsSecret.Reveal())
	if err != nil {
		var verr *orders.ValidationError
		if errors.As(err, &verr) {
			return &config.Error{Var: "ORDERDESK_EVENTS_URL", Msg: verr.Error()}
		}
		return fmt.Errorf("events endpoint from ORDERDESK_EVENTS_URL: %w", err)
	}
	log.Info("outbound events", "endpoint_id", ep.ID, "state", ep.State)
	return nil
}

// background runs the app's loops and stops them together.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBackground(parent context.Context) *background {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &background{ctx: ctx, cancel: cancel}
}

// Go runs f until Stop.
func (b *background) Go(f func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f(b.ctx)
	}()
}

// Stop cancels the loops and waits for them to return.
func (b *background) Stop() {
	b.cancel()
	b.wg.Wait()
}

// sweepIdempotencyKeys forgets expired Idempotency-Keys every hour.
func sweepIdempotencyKeys(ctx context.Context, idem *idempotency.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := idem.Sweep(ctx); err != nil {
				log.ErrorContext(ctx, "sweep idempotency keys", "err", err)
			} else if n > 0 {
				log.InfoContext(ctx, "forgot expired idempotency keys", "count", n)
			}
		}
	}
}

// close lets running jobs and background refreshes finish (up to 10 s),
// stops the loops, and
// closes the database.
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The HTTP server has stopped: no delivery waits for a commit any
	// more, unless its request outlived the server's shutdown.
	if err := a.ingest.Close(ctx); err != nil {
		a.log.Error("stop webhook ingest", "err", err)
	}
	if err := a.jobs.Stop(ctx); err != nil {
		a.log.Error("stop jobs", "err", err)
	}
	if err := a.orders.Close(ctx); err != nil {
		a.log.Error("stop background refreshes", "err", err)
	}
	a.background.Stop()
	_ = a.store.Close()
	if err := a.tracing.Shutdown(ctx); err != nil {
		a.log.Error("flush traces", "err", err)
	}
}
