// Package tenant owns shops and the API keys bound to them: who is calling,
// and which shop's data the call may see. Every query in orderdesk is scoped
// by the Shop this package resolves.
package tenant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Shop is a Shopify store orderdesk serves.
type Shop struct {
	ID     int64
	Domain string
}

// Principal is an authenticated caller: the shop its key is bound to, and
// the key itself (idempotency keys are kept per API key).
type Principal struct {
	Shop  Shop
	KeyID int64
}

// ErrUnauthenticated: no key, or a key orderdesk does not know.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrNotFound: no such shop.
var ErrNotFound = errors.New("shop not found")

// Store is what tenant needs from persistence.
type Store interface {
	// EnsureShop returns the shop with this domain, creating it if needed.
	EnsureShop(ctx context.Context, domain string) (Shop, error)
	// ShopByDomain finds a shop; ErrNotFound when unknown.
	ShopByDomain(ctx context.Context, domain string) (Shop, error)
	// EnsureAPIKey binds a key hash to a shop (idempotent); name labels it.
	EnsureAPIKey(ctx context.Context, shopID int64, hash, name string) error
	// PrincipalByKeyHash finds the key and its shop; ErrUnauthenticated when unknown.
	PrincipalByKeyHash(ctx context.Context, hash string) (Principal, error)
}

// HashKey is how keys are stored: SHA-256, hex. API keys are long random
// strings, so a fast hash is enough (no dictionary to guess from), and it
// lets the lookup be a single indexed equality.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Service resolves callers to shops and bootstraps shops and keys.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Authenticate returns the caller an API key identifies.
func (s *Service) Authenticate(ctx context.Context, key string) (Principal, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return Principal{}, ErrUnauthenticated
	}
	p, err := s.store.PrincipalByKeyHash(ctx, HashKey(key))
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return p, nil
}

// Bootstrap makes sure the shop exists and the key is bound to it.
func (s *Service) Bootstrap(ctx context.Context, domain, key string) (Shop, error) {
	shop, err := s.store.EnsureShop(ctx, domain)
	if err != nil {
		return Shop{}, fmt.Errorf("bootstrap shop %s: %w", domain, err)
	}
	if key != "" {
		if err := s.store.EnsureAPIKey(ctx, shop.ID, HashKey(key), "bootstrap"); err != nil {
			return Shop{}, fmt.Errorf("bootstrap api key: %w", err)
		}
	}
	return shop, nil
}
