package shopify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// OAuthConfig is the app's Shopify credentials and where Shopify sends the
// merchant back.
type OAuthConfig struct {
	ClientID     string // SHOPIFY_API_KEY
	ClientSecret string // SHOPIFY_API_SECRET; also signs the callback
	RedirectURL  string // orderdesk's public /shopify/callback
	Scopes       []string
	APIVersion   string
	// BaseURL, when set, replaces https://{shop} (sandbox, tests), for the
	// token exchange and for the authorize URL the browser is sent to.
	BaseURL string
	Timeout time.Duration
}

// OAuth is the app's side of Shopify's authorization code grant, over
// go-shopify's App. It implements tenant.OAuthApp.
type OAuth struct {
	app     goshopify.App
	http    *http.Client
	base    *url.URL // nil: Shopify itself
	version string
	timeout time.Duration
}

// NewOAuth builds the OAuth side. A zero ClientID still reads a token's
// scopes (`orderdesk shops add`), which needs no app credentials.
func NewOAuth(cfg OAuthConfig) (*OAuth, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	o := &OAuth{
		app:     goshopify.App{ApiKey: cfg.ClientID, ApiSecret: cfg.ClientSecret, RedirectUrl: cfg.RedirectURL, Scope: strings.Join(cfg.Scopes, ",")},
		version: cfg.APIVersion,
		timeout: cfg.Timeout,
	}
	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("shopify base url %q: not an absolute URL", cfg.BaseURL)
		}
		o.base = u
		rt = rewriteOrigin{scheme: u.Scheme, host: u.Host, next: rt}
	}
	// Shopify answers the token exchange directly; a redirect is not
	// followed with the client secret.
	o.http = &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return o, nil
}

// AuthorizeURL is Shopify's page where the merchant approves the install
// (go-shopify's App.AuthorizeUrl). With a base URL it points there instead,
// with the shop in the query so a sandbox can tell shops apart.
func (o *OAuth) AuthorizeURL(domain, state string) (string, error) {
	raw, err := o.app.AuthorizeUrl(domain, state)
	if err != nil {
		return "", fmt.Errorf("authorize url: %w", err)
	}
	if o.base == nil {
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("authorize url: %w", err)
	}
	q := u.Query()
	q.Set("shop", domain)
	u.Scheme, u.Host, u.RawQuery = o.base.Scheme, o.base.Host, q.Encode()
	return u.String(), nil
}

// VerifyCallback checks Shopify's HMAC of the query (hex HMAC-SHA256 of the
// other parameters, sorted, with the client secret), in constant time.
func (o *OAuth) VerifyCallback(u *url.URL) bool {
	if o.app.ApiSecret == "" {
		return false
	}
	ok, err := o.app.VerifyAuthorizationURL(u)
	return ok && err == nil
}

// ExchangeCode trades the callback's code for an offline access token
// (go-shopify's App.GetAccessToken). Shopify refusing the code (used
// already, expired, another app's) wraps tenant.ErrOAuthCode; neither the
// code nor the token is ever part of an error.
func (o *OAuth) ExchangeCode(ctx context.Context, domain, code string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	client, err := goshopify.NewClient(o.app, domain, "", goshopify.WithHTTPClient(o.http))
	if err != nil {
		return "", fmt.Errorf("token exchange: %w", err)
	}
	app := o.app
	app.Client = client
	token, err := app.GetAccessToken(ctx, domain, code)
	if err != nil {
		var re goshopify.ResponseError
		if errors.As(err, &re) && re.Status >= 400 && re.Status < 500 && re.Status != http.StatusTooManyRequests {
			return "", fmt.Errorf("%w (HTTP %d)", tenant.ErrOAuthCode, re.Status)
		}
		return "", fmt.Errorf("token exchange: %w", mapError(err))
	}
	if token == "" {
		return "", fmt.Errorf("token exchange: %w: Shopify answered without a token", tenant.ErrOAuthCode)
	}
	return token, nil
}

// GrantedScopes reads the scopes a token carries, which also proves the
// token works. A refused token wraps orders.ErrShopifyAuth.
func (o *OAuth) GrantedScopes(ctx context.Context, domain, token string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	client, err := goshopify.NewClient(goshopify.App{}, domain, token, goshopify.WithHTTPClient(o.http), goshopify.WithVersion(o.version))
	if err != nil {
		return nil, fmt.Errorf("access scopes: %w", err)
	}
	out, err := AccessScopes(ctx, libraryClient{lib: client})
	if err != nil {
		return nil, fmt.Errorf("access scopes: %w", mapGraphQLError(err))
	}
	scopes := make([]string, 0, len(out.CurrentAppInstallation.AccessScopes))
	for _, s := range out.CurrentAppInstallation.AccessScopes {
		scopes = append(scopes, s.Handle)
	}
	return scopes, nil
}
