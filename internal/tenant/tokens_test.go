package tenant_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// tokenStore is a map-backed TokenStore another replica (or the OAuth
// callback) can change underneath a Tokens.
type tokenStore struct {
	mu    sync.Mutex
	shops map[int64]tenant.StoredToken
}

func (s *tokenStore) ShopToken(_ context.Context, id int64) (tenant.StoredToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.shops[id]
	if !ok {
		return tenant.StoredToken{}, tenant.ErrNotFound
	}
	return st, nil
}

func (s *tokenStore) set(id int64, st tenant.StoredToken) {
	s.mu.Lock()
	s.shops[id] = st
	s.mu.Unlock()
}

// plainOpener "opens" a value by returning it.
type plainOpener struct{}

func (plainOpener) Open(sealed, _ string) ([]byte, error) { return []byte(sealed), nil }

// TestTokensSeeAReinstallAtOnce: a shop's "uninstalled" answer is not kept.
// The jobs cancel themselves for good on ErrShopUninstalled, so a cached
// "uninstalled" would cancel the webhook registration queued by the
// reinstall (and every delivery applied in the cache's lifetime).
func TestTokensSeeAReinstallAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	shop := tenant.Shop{ID: 1, Domain: "a.myshopify.com"}
	st := &tokenStore{shops: map[int64]tenant.StoredToken{1: {State: tenant.Uninstalled}}}
	tokens := tenant.NewTokens(st, plainOpener{}, nil, time.Hour)
	if _, err := tokens.Token(ctx, shop); !errors.Is(err, tenant.ErrShopUninstalled) {
		t.Fatalf("uninstalled shop: %v", err)
	}
	st.set(1, tenant.StoredToken{State: tenant.Installed, Sealed: "shpat_new"}) // the OAuth callback, on any replica
	if got, err := tokens.Token(ctx, shop); err != nil || got != "shpat_new" {
		t.Errorf("right after the reinstall: %q, %v; want the new token", got, err)
	}

	// A shop without a token that gets one (shops add) is seen at once too.
	st.set(2, tenant.StoredToken{State: tenant.Installed})
	other := tenant.Shop{ID: 2, Domain: "b.myshopify.com"}
	if _, err := tokens.Token(ctx, other); !errors.Is(err, tenant.ErrNoAccessToken) {
		t.Fatalf("shop without a token: %v", err)
	}
	st.set(2, tenant.StoredToken{State: tenant.Installed, Sealed: "shpat_b"})
	if got, err := tokens.Token(ctx, other); err != nil || got != "shpat_b" {
		t.Errorf("after shops add: %q, %v", got, err)
	}

	// A token that opened is still cached (a busy shop costs one query per TTL).
	st.set(1, tenant.StoredToken{State: tenant.Installed, Sealed: "shpat_newer"})
	if got, _ := tokens.Token(ctx, shop); got != "shpat_new" {
		t.Errorf("the opened token was not cached: %q", got)
	}
}
