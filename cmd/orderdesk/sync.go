package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

const shopifyEnvHelp = `  ORDERDESK_DATABASE_URL   postgres://... or sqlite:PATH (default sqlite:orderdesk.db)
  SHOPIFY_SHOP             shop domain, example.myshopify.com (required)
  SHOPIFY_ACCESS_TOKEN     Admin API access token (required)
  SHOPIFY_API_VERSION      Admin API version (default 2026-10)
  SHOPIFY_BASE_URL         origin to call instead of https://{shop} (sandbox, tests)
`

// openCore loads the configuration a Shopify command needs and opens the
// core; the caller closes c.store.
func openCore(ctx context.Context, env map[string]string, stderr io.Writer) (*core, error) {
	cfg, err := config.Load(env, config.ModeShopify)
	if err != nil {
		return nil, err
	}
	return newCore(ctx, cfg, newLogger(stderr, cfg.LogLevel), nil)
}

// syncGCPercent is the sync's GOGC unless the environment sets one. A
// backfill's live heap is a few batches of orders, and with Go's default
// of 100 the collector took 15% of the sync's CPU, some of it as assists
// on the saving goroutine, between a batch's statements. At 400 a
// 20,015-order sync peaks at 124 MB RSS (77 MB at 100).
const syncGCPercent = 400

