//go:build !nodemo

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

const (
	demoShop   = "orderdesk-demo.myshopify.com"
	demoToken  = "shpat_sandbox_demo"
	demoKey    = "od_demo_key_0123456789"
	demoSecret = "demo_app_secret"
	// The second shop is installed through Shopify's OAuth (the sandbox's)
	// by the demo itself, with the app's client id and secret.
	demoShop2    = "orderdesk-outdoor.myshopify.com"
	demoClientID = "demo_client_id"
)

// demo runs everything on this machine: the Shopify sandbox on a loopback
// port serving two shops (one seeded with an order in every state, one
// with a smaller catalogue), and orderdesk wired to it over a fresh SQLite
// file. The first shop comes from the environment's token; the second is
// installed through the sandbox's OAuth flow, and gets a managed API key.
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
	// The CRM's stand-in: a receiver on a loopback port, subscribed to the
	// demo shop's events from the environment, as ORDERDESK_EVENTS_URL.
	if _, set := env["ORDERDESK_EVENTS_URL"]; !set {
		secret, err := events.NewSecret()
		if err != nil {
			return err
		}
		url, stopReceiver, err := startDemoReceiver(secret, stdout)
		if err != nil {
			return err
		}
		defer stopReceiver()
		env["ORDERDESK_EVENTS_URL"], env["ORDERDESK_EVENTS_SECRET"] = url, secret
		env["ORDERDESK_ENV"], env["ORDERDESK_EVENTS_ALLOW_PRIVATE"] = "development", "true"
	}
	cfg, err := config.Load(env, config.ModeDemo)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	// orderdesk listens before it is configured for OAuth: Shopify sends
	// the merchant back to ORDERDESK_PUBLIC_URL/shopify/callback.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("ORDERDESK_HTTP_ADDR: listen on %s: %w", cfg.HTTPAddr, err)
	}
	defer ln.Close()
	if _, set := env["ORDERDESK_ENCRYPTION_KEY"]; !set {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("demo encryption key: %w", err)
		}
		env["ORDERDESK_ENCRYPTION_KEY"] = "demo:" + base64.StdEncoding.EncodeToString(key)
	}
	env["SHOPIFY_API_KEY"], env["ORDERDESK_PUBLIC_URL"] = demoClientID, localURL(ln.Addr())
	if cfg, err = config.Load(env, config.ModeDemo); err != nil {
		return err
	}

	front := shopifysandbox.NewShops(shopifysandbox.ShopsOptions{ClientID: demoClientID, ClientSecret: demoSecret})
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: demoShop, Token: demoToken})
	sb.Seed(time.Now())
	front.Add(sb)
	sb2 := shopifysandbox.New(shopifysandbox.Options{Shop: demoShop2, Token: "shpat_" + randomText(16)}) // only the OAuth token is handed out
	sb2.SeedSecondShop(time.Now())
	front.Add(sb2)
	sbSrv := newHTTPServer(front)
	go func() {
		if err := sbSrv.Serve(sbLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("sandbox stopped", "err", err)
		}
	}()
	defer sbSrv.Close()

	a, err := newApp(ctx, cfg, log, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.syncer.SyncOrders(ctx, a.shop, time.Time{}, nil, nil)
	if err != nil {
		return fmt.Errorf("demo: load the sandbox's orders: %w", err)
	}
	n := p.Orders
	// The sandbox tells orderdesk about its changes, as Shopify would.
	sb.SetWebhookTarget(localURL(ln.Addr())+"/webhooks/shopify", demoSecret)
	sb2.SetWebhookTarget(localURL(ln.Addr())+"/webhooks/shopify", demoSecret)
	srv := newHTTPServer(a.handler)
	errc := make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { errc <- serveHTTP(sctx, srv, ln, log) }()
	second, err := demoInstall(ctx, a, localURL(ln.Addr()), demoShop2)
	if err != nil {
		stop()
		<-errc
		return err
	}
	second.databaseURL = cfg.DatabaseURL.Reveal()
	printDemoBanner(stdout, ln.Addr(), cfg.APIKey.Reveal(), n, cfg.Shopify.BaseURL, cfg.EventsURL)
	printSecondShop(stdout, ln.Addr(), second)
	return <-errc
}

