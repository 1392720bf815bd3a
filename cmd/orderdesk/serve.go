package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/jobs"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

const envHelp = `  ORDERDESK_HTTP_ADDR      listen address (default :8080)
  ORDERDESK_DATABASE_URL   postgres://... or sqlite:PATH (default sqlite:orderdesk.db)
  ORDERDESK_API_KEY        the key the CRM sends as Authorization: Bearer (required by serve)
  ORDERDESK_ORDER_TTL      how long a stored order is served before re-reading Shopify (default 2m)
  ORDERDESK_STALE_AFTER    age at which reconciliation re-reads an open order (default 6h; 0 disables)
  ORDERDESK_LOG_LEVEL      debug, info, warn or error (default info)
  SHOPIFY_SHOP             shop domain, example.myshopify.com (required by serve)
  SHOPIFY_ACCESS_TOKEN     Admin API access token (required by serve)
  SHOPIFY_API_SECRET       app secret that signs webhooks
  SHOPIFY_API_VERSION      Admin API version (default 2026-10)
  SHOPIFY_BASE_URL         origin to call instead of https://{shop} (sandbox, tests)
  SHOPIFY_TIMEOUT          timeout of each Shopify HTTP attempt (default 10s)
  ORDERDESK_EVENTS_URL     where outbound events go; ORDERDESK_EVENTS_SECRET signs them
`

func serve(ctx context.Context, args []string, env map[string]string, _, stderr io.Writer) error {
	fs := newFlags("serve", "Run the service: migrate the database, bind the shop and API key from the environment, serve HTTP until SIGTERM/SIGINT.", envHelp, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(env, config.ModeServe)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	log.Info("starting orderdesk", "version", version, "config", cfg)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	return serveHTTP(ctx, newHTTPServer(a.handler), ln, log)
}

func migrate(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "Apply pending database migrations to ORDERDESK_DATABASE_URL and exit. Safe to run from several replicas at once.", "  ORDERDESK_DATABASE_URL   postgres://... or sqlite:PATH (default sqlite:orderdesk.db)\n", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(env, config.ModeMigrate)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	v, err := st.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database at migration version %d\n", v)
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level)) // validated by config
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

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
	log        *slog.Logger
}

// core is what every command that talks to Shopify needs.
type core struct {
	store   *store.Store
	tenants *tenant.Service
	shop    tenant.Shop
	shopify *shopify.Client
	orders  *orders.Service
	syncer  *orders.Syncer
	// metrics is the registry /metrics serves.
	metrics *prometheus.Registry
}

// newCore opens and migrates the database, binds the configured shop (and
// API key, when set), and builds the Shopify adapter and domain services.
func newCore(ctx context.Context, cfg config.Config, log *slog.Logger) (*core, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx, log); err != nil {
		_ = st.Close()
		return nil, err
	}
	tenants := tenant.NewService(st.Tenants())
	shop, err := tenants.Bootstrap(ctx, cfg.Shopify.Shop, cfg.APIKey.Reveal())
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	sc, err := shopify.New(shopify.Config{
		APIVersion: cfg.Shopify.APIVersion,
		BaseURL:    cfg.Shopify.BaseURL,
		Timeout:    cfg.Shopify.Timeout,
		Tokens:     map[string]string{cfg.Shopify.Shop: cfg.Shopify.AccessToken.Reveal()},
		Metrics:    reg,
	}, log)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	svc := orders.NewService(st.Orders(), sc, cfg.OrderTTL, log)
	return &core{store: st, tenants: tenants, shop: shop, shopify: sc, orders: svc, syncer: orders.NewSyncer(svc, st.Orders(), cfg.StaleAfter), metrics: reg}, nil
}

// newApp is the core plus webhooks, background jobs and the HTTP handler.
func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	c, err := newCore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	st, tenants, shop, sc, svc, syncer := c.store, c.tenants, c.shop, c.shopify, c.orders, c.syncer
	if cfg.Shopify.APISecret == "" {
		log.Warn("SHOPIFY_API_SECRET is not set: webhooks will be refused (401)")
	}
	if cfg.EventsURL != "" {
		// Outbound CRM events (DESIGN.md, item 6) are not built yet.
		log.Warn("ORDERDESK_EVENTS_URL is set, but this version does not deliver outbound events yet; use GET /customers/{id}/timeline")
	}
	hooks := webhooks.NewService([]byte(cfg.Shopify.APISecret.Reveal()), st.Tenants(), st, syncer, shopify.DecodeOrder, log)
	// Webhook deliveries are applied, and unknown outcomes reconciled
	// (every 10 s: within 30 s of Shopify answering again), by River jobs.
	var runner *jobs.Runner
	if st.Pool() != nil {
		runner, err = jobs.NewPostgres(st.Pool(), hooks, syncer, log, jobs.Options{})
	} else {
		runner, err = jobs.NewSQLite(st.SQL(), hooks, syncer, log, jobs.Options{})
	}
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	hooks.SetQueue(runner)
	idem := idempotency.NewService(st.Idempotency())
	h, err := api.NewRouter(api.Deps{
		Log: log, Auth: tenants, Orders: svc, Idempotency: idem, Webhooks: hooks,
		Ready: st.Ping, Registry: c.metrics,
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("start jobs: %w", err)
	}
	bg := newBackground(ctx)
	bg.Go(func(ctx context.Context) { sweepIdempotencyKeys(ctx, idem, log) })
	return &app{store: st, orders: svc, syncer: syncer, shopify: sc, shop: shop, handler: h, background: bg, jobs: runner, log: log}, nil
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

// close lets running jobs finish (up to 10 s), stops the loops, and
// closes the database.
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.jobs.Stop(ctx); err != nil {
		a.log.Error("stop jobs", "err", err)
	}
	a.background.Stop()
	_ = a.store.Close()
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second, // covers a cancel that waits on Shopify's job
		IdleTimeout:       120 * time.Second,
	}
}

// shutdownGrace is how long in-flight requests get after SIGTERM; below
// Kubernetes' default 30 s termination grace period.
const shutdownGrace = 25 * time.Second

// serveHTTP serves until ctx ends, then stops accepting and lets in-flight
// requests finish.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("stopped")
	return nil
}
