package tenant_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// keyStore is a map-backed tenant.Store that counts lookups and writes.
type keyStore struct {
	mu      sync.Mutex
	keys    map[string]tenant.Principal // by hash
	lookups int
	touches [][]int64
	touched map[int64]time.Time
}

func newKeyStore() *keyStore {
	return &keyStore{keys: map[string]tenant.Principal{}, touched: map[int64]time.Time{}}
}

func (s *keyStore) EnsureShop(context.Context, string) (tenant.Shop, error) {
	return tenant.Shop{ID: 1, Domain: "a.myshopify.com"}, nil
}
func (s *keyStore) MarkInstalled(context.Context, int64, time.Time) (bool, error) { return false, nil }
func (s *keyStore) EnsureAPIKey(_ context.Context, shopID int64, hash, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[hash] = tenant.Principal{Shop: tenant.Shop{ID: shopID, Domain: "a.myshopify.com"}, KeyID: int64(len(s.keys) + 1)}
	return nil
}
func (s *keyStore) PrincipalByKeyHash(_ context.Context, hash string) (tenant.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	p, ok := s.keys[hash]
	if !ok {
		return tenant.Principal{}, tenant.ErrUnauthenticated
	}
	return p, nil
}
func (s *keyStore) TouchAPIKeys(_ context.Context, ids []int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touches = append(s.touches, ids)
	for _, id := range ids {
		s.touched[id] = at
	}
	return nil
}
func (s *keyStore) revoke(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, tenant.HashKey(key))
}
func (s *keyStore) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups, len(s.touches)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestAuthenticateCachesAndRevocationExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newKeyStore()
	clk := &clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	svc := tenant.NewService(st, tenant.WithKeyCache(5*time.Second, 100), tenant.WithClock(clk.now))
	if _, err := svc.Bootstrap(ctx, "a.myshopify.com", "key-0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if _, err := svc.Authenticate(ctx, "key-0123456789abcdef"); err != nil {
			t.Fatal(err)
		}
	}
	if lookups, writes := st.counts(); lookups != 1 || writes != 0 {
		t.Fatalf("1000 requests cost %d lookups and %d writes; want 1 and 0", lookups, writes)
	}
	if err := svc.FlushLastUsed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, writes := st.counts(); writes != 1 || !st.touched[1].Equal(clk.now()) {
		t.Errorf("flush: %d writes, last use %v", writes, st.touched[1])
	}
	if err := svc.FlushLastUsed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, writes := st.counts(); writes != 1 {
		t.Errorf("a flush with no new use wrote (%d writes)", writes)
	}

	st.revoke("key-0123456789abcdef") // on another replica, say
	clk.add(4 * time.Second)
	if _, err := svc.Authenticate(ctx, "key-0123456789abcdef"); err != nil {
		t.Errorf("within the TTL the cached key still works (that is the bound): %v", err)
	}
	clk.add(time.Second)
	if _, err := svc.Authenticate(ctx, "key-0123456789abcdef"); !errors.Is(err, tenant.ErrUnauthenticated) {
		t.Errorf("after the TTL a revoked key works: %v", err)
	}
	for _, bad := range []string{"", "  ", "nope"} {
		if _, err := svc.Authenticate(ctx, bad); !errors.Is(err, tenant.ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}
}

func TestAuthenticateWithoutCache(t *testing.T) {
	t.Parallel()
	st := newKeyStore()
	svc := tenant.NewService(st, tenant.WithKeyCache(0, 0))
	ctx := context.Background()
	_, _ = svc.Bootstrap(ctx, "a.myshopify.com", "k")
	for range 3 {
		_, _ = svc.Authenticate(ctx, "k")
	}
	if lookups, _ := st.counts(); lookups != 3 {
		t.Errorf("lookups = %d, want 3", lookups)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	if tenant.NewLimiter(0, 10, 0, nil).Allow(1) != nil {
		t.Error("a zero rate limits")
	}
	l := tenant.NewLimiter(1, 3, 10, nil)
	for i := range 3 {
		if err := l.Allow(7); err != nil {
			t.Fatalf("request %d within the burst refused: %v", i+1, err)
		}
	}
	err := l.Allow(7)
	var rl *tenant.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, tenant.ErrRateLimited) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Second {
		t.Fatalf("fourth request: %v", err)
	}
	if err := l.Allow(8); err != nil {
		t.Errorf("another key shares the bucket: %v", err)
	}
}

func TestParseDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Shop-1.myshopify.com": "shop-1.myshopify.com", " a.myshopify.com ": "a.myshopify.com"} {
		if got, err := tenant.ParseDomain(in); err != nil || got != want {
			t.Errorf("ParseDomain(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "shop", "shop.example.com", "evil.com/.myshopify.com", "a.myshopify.com.evil.com", "-a.myshopify.com", "a.b.myshopify.com", "a.myshopify.com:443", "https://a.myshopify.com"} {
		if _, err := tenant.ParseDomain(bad); !errors.Is(err, tenant.ErrInvalidDomain) {
			t.Errorf("ParseDomain(%q) accepted", bad)
		}
	}
}
