package events_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/orderdesk/orderdesk/internal/events"
)

func TestBackoffSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 5 * time.Second}, {1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second},
		{8, 640 * time.Second}, {13, 5*time.Hour + 41*time.Minute + 20*time.Second}, {14, 8 * time.Hour}, {40, 8 * time.Hour},
	}
	for _, tt := range tests {
		if got := events.Backoff(tt.n); got != tt.want {
			t.Errorf("Backoff(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
	if lo, hi := events.Jitter(time.Minute, 0), events.Jitter(time.Minute, 0.999999); lo != 45*time.Second || hi < 74*time.Second || hi > 75*time.Second {
		t.Errorf("jitter spans %s..%s, want 45s..75s", lo, hi)
	}
}

func TestNextOutcome(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	half := func() float64 { return 0.5 } // no jitter
	long := at.Add(-events.GiveUpAfter)
	recent := at.Add(-time.Hour)
	tests := []struct {
		name        string
		status      int
		attempts    int
		firstFailed *time.Time
		state       string
		next        time.Duration
		disable     string
	}{
		{"2xx delivers", 204, 3, &recent, events.DeliveryDelivered, 0, ""},
		{"first failure waits 5s", 500, 0, nil, events.DeliveryPending, 5 * time.Second, ""},
		{"no answer is a failure", 0, 2, &recent, events.DeliveryPending, 20 * time.Second, ""},
		{"a redirect is not followed: a failure", 302, 0, nil, events.DeliveryPending, 5 * time.Second, ""},
		{"400 is retried", 400, 1, &recent, events.DeliveryPending, 10 * time.Second, ""},
		{"410 disables at once", 410, 0, nil, events.DeliveryPending, 0, "410"},
		{"3 days of failures give up", 503, 17, &long, events.DeliveryFailed, 0, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := events.Next(tt.status, "", tt.attempts, tt.firstFailed, at, half)
			if o.State != tt.state || o.Next.Sub(at) != tt.next {
				t.Errorf("state %s next +%s, want %s +%s", o.State, o.Next.Sub(at), tt.state, tt.next)
			}
			if (tt.disable == "") != (o.Disable == "") || !strings.Contains(o.Disable, tt.disable) {
				t.Errorf("disable %q, want one saying %q", o.Disable, tt.disable)
			}
			if tt.state != events.DeliveryDelivered && o.FirstFailedAt == nil {
				t.Error("first failure not kept")
			}
		})
	}
}

func TestURLPolicy(t *testing.T) {
	t.Parallel()
	prod := events.URLPolicy{}
	dev := events.URLPolicy{AllowHTTP: true}
	open := events.URLPolicy{AllowHTTP: true, AllowPrivate: true}
	tests := []struct {
		policy events.URLPolicy
		url    string
		ok     bool
	}{
		{prod, "https://93.184.216.34/hooks", true},
		{prod, "http://93.184.216.34/hooks", false},
		{dev, "http://93.184.216.34/hooks", true},
		{prod, "ftp://93.184.216.34/", false},
		{prod, "https://user:pw@93.184.216.34/", false},
		{prod, "/relative", false},
		{prod, "https://127.0.0.1/", false},
		{prod, "https://localhost/", false},
		{prod, "https://api.localhost/", false},
		{prod, "https://[::1]/", false},
		{prod, "https://10.1.2.3/", false},
		{prod, "https://172.16.0.1/", false},
		{prod, "https://192.168.1.1/", false},
		{prod, "https://100.64.0.1/", false},
		{prod, "https://169.254.169.254/latest/meta-data", false},
		{prod, "https://[fe80::1]/", false},
		{prod, "https://[fd00::1]/", false},
		{prod, "https://0.0.0.0/", false},
		{prod, "https://224.0.0.1/", false},
		{prod, "https://[::ffff:127.0.0.1]/", false},
		// review-11 finding 4: IPv6 forms that carry an IPv4 address a
		// NAT64 or 6to4 gateway on the path forwards to, and reserved v4.
		{prod, "https://[64:ff9b::7f00:1]/", false},
		{prod, "https://[64:ff9b::a9fe:a9fe]/", false},
		{prod, "https://[2002:c0a8:101::1]/", false},
		{prod, "https://[64:ff9b::5db8:d822]/", true},
		{prod, "https://198.18.0.1/", false},
		{prod, "https://240.0.0.1/", false},
		{prod, "https://255.255.255.255/", false},
		{prod, "https://0.1.2.3/", false},
		{open, "http://127.0.0.1:9/", true},
		{open, "http://10.0.0.1/", true},
	}
	for _, tt := range tests {
		_, err := tt.policy.Check(context.Background(), tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("%+v %s: %v, want ok=%t", tt.policy, tt.url, err, tt.ok)
		}
		if err != nil && !errors.Is(err, events.ErrURLRefused) {
			t.Errorf("%s: %v is not ErrURLRefused", tt.url, err)
		}
	}
}

// TestSignVerifiesWithLibrary: the headers verify with the Standard
// Webhooks library, with each secret of a rotation, and not with another.
func TestSignVerifiesWithLibrary(t *testing.T) {
	t.Parallel()
	a, _ := events.NewSecret()
	b, _ := events.NewSecret()
	other, _ := events.NewSecret()
	for _, s := range []string{a, b} {
		if err := events.CheckSecret(s); err != nil {
			t.Fatal(err)
		}
	}
	body := []byte(`{"id":"evt_1","type":"order.refunded"}`)
	h := http.Header{}
	if err := events.Sign(h, "evt_1", time.Now(), body, []string{a, b}); err != nil {
		t.Fatal(err)
	}
	if h.Get("webhook-id") != "evt_1" || strings.Count(h.Get("webhook-signature"), "v1,") != 2 {
		t.Fatalf("headers %v", h)
	}
	for _, s := range []string{a, b} {
		wh, _ := standardwebhooks.NewWebhook(s)
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("secret %s…: %v", s[:10], err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(other)
	if err := wh.Verify(body, h); err == nil {
		t.Error("verified with a secret that did not sign")
	}
	wh, _ = standardwebhooks.NewWebhook(a)
	if err := wh.Verify([]byte(`{"id":"evt_1","type":"order.cancelled"}`), h); err == nil {
		t.Error("a changed body verified")
	}
	if err := events.CheckSecret("whsec_short"); err == nil {
		t.Error("a short secret accepted")
	}
}
