package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/webhooks"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond) // still working when SIGTERM arrives
		_, _ = io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, newHTTPServer(h), ln, slog.New(slog.DiscardHandler)) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel() // the signal
	r := <-got
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("serveHTTP: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String()); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, nil, "a command is required"},
		{"unknown command", []string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{"serve without key", []string{"serve"}, map[string]string{}, "ORDERDESK_API_KEY: required"},
		{"serve with a bad database url", []string{"serve"}, map[string]string{"ORDERDESK_API_KEY": "0123456789abcdef", "ORDERDESK_DATABASE_URL": "mysql://x"}, "ORDERDESK_DATABASE_URL:"},
		{"migrate with a bad database url", []string{"migrate"}, map[string]string{"ORDERDESK_DATABASE_URL": "nope"}, "ORDERDESK_DATABASE_URL:"},
		{"unknown flag", []string{"serve", "--nope"}, map[string]string{}, "serve: flag provided but not defined: -nope (see orderdesk serve --help)"},
		{"version takes no arguments", []string{"version", "extra"}, nil, `version takes no arguments, got ["extra"]`},
		{"serve takes no arguments", []string{"serve", "now"}, map[string]string{}, "serve takes no arguments"},
		{"listen port out of range", []string{"serve"}, map[string]string{"ORDERDESK_HTTP_ADDR": "127.0.0.1:99999", "ORDERDESK_API_KEY": "0123456789abcdef"}, "ORDERDESK_HTTP_ADDR:"},
		{"sync with a negative window", []string{"sync", "--since", "-1h"}, nil, "--since must not be negative"},
		{"webhook address with a query", []string{"webhooks", "register", "--address", "https://x.example/webhooks/shopify?a=1"}, nil, "must not carry a query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkRunError(t, tt.args, tt.env, tt.want)
		})
	}
}

// checkRunError runs the command and checks its error: one line that
// contains want, printed by main only.
func checkRunError(t *testing.T, args []string, env map[string]string, want string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, env, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	// main prints the error, once: nothing else said it already.
	if strings.Contains(errOut.String(), want) || strings.Contains(out.String(), want) {
		t.Errorf("the error was printed before main prints it:\nstdout: %s\nstderr: %s", out.String(), errOut.String())
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		if notInBuild[c.name] {
			continue // TestDemoNotInProductionBuild
		}
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{c.name, "--help"}, map[string]string{}, &out, &errOut)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s --help: err = %v", c.name, err)
		}
		if !strings.Contains(errOut.String(), "Usage: orderdesk "+c.name) {
			t.Errorf("%s --help printed %q", c.name, errOut.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "demo") {
		t.Errorf("--help: %v %q", err, out.String())
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
		if kind == "postgres" {
			dbURL, _ = storetest.SchemaURL(t)
		}
		var out bytes.Buffer
		for range 2 { // twice: the second run finds nothing to do
			out.Reset()
			if err := run(context.Background(), []string{"migrate"}, map[string]string{"ORDERDESK_DATABASE_URL": dbURL}, &out, io.Discard); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
		}
		if !regexp.MustCompile(`migration version [1-9][0-9]*\n`).MatchString(out.String()) {
			t.Errorf("%s: %q", kind, out.String())
		}
	}
}

// TestServeEndToEnd starts `orderdesk serve` as an operator would, with only
// the API key and the Shopify settings, and checks what the brief promises.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: "e2e.myshopify.com", Token: "shpat_e2e"})
	sb.Seed(time.Now())
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()
	port := freePort(t)
	env := map[string]string{
		"ORDERDESK_HTTP_ADDR":    fmt.Sprintf("127.0.0.1:%d", port),
		"ORDERDESK_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "od.db"),
		"ORDERDESK_API_KEY":      "e2e-key-0123456789",
		"SHOPIFY_SHOP":           "e2e.myshopify.com",
		"SHOPIFY_ACCESS_TOKEN":   "shpat_e2e",
		"SHOPIFY_BASE_URL":       sbSrv.URL,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, &syncWriter{w: &logs}) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, base+"/healthz")
	checks := []struct {
		path, key string
		status    int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/docs/index.html", "", 200},
		{"/openapi.json", "", 200},
		{"/orders", "", 401},
		{fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit), "e2e-key-0123456789", 200},
	}
	for _, c := range checks {
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s = %d, want %d", c.path, resp.StatusCode, c.status)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	w := logs.String()
	if strings.Contains(w, "e2e-key-0123456789") || strings.Contains(w, "shpat_e2e") {
		t.Error("a secret reached the logs")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

// syncWriter lets the server's goroutines log into a buffer the test reads.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// cancelOn cancels a context when the output shows a given line start.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.prefix != "" && strings.Contains(c.buf.String(), c.prefix) {
		c.cancel()
	}
	return len(p), nil
}

