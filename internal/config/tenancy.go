package config

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/secrets"
)

// Tenancy is how orderdesk serves many shops: sealed tokens, OAuth
// installs, API key caching and rate limits.
type Tenancy struct {
	// EncryptionKey seals shop access tokens at rest (secrets package
	// comment: "id:base64key[,id:base64key...]", current key first).
	EncryptionKey Secret `env:"ORDERDESK_ENCRYPTION_KEY"`
	// PublicURL is where Shopify and browsers reach orderdesk: the OAuth
	// redirect is PublicURL/shopify/callback, webhooks go to
	// PublicURL/webhooks/shopify.
	PublicURL string `env:"ORDERDESK_PUBLIC_URL"`
	// ClientID is the Shopify app's client ID (the API key of the app, not
	// an orderdesk key); with SHOPIFY_API_SECRET it enables OAuth installs.
	ClientID string `env:"SHOPIFY_API_KEY"`
	// KeyCacheTTL is how long a replica trusts an API key it resolved: the
	// longest a revoked key keeps working there (0: ask the database on
	// every request).
	KeyCacheTTL time.Duration `env:"ORDERDESK_API_KEY_CACHE_TTL" envDefault:"5s"`
	// RateLimit and RateBurst are each API key's token bucket on each
	// replica: RateLimit requests a second, RateBurst at once (0 turns the
	// limit off).
	RateLimit float64 `env:"ORDERDESK_RATE_LIMIT" envDefault:"20"`
	RateBurst int     `env:"ORDERDESK_RATE_BURST" envDefault:"40"`
}

// MultiShop says serve runs without a shop of its own: shops come from
// OAuth installs and `orderdesk shops add`, keys from `orderdesk keys
// create`.
func (c Config) MultiShop() bool { return c.Shopify.Shop == "" && c.EncryptionKey != "" }

// OAuth says the OAuth install endpoints are enabled.
func (c Config) OAuth() bool { return c.ClientID != "" }

func (c Config) validateTenancy(mode Mode) error {
	if c.EncryptionKey != "" {
		if _, err := secrets.ParseKeyring(c.EncryptionKey.Reveal()); err != nil {
			return &Error{"ORDERDESK_ENCRYPTION_KEY", err.Error() + ` (format: id:base64key[,id:base64key...], e.g. k1:$(openssl rand -base64 32))`}
		}
	}
	if c.PublicURL != "" {
		if err := checkOrigin(c.PublicURL); err != nil {
			return &Error{"ORDERDESK_PUBLIC_URL", err.Error()}
		}
		// orderdesk appends /shopify/callback and /webhooks/shopify to it,
		// and its OAuth state cookie is for the path /shopify/callback.
		if u, _ := url.Parse(c.PublicURL); u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(c.PublicURL, "?") {
			return &Error{"ORDERDESK_PUBLIC_URL", fmt.Sprintf("%q must be an origin like https://orderdesk.example.com: no path, no trailing slash, no query", c.PublicURL)}
		}
	}
	if c.KeyCacheTTL < 0 || c.KeyCacheTTL > time.Minute {
		return &Error{"ORDERDESK_API_KEY_CACHE_TTL", "must be between 0 and 1m (it bounds how long a revoked key keeps working)"}
	}
	if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0 {
		return &Error{"ORDERDESK_RATE_LIMIT", "must be a finite number of requests a second, not negative (0 turns the limit off)"}
	}
	if c.RateLimit > 0 && c.RateBurst < 1 {
		return &Error{"ORDERDESK_RATE_BURST", "must be at least 1"}
	}
	if mode != ModeServe || !c.OAuth() {
		return nil
	}
	switch {
	case c.Shopify.APISecret == "":
		return &Error{"SHOPIFY_API_SECRET", "required with SHOPIFY_API_KEY: it signs Shopify's OAuth callback"}
	case c.EncryptionKey == "":
		return &Error{"ORDERDESK_ENCRYPTION_KEY", "required with SHOPIFY_API_KEY: installed shops' tokens are stored encrypted"}
	case c.PublicURL == "":
		return &Error{"ORDERDESK_PUBLIC_URL", "required with SHOPIFY_API_KEY: Shopify sends the merchant back to ORDERDESK_PUBLIC_URL/shopify/callback"}
	}
	return nil
}