// secondShop is what the demo's OAuth install of its second shop made.
type secondShop struct {
	domain      string
	key         string
	orders      int
	databaseURL string
}

// demoInstall is the merchant installing the app on a shop through
// orderdesk's /shopify/install, the sandbox's authorize page and the
// callback (a browser following redirects, with its cookie), then the
// operator creating the CRM's key with the CLI's code and loading the
// shop's orders.
func demoInstall(ctx context.Context, a *app, base, shop string) (secondShop, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return secondShop{}, err
	}
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/shopify/install?shop="+shop, nil)
	if err != nil {
		return secondShop{}, err
	}
	resp, err := browser.Do(req) // -> sandbox authorize -> orderdesk callback
	if err != nil {
		return secondShop{}, fmt.Errorf("demo: install %s through OAuth: %w", shop, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/shopify/callback" {
		return secondShop{}, fmt.Errorf("demo: install %s through OAuth: %d at %s: %s", shop, resp.StatusCode, resp.Request.URL.Path, body)
	}
	_, key, err := tenant.NewKeys(a.store.Tenants()).Create(ctx, shop, "crm-demo")
	if err != nil {
		return secondShop{}, fmt.Errorf("demo: key for %s: %w", shop, err)
	}
	sh, err := a.store.Tenants().ShopByDomain(ctx, shop)
	if err != nil {
		return secondShop{}, err
	}
	p, err := a.syncer.SyncOrders(ctx, sh, time.Time{}, nil, nil)
	if err != nil {
		return secondShop{}, fmt.Errorf("demo: load %s's orders: %w", shop, err)
	}
	return secondShop{domain: shop, key: key, orders: p.Orders}, nil
}

func printSecondShop(w io.Writer, addr net.Addr, s secondShop) {
	fmt.Fprintf(w, `A second shop, %[2]s, was installed through Shopify's OAuth (the sandbox's) with %[4]d orders.
Its own API key, made with `+"`orderdesk keys create --shop %[2]s --name crm-demo`"+`:

  API key:   %[3]s
  curl -s -H 'Authorization: Bearer %[3]s' %[1]s/orders
  curl -s -H 'Authorization: Bearer %[3]s' %[1]s/orders/%[5]d      # its own order
  curl -s -H 'Authorization: Bearer %[3]s' %[1]s/orders/%[6]d      # the first shop's: 404

Revoke it (it stops on every replica within ORDERDESK_API_KEY_CACHE_TTL, 5 s):
  ORDERDESK_DATABASE_URL=%[7]s orderdesk keys revoke %[8]s

Stop with Ctrl-C.
`, localURL(addr), s.domain, s.key, s.orders, shopifysandbox.SecondPaidUnfulfilled, shopifysandbox.OrderInTransit, s.databaseURL, strings.Split(s.key, "_")[2])
}

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
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

func printDemoBanner(w io.Writer, addr net.Addr, key string, n int, sandboxURL, eventsURL string) {
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
  curl -s -X POST '%[4]s/sandbox/orders/%[6]d/fulfillment_events?shop=%[7]s' -d '{"status":"delivered"}'

Events to the CRM go to %[8]s, a built-in receiver that
verifies each one (Standard Webhooks) and prints it here. Refund 5.00 of #1002:
  curl -s -H 'Authorization: Bearer %[2]s' -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-refund-1' \
    -H 'X-Agent-Id: 42' -d '{"amount":"5.00"}' %[1]s/orders/%[9]d/refund
  curl -s -H 'Authorization: Bearer %[2]s' %[1]s/events?limit=5

`, base, key, n, sandboxURL, shopifysandbox.Bob.Id, shopifysandbox.OrderInTransit, demoShop, eventsURL, shopifysandbox.OrderPaidUnfulfilled)
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
