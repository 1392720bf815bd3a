package tenant

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// StoredToken is a shop's installation state and its sealed access token
// (empty when there is none).
type StoredToken struct {
	State  State
	Sealed string
}

// TokenStore is what Tokens needs from persistence.
type TokenStore interface {
	// ShopToken returns the shop's state and sealed token; ErrNotFound for
	// a shop orderdesk does not have.
	ShopToken(ctx context.Context, shopID int64) (StoredToken, error)
}

// Opener opens sealed values (secrets.Keyring).
type Opener interface {
	Open(sealed, context string) ([]byte, error)
}

// Tokens is the Shopify adapter's source of access tokens: the shop's
// sealed token from the database, opened with the keyring, or for the
// environment's bootstrap shop the token of SHOPIFY_ACCESS_TOKEN (never
// stored). A shop that uninstalled the app has no token, whatever the
// environment says. A token is kept for a short TTL, so a busy shop costs
// one query per TTL; an uninstall seen by another replica reaches this one
// within it. "Uninstalled" and "no token" are never kept: jobs give up for
// good on them, so a shop installed again must be seen at once.
type Tokens struct {
	store  TokenStore
	opener Opener // nil without ORDERDESK_ENCRYPTION_KEY
	pinned map[string]string
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[int64]tokenEntry
}

type tokenEntry struct {
	token   string
	expires time.Time
}

// NewTokens returns a token source. opener may be nil when no token is
// stored sealed (a single-shop deployment from the environment); pinned
// maps a domain to its token from the environment.
func NewTokens(store TokenStore, opener Opener, pinned map[string]string, ttl time.Duration) *Tokens {
	return &Tokens{store: store, opener: opener, pinned: pinned, ttl: ttl, now: time.Now, cache: map[int64]tokenEntry{}}
}

// Token returns the shop's access token. Errors wrap ErrShopUninstalled,
// ErrNoAccessToken or ErrNotFound, and never contain a token.
func (t *Tokens) Token(ctx context.Context, shop Shop) (string, error) {
	now := t.now()
	t.mu.Lock()
	e, ok := t.cache[shop.ID]
	t.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.token, nil
	}
	token, err := t.load(ctx, shop)
	if err != nil {
		// Not remembered: a database hiccup, and a shop without a token,
		// which an install on any replica may change the next moment.
		return "", err
	}
	t.mu.Lock()
	t.cache[shop.ID] = tokenEntry{token: token, expires: now.Add(t.ttl)}
	t.mu.Unlock()
	return token, nil
}

// Forget drops what is cached for a shop (after this process installed or
// uninstalled it).
func (t *Tokens) Forget(shopID int64) {
	t.mu.Lock()
	delete(t.cache, shopID)
	t.mu.Unlock()
}

func (t *Tokens) load(ctx context.Context, shop Shop) (string, error) {
	st, err := t.store.ShopToken(ctx, shop.ID)
	if err != nil {
		return "", fmt.Errorf("access token of shop %s: %w", shop.Domain, err)
	}
	if st.State == Uninstalled {
		return "", fmt.Errorf("shop %s: %w", shop.Domain, ErrShopUninstalled)
	}
	if st.Sealed != "" {
		if t.opener == nil {
			return "", fmt.Errorf("shop %s has a sealed access token, but ORDERDESK_ENCRYPTION_KEY is not set", shop.Domain)
		}
		plain, err := t.opener.Open(st.Sealed, TokenContext(shop.Domain))
		if err != nil {
			return "", fmt.Errorf("open the access token of shop %s: %w", shop.Domain, err)
		}
		return string(plain), nil
	}
	if tok, ok := t.pinned[shop.Domain]; ok {
		return tok, nil
	}
	return "", fmt.Errorf("shop %s: %w", shop.Domain, ErrNoAccessToken)
}
