package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/secrets"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// sandboxInstall is orderdesk's install wired to the multi-shop sandbox:
// Shopify's authorize page and token exchange are the sandbox's.
type sandboxInstall struct {
	*installHarness
	front     *shopifysandbox.Shops
	frontURL  string
	installer *tenant.Installer
	dump      func() []byte
}

func newSandboxInstall(t *testing.T, kind string) *sandboxInstall {
	t.Helper()
	st, dump := storetest.WithDump(t, kind)
	front := shopifysandbox.NewShops(shopifysandbox.ShopsOptions{ClientID: clientID, ClientSecret: clientSecret})
	for _, shop := range []string{shopA, shopB} {
		sb := shopifysandbox.New(shopifysandbox.Options{Shop: shop})
		front.Add(sb)
	}
	srv := httptest.NewServer(front)
	t.Cleanup(srv.Close)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := secrets.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	app, err := shopify.NewOAuth(shopify.OAuthConfig{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "https://orderdesk.example.com/shopify/callback",
		Scopes: tenant.Scopes, APIVersion: "2026-10", BaseURL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	installer := tenant.NewInstaller(app, st.Tenants(), kr, nil, log, tenant.WithStateSecret([]byte(clientSecret)))
	router, err := api.NewRouter(api.Deps{Log: log, Auth: tenant.NewService(st.Tenants()), Orders: panicky{}, Idempotency: idempotency.NewService(st.Idempotency()),
		Webhooks: webhooks.NewService(nil, nil, nil, nil, nil, log), Ready: st.Ping, Registry: prometheus.NewRegistry(), Install: installer, SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, router: router, store: st}
	h.spec = h.loadSpec()
	return &sandboxInstall{installHarness: &installHarness{harness: h, keyring: kr}, front: front, frontURL: srv.URL, installer: installer, dump: dump}
}

// approve is the merchant's browser at Shopify's authorize page: the
// sandbox approves and redirects back to orderdesk's callback.
func (h *sandboxInstall) approve(t *testing.T, authorize *url.URL) url.Values {
	t.Helper()
	if got := authorize.Scheme + "://" + authorize.Host; got != h.frontURL || authorize.Path != "/admin/oauth/authorize" {
		t.Fatalf("authorize URL %s is not the sandbox's", authorize)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authorize.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Path != "/shopify/callback" {
		t.Fatalf("redirect back to %q", resp.Header.Get("Location"))
	}
	return back.Query()
}

// TestOAuthInstallAgainstTheSandbox installs two shops end to end through
// the sandbox's OAuth endpoints (authorize, signed redirect, code
// exchange): each gets its own token, which opens only its own shop, is
// stored sealed and never appears in a database dump. A forged HMAC, a
// wrong nonce, a domain that is not myshopify.com and a replayed code are
// refused, storing nothing.
func TestOAuthInstallAgainstTheSandbox(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newSandboxInstall(t, kind)

			// Forged: a callback altered after Shopify signed it.
			cookie, authorize := h.begin(t, shopA)
			q := h.approve(t, authorize)
			forged := url.Values{}
			for k, v := range q {
				forged[k] = v
			}
			forged.Set("shop", shopB) // the same signature, another shop
			problem(t, h.callback(forged, cookie), http.StatusUnauthorized, "")
			forged = url.Values{}
			for k, v := range q {
				forged[k] = v
			}
			forged.Set("hmac", shopifysandbox.SignOAuthQuery(q, "not-the-app-secret"))
			problem(t, h.callback(forged, cookie), http.StatusUnauthorized, "")
			if n := len(h.shops(t)); n != 0 || h.front.Exchanges("ok") != 0 {
				t.Fatalf("a forged callback stored %d shops / exchanged %d codes", n, h.front.Exchanges("ok"))
			}

			// Wrong nonce: shop A's signed redirect with another install's cookie.
			otherCookie, _ := h.begin(t, shopA)
			problem(t, h.callback(q, otherCookie), http.StatusForbidden, "")
			problem(t, h.callback(q, nil), http.StatusForbidden, "")

			// Not a myshopify.com domain.
			problem(t, h.do(http.MethodGet, "/shopify/install?shop=evil.example.com", "", nil, "Accept", "application/json"), http.StatusBadRequest, "")
			evil := url.Values{"code": {"x"}, "shop": {"shop-a.myshopify.com.evil.example.com"}, "state": {"s"}, "timestamp": {"1"}}
			evil.Set("hmac", shopifysandbox.SignOAuthQuery(evil, clientSecret))
			problem(t, h.callback(evil, cookie), http.StatusBadRequest, "")

			// The real callback installs shop A.
			r := h.callback(q, cookie)
			if r.Code != http.StatusOK {
				t.Fatalf("callback: %d %s", r.Code, r.Body)
			}
			shops := h.shops(t)
			if len(shops) != 1 || shops[0].Domain != shopA || !shops[0].HasToken {
				t.Fatalf("shops = %+v", shops)
			}
			tokenOfA := h.token(t, shops[0].Shop)
			if !slices.Contains(h.front.Tokens(shopA), tokenOfA) || slices.Contains(h.front.Tokens(shopB), tokenOfA) {
				t.Fatal("the stored token is not the one Shopify gave shop A")
			}

			// Replayed: the same redirect again (its state is spent), and
			// its code under a fresh state (Shopify refuses a used code).
			problem(t, h.callback(q, cookie), http.StatusForbidden, "")
			cookie2, authorize2 := h.begin(t, shopA)
			replay := url.Values{}
			for k, v := range q {
				replay[k] = v
			}
			replay.Set("state", authorize2.Query().Get("state"))
			replay.Set("hmac", shopifysandbox.SignOAuthQuery(replay, clientSecret))
			problem(t, h.callback(replay, cookie2), http.StatusBadRequest, "")
			if h.front.Exchanges("refused") != 1 || h.front.Exchanges("ok") != 1 {
				t.Errorf("exchanges: %d ok, %d refused; want 1 and 1", h.front.Exchanges("ok"), h.front.Exchanges("refused"))
			}

			// Shop B through OAuth too, and a custom app's token for a third.
			cookieB, authorizeB := h.begin(t, shopB)
			if r := h.callback(h.approve(t, authorizeB), cookieB); r.Code != http.StatusOK {
				t.Fatalf("callback B: %d %s", r.Code, r.Body)
			}
			shops = h.shops(t)
			if len(shops) != 2 {
				t.Fatalf("shops = %+v", shops)
			}
			tokenOfB := h.token(t, shops[1].Shop)
			if tokenOfB == tokenOfA || !slices.Contains(h.front.Tokens(shopB), tokenOfB) {
				t.Fatal("shop B's token is not its own")
			}

			// The database holds no token in clear.
			dump := h.dump()
			if len(dump) < 1000 {
				t.Fatalf("dump of %d bytes: not a dump", len(dump))
			}
			for _, tok := range []string{tokenOfA, tokenOfB} {
				if bytes.Contains(dump, []byte(tok)) || bytes.Contains(dump, []byte(tok[len("shpat_"):])) {
					t.Errorf("the %s dump holds an access token in clear", kind)
				}
			}
			if !bytes.Contains(dump, []byte(shopA)) {
				t.Error("the dump does not hold the shops: it dumped the wrong database")
			}
		})
	}
}
