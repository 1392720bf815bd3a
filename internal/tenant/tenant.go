// Package tenant owns shops and the API keys bound to them: who is calling,
// which shop's data the call may see, how much it may call, and each shop's
// installation (OAuth or a custom app's token) with its sealed access
// token. Every query in orderdesk is scoped by the Shop this package
// resolves.
package tenant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Shop is a Shopify store orderdesk serves.
type Shop struct {
	ID     int64
	Domain string
}

// State is whether the app is installed on a shop.
type State string

// States of a shop.
const (
	Installed   State = "installed"
	Uninstalled State = "uninstalled"
)

// ShopInfo is a shop with its installation, as `shops list` shows it. It
// never carries the access token.
type ShopInfo struct {
	Shop
	State         State
	Scopes        []string
	InstalledAt   time.Time
	UninstalledAt *time.Time
	HasToken      bool
}

// Principal is an authenticated caller: the shop its key is bound to, and
// the key itself (idempotency keys and rate limits are per API key).
type Principal struct {
	Shop  Shop
	KeyID int64
}

// ErrUnauthenticated: no key, or a key orderdesk does not know, or a
// revoked one.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrKeyRevoked: the environment's key (ORDERDESK_API_KEY) was revoked
// with `orderdesk keys revoke`; a restart does not bring it back.
var ErrKeyRevoked = errors.New("this api key was revoked")

// ErrNotFound: no such shop.
var ErrNotFound = errors.New("shop not found")

// ErrInvalidDomain: not a shop's myshopify.com domain.
var ErrInvalidDomain = errors.New("not a shop domain like example.myshopify.com")

// ErrShopUninstalled: the shop has uninstalled the app; orderdesk keeps its
// data until shop/redact but no longer calls Shopify for it.
var ErrShopUninstalled = errors.New("the shop has uninstalled the app")

// ErrNoAccessToken: orderdesk holds no access token for the shop (it was
// never installed with one).
var ErrNoAccessToken = errors.New("no access token for the shop")

var domainRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)

// ParseDomain checks a shop domain is a myshopify.com host (the only form
// Shopify uses in OAuth and webhooks) and returns it lower-cased.
func ParseDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(s))
	if len(d) > 255 || !domainRe.MatchString(d) {
		return "", fmt.Errorf("%q: %w", s, ErrInvalidDomain)
	}
	return d, nil
}

// TokenContext is what a shop's sealed access token is bound to: a sealed
// token copied into another shop's row does not open.
func TokenContext(domain string) string { return "shops.access_token:" + domain }

// HashKey is how keys are stored: SHA-256, hex. API keys are long random
// strings, so a fast hash is enough (no dictionary to guess from), and it
// lets the lookup be a single indexed equality.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Store is what the Service needs from persistence.
type Store interface {
	// EnsureShop returns the shop with this domain, creating it (installed)
	// if needed.
	EnsureShop(ctx context.Context, domain string) (Shop, error)
	// MarkInstalled records that the shop is installed again (the
	// environment's bootstrap says so); false when it already was.
	MarkInstalled(ctx context.Context, shopID int64, at time.Time) (bool, error)
	// EnsureAPIKey binds the environment's key hash to a shop
	// (idempotent), revoking the shop's earlier environment keys; name
	// labels it. A revoked key is ErrKeyRevoked.
	EnsureAPIKey(ctx context.Context, shopID int64, hash, name string) error
	// PrincipalByKeyHash finds an unrevoked key and its shop;
	// ErrUnauthenticated when there is none.
	PrincipalByKeyHash(ctx context.Context, hash string) (Principal, error)
	// TouchAPIKeys records that the keys were used at `at` (never moving
	// last_used_at back).
	TouchAPIKeys(ctx context.Context, keyIDs []int64, at time.Time) error
}

// Service resolves callers to shops (through a short-lived cache, so an
// authenticated request costs no database round trip while its key's entry
// is fresh) and bootstraps the shop and key of the environment.
type Service struct {
	store Store
	keys  *keyCache
	log   *slog.Logger
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, opts ...Option) *Service {
	o := options{cacheTTL: 5 * time.Second, cacheSize: 10000, missesPerSecond: 5, missBurst: 10, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return &Service{store: store, keys: newKeyCache(store, o), log: o.log, now: o.now}
}

type options struct {
	cacheTTL        time.Duration
	cacheSize       int
	missesPerSecond float64
	missBurst       int
	now             func() time.Time
	log             *slog.Logger
}

// Option tunes a Service.
type Option func(*options)

// WithKeyCache sets how long a key's resolution is kept in memory (0: not
// at all) and how many keys are kept. A revoked key stops working on every
// replica within ttl.
func WithKeyCache(ttl time.Duration, size int) Option {
	return func(o *options) {
		o.cacheTTL = ttl
		if size > 0 {
			o.cacheSize = size
		}
	}
}

// WithUnknownKeyBudget sets how many lookups of keys that turn out unknown
// this replica makes a second, and at once (default 5 a second, 10 at
// once; 0 a second: no budget, every unknown key is looked up). Past it,
// keys this replica has not cached are answered 429 until it refills.
func WithUnknownKeyBudget(perSecond float64, burst int) Option {
	return func(o *options) { o.missesPerSecond, o.missBurst = perSecond, burst }
}

// WithLogger logs what the Service decides on its own (default: nothing).
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Authenticate returns the caller an API key identifies.
func (s *Service) Authenticate(ctx context.Context, key string) (Principal, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return Principal{}, ErrUnauthenticated
	}
	p, err := s.keys.resolve(ctx, HashKey(key))
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return p, nil
}

// FlushLastUsed writes the keys used since the last flush. Authenticate
// only notes uses in memory, so a busy key costs one write per flush, not
// one per request.
func (s *Service) FlushLastUsed(ctx context.Context) error { return s.keys.flush(ctx) }

// RunLastUsedFlusher flushes every `every` until ctx ends, and once more
// then.
func (s *Service) RunLastUsedFlusher(ctx context.Context, every time.Duration, logErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushLastUsed(context.WithoutCancel(ctx)); err != nil {
				logErr(err)
			}
			return
		case <-t.C:
			if err := s.FlushLastUsed(ctx); err != nil {
				logErr(err)
			}
		}
	}
}

// Bootstrap makes sure the shop of the environment (SHOPIFY_SHOP) exists
// and is installed, and that the environment's key is bound to it. A shop
// that had been uninstalled is marked installed again, with a warning: the
// environment is the operator's word that it is.
func (s *Service) Bootstrap(ctx context.Context, domain, key string) (Shop, error) {
	shop, err := s.store.EnsureShop(ctx, domain)
	if err != nil {
		return Shop{}, fmt.Errorf("bootstrap shop %s: %w", domain, err)
	}
	reinstalled, err := s.store.MarkInstalled(ctx, shop.ID, s.now().UTC())
	if err != nil {
		return Shop{}, fmt.Errorf("bootstrap shop %s: %w", domain, err)
	}
	if reinstalled {
		s.log.WarnContext(ctx, "SHOPIFY_SHOP had uninstalled the app; marking it installed again because the environment names it", "shop", domain)
	}
	if key != "" {
		if err := s.store.EnsureAPIKey(ctx, shop.ID, HashKey(key), "bootstrap"); err != nil {
			return Shop{}, fmt.Errorf("bootstrap api key: %w", err)
		}
	}
	return shop, nil
}
