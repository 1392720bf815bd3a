package tenant

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// KeyPrefix starts every managed API key: od_live_<prefix>_<secret>. The
// prefix (8 characters) is public: it names the key in `keys list` and
// `keys revoke` and in logs. The secret (32 characters, 160 random bits)
// is shown once, at creation, and only its hash is stored.
const KeyPrefix = "od_live_"

var (
	keyAlphabet = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	prefixRe    = regexp.MustCompile(`^[a-z2-7]{8}$`)
)

// ErrKeyNotFound: no such API key (or it belongs to no shop orderdesk has).
var ErrKeyNotFound = errors.New("no such api key")

// APIKey is a key as `keys list` shows it: never its secret.
type APIKey struct {
	ID         int64
	Shop       Shop
	Prefix     string // empty for the key bound through ORDERDESK_API_KEY
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// NewAPIKey is a key to store: its hash and public prefix.
type NewAPIKey struct {
	ShopID    int64
	Prefix    string
	Hash      string
	Name      string
	CreatedAt time.Time
}

// KeyStore is what Keys needs from persistence.
type KeyStore interface {
	ShopByDomain(ctx context.Context, domain string) (Shop, error)
	// CreateAPIKey stores a key; ErrPrefixTaken when the prefix is in use.
	CreateAPIKey(ctx context.Context, k NewAPIKey) (APIKey, error)
	// ListAPIKeys lists keys, of one shop when shopID is not 0, oldest first.
	ListAPIKeys(ctx context.Context, shopID int64) ([]APIKey, error)
	// RevokeAPIKey revokes the key with this id, or with this prefix when id
	// is 0; ErrKeyNotFound when there is none. Revoking twice keeps the
	// first time.
	RevokeAPIKey(ctx context.Context, id int64, prefix string, at time.Time) (APIKey, error)
}

// ErrPrefixTaken: another key has this prefix (a 1-in-a-trillion draw).
var ErrPrefixTaken = errors.New("api key prefix in use")

// Keys creates, lists and revokes managed API keys.
type Keys struct {
	store KeyStore
	now   func() time.Time
}

// NewKeys returns Keys over store.
func NewKeys(store KeyStore) *Keys { return &Keys{store: store, now: time.Now} }

// Create makes a key for the shop and returns it with its secret, the only
// time the secret exists outside the caller's hands.
func (k *Keys) Create(ctx context.Context, domain, name string) (APIKey, string, error) {
	domain, err := ParseDomain(domain)
	if err != nil {
		return APIKey{}, "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return APIKey{}, "", errors.New("a key needs a name of 1 to 100 characters (who uses it, e.g. crm-production)")
	}
	shop, err := k.store.ShopByDomain(ctx, domain)
	if err != nil {
		return APIKey{}, "", err
	}
	for range 3 {
		prefix, secret, err := generateKey()
		if err != nil {
			return APIKey{}, "", err
		}
		full := KeyPrefix + prefix + "_" + secret
		created, err := k.store.CreateAPIKey(ctx, NewAPIKey{ShopID: shop.ID, Prefix: prefix, Hash: HashKey(full), Name: name, CreatedAt: k.now().UTC()})
		if errors.Is(err, ErrPrefixTaken) {
			continue
		}
		if err != nil {
			return APIKey{}, "", err
		}
		return created, full, nil
	}
	return APIKey{}, "", errors.New("create api key: could not draw an unused prefix")
}

func generateKey() (prefix, secret string, err error) {
	b := make([]byte, 5+20)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("create api key: %w", err)
	}
	return keyAlphabet.EncodeToString(b[:5]), keyAlphabet.EncodeToString(b[5:]), nil
}

// List lists the keys of one shop, or of every shop when domain is empty.
func (k *Keys) List(ctx context.Context, domain string) ([]APIKey, error) {
	var shopID int64
	if domain != "" {
		d, err := ParseDomain(domain)
		if err != nil {
			return nil, err
		}
		shop, err := k.store.ShopByDomain(ctx, d)
		if err != nil {
			return nil, err
		}
		shopID = shop.ID
	}
	return k.store.ListAPIKeys(ctx, shopID)
}

// Revoke revokes a key named by its id (42), its prefix (abcd2345) or its
// prefix as printed in front of the secret (od_live_abcd2345).
func (k *Keys) Revoke(ctx context.Context, ref string) (APIKey, error) {
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return k.store.RevokeAPIKey(ctx, id, "", k.now().UTC())
	}
	prefix := strings.TrimPrefix(ref, KeyPrefix)
	if i := strings.IndexByte(prefix, '_'); i >= 0 {
		prefix = prefix[:i] // a whole key was pasted: only its prefix is looked at
	}
	if !prefixRe.MatchString(prefix) {
		return APIKey{}, fmt.Errorf("%q is neither a key id nor a key prefix like od_live_abcd2345", ref)
	}
	return k.store.RevokeAPIKey(ctx, 0, prefix, k.now().UTC())
}
