//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// asBinary makes the test binary run orderdesk itself (os.Args[1:] are
// its arguments): a test can start `serve` as a process and kill -9 it.
const asBinary = "ORDERDESK_TEST_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(asBinary) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crmReceiver verifies every delivery with the Standard Webhooks library
// and records them; while held it keeps each request open (the sender
// waits for an answer that never comes) until the sender goes away.
type crmReceiver struct {
	wh *standardwebhooks.Webhook

	mu       sync.Mutex
	hold     bool
	arrived  chan struct{} // closed at the first delivery
	held     int64         // the order of the first delivery
	got      []receivedEvent
	bad      []string
	answered map[string]int // event id → 2xx answers
}

type receivedEvent struct {
	id, typ string
	order   int64
	seq     int64
}

func (c *crmReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Sequence int64  `json:"sequence"`
		Order    struct {
			ID int64 `json:"id"`
		} `json:"order"`
	}
	c.mu.Lock()
	if err := c.wh.Verify(body, r.Header); err != nil {
		c.bad = append(c.bad, err.Error())
		c.mu.Unlock()
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("webhook-id") {
		c.bad = append(c.bad, fmt.Sprintf("body %q does not name webhook-id %q", body, r.Header.Get("webhook-id")))
	}
	select {
	case <-c.arrived:
	default:
		close(c.arrived)
		c.held = ev.Order.ID
	}
	hold := c.hold
	c.mu.Unlock()
	if hold {
		<-r.Context().Done() // the sender was killed
		return
	}
	c.mu.Lock()
	c.got = append(c.got, receivedEvent{id: ev.ID, typ: ev.Type, order: ev.Order.ID, seq: ev.Sequence})
	c.answered[ev.ID]++
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// TestKill9BetweenChangeAndDeliveryLosesNothing: two refunds commit their
// events while the CRM holds the first delivery open; serve is killed
// with SIGKILL (no shutdown of any kind) in the middle of that delivery.
// Started again on the same database, it delivers every event (each at
// least once, each order's in sequence), and a change made after the
// restart reaches the CRM at once: the killed process's delivery job,
// left "running" in River's table until River rescues it minutes later,
// does not hold the endpoint's deliveries back.
func TestKill9BetweenChangeAndDeliveryLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills serve processes")
	}
	t.Parallel()
	kinds := []string{"sqlite"}
	if os.Getenv("ORDERDESK_TEST_POSTGRES_URL") != "" {
		kinds = append(kinds, "postgres")
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			kill9Trial(t, kind)
		})
	}
}

