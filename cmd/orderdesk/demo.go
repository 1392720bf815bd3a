package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

const (
	demoShop   = "orderdesk-demo.myshopify.com"
	demoToken  = "shpat_sandbox_demo"
	demoKey    = "od_demo_key_0123456789"
	demoSecret = "demo_app_secret"
)

// demo runs everything on this machine: the Shopify sandbox on a loopback
// port, seeded with an order in every state, and orderdesk wired to it over
// a fresh SQLite file.
func demo(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "Run orderdesk on embedded SQLite against an in-process Shopify sandbox seeded with orders in every state. Prints the API key and curls to try.", envHelp, stderr)
	sandboxAddr := fs.String("sandbox-addr", defaultSandboxAddr, "address of the Shopify sandbox (when the default is taken, a free port is used)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := config.CheckAddr(*sandboxAddr); err != nil {
		return fmt.Errorf("--sandbox-addr: %w", err)
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "sandbox-addr" })
	// The sandbox listens first, so orderdesk is pointed at the port it got.
	sbLn, err := listenSandbox(*sandboxAddr, explicit, stderr)
	if err != nil {
		return err
	}
	defer sbLn.Close()
	if _, set := env["ORDERDESK_DATABASE_URL"]; !set {
		// A fresh database each run: the sandbox's state lives in memory too.
		dir, err := os.MkdirTemp("", "orderdesk-demo-")
		if err != nil {
			return fmt.Errorf("demo database: %w", err)
		}
		defer os.RemoveAll(dir)
		env["ORDERDESK_DATABASE_URL"] = "sqlite:" + filepath.Join(dir, "orderdesk.db")
	}
	if _, set := env["ORDERDESK_API_KEY"]; !set {
		env["ORDERDESK_API_KEY"] = demoKey
	}
	env["SHOPIFY_SHOP"], env["SHOPIFY_ACCESS_TOKEN"] = demoShop, demoToken
	env["SHOPIFY_BASE_URL"] = localURL(sbLn.Addr())
	env["SHOPIFY_API_SECRET"] = demoSecret
	cfg, err := config.Load(env, config.ModeDemo)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)

	sb := shopifysandbox.New(shopifysandbox.Options{Shop: demoShop, Token: demoToken})
	sb.Seed(time.Now())
	sbSrv := newHTTPServer(sb)
	go func() {
		if err := sbSrv.Serve(sbLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("sandbox stopped", "err", err)
		}
	}()
	defer sbSrv.Close()

	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.syncer.SyncOrders(ctx, a.shop, time.Time{}, nil, nil)
	if err != nil {
		return fmt.Errorf("demo: load the sandbox's orders: %w", err)
	}
	n := p.Orders
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("ORDERDESK_HTTP_ADDR: listen on %s: %w", cfg.HTTPAddr, err)
	}
	// The sandbox tells orderdesk about its changes, as Shopify would.
	sb.SetWebhookTarget(localURL(ln.Addr())+"/webhooks/shopify", demoSecret)
	printDemoBanner(stdout, ln.Addr(), cfg.APIKey.Reveal(), n, cfg.Shopify.BaseURL)
	return serveHTTP(ctx, newHTTPServer(a.handler), ln, log)
}

const defaultSandboxAddr = "127.0.0.1:8788"

// listenSandbox listens on addr. When that is the default and it is taken
// (another demo, another program), it takes a free port instead and says
// so; an address given with --sandbox-addr is used or refused.
func listenSandbox(addr string, explicit bool, stderr io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil || explicit {
		if err != nil {
			return nil, fmt.Errorf("--sandbox-addr: listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	host, _, _ := net.SplitHostPort(addr)
	ln, ferr := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if ferr != nil {
		return nil, fmt.Errorf("sandbox: listen on %s: %w (choose another with --sandbox-addr)", addr, err)
	}
	fmt.Fprintf(stderr, "orderdesk demo: %s is taken; the Shopify sandbox listens on %s instead (choose with --sandbox-addr)\n", addr, ln.Addr())
	return ln, nil
}

// localURL is how a process on this machine reaches a listener.
func localURL(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	return "http://" + addr.String()
}

func printDemoBanner(w io.Writer, addr net.Addr, key string, n int, sandboxURL string) {
	base := localURL(addr)
	fmt.Fprintf(w, `
orderdesk demo is running on %[1]s with %[3]d orders from the Shopify sandbox at %[4]s.

  API key:   %[2]s
  API docs:  %[1]s/docs/index.html  (OpenAPI 3: %[1]s/openapi.json)

Try:
  curl -s -H 'Authorization: Bearer %[2]s' '%[1]s/orders?customer_id=%[5]d'
  curl -s -H 'Authorization: Bearer %[2]s' %[1]s/orders/%[6]d
  curl -s -H 'Authorization: Bearer %[2]s' %[1]s/customers/%[5]d/timeline

Change something "in Shopify": the sandbox sends orderdesk a signed webhook.
  curl -s -X POST %[4]s/sandbox/orders/%[6]d/fulfillment_events -d '{"status":"delivered"}'

Stop with Ctrl-C.
`, base, key, n, sandboxURL, shopifysandbox.Bob.Id, shopifysandbox.OrderInTransit)
}

// sandbox runs only the Shopify sandbox, seeded, for other processes.
func sandbox(ctx context.Context, args []string, _ map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("sandbox", "Run the Shopify Admin API sandbox, seeded with the demo catalogue.", "", stderr)
	addr := fs.String("addr", defaultSandboxAddr, "listen address")
	shop := fs.String("shop", demoShop, "shop domain")
	token := fs.String("token", demoToken, "access token callers must send")
	extra := fs.Int("orders", 0, "add this many generated orders to the catalogue (for backfills)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *extra < 0 {
		return fmt.Errorf("--orders must not be negative, got %d", *extra)
	}
	if err := config.CheckAddr(*addr); err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: *shop, Token: *token})
	sb.Seed(time.Now())
	sb.AddGenerated(*extra, time.Now())
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(stdout, "Shopify sandbox for %s on http://%s (token %s)\n", *shop, ln.Addr(), *token)
	return serveHTTP(ctx, newHTTPServer(sb), ln, slog.New(slog.NewJSONHandler(stderr, nil)))
}
