package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Errors of an install.
var (
	// ErrOAuthSignature: the callback does not carry Shopify's HMAC of its
	// query (forged or altered).
	ErrOAuthSignature = errors.New("the callback is not signed by Shopify")
	// ErrOAuthState: the state nonce is missing, is not this browser's, was
	// used already, has expired, or was issued for another shop.
	ErrOAuthState = errors.New("the install's state does not match")
	// ErrOAuthCode: Shopify refused the authorization code (used already or
	// expired).
	ErrOAuthCode = errors.New("shopify refused the authorization code")
	// ErrInvalidToken: an access token given to `shops add` is empty or
	// malformed.
	ErrInvalidToken = errors.New("not an access token")
)

// OAuthApp is Shopify's side of an install; internal/shopify implements it
// with go-shopify's App.
type OAuthApp interface {
	// AuthorizeURL is where the merchant approves the install.
	AuthorizeURL(domain, state string) (string, error)
	// VerifyCallback checks Shopify's HMAC of a request's query.
	VerifyCallback(u *url.URL) bool
	// ExchangeCode trades an authorization code for an offline access
	// token; a refused code wraps ErrOAuthCode.
	ExchangeCode(ctx context.Context, domain, code string) (string, error)
	// GrantedScopes asks Shopify, with the token, which scopes it carries
	// (and so that the token works).
	GrantedScopes(ctx context.Context, domain, token string) ([]string, error)
}

// Sealer seals values at rest (secrets.Keyring).
type Sealer interface {
	Seal(plaintext []byte, context string) (string, error)
}

// SpentState is an install state a callback has used: kept until it
// expires so that it works once.
type SpentState struct {
	StateHash string
	Domain    string
	SpentAt   time.Time
	ExpiresAt time.Time
}

// Install is an installation to record.
type Install struct {
	Domain      string
	SealedToken string
	Scopes      []string
	At          time.Time
}

// AfterInstall runs in the transaction that records an install; it
// enqueues the shop's webhook registration (tx is the store's transaction,
// of the type the job queue takes).
type AfterInstall func(ctx context.Context, tx any, shop Shop) error

// InstallStore is what the Installer needs from persistence.
type InstallStore interface {
	// SpendOAuthState records a state used by a callback, once:
	// ErrOAuthState when it was spent before. Expired records go.
	SpendOAuthState(ctx context.Context, s SpentState) error
	// SaveInstall records the shop installed (creating it, or installing
	// it again) with its sealed token and scopes, and runs after in the
	// same transaction.
	SaveInstall(ctx context.Context, in Install, after AfterInstall) (Shop, error)
}

// Scopes are what orderdesk asks a shop for: orders to read (all of them,
// not only the last 60 days) and to cancel and refund (write_orders),
// customers (an order's contact), and locations (where a shipment left
// from, so returned items go back to stock there).
var Scopes = []string{"read_orders", "write_orders", "read_all_orders", "read_customers", "read_locations"}

// Installer installs shops: Shopify's OAuth flow, or a custom app's token
// given to the CLI. Tokens are sealed before they reach the store.
type Installer struct {
	app      OAuthApp
	store    InstallStore
	sealer   Sealer
	after    AfterInstall
	log      *slog.Logger
	now      func() time.Time
	stateTTL time.Duration
	states   *stateSigner // nil: no OAuth install (the CLI's `shops add`)
}

// InstallerOption configures an Installer.
type InstallerOption func(*Installer)

// WithStateSecret signs install states with a key derived from secret (the
// app's client secret, shared by every replica); OAuth installs need it.
func WithStateSecret(secret []byte) InstallerOption {
	return func(in *Installer) { in.states = newStateSigner(secret) }
}

// WithInstallClock sets the installer's clock (tests of expiry).
func WithInstallClock(now func() time.Time) InstallerOption {
	return func(in *Installer) { in.now = now }
}

// NewInstaller wires an Installer; after may be nil. Add needs only app's
// GrantedScopes, so the CLI can use an app without OAuth credentials;
// Begin and Complete need WithStateSecret.
func NewInstaller(app OAuthApp, store InstallStore, sealer Sealer, after AfterInstall, log *slog.Logger, opts ...InstallerOption) *Installer {
	in := &Installer{app: app, store: store, sealer: sealer, after: after, log: log, now: time.Now, stateTTL: 10 * time.Minute}
	for _, o := range opts {
		o(in)
	}
	return in
}

// errNoStateKey: an OAuth install without WithStateSecret (a wiring bug).
var errNoStateKey = errors.New("install: no key signs install states")

// StateTTL is how long a merchant has between starting an install and
// Shopify's callback.
func (in *Installer) StateTTL() time.Duration { return in.stateTTL }

