package shopify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestInstalled: the installation probe tells an installed app (the shop's
// token answers) from an uninstalled one (Shopify revoked the token: 401,
// or the same refusal as a top-level GraphQL error), and never guesses
// when Shopify gives no definite answer.
func TestInstalled(t *testing.T) {
	t.Parallel()
	front := func(uninstall bool) http.Handler {
		shops := shopifysandbox.NewShops(shopifysandbox.ShopsOptions{})
		shops.Add(shopifysandbox.New(shopifysandbox.Options{Shop: testShop, Token: testToken}))
		if uninstall {
			if n := shops.Uninstall(testShop); n != 1 {
				t.Errorf("Uninstall revoked %d tokens, want 1", n)
			}
		}
		return shops
	}
	answer := func(status int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler
		tokens  TokenSource
		want    bool
		wantErr error
	}{
		{name: "the token works", handler: front(false), want: true},
		{name: "the merchant uninstalled: the token is revoked", handler: front(true)},
		{name: "403", handler: answer(http.StatusForbidden, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)},
		{name: "top-level invalid token", handler: answer(http.StatusOK, `{"errors":[{"message":"Invalid API key or access token (unrecognized login or wrong password)"}]}`)},
		{name: "no token held for the shop", handler: front(false), tokens: StaticTokens{}},
		{name: "Shopify down", handler: answer(http.StatusServiceUnavailable, `{"errors":"unavailable"}`), wantErr: orders.ErrShopifyUnavailable},
		{name: "another top-level error", handler: answer(http.StatusOK, `{"errors":[{"message":"Field 'x' doesn't exist"}]}`), wantErr: orders.ErrShopifyRejected},
		{name: "an answer without the installation", handler: answer(http.StatusOK, `{"data":{"currentAppInstallation":null}}`), wantErr: orders.ErrShopifyUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			tokens := tc.tokens
			if tokens == nil {
				tokens = StaticTokens{testShop: testToken}
			}
			c, err := New(Config{APIVersion: "2026-10", BaseURL: srv.URL, Tokens: tokens, Timeout: 2 * time.Second, BaseBackoff: time.Millisecond, MaxAttempts: 2}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Installed(context.Background(), shop)
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Installed = %v, %v; want an error wrapping %v", got, err, tc.wantErr)
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Installed: %v", err)
			case got != tc.want:
				t.Fatalf("Installed = %v, want %v", got, tc.want)
			}
		})
	}
}
