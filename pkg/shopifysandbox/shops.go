package shopifysandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ShopsOptions configure a multi-shop front.
type ShopsOptions struct {
	// ClientID and ClientSecret are the app's credentials (Shopify's
	// "API key" and "API secret key"): the OAuth endpoints check them, and
	// the secret signs the authorize redirect.
	ClientID, ClientSecret string
	// Scopes are what a token handed out by Add or the OAuth flow carries
	// when the authorize request asked for none.
	Scopes []string
	// CodeTTL is how long an authorization code can be exchanged (default
	// 1 minute, like Shopify's).
	CodeTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Shops is several shops' sandboxes behind one origin, as Shopify serves
// every shop: a request goes to the shop its X-Shopify-Shop-Domain header
// names (what a client rewriting https://{shop} to one base URL sends), or
// its shop query parameter, or its Host, or else the first shop added.
// Each shop has its own catalogue
// and its own access tokens: a token of one shop is a 401 at another. It
// also serves Shopify's OAuth endpoints:
//
//	GET  /admin/oauth/authorize?client_id&scope&redirect_uri&state&shop   approves at once: 302 to redirect_uri with code, hmac, host, shop, state, timestamp
//	POST /admin/oauth/access_token {"client_id","client_secret","code"}  an offline token for the code's shop; each code works once
//
// and answers the currentAppInstallation { id accessScopes } query with the
// calling token's installation and scopes. Uninstall stands in for the
// merchant removing the app: like Shopify, it revokes every token of the
// shop at once (a later install through OAuth gets a new one). Safe for
// concurrent use.
type Shops struct {
	opts ShopsOptions

	mu     sync.Mutex
	shops  map[string]*Sandbox
	first  string           // the shop of requests that name none
	tokens map[string]grant // access token -> what it opens
	codes  map[string]code
	// Exchanges counts token exchanges by outcome ("ok", "refused").
	exchanges map[string]int
	installs  int // installations handed out so far
}

type grant struct {
	shop   string
	scopes []string
	// installation numbers the install the token came from.
	installation int
}

type code struct {
	shop    string
	scopes  []string
	expires time.Time
	used    bool
}

// NewShops returns a front serving no shop yet.
func NewShops(opts ShopsOptions) *Shops {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = time.Minute
	}
	if len(opts.Scopes) == 0 {
		opts.Scopes = []string{"read_orders", "write_orders", "read_all_orders", "read_customers", "read_locations"}
	}
	return &Shops{opts: opts, shops: map[string]*Sandbox{}, tokens: map[string]grant{}, codes: map[string]code{}, exchanges: map[string]int{}}
}

// Add serves a shop's sandbox under its domain (Options.Shop); the
// sandbox's own token (Options.Token) opens it, as a custom app's token
// would.
func (m *Shops) Add(sb *Sandbox) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shops[sb.opts.Shop] = sb
	if m.first == "" {
		m.first = sb.opts.Shop
	}
	if sb.opts.Token != "" {
		m.installs++
		m.tokens[sb.opts.Token] = grant{shop: sb.opts.Shop, scopes: m.opts.Scopes, installation: m.installs}
	}
}

// Shop returns the sandbox serving a domain, or nil.
func (m *Shops) Shop(domain string) *Sandbox {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.shops[domain]
}

// Exchanges counts the token exchanges that handed out a token ("ok") and
// those refused ("refused").
func (m *Shops) Exchanges(outcome string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exchanges[outcome]
}

// ShopsCallReport is what the front's shops counted: their sum, and each
// shop's.
type ShopsCallReport struct {
	CallReport
	Shops map[string]CallReport `json:"shops"`
}

// CallReport sums what every shop's sandbox counted (GET /sandbox/calls
// naming no shop); naming one (?shop=) asks that shop's sandbox alone.
func (m *Shops) CallReport() ShopsCallReport {
	m.mu.Lock()
	shops := maps.Clone(m.shops)
	m.mu.Unlock()
	out := ShopsCallReport{CallReport: CallReport{Operations: map[string]int{}, RESTOperations: map[string]int{}, Refused: []string{}}, Shops: map[string]CallReport{}}
	for domain, sb := range shops {
		c := sb.CallReport()
		out.Shops[domain] = c
		out.add(c)
	}
	return out
}

// ServeHTTP routes a request to its shop.
func (m *Shops) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	domain := r.Header.Get("X-Shopify-Shop-Domain")
	if domain == "" {
		domain = r.URL.Query().Get("shop")
	}
	if domain == "" {
		domain, _, _ = strings.Cut(r.Host, ":")
	}
	if m.Shop(domain) == nil && r.Header.Get("X-Shopify-Shop-Domain") == "" && r.URL.Query().Get("shop") == "" {
		m.mu.Lock()
		domain = m.first
		m.mu.Unlock()
	}
	if r.URL.Path == "/sandbox/calls" && r.Method == http.MethodGet && r.Header.Get("X-Shopify-Shop-Domain") == "" && r.URL.Query().Get("shop") == "" {
		writeJSON(w, http.StatusOK, m.CallReport()) // a question about every shop
		return
	}
	sb := m.Shop(domain)
	if sb == nil {
		writeErrors(w, http.StatusNotFound, "Not Found: no shop "+domain)
		return
	}
	switch {
	case r.URL.Path == "/admin/oauth/authorize":
		m.authorize(w, r, domain)
		return
	case r.URL.Path == "/admin/oauth/access_token":
		m.accessToken(w, r, domain)
		return
	case strings.HasPrefix(r.URL.Path, "/admin/api/"):
		version, parts, _ := adminPath(r.URL.Path)
		graphql := isGraphQLPath(r.Method, parts)
		m.mu.Lock()
		g, ok := m.tokens[r.Header.Get("X-Shopify-Access-Token")]
		m.mu.Unlock()
		if !ok || g.shop != domain {
			if !graphql {
				sb.noteREST() // refused here, so the shop's sandbox never counts it
			}
			writeErrors(w, http.StatusUnauthorized, "[API] Invalid API key or access token (unrecognized login or wrong password)")
			return
		}
		if graphql && m.accessScopes(w, r, sb, version, g) {
			return
		}
		// The shop's sandbox knows one token: the front has checked this
		// one belongs to the shop.
		r = r.Clone(r.Context())
		r.Header.Set("X-Shopify-Access-Token", sb.opts.Token)
	}
	sb.ServeHTTP(w, r)
}