// Begin starts an OAuth install for a shop: it returns Shopify's authorize
// URL, carrying the signed state, and the state's nonce, which the caller
// binds to the browser (a cookie). It stores nothing.
// query is the install request's own query: when Shopify sent it (install
// from the admin or the App Store) it carries an hmac, which must be valid.
func (in *Installer) Begin(ctx context.Context, query url.Values) (authorizeURL, nonce string, err error) {
	domain, err := ParseDomain(query.Get("shop"))
	if err != nil {
		return "", "", err
	}
	if query.Get("hmac") != "" && !in.app.VerifyCallback(&url.URL{RawQuery: query.Encode()}) {
		return "", "", ErrOAuthSignature
	}
	if in.states == nil {
		return "", "", errNoStateKey
	}
	// Nothing is stored: the state is signed, and the nonce goes to the
	// browser's cookie.
	nonce, state, err := in.states.issue(domain, in.now().Add(in.stateTTL))
	if err != nil {
		return "", "", err
	}
	authorizeURL, err = in.app.AuthorizeURL(domain, state)
	if err != nil {
		return "", "", fmt.Errorf("install: %w", err)
	}
	return authorizeURL, nonce, nil
}

// Complete finishes an OAuth install from Shopify's callback: the HMAC of
// the query, the shop domain, the state's signature (issued for that shop),
// its expiry and its nonce against the browser's, then, the state spent,
// the code for an offline token. Nothing is stored unless every check
// passes.
func (in *Installer) Complete(ctx context.Context, callback *url.URL, browserNonce string) (ShopInfo, error) {
	q := callback.Query()
	if q.Get("hmac") == "" || !in.app.VerifyCallback(callback) {
		return ShopInfo{}, ErrOAuthSignature
	}
	domain, err := ParseDomain(q.Get("shop"))
	if err != nil {
		return ShopInfo{}, err
	}
	if in.states == nil {
		return ShopInfo{}, errNoStateKey
	}
	state := q.Get("state")
	now := in.now().UTC()
	expires, err := in.states.check(state, domain, browserNonce, now)
	if err != nil {
		return ShopInfo{}, err
	}
	code := q.Get("code")
	if code == "" {
		return ShopInfo{}, fmt.Errorf("%w: the callback has no code", ErrOAuthCode)
	}
	// Each state works once. Recorded only for a callback Shopify signed
	// with a state orderdesk signed for this browser, so nobody can make it
	// store rows; before the exchange, so two copies of one callback never
	// both reach Shopify.
	if err := in.store.SpendOAuthState(ctx, SpentState{StateHash: HashKey(state), Domain: domain, SpentAt: now, ExpiresAt: expires}); err != nil {
		return ShopInfo{}, err
	}
	token, err := in.app.ExchangeCode(ctx, domain, code)
	if err != nil {
		return ShopInfo{}, fmt.Errorf("install %s: %w", domain, err)
	}
	return in.save(ctx, domain, token)
}

// Add installs a shop with a custom app's Admin API token (`orderdesk
// shops add`). The token is checked with Shopify first.
func (in *Installer) Add(ctx context.Context, domain, token string) (ShopInfo, error) {
	domain, err := ParseDomain(domain)
	if err != nil {
		return ShopInfo{}, err
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > 1024 || strings.ContainsAny(token, " \t\r\n") {
		return ShopInfo{}, fmt.Errorf("%w: want one line holding the Admin API access token", ErrInvalidToken)
	}
	return in.save(ctx, domain, token)
}

func (in *Installer) save(ctx context.Context, domain, token string) (ShopInfo, error) {
	scopes, err := in.app.GrantedScopes(ctx, domain, token)
	if err != nil {
		return ShopInfo{}, fmt.Errorf("install %s: read the token's scopes: %w", domain, err)
	}
	slices.Sort(scopes)
	if missing := missingScopes(scopes); len(missing) > 0 {
		in.log.WarnContext(ctx, "the shop's token lacks scopes orderdesk uses", "shop", domain, "missing", strings.Join(missing, ","))
	}
	sealed, err := in.sealer.Seal([]byte(token), TokenContext(domain))
	if err != nil {
		return ShopInfo{}, fmt.Errorf("install %s: %w", domain, err)
	}
	at := in.now().UTC()
	shop, err := in.store.SaveInstall(ctx, Install{Domain: domain, SealedToken: sealed, Scopes: scopes, At: at}, in.after)
	if err != nil {
		return ShopInfo{}, fmt.Errorf("install %s: %w", domain, err)
	}
	in.log.InfoContext(ctx, "shop installed", "shop", domain, "shop_id", shop.ID, "scopes", strings.Join(scopes, ","))
	return ShopInfo{Shop: shop, State: Installed, Scopes: scopes, InstalledAt: at, HasToken: true}, nil
}

// missingScopes lists the Scopes a grant lacks; a write scope implies its
// read scope.
func missingScopes(granted []string) []string {
	has := map[string]bool{}
	for _, s := range granted {
		has[s] = true
		if r, ok := strings.CutPrefix(s, "write_"); ok {
			has["read_"+r] = true
		}
	}
	var out []string
	for _, s := range Scopes {
		if !has[s] {
			out = append(out, s)
		}
	}
	return out
}
