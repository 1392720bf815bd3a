package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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
)

const (
	clientID     = "orderdesk-client-id"
	clientSecret = "shpss_client_secret"
)

// oauthShopify is Shopify's side of an install: the token endpoint (each
// code works once, for its shop, with the app's secret) and the GraphQL
// query of a token's scopes.
type oauthShopify struct {
	mu        sync.Mutex
	codes     map[string]string // code -> shop
	used      map[string]bool
	tokens    map[string]string // token -> shop
	exchanges int
}

func newOAuthShopify() *oauthShopify {
	return &oauthShopify{codes: map[string]string{}, used: map[string]bool{}, tokens: map[string]string{}}
}

// issue is the merchant approving the install: Shopify makes a code.
func (f *oauthShopify) issue(shop string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	code := fmt.Sprintf("code-%d-%s", len(f.codes)+1, shop)
	f.codes[code] = shop
	return code
}

func (f *oauthShopify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	shop := r.Header.Get("X-Shopify-Shop-Domain") // set by the adapter's base-URL rewrite
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/admin/oauth/access_token":
		f.exchanges++
		var in struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			Code         string `json:"code"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in.ClientID != clientID || in.ClientSecret != clientSecret || f.codes[in.Code] != shop || f.used[in.Code] {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"The authorization code was not found or was already used"}`))
			return
		}
		f.used[in.Code] = true
		token := "shpat_" + strings.TrimSuffix(shop, ".myshopify.com") + "_" + in.Code
		f.tokens[token] = shop
		_ = json.NewEncoder(w).Encode(map[string]string{"access_token": token, "scope": strings.Join(tenant.Scopes, ",")})
	case "/admin/api/2026-10/graphql.json":
		if f.tokens[r.Header.Get("X-Shopify-Access-Token")] != shop {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":"[API] Invalid API key or access token"}`))
			return
		}
		handles := []map[string]string{}
		for _, s := range tenant.Scopes {
			handles = append(handles, map[string]string{"handle": s})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"currentAppInstallation": map[string]any{"accessScopes": handles}}})
	default:
		http.NotFound(w, r)
	}
}

func (f *oauthShopify) exchangeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

// sign adds Shopify's hmac to a callback query, as Shopify computes it.
func sign(q url.Values, secret string) url.Values {
	q.Del("hmac")
	msg, _ := url.QueryUnescape(q.Encode())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg))
	q.Set("hmac", hex.EncodeToString(mac.Sum(nil)))
	return q
}

type installHarness struct {
	*harness
	shopify    *oauthShopify
	keyring    *secrets.Keyring
	registered chan tenant.Shop
	// later moves the installer's clock ahead (nanoseconds).
	later *atomic.Int64
}