// accessScopes answers the currentAppInstallation query (which scopes the
// calling token carries), validated against the version's schema like
// every document the shop's sandbox serves (a refusal is recorded there);
// false for any other GraphQL request, whose body is left for the shop's
// sandbox.
func (m *Shops) accessScopes(w http.ResponseWriter, r *http.Request, sb *Sandbox, version string, g grant) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "unreadable body")
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req gqlRequest
	if json.Unmarshal(body, &req) != nil || !strings.Contains(req.Query, "currentAppInstallation") {
		return false
	}
	if _, perrs := parseGraphQL(version, req); len(perrs) > 0 {
		sb.noteRefused(perrs[0].Message)
		sb.writeGraphQL(w, nil, perrs)
		return true
	}
	handles := make([]map[string]string, 0, len(g.scopes))
	for _, s := range g.scopes {
		handles = append(handles, map[string]string{"handle": s})
	}
	installation := map[string]any{"id": "gid://shopify/AppInstallation/" + strconv.Itoa(g.installation), "accessScopes": handles}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"currentAppInstallation": installation}})
	return true
}

// authorize stands in for the merchant approving the install: the app's
// client id and a redirect URI are required, and the answer is Shopify's
// redirect back to the app, signed with the app's secret.
func (m *Shops) authorize(w http.ResponseWriter, r *http.Request, domain string) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case r.Method != http.MethodGet:
		writeErrors(w, http.StatusMethodNotAllowed, "GET only")
		return
	case q.Get("client_id") == "" || q.Get("client_id") != m.opts.ClientID:
		writeErrors(w, http.StatusBadRequest, "Oauth error invalid_request: The client_id is not valid")
		return
	case err != nil || !redirect.IsAbs():
		writeErrors(w, http.StatusBadRequest, "Oauth error invalid_request: The redirect_uri is missing or not absolute")
		return
	}
	scopes := m.opts.Scopes
	if s := q.Get("scope"); s != "" {
		scopes = strings.Split(s, ",")
	}
	c := randomHex(16)
	m.mu.Lock()
	m.codes[c] = code{shop: domain, scopes: scopes, expires: m.opts.Now().Add(m.opts.CodeTTL)}
	m.mu.Unlock()
	back := redirect.Query()
	back.Set("code", c)
	back.Set("shop", domain)
	back.Set("state", q.Get("state"))
	back.Set("timestamp", strconv.FormatInt(m.opts.Now().Unix(), 10))
	back.Set("host", base64.RawStdEncoding.EncodeToString([]byte(domain+"/admin")))
	back.Set("hmac", SignOAuthQuery(back, m.opts.ClientSecret))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// accessToken exchanges a code for an offline token, once.
func (m *Shops) accessToken(w http.ResponseWriter, r *http.Request, domain string) {
	var in struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Code         string `json:"code"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[in.Code]
	switch {
	case in.ClientID != m.opts.ClientID || !hmac.Equal([]byte(in.ClientSecret), []byte(m.opts.ClientSecret)):
		m.exchanges["refused"]++
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client credentials are invalid"})
		return
	case !ok || c.used || c.shop != domain || !m.opts.Now().Before(c.expires):
		m.exchanges["refused"]++
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "The authorization code was not found or was already used"})
		return
	}
	c.used = true
	m.codes[in.Code] = c
	token := "shpat_" + randomHex(16)
	m.installs++
	m.tokens[token] = grant{shop: domain, scopes: c.scopes, installation: m.installs}
	m.exchanges["ok"]++
	writeJSON(w, http.StatusOK, map[string]string{"access_token": token, "scope": strings.Join(c.scopes, ",")})
}

// Uninstall is the merchant removing the app from a shop: every access
// token of the shop stops working at once (Shopify answers them 401), and
// the shop's sandbox sends app/uninstalled when it has a webhook target.
// It returns how many tokens were revoked.
func (m *Shops) Uninstall(domain string) int {
	m.mu.Lock()
	n := 0
	for t, g := range m.tokens {
		if g.shop == domain {
			delete(m.tokens, t)
			n++
		}
	}
	sb := m.shops[domain]
	m.mu.Unlock()
	if sb != nil {
		sb.mu.Lock()
		sb.emitLocked("app/uninstalled", map[string]any{"id": 1, "name": domain, "domain": domain, "myshopify_domain": domain})
		sb.mu.Unlock()
	}
	return n
}

// Tokens lists the access tokens that open a shop (its own, and those the
// OAuth flow handed out), sorted.
func (m *Shops) Tokens(domain string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for t, g := range m.tokens {
		if g.shop == domain {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// SignOAuthQuery is Shopify's hmac of an OAuth redirect's query: hex
// HMAC-SHA256, with the app's secret, of the other parameters sorted and
// joined as k=v&k=v, unescaped.
func SignOAuthQuery(q url.Values, secret string) string {
	rest := url.Values{}
	for k, v := range q {
		if k != "hmac" && k != "signature" {
			rest[k] = v
		}
	}
	msg, err := url.QueryUnescape(rest.Encode())
	if err != nil {
		msg = rest.Encode()
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
