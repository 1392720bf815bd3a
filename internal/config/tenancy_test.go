package config

import (
	"errors"
	"strings"
	"testing"
)

const testKey = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestTenancy(t *testing.T) {
	t.Parallel()
	multi := func(extra map[string]string) map[string]string {
		env := map[string]string{"ORDERDESK_ENCRYPTION_KEY": testKey}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	t.Run("many shops: no SHOPIFY_SHOP, no ORDERDESK_API_KEY", func(t *testing.T) {
		cfg, err := Load(multi(nil), ModeServe)
		if err != nil || !cfg.MultiShop() || cfg.OAuth() || cfg.KeyCacheTTL.Seconds() != 5 || cfg.RateLimit != 20 || cfg.RateBurst != 40 {
			t.Fatalf("cfg = %+v, %v", cfg.Tenancy, err)
		}
	})
	t.Run("oauth", func(t *testing.T) {
		cfg, err := Load(multi(map[string]string{"SHOPIFY_API_KEY": "id", "SHOPIFY_API_SECRET": "s", "ORDERDESK_PUBLIC_URL": "https://od.example.com"}), ModeServe)
		if err != nil || !cfg.OAuth() {
			t.Fatalf("cfg = %+v, %v", cfg.Tenancy, err)
		}
	})
	t.Run("one shop with the key set too", func(t *testing.T) {
		env := serveEnv()
		env["ORDERDESK_ENCRYPTION_KEY"] = testKey
		if cfg, err := Load(env, ModeServe); err != nil || cfg.MultiShop() {
			t.Fatalf("cfg = %+v, %v", cfg.Tenancy, err)
		}
	})
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"bad key", multi(map[string]string{"ORDERDESK_ENCRYPTION_KEY": "k1:short"}), "ORDERDESK_ENCRYPTION_KEY"},
		{"key without id", multi(map[string]string{"ORDERDESK_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}), "ORDERDESK_ENCRYPTION_KEY"},
		{"api key without a shop", multi(map[string]string{"ORDERDESK_API_KEY": "0123456789abcdef0123"}), "ORDERDESK_API_KEY"},
		{"token without a shop", multi(map[string]string{"SHOPIFY_ACCESS_TOKEN": "shpat_x"}), "SHOPIFY_ACCESS_TOKEN"},
		{"oauth without secret", multi(map[string]string{"SHOPIFY_API_KEY": "id", "ORDERDESK_PUBLIC_URL": "https://od.example.com"}), "SHOPIFY_API_SECRET"},
		{"oauth without public url", multi(map[string]string{"SHOPIFY_API_KEY": "id", "SHOPIFY_API_SECRET": "s"}), "ORDERDESK_PUBLIC_URL"},
		{"oauth without encryption key", func() map[string]string {
			env := serveEnv()
			env["SHOPIFY_API_KEY"], env["SHOPIFY_API_SECRET"], env["ORDERDESK_PUBLIC_URL"] = "id", "s", "https://od.example.com"
			return env
		}(), "ORDERDESK_ENCRYPTION_KEY"},
		{"bad public url", multi(map[string]string{"ORDERDESK_PUBLIC_URL": "od.example.com"}), "ORDERDESK_PUBLIC_URL"},
		// orderdesk appends /shopify/callback and /webhooks/shopify, and
		// its state cookie's path is /shopify/callback: a trailing slash
		// makes //shopify/callback (no redirect URL Shopify allows), a path
		// makes the browser withhold the cookie from the callback.
		{"public url with a trailing slash", multi(map[string]string{"ORDERDESK_PUBLIC_URL": "https://od.example.com/"}), "ORDERDESK_PUBLIC_URL"},
		{"public url with a path", multi(map[string]string{"ORDERDESK_PUBLIC_URL": "https://example.com/orderdesk"}), "ORDERDESK_PUBLIC_URL"},
		{"public url with a query", multi(map[string]string{"ORDERDESK_PUBLIC_URL": "https://od.example.com?a=1"}), "ORDERDESK_PUBLIC_URL"},
		{"cache ttl too long", multi(map[string]string{"ORDERDESK_API_KEY_CACHE_TTL": "10m"}), "ORDERDESK_API_KEY_CACHE_TTL"},
		{"cache ttl not a duration", multi(map[string]string{"ORDERDESK_API_KEY_CACHE_TTL": "soon"}), "ORDERDESK_API_KEY_CACHE_TTL"},
		{"negative rate", multi(map[string]string{"ORDERDESK_RATE_LIMIT": "-1"}), "ORDERDESK_RATE_LIMIT"},
		{"NaN rate", multi(map[string]string{"ORDERDESK_RATE_LIMIT": "NaN"}), "ORDERDESK_RATE_LIMIT"},
		{"infinite rate", multi(map[string]string{"ORDERDESK_RATE_LIMIT": "+Inf"}), "ORDERDESK_RATE_LIMIT"},
		{"infinite rate, spelled out", multi(map[string]string{"ORDERDESK_RATE_LIMIT": "infinity"}), "ORDERDESK_RATE_LIMIT"},
		{"zero burst", multi(map[string]string{"ORDERDESK_RATE_BURST": "0"}), "ORDERDESK_RATE_BURST"},
		{"nothing at all", map[string]string{}, "ORDERDESK_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.env, ModeServe)
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != tt.wantVar {
				t.Fatalf("err = %v, want one naming %s", err, tt.wantVar)
			}
			if strings.Contains(err.Error(), "AAECAwQF") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q reveals the key or is not one line", err)
			}
		})
	}
}