func newInstallHarness(t *testing.T, kind string) *installHarness {
	t.Helper()
	st := storetest.New(t, kind)
	fake := newOAuthShopify()
	srv := httptest.NewServer(fake)
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
	registered := make(chan tenant.Shop, 10)
	log := slog.New(slog.DiscardHandler)
	later := new(atomic.Int64)
	installer := tenant.NewInstaller(app, st.Tenants(), kr, func(_ context.Context, _ any, shop tenant.Shop) error {
		registered <- shop
		return nil
	}, log, tenant.WithStateSecret([]byte(clientSecret)), tenant.WithInstallClock(func() time.Time { return time.Now().Add(time.Duration(later.Load())) }))
	router, err := api.NewRouter(api.Deps{Log: log, Auth: tenant.NewService(st.Tenants()), Orders: panicky{}, Idempotency: idempotency.NewService(st.Idempotency()),
		Webhooks: webhooks.NewService(nil, nil, nil, nil, nil, log), Ready: st.Ping, Registry: prometheus.NewRegistry(), Install: installer, SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, router: router, store: st}
	h.spec = h.loadSpec()
	return &installHarness{harness: h, shopify: fake, keyring: kr, registered: registered, later: later}
}

// begin starts an install and returns the state cookie and Shopify's URL
// (whose state parameter the callback carries back).
func (h *installHarness) begin(t *testing.T, shop string) (*http.Cookie, *url.URL) {
	t.Helper()
	r := h.do(http.MethodGet, "/shopify/install?shop="+shop, "", nil, "Accept", "application/json")
	if r.Code != http.StatusOK {
		t.Fatalf("install: %d %s", r.Code, r.Body)
	}
	var start api.InstallStart
	r.decode(t, &start)
	u, err := url.Parse(start.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range r.Result().Cookies() {
		if ck.Name == "orderdesk_oauth_state" {
			return ck, u
		}
	}
	t.Fatalf("install set no state cookie: %v", r.Header())
	return nil, nil
}

// callback is Shopify sending the browser back.
func (h *installHarness) callback(q url.Values, cookie *http.Cookie) response {
	h.t.Helper()
	headers := []string{}
	if cookie != nil {
		headers = append(headers, "Cookie", cookie.Name+"="+cookie.Value)
	}
	return h.do(http.MethodGet, "/shopify/callback?"+q.Encode(), "", nil, headers...)
}

func callbackQuery(shop, code, state string) url.Values {
	return url.Values{"code": {code}, "shop": {shop}, "state": {state}, "timestamp": {fmt.Sprint(now.Unix())},
		"host": {base64.RawURLEncoding.EncodeToString([]byte("admin.shopify.com/store/" + shop))}}
}

func (h *installHarness) shops(t *testing.T) []tenant.ShopInfo {
	t.Helper()
	list, err := h.store.Tenants().ListShops(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (h *installHarness) token(t *testing.T, shop tenant.Shop) string {
	t.Helper()
	tok, err := tenant.NewTokens(h.store.Tenants(), h.keyring, nil, 0).Token(context.Background(), shop)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestOAuthInstall(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newInstallHarness(t, kind)
			const shop = "shop-c.myshopify.com"

			cookie, authorize := h.begin(t, shop)
			q := authorize.Query()
			state := q.Get("state")
			// The state is signed and carries the cookie's nonce.
			if parts := strings.Split(state, "."); len(parts) != 4 || parts[1] != cookie.Value {
				t.Fatalf("state %q does not carry the cookie's nonce %q", state, cookie.Value)
			}
			if authorize.Path != "/admin/oauth/authorize" || q.Get("client_id") != clientID ||
				q.Get("redirect_uri") != "https://orderdesk.example.com/shopify/callback" || q.Get("scope") != strings.Join(tenant.Scopes, ",") {
				t.Fatalf("authorize URL %s (cookie %q)", authorize, cookie.Value)
			}
			if !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/shopify/callback" || cookie.MaxAge != 600 {
				t.Errorf("state cookie %+v", cookie)
			}
			t.Run("browsers are redirected", func(t *testing.T) {
				r := h.do(http.MethodGet, "/shopify/install?shop="+shop, "", nil, "Accept", "text/html")
				if r.Code != http.StatusFound || !strings.Contains(r.Header().Get("Location"), "/admin/oauth/authorize?") {
					t.Errorf("%d, Location %q", r.Code, r.Header().Get("Location"))
				}
			})

			code := h.shopify.issue(shop)
			good := sign(callbackQuery(shop, code, state), clientSecret)

			// Refusals before the good callback: each stores nothing and
			// never reaches Shopify's token endpoint.
			refusals := []struct {
				name   string
				q      url.Values
				cookie *http.Cookie
				status int
				code   string
			}{
				{"forged hmac", sign(callbackQuery(shop, code, state), "not-the-secret"), cookie, http.StatusUnauthorized, "oauth_signature_invalid"},
				{"no hmac", callbackQuery(shop, code, state), cookie, http.StatusUnauthorized, "oauth_signature_invalid"},
				{"a parameter changed after signing", func() url.Values {
					q := sign(callbackQuery(shop, code, state), clientSecret)
					q.Set("code", "other")
					return q
				}(), cookie, http.StatusUnauthorized, "oauth_signature_invalid"},
				{"wrong nonce", sign(callbackQuery(shop, code, "not-the-state"), clientSecret), cookie, http.StatusForbidden, "oauth_state_invalid"},
				{"no cookie", good, nil, http.StatusForbidden, "oauth_state_invalid"},
				{"another browser's cookie", good, &http.Cookie{Name: cookie.Name, Value: "someone-else"}, http.StatusForbidden, "oauth_state_invalid"},
				{"the state of another shop", func() url.Values {
					_, other := h.begin(t, "shop-d.myshopify.com")
					return sign(callbackQuery(shop, code, other.Query().Get("state")), clientSecret)
				}(), cookie, http.StatusForbidden, "oauth_state_invalid"},
				{"the state altered", sign(callbackQuery(shop, code, strings.Replace(state, ".", ".x", 1)), clientSecret), cookie, http.StatusForbidden, "oauth_state_invalid"},
				{"the state's expiry pushed back", func() url.Values {
					parts := strings.Split(state, ".")
					parts[2] = fmt.Sprint(time.Now().Add(time.Hour).Unix())
					return sign(callbackQuery(shop, code, strings.Join(parts, ".")), clientSecret)
				}(), cookie, http.StatusForbidden, "oauth_state_invalid"},
				{"the cookie as the state", sign(callbackQuery(shop, code, cookie.Value), clientSecret), cookie, http.StatusForbidden, "oauth_state_invalid"},
				{"not a myshopify domain", sign(callbackQuery("evil.example.com", code, state), clientSecret), cookie, http.StatusBadRequest, "invalid_shop_domain"},
			}
			for _, rf := range refusals {
				t.Run(rf.name, func(t *testing.T) {
					problem(t, h.callback(rf.q, rf.cookie), rf.status, rf.code)
					if n := h.states(t); n != 0 {
						t.Errorf("a refused callback stored %d states", n)
					}
					if n := len(h.shops(t)); n != 0 {
						t.Errorf("%d shops stored", n)
					}
					if n := h.shopify.exchangeCount(); n != 0 {
						t.Errorf("the code was sent to Shopify %d times", n)
					}
				})
			}
			t.Run("an expired state", func(t *testing.T) {
				h.later.Store(int64(11 * time.Minute))
				defer h.later.Store(0)
				problem(t, h.callback(good, cookie), http.StatusForbidden, "oauth_state_invalid")
				if n := h.shopify.exchangeCount(); n != 0 {
					t.Errorf("the code was sent to Shopify %d times", n)
				}
			})

			r := h.callback(good, cookie)
			if r.Code != http.StatusOK {
				t.Fatalf("callback: %d %s", r.Code, r.Body)
			}
			var done api.InstallDone
			r.decode(t, &done)
			if done.Shop.Domain != shop || done.Shop.State != "installed" || len(done.Shop.Scopes) != len(tenant.Scopes) {
				t.Errorf("done = %+v", done)
			}
			if strings.Contains(r.Body.String(), "shpat_") {
				t.Error("the callback's answer shows the token")
			}
			shops := h.shops(t)
			if len(shops) != 1 || shops[0].Domain != shop || !shops[0].HasToken || shops[0].State != tenant.Installed {
				t.Fatalf("shops = %+v", shops)
			}
			installed := shops[0].Shop
			token := h.token(t, installed)
			if token != "shpat_shop-c_"+code {
				t.Errorf("stored token = %q", token)
			}
			select {
			case got := <-h.registered:
				if got != installed {
					t.Errorf("webhooks registered for %+v", got)
				}
			default:
				t.Error("no webhook registration was enqueued")
			}

			t.Run("the same callback again", func(t *testing.T) {
				problem(t, h.callback(good, cookie), http.StatusForbidden, "oauth_state_invalid")
			})
			if n := h.states(t); n != 1 {
				t.Errorf("the successful callback spent %d states, want 1", n)
			}
			t.Run("a replayed code with a fresh state", func(t *testing.T) {
				fresh, freshURL := h.begin(t, shop)
				before := h.shopify.exchangeCount()
				problem(t, h.callback(sign(callbackQuery(shop, code, freshURL.Query().Get("state")), clientSecret), fresh), http.StatusBadRequest, "oauth_code_invalid")
				if h.shopify.exchangeCount() != before+1 {
					t.Error("the code did not reach Shopify")
				}
				if got := h.token(t, installed); got != token {
					t.Errorf("token changed to %q", got)
				}
			})
			t.Run("a state started for another shop", func(t *testing.T) {
				other, otherURL := h.begin(t, "shop-d.myshopify.com")
				problem(t, h.callback(sign(callbackQuery(shop, h.shopify.issue(shop), otherURL.Query().Get("state")), clientSecret), other), http.StatusForbidden, "oauth_state_invalid")
				if n := len(h.shops(t)); n != 1 {
					t.Errorf("%d shops", n)
				}
			})
			t.Run("install refuses a non-myshopify domain", func(t *testing.T) {
				for _, bad := range []string{"evil.example.com", "shop.myshopify.com.evil.com", "a%2F.myshopify.com"} {
					problem(t, h.do(http.MethodGet, "/shopify/install?shop="+bad, "", nil), http.StatusBadRequest, "invalid_shop_domain")
				}
				// An empty value is refused with the query, naming the parameter.
				problem(t, h.do(http.MethodGet, "/shopify/install?shop=", "", nil), http.StatusBadRequest, "invalid_query")
			})
			t.Run("install with a forged hmac from the admin", func(t *testing.T) {
				q := sign(url.Values{"shop": {shop}, "timestamp": {"1"}}, "not-the-secret")
				problem(t, h.do(http.MethodGet, "/shopify/install?"+q.Encode(), "", nil), http.StatusUnauthorized, "oauth_signature_invalid")
				q = sign(url.Values{"shop": {shop}, "timestamp": {"1"}}, clientSecret)
				if r := h.do(http.MethodGet, "/shopify/install?"+q.Encode(), "", nil); r.Code != http.StatusFound {
					t.Errorf("signed install from the admin: %d %s", r.Code, r.Body)
				}
			})
			t.Run("reinstall replaces the token", func(t *testing.T) {
				ck, ckURL := h.begin(t, shop)
				c2 := h.shopify.issue(shop)
				if r := h.callback(sign(callbackQuery(shop, c2, ckURL.Query().Get("state")), clientSecret), ck); r.Code != http.StatusOK {
					t.Fatalf("reinstall: %d %s", r.Code, r.Body)
				}
				if got := h.token(t, installed); got != "shpat_shop-c_"+c2 {
					t.Errorf("token after reinstall = %q", got)
				}
			})
		})
	}
}

func TestInstallNotConfigured(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	problem(t, h.get("/shopify/install?shop=a.myshopify.com", ""), http.StatusNotFound, "install_not_configured")
	problem(t, h.get("/shopify/callback?shop=a.myshopify.com", ""), http.StatusNotFound, "install_not_configured")
}

// TestInstallStartStoresNothing: GET /shopify/install needs no credential,
// so it stores nothing: the state is signed (nonce, shop, expiry) and its
// nonce lives in the browser's cookie. 50 starts leave no row; a callback
// of one of them still installs its shop.
func TestInstallStartStoresNothing(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newInstallHarness(t, kind)
			var cookie *http.Cookie
			var authorize *url.URL
			for i := range 50 {
				cookie, authorize = h.begin(t, fmt.Sprintf("flood-%d.myshopify.com", i))
			}
			if n := h.states(t); n != 0 {
				t.Fatalf("50 unauthenticated install starts stored %d rows", n)
			}
			const last = "flood-49.myshopify.com"
			q := sign(callbackQuery(last, h.shopify.issue(last), authorize.Query().Get("state")), clientSecret)
			if r := h.callback(q, cookie); r.Code != http.StatusOK {
				t.Fatalf("callback of the last start: %d %s", r.Code, r.Body)
			}
		})
	}
}

// states counts the install states recorded (spent by callbacks).
func (h *installHarness) states(t *testing.T) int {
	t.Helper()
	var n int
	if err := h.store.SQL().QueryRow("SELECT count(*) FROM oauth_states").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
