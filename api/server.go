// Package api is orderdesk's HTTP surface: routes, authentication, request
// and response shapes, problem+json errors and the OpenAPI annotations. It is
// the only package that imports Gin; it calls the domain with a plain
// context.Context.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// MaxBodyBytes is the largest request body accepted (API.md: 1 MiB).
const MaxBodyBytes = 1 << 20

// Authenticator resolves an API key to its caller.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (tenant.Principal, error)
}

// OrderService is the domain service the order endpoints call.
type OrderService interface {
	Get(ctx context.Context, shop tenant.Shop, id int64, refresh bool) (orders.Order, error)
	// View and ListViews are Get and List as the views answer them: the
	// documents stored with the orders.
	View(ctx context.Context, shop tenant.Shop, id int64, refresh bool) (orders.OrderView, error)
	ListViews(ctx context.Context, shop tenant.Shop, f orders.ListFilter) (orders.ViewPage, error)
	PreviewCancel(ctx context.Context, shop tenant.Shop, id int64) (orders.CancelPreview, error)
	PreviewRefund(ctx context.Context, shop tenant.Shop, id int64) (orders.RefundPreview, error)
	Cancel(ctx context.Context, shop tenant.Shop, id int64, call orders.ActionCall, req orders.CancelRequest) (orders.ActionResult, error)
	Refund(ctx context.Context, shop tenant.Shop, id int64, call orders.ActionCall, req orders.RefundRequest) (orders.ActionResult, error)
	Actions(ctx context.Context, shop tenant.Shop, id int64) ([]orders.Action, error)
	GetAction(ctx context.Context, shop tenant.Shop, id int64, actionID string) (orders.Action, error)
	Timeline(ctx context.Context, shop tenant.Shop, customerID int64, after *orders.TimelineCursor, limit int) (orders.TimelinePage, error)
}

// Idempotency keeps the first final answer of each Idempotency-Key.
type Idempotency interface {
	Settle(ctx context.Context, k idempotency.Key, status int, body []byte) (idempotency.Response, error)
}

// Deps is what the router needs; cmd/orderdesk builds it.
type Deps struct {
	Log         *slog.Logger
	Auth        Authenticator
	Orders      OrderService
	Idempotency Idempotency
	Webhooks    WebhookReceiver
	// Ready reports whether the service can take traffic (pings the database).
	Ready func(ctx context.Context) error
	// Registry receives the HTTP and Go runtime metrics and is served at /metrics.
	Registry *prometheus.Registry
	// Limits, when set, rate-limits each API key.
	Limits RateLimiter
	// Install, when set, serves Shopify's OAuth install; SecureCookies
	// marks its state cookie Secure (orderdesk is reached over https).
	Install       Installer
	SecureCookies bool
	// PhoneRegion is the country of a ?phone= search written without a
	// country code (ORDERDESK_PHONE_REGION); orders.DefaultPhoneRegion
	// when empty. The store reads stored phones with the same one.
	PhoneRegion string
	// Tracing, when set, traces every request (W3C traceparent honoured);
	// the trace id goes into log lines and problem instances.
	Tracing trace.TracerProvider
	// ActionWait is how long an action request waits for the outcome
	// before answering 202 (default DefaultActionWait).
	ActionWait time.Duration
	// Events, when set, serves the shop's event endpoints and events.
	Events EventService
}

type server struct {
	Deps
	metrics  *httpMetrics
	security []headerValue
}

// NewRouter builds the HTTP handler with every route and middleware.
func NewRouter(d Deps) (*gin.Engine, error) {
	if d.Log == nil || d.Auth == nil || d.Orders == nil || d.Idempotency == nil || d.Webhooks == nil || d.Ready == nil || d.Registry == nil {
		return nil, errors.New("api: incomplete dependencies")
	}
	m, err := newHTTPMetrics(d.Registry)
	if err != nil {
		return nil, err
	}
	if d.PhoneRegion == "" {
		d.PhoneRegion = orders.DefaultPhoneRegion
	}
	s := &server{Deps: d, metrics: m, security: securityHeaderValues()}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Gin's trailing-slash redirects answer before any middleware (no
	// security headers, an HTML body): /orders/ is a problem+json 404.
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	// The span comes first, so the access log and every handler's log
	// lines carry its trace id.
	r.Use(s.trace(), s.securityHeaders, s.requestID, s.accessLog, s.recover, s.observe, s.limitBody)
	r.NoRoute(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusNotFound, "route_not_found", "Not found", "no route for "+c.Request.Method+" "+c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path))
	})

	// Every route names its query parameters (none: query()); anything
	// else in the query string is a 400, never ignored.
	r.GET("/healthz", query(), s.healthz)
	r.GET("/readyz", query(), s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{Registry: d.Registry})))
	r.GET("/openapi.json", query(), s.openAPI)
	r.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/index.html") })
	r.GET("/docs/*any", query(), swaggerUI())
	r.POST("/webhooks/shopify", query(), s.shopifyWebhook)      // authenticated by HMAC, not an API key
	r.GET("/shopify/install", query(anyName), s.shopifyInstall) // state nonce and Shopify's HMAC, not an API key
	r.GET("/shopify/callback", query(anyName), s.shopifyCallback)

	authed := r.Group("/", s.authenticate, s.rateLimit)
	authed.GET("/orders", query(listParams...), s.listOrders)
	authed.GET("/orders/:id", query("refresh"), s.getOrder)
	authed.GET("/orders/:id/cancel", query(), s.cancelPreview)
	authed.POST("/orders/:id/cancel", query(), s.cancelOrder)
	authed.GET("/orders/:id/refund", query(), s.refundPreview)
	authed.POST("/orders/:id/refund", query(), s.refundOrder)
	authed.GET("/orders/:id/actions", query(), s.listActions)
	authed.GET("/orders/:id/actions/:action_id", query(), s.getAction)
	authed.GET("/customers/:id/timeline", query("limit", "cursor"), s.timeline)
	authed.GET("/event-endpoints", query(), s.listEventEndpoints)
	authed.POST("/event-endpoints", query(), s.createEventEndpoint)
	authed.GET("/event-endpoints/:id", query(), s.getEventEndpoint)
	authed.DELETE("/event-endpoints/:id", query(), s.deleteEventEndpoint)
	authed.POST("/event-endpoints/:id/enable", query(), s.enableEventEndpoint)
	authed.POST("/event-endpoints/:id/rotate-secret", query(), s.rotateEventEndpointSecret)
	authed.GET("/events", query("type", "order_id", "limit", "cursor"), s.listEvents)
	authed.POST("/events/:id/redeliver", query(), s.redeliverEvent)
	return r, nil
}
