//go:build !nodemo

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/orderdesk/orderdesk/internal/events"
)

// demoReceiver stands in for the CRM in the demo: it is the demo shop's
// event endpoint (ORDERDESK_EVENTS_URL), verifies every delivery with the
// Standard Webhooks library, as any receiver would, and prints one line
// per event.
type demoReceiver struct {
	wh  *standardwebhooks.Webhook
	mu  sync.Mutex
	out io.Writer
}

func newDemoReceiver(secret string, out io.Writer) (*demoReceiver, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("demo receiver: %w", err)
	}
	return &demoReceiver{wh: wh, out: out}, nil
}

func (d *demoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := d.wh.Verify(body, r.Header); err != nil {
		d.print("CRM receiver: refused a delivery: %v\n", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev events.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	d.print("CRM receiver: %-26s %-6s %s  (verified, webhook-id %s, sequence %d)\n", ev.Type, ev.Order.Name, amountOf(ev), ev.ID, ev.Sequence)
	w.WriteHeader(http.StatusNoContent)
}

func (d *demoReceiver) print(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, format, args...)
}

// amountOf is the money an event is about: the refund's, the action's, the
// payment's, else the order's total.
func amountOf(ev events.Event) string {
	switch {
	case ev.Refund != nil:
		return ev.Refund.Amount + " " + ev.Refund.Currency
	case ev.Action != nil && ev.Action.Outcome.Amount != nil:
		return *ev.Action.Outcome.Amount + " " + ev.Action.Outcome.Currency
	case ev.Payment != nil:
		return ev.Payment.Amount + " " + ev.Payment.Currency
	}
	return ev.Order.TotalPrice + " " + ev.Order.Currency
}

// startDemoReceiver listens on a free loopback port and serves the
// receiver; it returns its URL and a stop function.
func startDemoReceiver(secret string, out io.Writer) (string, func(), error) {
	rcv, err := newDemoReceiver(secret, out)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo receiver: %w", err)
	}
	srv := newHTTPServer(rcv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/orderdesk-events", func() { _ = srv.Close() }, nil
}