func kill9Trial(t *testing.T, kind string) {
	const shop, token, key = "kill.myshopify.com", "shpat_kill", "kill-key-0123456789"
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: shop, Token: token})
	sb.Seed(time.Now())
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)

	secret, err := events.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	crm := &crmReceiver{wh: wh, hold: true, arrived: make(chan struct{}), answered: map[string]int{}}
	crmSrv := httptest.NewServer(crm)
	t.Cleanup(crmSrv.Close)

	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "kill.db")
	if kind == "postgres" {
		dbURL, _ = storetest.SchemaURL(t)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{asBinary + "=1",
		"ORDERDESK_HTTP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", port),
		"ORDERDESK_DATABASE_URL=" + dbURL,
		"ORDERDESK_API_KEY=" + key,
		"ORDERDESK_ENV=development",
		"ORDERDESK_LOG_LEVEL=warn",
		"SHOPIFY_SHOP=" + shop, "SHOPIFY_ACCESS_TOKEN=" + token, "SHOPIFY_BASE_URL=" + sbSrv.URL,
		"ORDERDESK_EVENTS_URL=" + crmSrv.URL, "ORDERDESK_EVENTS_SECRET=" + secret,
		"ORDERDESK_EVENTS_ALLOW_PRIVATE=true",
		// An attempt's answer is awaited 10 s: the held delivery is still
		// in flight when the kill comes. Its claim runs 30 s.
		"ORDERDESK_EVENTS_TIMEOUT=10s",
	}
	start := func() (*exec.Cmd, *syncWriter) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "serve")
		cmd.Env = append(os.Environ(), env...)
		// Killed with the test process too (a -timeout panic, a ^C): no
		// serve outlives the test holding its port and database.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		logs := &syncWriter{w: &bytes.Buffer{}} // one lock for both streams and the reader
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitFor(t, base+"/readyz")
		return cmd, logs
	}
	refund := func(order uint64, amount, ikey string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/orders/%d/refund", base, order), strings.NewReader(`{"amount":"`+amount+`"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", ikey)
		req.Header.Set("X-Agent-Id", "7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("refund %d: %v", order, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refund %d = %d %s", order, resp.StatusCode, b)
		}
	}

	first, _ := start()
	refund(shopifysandbox.OrderPaidUnfulfilled, "1.00", "kill-1")
	select {
	case <-crm.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery reached the CRM within 20 s of the refund")
	}
	refund(shopifysandbox.OrderEUR, "1.00", "kill-2") // committed, its delivery waits behind the held one
	orderOf := map[string]int64{}
	written := listEventIDs(t, base, key, orderOf)
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = first.Wait()

	crm.mu.Lock()
	crm.hold = false
	crm.mu.Unlock()
	_, logs := start()
	killed := time.Now()

	// A change after the restart reaches the CRM at once, though the
	// killed process's job still looks running.
	refund(shopifysandbox.OrderJPY, "100", "kill-3")
	after := time.Now()
	all := listEventIDs(t, base, key, orderOf)
	var fresh []string
	for _, id := range all {
		if !slices.Contains(written, id) {
			fresh = append(fresh, id)
		}
	}
	if len(written) < 4 || len(fresh) < 2 {
		t.Fatalf("events written: %d before the kill, %d after (want ≥4 and ≥2)", len(written), len(fresh))
	}
	waitDelivered := func(ids []string, within time.Duration, what string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			crm.mu.Lock()
			missing := 0
			for _, id := range ids {
				if crm.answered[id] == 0 {
					missing++
				}
			}
			crm.mu.Unlock()
			if missing == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d events not delivered within %s\nserve's log:\n%s", what, missing, len(ids), within, tail(logs.String(), 3000))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitDelivered(fresh, 10*time.Second, "the refund after the restart")
	t.Logf("the refund after the restart delivered %s after its answer", time.Since(after).Round(time.Millisecond))
	// Events written before the kill that the killed process had not
	// claimed (the second refund's order) need no lease to run out either.
	crm.mu.Lock()
	held := crm.held
	crm.mu.Unlock()
	var unclaimed []string
	for _, id := range written {
		if orderOf[id] != held {
			unclaimed = append(unclaimed, id)
		}
	}
	if len(unclaimed) == 0 || len(unclaimed) == len(written) {
		t.Fatalf("of %d events written before the kill, %d are of other orders than the held delivery's (%d)", len(written), len(unclaimed), held)
	}
	waitDelivered(unclaimed, 10*time.Second, "the events before the kill of the order not in flight")
	t.Logf("the events before the kill of the order not in flight delivered %s after the restart", time.Since(killed).Round(time.Millisecond))
	// The held delivery's claim (twice the timeout plus 10 s) runs out,
	// then it and the rest of its order follow.
	waitDelivered(all, 100*time.Second, "the events written before the kill")
	t.Logf("every event written before the kill delivered %s after the restart", time.Since(killed).Round(time.Millisecond))

	crm.mu.Lock()
	defer crm.mu.Unlock()
	if len(crm.bad) > 0 {
		t.Errorf("deliveries refused by the Standard Webhooks library: %v", crm.bad)
	}
	last := map[int64]int64{}
	for _, e := range crm.got {
		if !slices.Contains(all, e.id) {
			t.Errorf("delivered %s (%s), which GET /events does not list", e.id, e.typ)
		}
		if e.seq < last[e.order] {
			t.Errorf("order %d: sequence %d (%s) delivered after %d", e.order, e.seq, e.typ, last[e.order])
		}
		last[e.order] = max(last[e.order], e.seq)
	}
}

// listEventIDs is every event id GET /events lists, all pages; orderOf
// learns each one's order.
func listEventIDs(t *testing.T, base, key string, orderOf map[string]int64) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		u := base + "/events?limit=100"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /events: %v", err)
		}
		var page struct {
			Events []struct {
				ID    string `json:"id"`
				Order struct {
					ID int64 `json:"id"`
				} `json:"order"`
			} `json:"events"`
			NextCursor *string `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /events = %d: %v", resp.StatusCode, err)
		}
		for _, e := range page.Events {
			ids = append(ids, e.ID)
			orderOf[e.ID] = e.Order.ID
		}
		if page.NextCursor == nil {
			return ids
		}
		cursor = *page.NextCursor
	}
}
