//go:build !nodemo

// The tests of the demo and sandbox commands, which the production build
// (-tags nodemo) leaves out.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// notInBuild: this build has every command.
var notInBuild = map[string]bool{}

func TestDemoRunErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"negative count", []string{"sandbox", "--orders", "-5"}, nil, "--orders must not be negative"},
		{"not a count", []string{"sandbox", "--orders", "five"}, nil, `sandbox: invalid value "five" for flag -orders`},
		{"sandbox port out of range", []string{"sandbox", "--addr", "127.0.0.1:99999"}, nil, "--addr:"},
		{"demo sandbox port out of range", []string{"demo", "--sandbox-addr", "127.0.0.1:99999"}, map[string]string{}, "--sandbox-addr:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkRunError(t, tt.args, tt.env, tt.want)
		})
	}
}

// TestDemoSandboxPort: the default sandbox address taken, the demo takes a
// free port and says so; an address given with --sandbox-addr is used or
// refused naming the flag.
func TestDemoSandboxPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var msg bytes.Buffer
	ln, err := listenSandbox(taken.Addr().String(), false, &msg)
	if err != nil {
		t.Fatalf("default taken: %v", err)
	}
	defer ln.Close()
	if ln.Addr().String() == taken.Addr().String() || !strings.Contains(msg.String(), "choose with --sandbox-addr") {
		t.Errorf("listens on %s, said %q", ln.Addr(), msg.String())
	}
	if _, err := listenSandbox(taken.Addr().String(), true, io.Discard); err == nil || !strings.HasPrefix(err.Error(), "--sandbox-addr: ") {
		t.Errorf("explicit and taken: err = %v", err)
	}
}

// TestDemoRuns starts the demo on free ports and follows its banner: the
// API answers, and so does the sandbox at the address it printed.
func TestDemoRuns(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncWriter{w: &bytes.Buffer{}}
	env := map[string]string{"ORDERDESK_HTTP_ADDR": "127.0.0.1:0", "ORDERDESK_LOG_LEVEL": "error"}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "--sandbox-addr", "127.0.0.1:0"}, env, out, io.Discard) }()
	banner := regexp.MustCompile(`running on (http://\S+) with (\d+) orders from the Shopify sandbox at (http://\S+)\.`)
	var m []string
	deadline := time.Now().Add(20 * time.Second)
	for m == nil && time.Now().Before(deadline) {
		out.mu.Lock()
		m = banner.FindStringSubmatch(out.w.(*bytes.Buffer).String())
		out.mu.Unlock()
		if m == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if m == nil {
		t.Fatal("no banner")
	}
	resp, err := http.Get(m[1] + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if n, _ := strconv.Atoi(m[2]); n == 0 {
		t.Errorf("the demo loaded no orders from the sandbox at %s", m[3])
	}
	// The second shop, installed through the sandbox's OAuth, with its own key.
	var second []string
	for second == nil && time.Now().Before(deadline) {
		out.mu.Lock()
		second = regexp.MustCompile(`A second shop, (\S+), was installed through Shopify's OAuth \(the sandbox's\) with (\d+) orders\.[\s\S]*?API key:\s+(\S+)`).FindStringSubmatch(out.w.(*bytes.Buffer).String())
		out.mu.Unlock()
		if second == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if second == nil || second[2] == "0" {
		t.Fatalf("no second shop with orders in the banner: %v", second)
	}
	for path, want := range map[string]int{"/orders": http.StatusOK, fmt.Sprintf("/orders/%d", shopifysandbox.SecondPaidUnfulfilled): http.StatusOK,
		fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit): http.StatusNotFound} {
		req, _ := http.NewRequest(http.MethodGet, m[1]+path, nil)
		req.Header.Set("Authorization", "Bearer "+second[3])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("the second shop's key: GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	// A refund made with the banner's curl reaches the built-in receiver,
	// verified, as order.refunded and action.succeeded. The demo shows both
	// within a second on a quiet machine; under -race, beside the other
	// packages' tests, the second event can wait for the next pump round
	// (1 s), so the test allows 5 s and reports the time taken.
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/orders/%d/refund", m[1], shopifysandbox.OrderPaidUnfulfilled), strings.NewReader(`{"amount":"5.00"}`))
	req.Header.Set("Authorization", "Bearer "+demoKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "demo-test-refund")
	req.Header.Set("X-Agent-Id", "42")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("refund: %v %v", resp, err)
	}
	resp.Body.Close()
	answered := time.Now()
	lines := regexp.MustCompile(`CRM receiver: (order\.refunded|action\.succeeded)\s+#1002\s+5\.00 USD\s+\(verified`)
	for {
		out.mu.Lock()
		n := len(lines.FindAllString(out.w.(*bytes.Buffer).String(), -1))
		out.mu.Unlock()
		if n == 2 {
			t.Logf("order.refunded and action.succeeded printed %s after the refund's answer", time.Since(answered).Round(time.Millisecond))
			break
		}
		if time.Since(answered) > 5*time.Second {
			out.mu.Lock()
			t.Fatalf("%d of order.refunded and action.succeeded printed within 5 s of the refund:\n%s", n, out.w.(*bytes.Buffer).String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Everything the demo did (its backfills, the second shop's install,
	// the reads and the refund) went through GraphQL: the sandbox, where
	// the banner says, counts no REST call and no refused document.
	resp, err = http.Get(m[3] + "/sandbox/calls")
	if err != nil {
		t.Fatalf("sandbox at %s: %v", m[3], err)
	}
	type callReport struct {
		Operations map[string]int        `json:"operations"`
		REST       *int                  `json:"rest"`
		Unserved   *int                  `json:"unserved_documents"`
		Refused    []string              `json:"refused_documents"`
		Shops      map[string]callReport `json:"shops"`
	}
	var calls, secondCalls callReport
	err = json.NewDecoder(resp.Body).Decode(&calls)
	resp.Body.Close()
	if err != nil || calls.REST == nil || calls.Unserved == nil || calls.Refused == nil {
		t.Fatalf("GET /sandbox/calls: %+v, %v", calls, err)
	}
	// Naming no shop, it answers for both: the second shop's calls (its
	// install's backfill, the reads with its key) are in the sum and
	// under its domain.
	resp, err = http.Get(m[3] + "/sandbox/calls?shop=" + second[1])
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&secondCalls)
	resp.Body.Close()
	if err != nil || len(secondCalls.Operations) == 0 || len(calls.Shops) != 2 {
		t.Fatalf("the second shop's calls %+v (%v); GET /sandbox/calls answers for %d shops, want 2", secondCalls, err, len(calls.Shops))
	}
	for op, n := range secondCalls.Operations {
		if calls.Operations[op] < n || calls.Shops[second[1]].Operations[op] != n {
			t.Errorf("operation %s: the second shop counts %d, GET /sandbox/calls %d in all and %d under %s", op, n, calls.Operations[op], calls.Shops[second[1]].Operations[op], second[1])
		}
	}
	graphql := 0
	for _, n := range calls.Operations {
		graphql += n
	}
	if *calls.REST != 0 || *calls.Unserved != 0 || len(calls.Refused) != 0 || graphql == 0 || calls.Operations[shopifysandbox.OpRefundCreate] == 0 {
		t.Errorf("the demo's calls to the sandbox: %d REST, %d unserved, refused %q, GraphQL operations %v; want GraphQL only, all served", *calls.REST, *calls.Unserved, calls.Refused, calls.Operations)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
}
