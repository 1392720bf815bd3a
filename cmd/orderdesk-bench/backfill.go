package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// restCeiling is the REST-paging backfill's ceiling: 2 calls a second of
// 250 orders each on a standard plan's leaky bucket (issue 10).
const restCeiling = 2 * 250

// backfill is `make backfill-bench`: the sandbox with -orders generated
// orders (plus the catalogue) in process, then
//  1. the export alone, in process: both bulk operations run, their JSONL
//     streamed, reassembled and converted into domain orders, nothing saved;
//  2. `orderdesk sync` (the binary, a fresh database), end to end: export,
//     build and save every order with its checkpoint;
//
// each as orders/s beside the REST-paging ceiling.
func backfill(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	n := fs.Int("orders", 20000, "generated orders (plus the sandbox catalogue)")
	binary := fs.String("binary", "bin/orderdesk", "the orderdesk binary whose sync is timed")
	db := fs.String("db", "sqlite", "database of the timed sync: sqlite (a fresh file) or a postgres:// URL of an empty database")
	cpuProfile := fs.String("cpuprofile", "", "have the timed sync write a CPU profile to this file (its --cpuprofile)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: benchShop, Token: benchToken})
	now := time.Now()
	sb.Seed(now)
	sb.AddGenerated(*n, now)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	fmt.Fprintf(stdout, "backfill of %d sandbox orders; REST-paging ceiling %d orders/s (2 calls/s × 250)\n", *n+15, restCeiling)

	c, err := shopify.New(shopify.Config{APIVersion: "2026-10", BaseURL: srv.URL, Timeout: 30 * time.Second,
		Tokens: shopify.StaticTokens{benchShop: benchToken}}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	shop := tenant.Shop{ID: 1, Domain: benchShop}
	start := time.Now()
	cp, err := c.StartExport(ctx, shop, time.Time{})
	if err != nil {
		return err
	}
	got, objects := 0, 0
	if err := c.ReadExport(ctx, shop, cp, 250, func(b orders.ExportBatch) error {
		got, objects = got+len(b.Orders), b.Objects
		return nil
	}); err != nil {
		return err
	}
	line(stdout, "export (bulk operations, JSONL streamed, reassembled, converted; not saved)", got, objects, time.Since(start))

	dbURL := *db
	if dbURL == "sqlite" {
		dir, err := os.MkdirTemp("", "orderdesk-backfill-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbURL = "sqlite:" + filepath.Join(dir, "backfill.db")
	}
	env := append(os.Environ(), "ORDERDESK_DATABASE_URL="+dbURL, "SHOPIFY_SHOP="+benchShop, "SHOPIFY_ACCESS_TOKEN="+benchToken,
		"SHOPIFY_BASE_URL="+srv.URL, "ORDERDESK_LOG_LEVEL=warn")
	migrate := exec.CommandContext(ctx, *binary, "migrate")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %w\n%s", err, out)
	}
	var out bytes.Buffer
	progress := &stampedLines{}
	syncArgs := []string{"sync"}
	if *cpuProfile != "" {
		syncArgs = append(syncArgs, "--cpuprofile", *cpuProfile)
	}
	sync := exec.CommandContext(ctx, *binary, syncArgs...)
	sync.Env, sync.Stdout, sync.Stderr = env, &out, progress
	start = time.Now()
	if err := sync.Run(); err != nil {
		return fmt.Errorf("orderdesk sync: %w\n%s", err, progress.String())
	}
	elapsed := time.Since(start)
	m := regexp.MustCompile(`done: (\d+) orders \((\d+) objects\) through a bulk operation`).FindStringSubmatch(out.String())
	if m == nil {
		return errors.New("orderdesk sync did not go through a bulk operation: " + out.String())
	}
	saved, _ := strconv.Atoi(m[1])
	objects, _ = strconv.Atoi(m[2])
	line(stdout, "orderdesk sync on "+*db+" (export, build, save with checkpoints; process start included)", saved, objects, elapsed)
	// From the moment both of the sync's files were complete at the
	// sandbox: what Shopify's side takes (rendering the files, here on the
	// same two cores) is left out, orderdesk's polling, downloading,
	// converting and saving of every order is in.
	if ops := sb.BulkOperations(); len(ops) >= 2 {
		ready := ops[len(ops)-1].CompletedAt
		if at := ops[len(ops)-2].CompletedAt; at.After(ready) {
			ready = at
		}
		if !ready.IsZero() && ready.After(start) {
			fmt.Fprintf(stdout, "  before both files were complete at the sandbox: %s (process start, starting both bulk operations, the sandbox rendering their files)\n",
				ready.Sub(start).Round(time.Millisecond))
			line(stdout, "  from both files complete to the sync's end (orderdesk polling, reading the files, converting and saving every order)", saved, 0, start.Add(elapsed).Sub(ready))
		}
	}
	// The sync's own part: its first progress line comes once the bulk
	// operations completed at the sandbox (their files rendered, on the
	// same two cores) and the first batch was read and saved; from there
	// on it is orderdesk streaming, converting and saving.
	if first, last, ok := progress.batches(); ok && last.orders > first.orders {
		d := last.at.Sub(first.at)
		fmt.Fprintf(stdout, "  before its first saved batch: %s (process start, starting both bulk operations, the sandbox rendering their files, polling, the first batch read and saved)\n",
			first.at.Sub(start).Round(time.Millisecond))
		line(stdout, "  from its first saved batch to its last (orderdesk reading the files, converting and saving)", last.orders-first.orders, 0, d)
	}
	return nil
}

// stampedLines keeps what `orderdesk sync` writes to stderr, and when each
// of its bulk progress lines ("bulk: 784 objects, 250/20015 orders ...")
// arrived.
type stampedLines struct {
	buf     bytes.Buffer
	partial []byte
	marks   []progressMark
}

type progressMark struct {
	at     time.Time
	orders int
}

var bulkProgress = regexp.MustCompile(`^(?:\(resumed\) )?bulk: \d+ objects, (\d+)`)

func (s *stampedLines) Write(p []byte) (int, error) {
	now := time.Now()
	s.buf.Write(p)
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		if m := bulkProgress.FindSubmatch(s.partial[:i]); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			s.marks = append(s.marks, progressMark{at: now, orders: n})
		}
		s.partial = s.partial[i+1:]
	}
	return len(p), nil
}

func (s *stampedLines) String() string { return s.buf.String() }

// batches are the first and the last bulk progress lines.
func (s *stampedLines) batches() (first, last progressMark, ok bool) {
	if len(s.marks) < 2 {
		return first, last, false
	}
	return s.marks[0], s.marks[len(s.marks)-1], true
}

func line(w io.Writer, what string, orders, objects int, d time.Duration) {
	rate := float64(orders) / d.Seconds()
	objs := ""
	if objects > 0 {
		objs = fmt.Sprintf(" (%d objects)", objects)
	}
	fmt.Fprintf(w, "%s: %d orders%s in %s = %.0f orders/s, %.1f× the REST ceiling\n",
		what, orders, objs, d.Round(time.Millisecond), rate, rate/restCeiling)
}
