package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Installer runs Shopify's OAuth install.
type Installer interface {
	// Begin returns Shopify's authorize URL and the nonce the browser's
	// cookie keeps; it stores nothing.
	Begin(ctx context.Context, query url.Values) (authorizeURL, nonce string, err error)
	Complete(ctx context.Context, callback *url.URL, browserNonce string) (tenant.ShopInfo, error)
	StateTTL() time.Duration
}

// stateCookie binds an install's state nonce to the browser that started
// it; only the callback path sees it.
const stateCookie = "orderdesk_oauth_state"

// InstallStart is the answer to GET /shopify/install for a client asking
// for JSON; browsers get a 302 to the same URL.
type InstallStart struct {
	// Shopify's page where the merchant approves the install.
	AuthorizeURL string `json:"authorize_url" example:"https://example.myshopify.com/admin/oauth/authorize?client_id=...&scope=read_orders,write_orders,read_all_orders,read_customers,read_locations&redirect_uri=...&state=..."`
	// Seconds the merchant has to approve before the install must start again.
	ExpiresIn int `json:"expires_in" example:"600"`
} //	@name	InstallStart

// InstalledShop is a shop as installed.
type InstalledShop struct {
	Domain string `json:"domain" example:"example.myshopify.com"`
	// installed or uninstalled
	State string `json:"state" example:"installed" enums:"installed,uninstalled"`
	// The access scopes Shopify granted.
	Scopes      []string  `json:"scopes" example:"read_orders,write_orders,read_all_orders,read_customers,read_locations"`
	InstalledAt time.Time `json:"installed_at" example:"2026-11-26T12:00:00Z" format:"date-time"`
} //	@name	InstalledShop

// InstallDone is the answer to Shopify's callback once the shop is installed.
type InstallDone struct {
	Shop InstalledShop `json:"shop"`
	// What the operator does next.
	Next string `json:"next" example:"create the CRM's API key: orderdesk keys create --shop example.myshopify.com --name crm"`
} //	@name	InstallDone

// shopifyInstall godoc
//
//	@Summary		Start installing a shop (Shopify OAuth)
//	@Description	Redirects the merchant's browser to Shopify's authorize page, asking for the scopes orderdesk uses, with a signed state (nonce, shop and expiry under an HMAC; valid 10 minutes) whose nonce is bound to the browser by a cookie. Nothing is stored. With `Accept: application/json` the URL comes back as JSON instead. Needs no API key. When Shopify itself sends the request (install from the admin), its `hmac` must be valid.
//	@Tags			installs
//	@Produce		json,application/problem+json
//	@Param			shop	query		string	true	"The shop's myshopify.com domain"	example(example.myshopify.com)
//	@Success		200		{object}	InstallStart
//	@Success		302		"Redirect to Shopify's authorize page"
//	@Header			302		{string}	Location	"Shopify's authorize URL"
//	@Failure		400		{object}	Problem		"Not a myshopify.com domain"
//	@Failure		401		{object}	Problem		"Shopify's hmac is wrong"
//	@Failure		404		{object}	Problem		"OAuth install is not configured"
//	@Failure		500		{object}	Problem		"Internal error (no details)"
//	@ID				startShopifyInstall
//	@Header			all	{string}	X-Request-Id	"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Router			/shopify/install [get]
func (s *server) shopifyInstall(c *gin.Context) {
	if s.Install == nil {
		writeProblem(c, installNotConfigured())
		return
	}
	authorizeURL, nonce, err := s.Install.Begin(c.Request.Context(), c.Request.URL.Query())
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	ttl := s.Install.StateTTL()
	http.SetCookie(c.Writer, &http.Cookie{
		Name: stateCookie, Value: nonce, Path: "/shopify/callback", MaxAge: int(ttl.Seconds()),
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	c.Header("Cache-Control", "no-store")
	if wantsJSON(c) {
		writeJSON(c, http.StatusOK, InstallStart{AuthorizeURL: authorizeURL, ExpiresIn: int(ttl.Seconds())})
		return
	}
	c.Redirect(http.StatusFound, authorizeURL)
}

// wantsJSON: an API client (curl -H 'Accept: application/json') rather
// than a browser following links.
func wantsJSON(c *gin.Context) bool {
	accept := c.GetHeader("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// shopifyCallback godoc
//
//	@Summary		Finish installing a shop (Shopify's OAuth callback)
//	@Description	Shopify sends the merchant's browser here after the approval. orderdesk checks Shopify's HMAC of the query, the shop domain, and the state (its signature for this shop, its expiry, and its nonce against the browser's cookie; each state works once), then exchanges the code for an offline access token, stores it encrypted, and registers the shop's webhooks in the background. Nothing is stored when a check fails. Needs no API key.
//	@Tags			installs
//	@Produce		json,application/problem+json
//	@Param			shop		query		string	true	"The shop's myshopify.com domain"
//	@Param			code		query		string	true	"Authorization code"
//	@Param			state		query		string	true	"The state nonce of GET /shopify/install"
//	@Param			hmac		query		string	true	"Shopify's HMAC-SHA256 of the other parameters"
//	@Param			timestamp	query		string	false	"When Shopify signed the redirect"
//	@Param			host		query		string	false	"Base64 of the shop's admin host"
//	@Success		200			{object}	InstallDone
//	@Failure		400			{object}	Problem	"Not a myshopify.com domain, or Shopify refused the code (used already or expired)"
//	@Failure		401			{object}	Problem	"Shopify's hmac is missing or wrong"
//	@Failure		403			{object}	Problem	"The state is not this browser's, was used already, has expired or belongs to another shop"
//	@Failure		404			{object}	Problem	"OAuth install is not configured"
//	@Failure		500			{object}	Problem	"Internal error (no details)"
//	@Failure		502			{object}	Problem	"Shopify failed"
//	@Failure		504			{object}	Problem	"Shopify did not answer in time"
//	@ID				finishShopifyInstall
//	@Header			all	{string}	X-Request-Id	"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Router			/shopify/callback [get]
func (s *server) shopifyCallback(c *gin.Context) {
	if s.Install == nil {
		writeProblem(c, installNotConfigured())
		return
	}
	var nonce string
	if ck, err := c.Request.Cookie(stateCookie); err == nil {
		nonce = ck.Value
	}
	// The state is spent whatever happens next.
	http.SetCookie(c.Writer, &http.Cookie{Name: stateCookie, Value: "", Path: "/shopify/callback", MaxAge: -1,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
	c.Header("Cache-Control", "no-store")
	info, err := s.Install.Complete(c.Request.Context(), c.Request.URL, nonce)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	scopes := info.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	writeJSON(c, http.StatusOK, InstallDone{
		Shop: InstalledShop{Domain: info.Domain, State: string(info.State), Scopes: scopes, InstalledAt: info.InstalledAt},
		Next: "create the CRM's API key: orderdesk keys create --shop " + info.Domain + " --name crm",
	})
}

func installNotConfigured() Problem {
	return newProblem(http.StatusNotFound, "install_not_configured", "OAuth install is not configured",
		"set SHOPIFY_API_KEY, SHOPIFY_API_SECRET, ORDERDESK_PUBLIC_URL and ORDERDESK_ENCRYPTION_KEY to install shops through Shopify")
}
