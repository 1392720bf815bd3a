package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/telemetry"
)

const envHelp = `  ORDERDESK_HTTP_ADDR      listen address (default :8080)
  ORDERDESK_DATABASE_URL   postgres://... or sqlite:PATH (default sqlite:orderdesk.db)
  ORDERDESK_API_KEY        the key the CRM sends as Authorization: Bearer (required by serve)
  ORDERDESK_ORDER_TTL      how long a stored order is served before re-reading Shopify (default 2m)
  ORDERDESK_STALE_AFTER    age at which reconciliation re-reads an open order (default 6h; 0 disables)
  ORDERDESK_LOG_LEVEL      debug, info, warn or error (default info)
  ORDERDESK_PHONE_REGION   country of phone numbers written without +code (default US)
  SHOPIFY_SHOP             shop domain, example.myshopify.com (required by serve)
  SHOPIFY_ACCESS_TOKEN     Admin API access token (required by serve)
  SHOPIFY_API_SECRET       app secret that signs webhooks
  SHOPIFY_API_VERSION      Admin API version (default 2026-10)
  SHOPIFY_BASE_URL         origin to call instead of https://{shop} (sandbox, tests)
  SHOPIFY_TIMEOUT          timeout of each Shopify HTTP attempt (default 10s)
  ORDERDESK_EVENTS_URL     where outbound events go; ORDERDESK_EVENTS_SECRET signs them
  OTEL_EXPORTER_OTLP_ENDPOINT  send traces by OTLP/HTTP to this collector (standard OTEL_* variables)
  OTEL_TRACES_EXPORTER     otlp, console (JSON spans on stderr) or none (default: otlp when an endpoint is set)
`

func serve(ctx context.Context, args []string, env map[string]string, _, stderr io.Writer) error {
	fs := newFlags("serve", "Run the service: migrate the database, bind the shop and API key from the environment, serve HTTP until SIGTERM/SIGINT.", envHelp, stderr)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	cfg, err := config.Load(env, config.ModeServe)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	log.Info("starting orderdesk", "version", version, "config", cfg)
	a, err := newApp(ctx, cfg, log, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("ORDERDESK_HTTP_ADDR: listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	return serveHTTP(ctx, newHTTPServer(a.handler), ln, log)
}

func migrate(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "Apply pending database migrations to ORDERDESK_DATABASE_URL and exit. Safe to run from several replicas at once.", "  ORDERDESK_DATABASE_URL   postgres://... or sqlite:PATH (default sqlite:orderdesk.db)\n  ORDERDESK_PHONE_REGION   country of stored phone numbers written without +code (default US)\n", stderr)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	cfg, err := config.Load(env, config.ModeMigrate)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), store.WithPhoneRegion(cfg.PhoneRegion))
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
	return slog.New(telemetry.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})))
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