// syncEnv is the environment of `orderdesk sync` against a sandbox, on a
// fresh database of kind.
func syncEnv(t *testing.T, kind, shop, token, sandboxURL string) map[string]string {
	t.Helper()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "bf.db")
	if kind == "postgres" {
		dbURL, _ = storetest.SchemaURL(t)
	}
	return map[string]string{"ORDERDESK_DATABASE_URL": dbURL, "SHOPIFY_SHOP": shop,
		"SHOPIFY_ACCESS_TOKEN": token, "SHOPIFY_BASE_URL": sandboxURL}
}

// TestSyncBulkBackfillResumes backfills 20,000 sandbox orders (and the
// catalogue) through bulk operations; the download of the export drops
// mid-stream, in the middle of an order's lines; run again, the backfill
// resumes where it stopped: every line of both result files is sent once
// in all, and the orders saved by the two runs add up to the shop's.
//
// CI runs it with 2,000 generated orders (20,000 take over 9 minutes under
// -race on 2 cores); the figure is
// `go test ./cmd/orderdesk -run TestSyncBulkBackfillResumes -bulk.orders 20000`.
var bulkOrders = flag.Int("bulk.orders", 2000, "generated sandbox orders in TestSyncBulkBackfillResumes")

func TestSyncBulkBackfillResumes(t *testing.T) {
	t.Parallel()
	n := *bulkOrders
	want := n + 15 // and the catalogue
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			sb := shopifysandbox.New(shopifysandbox.Options{Shop: "bulk.myshopify.com", Token: "shpat_bulk"})
			sb.Seed(time.Now())
			sb.AddGenerated(n, time.Now())
			srv := httptest.NewServer(sb)
			defer srv.Close()
			env := syncEnv(t, kind, "bulk.myshopify.com", "shpat_bulk", srv.URL)
			sb.SetBulkFault(shopifysandbox.BulkFault{CutAtLine: n*5/4 + 1}) // in the orders file (~2 lines an order, the refunds file has 1): mid-order
			var out1, err1 bytes.Buffer
			err := run(context.Background(), []string{"sync"}, env, &out1, &err1)
			if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
				t.Fatalf("cut download: err = %v\n%s", err, err1.String())
			}
			var first int
			if _, serr := fmt.Sscanf(err1.String()[strings.LastIndex(err1.String(), "interrupted after "):], "interrupted after %d orders", &first); serr != nil || first == 0 || first >= want {
				t.Fatalf("interrupted run saved %d orders (%v):\n%s", first, serr, err1.String())
			}
			var out2, err2 bytes.Buffer
			if err := run(context.Background(), []string{"sync"}, env, &out2, &err2); err != nil {
				t.Fatalf("resumed run: %v\n%s", err, err2.String())
			}
			t.Logf("first run: %d orders; second run:\n%s%s", first, tail(err2.String(), 3), out2.String())
			var total, objects, second int
			if _, err := fmt.Sscanf(out2.String(), "done: %d orders (%d objects) through a bulk operation, %d read by this run", &total, &objects, &second); err != nil {
				t.Fatalf("resumed output %q: %v", out2.String(), err)
			}
			if !strings.Contains(err2.String(), "(resumed) bulk:") {
				t.Errorf("the second run did not resume:\n%s", err2.String())
			}
			if total != want || first+second != want {
				t.Errorf("orders: %d in all, %d + %d by the two runs; want %d, each once", total, first, second, want)
			}
			ops := sb.BulkOperations()
			if len(ops) != 2 {
				t.Fatalf("%d bulk operations, want the export's 2 (the resumed run starts none)", len(ops))
			}
			lines := 0
			for _, op := range ops {
				for i, n := range sb.BulkLineReads(op.ID) {
					if n != 1 {
						t.Errorf("%s: line %d sent %d times", op.ID, i+1, n)
						break
					}
				}
				lines += op.Objects
			}
			if objects != lines {
				t.Errorf("objects read %d, want the files' %d lines", objects, lines)
			}
			if n := sb.Calls(shopifysandbox.OpOrdersList) + sb.Calls(shopifysandbox.OpOrderGet) + sb.RESTCalls(); n != 0 {
				t.Errorf("%d order pages, single reads or REST calls besides the export", n)
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "") + "\n"
}

