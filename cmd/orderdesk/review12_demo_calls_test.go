//go:build !nodemo

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// (Fixed: the front answers a GET /sandbox/calls naming no shop for every
// shop, their sum and each one's.)
// TestReview12DemoCallsSeeEveryShop: README says `curl -s localhost:8788/sandbox/calls`
// shows "every call orderdesk made to the sandbox", and TestDemoRuns reads that
// URL to claim "everything the demo did (its backfills, the second shop's
// install, ...)" reached the sandbox as GraphQL. The multi-shop front routes a
// request naming no shop (Host 127.0.0.1 / localhost) to the FIRST shop, so
// the second shop's calls (its install's backfill, the reads made with its
// key) are never in that answer: its REST calls and refused documents go
// unchecked.
func TestReview12DemoCallsSeeEveryShop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncWriter{w: &bytes.Buffer{}}
	env := map[string]string{"ORDERDESK_HTTP_ADDR": "127.0.0.1:0", "ORDERDESK_LOG_LEVEL": "error"}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "--sandbox-addr", "127.0.0.1:0"}, env, out, io.Discard) }()
	banner := regexp.MustCompile(`from the Shopify sandbox at (http://\S+)\.[\s\S]*A second shop, (\S+), was installed`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out.mu.Lock()
		m = banner.FindStringSubmatch(out.w.(*bytes.Buffer).String())
		out.mu.Unlock()
	}
	if m == nil {
		t.Fatal("no banner with the second shop")
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(m[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	type callsDoc struct {
		Operations map[string]int      `json:"operations"`
		REST       int                 `json:"rest"`
		Shops      map[string]callsDoc `json:"shops"`
	}
	var readme, second callsDoc
	get("/sandbox/calls", &readme) // what README's curl and TestDemoRuns read
	get("/sandbox/calls?shop="+m[2], &second)
	t.Logf("GET /sandbox/calls: %v; ?shop=%s: %v", readme.Operations, m[2], second.Operations)
	secondCalls := 0
	for _, n := range second.Operations {
		secondCalls += n
	}
	if secondCalls == 0 {
		t.Fatalf("the second shop (%s) received no call: %+v", m[2], second)
	}
	// The answer naming no shop is every shop's: the second's counts are
	// in its sum and under its domain.
	for op, n := range second.Operations {
		if readme.Operations[op] < n || readme.Shops[m[2]].Operations[op] != n {
			t.Errorf("operation %s: the second shop counts %d, GET /sandbox/calls %d in all and %d under %s", op, n, readme.Operations[op], readme.Shops[m[2]].Operations[op], m[2])
		}
	}
	if len(readme.Shops) != 2 {
		t.Errorf("GET /sandbox/calls answers for %d shops, want the demo's 2", len(readme.Shops))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
}
