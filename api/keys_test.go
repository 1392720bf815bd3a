package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// countingKeys counts the key lookups that reach the database.
type countingKeys struct {
	*store.Tenants
	mu      sync.Mutex
	lookups int
}

func (c *countingKeys) PrincipalByKeyHash(ctx context.Context, hash string) (tenant.Principal, error) {
	c.mu.Lock()
	c.lookups++
	c.mu.Unlock()
	return c.Tenants.PrincipalByKeyHash(ctx, hash)
}

func (c *countingKeys) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookups
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// replica is another orderdesk process on the same database.
func (h *harness) replica(auth api.Authenticator, limits api.RateLimiter) *harness {
	h.t.Helper()
	log := slog.New(slog.DiscardHandler)
	router, err := api.NewRouter(api.Deps{Log: log, Auth: auth, Orders: h.svc, Idempotency: idempotency.NewService(h.store.Idempotency()),
		Webhooks: webhooks.NewService(nil, nil, nil, nil, nil, log), Ready: h.store.Ping, Registry: prometheus.NewRegistry(), Limits: limits})
	if err != nil {
		h.t.Fatal(err)
	}
	r := *h
	r.router = router
	return &r
}

// TestRevocationReachesEveryReplica (Postgres and SQLite): two routers on one database, each
// with its own key cache. While an entry is fresh a request costs no key
// lookup; a key revoked through the CLI stops working on both within the
// cache's TTL.
func TestRevocationReachesEveryReplica(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		_, key, err := tenant.NewKeys(h.store.Tenants()).Create(ctx, shopA, "crm-production")
		if err != nil {
			t.Fatal(err)
		}
		clk := &fakeClock{t: time.Now()}
		const ttl = 5 * time.Second
		var replicas []*harness
		var counters []*countingKeys
		for range 2 {
			c := &countingKeys{Tenants: h.store.Tenants()}
			counters = append(counters, c)
			replicas = append(replicas, h.replica(tenant.NewService(c, tenant.WithKeyCache(ttl, 100), tenant.WithClock(clk.now)), nil))
		}
		for i, r := range replicas {
			for range 20 {
				if got := r.get("/orders", key); got.Code != http.StatusOK {
					t.Fatalf("replica %d: %d %s", i, got.Code, got.Body)
				}
			}
			if n := counters[i].count(); n != 1 {
				t.Errorf("replica %d: 20 requests made %d key lookups; want 1", i, n)
			}
		}

		if _, err := tenant.NewKeys(h.store.Tenants()).Revoke(ctx, strings.Split(key, "_")[2]); err != nil { // orderdesk keys revoke <prefix>
			t.Fatal(err)
		}
		clk.add(ttl - time.Millisecond)
		if got := replicas[1].get("/orders", key); got.Code != http.StatusOK {
			t.Errorf("within the TTL the cached entry answers without the database: %d", got.Code)
		}
		clk.add(time.Millisecond)
		for i, r := range replicas {
			problem(t, r.get("/orders", key), http.StatusUnauthorized, "unauthenticated")
			if n := counters[i].count(); n != 2 {
				t.Errorf("replica %d: %d lookups; want 2", i, n)
			}
		}
		// The bootstrap key of the other shop is untouched.
		if got := replicas[0].get("/orders", keyB); got.Code != http.StatusOK {
			t.Errorf("another key: %d", got.Code)
		}
	})
}

func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.backfill()
	// One a second with a burst of 2, on a clock the test moves.
	clk := &fakeClock{t: time.Now()}
	r := h.replica(tenant.NewService(h.store.Tenants()), tenant.NewLimiter(1, 2, 100, clk.now))
	for range 2 {
		if got := r.get("/orders", keyA); got.Code != http.StatusOK {
			t.Fatalf("%d %s", got.Code, got.Body)
		}
	}
	got := r.get("/orders", keyA)
	problem(t, got, http.StatusTooManyRequests, "rate_limited")
	if ra := got.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want 1", ra)
	}
	if got := r.get("/orders", keyB); got.Code != http.StatusOK {
		t.Errorf("another key is limited too: %d", got.Code)
	}

	t.Run("a refused action is not remembered under its Idempotency-Key", func(t *testing.T) {
		body := `{"reason":"customer"}`
		cancel := func() response {
			return r.do(http.MethodPost, "/orders/450789471/cancel", keyA, strings.NewReader(body), "Idempotency-Key", "rl-1", "X-Agent-Id", "7", "Content-Type", "application/json")
		}
		problem(t, cancel(), http.StatusTooManyRequests, "rate_limited")
		// Once the bucket refills, the same key runs the action.
		clk.add(time.Second)
		second := cancel()
		if second.Code != http.StatusOK || second.Header().Get("Idempotent-Replayed") != "" {
			t.Errorf("after the 429: %d (replayed %q) %s", second.Code, second.Header().Get("Idempotent-Replayed"), second.Body)
		}
	})
}

// TestUnknownKeysCostNoLookupEach: someone spraying random keys costs the
// database at most the replica's budget of unknown-key lookups; past it,
// keys the replica has not cached are 429 with Retry-After (no lookup),
// while a key it knows keeps working; the same unknown key twice is one
// lookup; once the budget refills, keys are looked up again.
func TestUnknownKeysCostNoLookupEach(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		c := &countingKeys{Tenants: h.store.Tenants()}
		clk := &fakeClock{t: time.Now()}
		r := h.replica(tenant.NewService(c, tenant.WithClock(clk.now)), tenant.NewLimiter(1, 2, 100, nil))
		if got := r.get("/orders", keyA); got.Code != http.StatusOK {
			t.Fatalf("%d %s", got.Code, got.Body)
		}
		lookups := c.count()
		throttled := 0
		for i := range 100 {
			got := r.get("/orders", fmt.Sprintf("od_live_spray%03d_%032d", i, i))
			switch got.Code {
			case http.StatusUnauthorized:
				problem(t, got, http.StatusUnauthorized, "unauthenticated")
			case http.StatusTooManyRequests:
				problem(t, got, http.StatusTooManyRequests, "rate_limited")
				if got.Header().Get("Retry-After") == "" {
					t.Fatal("a 429 without Retry-After")
				}
				throttled++
			default:
				t.Fatalf("sprayed key: %d %s", got.Code, got.Body)
			}
		}
		if n := c.count() - lookups; n > 10 {
			t.Errorf("100 requests with unknown keys made %d key lookups; want at most the budget of 10", n)
		}
		if throttled < 90 {
			t.Errorf("%d of 100 sprayed keys were throttled", throttled)
		}
		if got := r.get("/orders", keyA); got.Code != http.StatusOK {
			t.Errorf("a cached key during the spray: %d", got.Code)
		}
		clk.add(3 * time.Second) // the budget refills 5 a second
		before := c.count()
		for range 5 {
			problem(t, r.get("/orders", "od_live_sameone_00000000000000000000000000000000"), http.StatusUnauthorized, "unauthenticated")
		}
		if n := c.count() - before; n != 1 {
			t.Errorf("the same unknown key 5 times: %d lookups, want 1", n)
		}
		if got := r.get("/orders", keyB); got.Code != http.StatusOK {
			t.Errorf("a real key after the budget refilled: %d %s", got.Code, got.Body)
		}
	})
}

// TestRepeatedAuthorizationHeaderRefused: two Authorization headers are a
// 401, never read as either one.
func TestRepeatedAuthorizationHeaderRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Add("Authorization", "Bearer "+keyA)
	req.Header.Add("Authorization", "Bearer "+keyB)
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	problem(t, response{rec}, http.StatusUnauthorized, "unauthenticated")
}
