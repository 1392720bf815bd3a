package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// scopesShopify answers a token's scopes for the tokens it knows, as
// Shopify's GraphQL Admin API does.
func scopesShopify(t *testing.T, tokens ...string) *httptest.Server {
	t.Helper()
	known := map[string]bool{}
	for _, tok := range tokens {
		known[tok] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/api/2026-10/graphql.json" || !known[r.Header.Get("X-Shopify-Access-Token")] {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":"[API] Invalid API key or access token"}`)
			return
		}
		scopes := []map[string]string{}
		for _, s := range tenant.Scopes {
			scopes = append(scopes, map[string]string{"handle": s})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"currentAppInstallation": map[string]any{"accessScopes": scopes}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func encryptionKey(t *testing.T, id string) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

func writeToken(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type cli struct {
	t   *testing.T
	env map[string]string
}

func (c cli) run(args ...string) (string, string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	err := run(context.Background(), args, env, &out, &errOut)
	return out.String(), errOut.String(), err
}

func (c cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("orderdesk %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func TestShopsAndKeysCommands(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			const tokenA, tokenB = "shpat_cli_a_0123456789abcdef", "shpat_cli_b_0123456789abcdef"
			shopify := scopesShopify(t, tokenA, tokenB)
			dbURL := "sqlite:" + filepath.Join(t.TempDir(), "od.db")
			if kind == "postgres" {
				dbURL, _ = storetest.SchemaURL(t)
			}
			k1, k2 := encryptionKey(t, "k1"), encryptionKey(t, "k2")
			c := cli{t: t, env: map[string]string{"ORDERDESK_DATABASE_URL": dbURL, "ORDERDESK_ENCRYPTION_KEY": k1, "SHOPIFY_BASE_URL": shopify.URL}}

			out := c.ok("shops", "add", "--shop", "cli-a.myshopify.com", "--token-file", writeToken(t, tokenA))
			if !strings.Contains(out, "installed cli-a.myshopify.com") || !strings.Contains(out, "under key k1") || strings.Contains(out, tokenA) {
				t.Errorf("shops add: %q", out)
			}
			c.ok("shops", "add", "--shop", "cli-b.myshopify.com", "--token-file", writeToken(t, tokenB))
			list := c.ok("shops", "list")
			if !strings.Contains(list, "cli-a.myshopify.com  installed") || !strings.Contains(list, "read_all_orders") || strings.Contains(list, "shpat_") {
				t.Errorf("shops list:\n%s", list)
			}

			key := strings.TrimSpace(c.ok("keys", "create", "--shop", "cli-a.myshopify.com", "--name", "crm-production"))
			if !strings.HasPrefix(key, tenant.KeyPrefix) || strings.Contains(key, "\n") {
				t.Fatalf("keys create printed %q", key)
			}
			prefix := strings.Join(strings.Split(key, "_")[:3], "_")
			keys := c.ok("keys", "list")
			if !strings.Contains(keys, prefix) || !strings.Contains(keys, "crm-production") || strings.Contains(keys, key) {
				t.Errorf("keys list:\n%s", keys)
			}
			if out := c.ok("keys", "revoke", prefix); !strings.Contains(out, "revoked key") {
				t.Errorf("keys revoke: %q", out)
			}
			if keys := c.ok("keys", "list", "--shop", "cli-a.myshopify.com"); strings.Count(keys, "\n") != 2 || strings.HasSuffix(strings.TrimSpace(keys), " -") {
				t.Errorf("after revoke:\n%s", keys)
			}

			// Rotation: the new key first, the old one after it.
			c.env["ORDERDESK_ENCRYPTION_KEY"] = k2 + "," + k1
			if out := c.ok("keys", "rotate-encryption"); !strings.Contains(out, "re-encrypted 2 stored secrets under key k2") {
				t.Errorf("rotate: %q", out)
			}
			if out := c.ok("keys", "rotate-encryption"); !strings.Contains(out, "re-encrypted 0") {
				t.Errorf("second rotate: %q", out)
			}
			// With the old key dropped, a re-added shop and the rotated one
			// both work (the next test reads tokens through serve).
			c.env["ORDERDESK_ENCRYPTION_KEY"] = k2
			c.ok("shops", "add", "--shop", "cli-b.myshopify.com", "--token-file", writeToken(t, tokenB))

			for _, bad := range []struct {
				args []string
				want string
			}{
				{[]string{"shops", "add", "--shop", "cli-c.example.com", "--token-file", writeToken(t, tokenA)}, "not a shop domain"},
				{[]string{"shops", "add", "--shop", "cli-c.myshopify.com", "--token-file", "/nonexistent"}, "--token-file"},
				{[]string{"shops", "add", "--shop", "cli-c.myshopify.com", "--token", tokenA}, "flag provided but not defined: -token"},
				{[]string{"shops", "add", "--shop", "cli-c.myshopify.com", "--token-file", writeToken(t, "shpat_refused")}, "shopify refused the access token"},
				{[]string{"keys", "create", "--shop", "nope.myshopify.com", "--name", "x"}, "shop not found"},
				{[]string{"keys", "revoke", "od_live_zzzzzzzz"}, "no such api key"},
				{[]string{"keys", "revoke"}, "name one key"},
				{[]string{"keys", "frobnicate"}, `unknown subcommand "frobnicate"`},
				{[]string{"shops"}, "a subcommand is required"},
			} {
				_, errOut, err := c.run(bad.args...)
				if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("orderdesk %s: err = %v, want one line with %q", strings.Join(bad.args, " "), err, bad.want)
				}
				if err != nil && strings.Contains(errOut, err.Error()) {
					t.Errorf("orderdesk %s printed its error itself too (main prints it)", strings.Join(bad.args, " "))
				}
			}
			noKey := cli{t: t, env: map[string]string{"ORDERDESK_DATABASE_URL": dbURL, "SHOPIFY_BASE_URL": shopify.URL}}
			for _, args := range [][]string{{"shops", "add", "--shop", "cli-c.myshopify.com", "--token-file", writeToken(t, tokenA)}, {"keys", "rotate-encryption"}} {
				if _, _, err := noKey.run(args...); err == nil || !strings.HasPrefix(err.Error(), "ORDERDESK_ENCRYPTION_KEY:") {
					t.Errorf("%v without a key: %v", args, err)
				}
			}
		})
	}
}

func TestShopsAndKeysHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"shops", "--help"}, {"shops", "add", "--help"}, {"shops", "list", "--help"}, {"keys", "create", "--help"},
		{"keys", "list", "--help"}, {"keys", "revoke", "--help"}, {"keys", "rotate-encryption", "--help"}} {
		var errOut bytes.Buffer
		err := run(context.Background(), args, map[string]string{}, io.Discard, &errOut)
		if !errors.Is(err, flag.ErrHelp) || strings.Count(errOut.String(), "Usage: orderdesk "+args[0]) != 1 {
			t.Errorf("%v: err = %v, printed %q", args, err, errOut.String())
		}
	}
}

// TestServeManyShops starts `orderdesk serve` the multi-shop way: no
// SHOPIFY_SHOP, shops and keys from the CLI. A key sees its shop, and
// stops working within the cache TTL once revoked.
func TestServeManyShops(t *testing.T) {
	t.Parallel()
	const token = "shpat_many_0123456789abcdef"
	shopify := scopesShopify(t, token)
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "od.db")
	key1 := encryptionKey(t, "k1")
	c := cli{t: t, env: map[string]string{"ORDERDESK_DATABASE_URL": dbURL, "ORDERDESK_ENCRYPTION_KEY": key1, "SHOPIFY_BASE_URL": shopify.URL}}
	c.ok("shops", "add", "--shop", "many.myshopify.com", "--token-file", writeToken(t, token))
	apiKey := strings.TrimSpace(c.ok("keys", "create", "--shop", "many.myshopify.com", "--name", "crm"))

	port := freePort(t)
	env := map[string]string{
		"ORDERDESK_HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "ORDERDESK_DATABASE_URL": dbURL, "ORDERDESK_ENCRYPTION_KEY": key1,
		"SHOPIFY_BASE_URL": shopify.URL, "ORDERDESK_API_KEY_CACHE_TTL": "200ms",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, &syncWriter{w: &logs}) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, base+"/healthz")
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, base+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != http.StatusOK {
		t.Fatalf("GET /orders with the new key = %d", s)
	}
	c.ok("keys", "revoke", strings.Join(strings.Split(apiKey, "_")[:3], "_"))
	revoked := time.Now()
	for get() == http.StatusOK {
		if time.Since(revoked) > 5*time.Second {
			t.Fatal("the revoked key still works after 5 s (TTL 200ms)")
		}
		time.Sleep(20 * time.Millisecond) // polling the condition: the key is refused
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if strings.Contains(logs.String(), apiKey) || strings.Contains(logs.String(), token) || strings.Contains(logs.String(), strings.TrimPrefix(key1, "k1:")) {
		t.Error("a secret reached the logs")
	}
}

// TestRevokedBootstrapKeyStopsStartup: an ORDERDESK_API_KEY revoked with
// `keys revoke` is not brought back by a restart; serve says which variable
// to change, in one line.
func TestRevokedBootstrapKeyStopsStartup(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ORDERDESK_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "od.db"), "ORDERDESK_API_KEY": "bootstrap-0123456789abcdef",
		"SHOPIFY_SHOP": "boot.myshopify.com", "SHOPIFY_ACCESS_TOKEN": "shpat_boot",
	}
	cfg, err := config.Load(env, config.ModeServe)
	if err != nil {
		t.Fatal(err)
	}
	log := newLogger(io.Discard, "error")
	c, err := newCore(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.store.Close()
	c2 := cli{t: t, env: env}
	c2.ok("keys", "revoke", "1")
	_, err = newCore(context.Background(), cfg, log, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "ORDERDESK_API_KEY: ") || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "bootstrap-0123") {
		t.Errorf("start-up with the revoked key: %v", err)
	}
}