// syncCmd backfills the shop's orders, with progress, resumably.
func syncCmd(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("sync", "Backfill the shop's orders from Shopify through a bulk operation (the JSONL export streamed, "+
		"saved 250 orders at a time), printing progress (objects, rate, ETA) on stderr. Interrupted (Ctrl-C, a crash, a "+
		"dropped download), it resumes where it stopped, reading no object twice, when run again with the same --since. "+
		"When Shopify refuses the bulk operation (one already running), it pages through the orders instead.", shopifyEnvHelp, stderr)
	since := fs.Duration("since", 0, "only orders updated in this window, e.g. 720h (default: all)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the backfill to this file (go tool pprof)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *since < 0 {
		return errors.New("--since must not be negative")
	}
	if _, set := env["GOGC"]; !set {
		// Restored on return, for an in-process caller (a test).
		defer debug.SetGCPercent(debug.SetGCPercent(syncGCPercent))
	}
	c, err := openCore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer c.store.Close()
	var from time.Time
	if *since > 0 {
		// Whole minutes, so a rerun soon after means the same window and resumes.
		from = time.Now().UTC().Add(-*since).Truncate(time.Minute)
	}
	p, err := c.syncer.Backfill(ctx, c.shop, from, c.shopify, c.shopify, func(p orders.SyncProgress) { fmt.Fprintln(stderr, progressLine(p)) })
	if err != nil {
		fmt.Fprintln(stderr, stopLine(p, err))
		return err
	}
	if p.Bulk {
		fmt.Fprintf(stdout, "done: %d orders (%d objects) through a bulk operation, %d read by this run, %s, after %s waiting for Shopify's files\n",
			p.Orders, p.Objects, p.Fetched, rate(p), p.Waited.Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(stdout, "done: %d orders in %d pages, %s\n", p.Orders, p.Pages, rate(p))
	return nil
}

// stopLine is what sync says when a run ends early: how far it got, and
// what to do.
func stopLine(p orders.SyncProgress, err error) string {
	if errors.Is(err, tenant.ErrNotFound) {
		return fmt.Sprintf("stopped after %d orders: the shop is no longer in orderdesk (uninstalled, and its data erased)", p.Orders)
	}
	if errors.Is(err, orders.ErrSyncRunMoved) {
		return fmt.Sprintf("stopped after %d orders: another sync of this shop has taken over the backfill (what this one saved is kept); "+
			"let that one finish: running this one again would take the backfill back and stop that one", p.Orders)
	}
	return fmt.Sprintf("interrupted after %d orders: run again with the same --since to resume", p.Orders)
}

func progressLine(p orders.SyncProgress) string {
	var b strings.Builder
	if p.Resumed {
		b.WriteString("(resumed) ")
	}
	if p.Bulk {
		fmt.Fprintf(&b, "bulk: %d objects, %d", p.Objects, p.Orders)
	} else {
		fmt.Fprintf(&b, "page %d: %d", p.Pages, p.Orders)
	}
	if p.Total > 0 {
		fmt.Fprintf(&b, "/%d orders (%d%%)", p.Total, min(100, p.Orders*100/p.Total))
	} else {
		b.WriteString(" orders")
	}
	fmt.Fprintf(&b, ", %s", rate(p))
	if perSec, ok := perSecond(p); ok && p.Total > p.Orders {
		fmt.Fprintf(&b, ", ETA %s", time.Duration(float64(p.Total-p.Orders)/perSec*float64(time.Second)).Round(time.Second))
	}
	return b.String()
}

// perSecond is the run's rate: the orders it read over the time it spent
// reading them (a bulk export's wait for Shopify's files left out).
func perSecond(p orders.SyncProgress) (float64, bool) {
	reading := p.Elapsed - p.Waited
	if reading <= 0 || p.Fetched == 0 {
		return 0, false
	}
	return float64(p.Fetched) / reading.Seconds(), true
}

func rate(p orders.SyncProgress) string {
	perSec, ok := perSecond(p)
	if !ok {
		return "- orders/s"
	}
	return fmt.Sprintf("%.0f orders/s", perSec)
}

// webhooksCmd manages the shop's webhook subscriptions.
func webhooksCmd(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "register" {
		fmt.Fprintln(stderr, "Usage: orderdesk webhooks register --address URL")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errors.New("webhooks: the only subcommand is register")
	}
	fs := newFlags("webhooks register", "Subscribe ADDRESS (orderdesk's /webhooks/shopify) to every topic orderdesk applies that the Admin API "+
		"takes (GraphQL webhookSubscriptionCreate). Idempotent: existing subscriptions are kept, missing ones created. "+
		"The mandatory compliance topics are not API topics: it prints the shopify.app.toml section that subscribes them.", shopifyEnvHelp, stderr)
	address := fs.String("address", "", "the public URL of orderdesk's POST /webhooks/shopify (required)")
	if err := parseFlags(fs, args[1:], false); err != nil {
		return err
	}
	if u, err := url.Parse(*address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("--address must be an http(s) URL, e.g. https://orderdesk.example.com/webhooks/shopify")
	} else if u.RawQuery != "" || u.Fragment != "" {
		// POST /webhooks/shopify refuses query parameters (400), so Shopify's deliveries would all fail.
		return errors.New("--address must not carry a query or fragment: orderdesk's /webhooks/shopify takes none")
	}
	c, err := openCore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer c.store.Close()
	created, kept, err := c.shopify.RegisterWebhooks(ctx, c.shop, *address, webhooks.APITopics)
	for _, t := range created {
		fmt.Fprintf(stdout, "created  %s\n", t)
	}
	for _, t := range kept {
		fmt.Fprintf(stdout, "kept     %s\n", t)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d created, %d already there\n", len(created), len(kept))
	fmt.Fprint(stdout, complianceSnippet(*address, c.shopify.APIVersion()))
	return nil
}

// complianceSnippet is the shopify.app.toml section that subscribes the
// app to the mandatory compliance topics, which the API does not take:
// compliance_topics in a [[webhooks.subscriptions]] entry, under
// [webhooks] with the api_version of the app's configured subscriptions'
// payloads, as in Shopify's app configuration example
// (https://shopify.dev/docs/apps/build/app-configuration).
func complianceSnippet(address, apiVersion string) string {
	quoted := make([]string, len(webhooks.ComplianceTopics))
	for i, t := range webhooks.ComplianceTopics {
		quoted[i] = strconv.Quote(t)
	}
	return fmt.Sprintf("\nThe compliance topics (%s) are set in the app's configuration, not through the API.\n"+
		"Add to shopify.app.toml (then shopify app deploy; keep one [webhooks] table if it has one), or set them in the Dev Dashboard:\n\n"+
		"[webhooks]\napi_version = %s\n\n"+
		"[[webhooks.subscriptions]]\ncompliance_topics = [%s]\nuri = %s\n",
		strings.Join(webhooks.ComplianceTopics, ", "), strconv.Quote(apiVersion), strings.Join(quoted, ", "), strconv.Quote(address))
}