// TestSyncPagesWhenBulkRefused: with a bulk operation already running,
// the backfill pages through the orders instead; interrupted after page
// 3, it resumes at page 4 and reads no page twice.
func TestSyncPagesWhenBulkRefused(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			sb := shopifysandbox.New(shopifysandbox.Options{Shop: "bf.myshopify.com", Token: "shpat_bf"})
			sb.Seed(time.Now())
			sb.AddGenerated(200, time.Now())
			sb.SetBulkFault(shopifysandbox.BulkFault{Refuse: "OPERATION_IN_PROGRESS"})
			srv := httptest.NewServer(sb)
			defer srv.Close()
			env := syncEnv(t, kind, "bf.myshopify.com", "shpat_bf", srv.URL)
			ctx, cancel := context.WithCancel(context.Background())
			progress := &cancelOn{prefix: "page 3:", cancel: cancel}
			if err := run(ctx, []string{"sync"}, env, io.Discard, progress); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: err = %v\n%s", err, progress.buf.String())
			}
			if !strings.Contains(progress.buf.String(), "run again with the same --since to resume") {
				t.Errorf("no resume hint:\n%s", progress.buf.String())
			}
			var out, second bytes.Buffer
			if err := run(context.Background(), []string{"sync"}, env, &out, &second); err != nil {
				t.Fatalf("resumed run: %v\n%s", err, second.String())
			}
			pages := (215 + shopify.OrdersPageSize - 1) / shopify.OrdersPageSize
			if !strings.Contains(second.String(), fmt.Sprintf("(resumed) page 4: %d/215 orders", 4*shopify.OrdersPageSize)) || !strings.Contains(out.String(), fmt.Sprintf("done: 215 orders in %d pages", pages)) {
				t.Errorf("resumed output:\n%s%s", second.String(), out.String())
			}
			if n := sb.Calls(shopifysandbox.OpOrdersList); n != pages {
				t.Errorf("order pages read = %d, want %d (no page twice)", n, pages)
			}
			if ops := sb.BulkOperations(); len(ops) != 0 {
				t.Errorf("bulk operations run: %v", ops)
			}
		})
	}
}

func TestWebhooksRegisterIsIdempotent(t *testing.T) {
	t.Parallel()
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: "wh.myshopify.com", Token: "shpat_wh"})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	env := map[string]string{"ORDERDESK_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "wh.db"), "SHOPIFY_SHOP": "wh.myshopify.com",
		"SHOPIFY_ACCESS_TOKEN": "shpat_wh", "SHOPIFY_BASE_URL": srv.URL}
	args := []string{"webhooks", "register", "--address", "https://orderdesk.example.com/webhooks/shopify"}
	var first, second bytes.Buffer
	if err := run(context.Background(), args, env, &first, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), args, env, &second, io.Discard); err != nil {
		t.Fatal(err)
	}
	n := len(webhooks.APITopics)
	if !strings.Contains(first.String(), fmt.Sprintf("%d created, 0 already there", n)) || !strings.Contains(second.String(), fmt.Sprintf("0 created, %d already there", n)) {
		t.Errorf("first:\n%s\nsecond:\n%s", first.String(), second.String())
	}
	if got := sb.Calls(shopifysandbox.OpWebhooksCreate); got != n {
		t.Errorf("subscriptions created = %d, want %d", got, n)
	}
	// The compliance topics go to shopify.app.toml, never to the API.
	for _, h := range sb.Webhooks() {
		if slices.Contains(webhooks.ComplianceTopics, h.Topic) {
			t.Errorf("compliance topic %s subscribed through the API", h.Topic)
		}
	}
	// The shape of Shopify's app configuration example
	// (https://shopify.dev/docs/apps/build/app-configuration).
	if !strings.Contains(first.String(), "[webhooks]\napi_version = \"2026-10\"\n\n[[webhooks.subscriptions]]\n"+
		`compliance_topics = ["customers/data_request", "customers/redact", "shop/redact"]`+"\n"+
		`uri = "https://orderdesk.example.com/webhooks/shopify"`) {
		t.Errorf("no shopify.app.toml snippet:\n%s", first.String())
	}
	if n := sb.RESTCalls(); n != 0 {
		t.Errorf("%d REST calls", n)
	}
	if err := run(context.Background(), []string{"webhooks", "register", "--address", "ftp://x"}, env, io.Discard, io.Discard); err == nil {
		t.Error("a non-http address was accepted")
	}
}
