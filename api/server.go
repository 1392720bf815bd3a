// Package api is orderdesk's HTTP surface: routes, authentication, request
// and response shapes, problem+json errors and the OpenAPI annotations. It is
// the only package that imports Gin; it calls the domain with a plain
// context.Context.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	List(ctx context.Context, shop tenant.Shop, f orders.ListFilter) (orders.Page, error)
	PreviewCancel(ctx context.Context, shop tenant.Shop, id int64) (orders.CancelPreview, error)
	PreviewRefund(ctx context.Context, shop tenant.Shop, id int64) (orders.RefundPreview, error)
	Cancel(ctx context.Context, shop tenant.Shop, id int64, actionID, agentID string, req orders.CancelRequest, raw []byte) (orders.ActionResult, error)
	Refund(ctx context.Context, shop tenant.Shop, id int64, actionID, agentID string, req orders.RefundRequest, raw []byte) (orders.ActionResult, error)
	Actions(ctx context.Context, shop tenant.Shop, id int64) ([]orders.Action, error)
	Timeline(ctx context.Context, shop tenant.Shop, customerID int64, after *orders.TimelineCursor, limit int) (orders.TimelinePage, error)
}

// Idempotency runs the Idempotency-Key protocol.
type Idempotency interface {
	Begin(ctx context.Context, k idempotency.Key, hash string) (idempotency.Begun, error)
	Finish(ctx context.Context, k idempotency.Key, status int, body []byte) error
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
}

type server struct {
	Deps
	metrics *httpMetrics
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
	s := &server{Deps: d, metrics: m}
	openapi, err := newOpenAPIHandler()
	if err != nil {
		return nil, err
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestID, s.accessLog, s.recover, s.observe, s.limitBody)
	r.NoRoute(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusNotFound, "route_not_found", "Not found", "no route for "+c.Request.Method+" "+c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path))
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{Registry: d.Registry})))
	r.GET("/openapi.json", openapi)
	r.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/index.html") })
	r.GET("/docs/*any", swaggerUI())
	r.POST("/webhooks/shopify", s.shopifyWebhook) // authenticated by HMAC, not an API key

	authed := r.Group("/", s.authenticate)
	authed.GET("/orders", s.listOrders)
	authed.GET("/orders/:id", s.getOrder)
	authed.GET("/orders/:id/cancel", s.cancelPreview)
	authed.POST("/orders/:id/cancel", s.cancelOrder)
	authed.GET("/orders/:id/refund", s.refundPreview)
	authed.POST("/orders/:id/refund", s.refundOrder)
	authed.GET("/orders/:id/actions", s.listActions)
	authed.GET("/customers/:id/timeline", s.timeline)
	return r, nil
}

type ctxKey int

const principalKey ctxKey = iota

// principal is the authenticated caller of a request.
func principal(c *gin.Context) tenant.Principal {
	p, _ := c.Request.Context().Value(principalKey).(tenant.Principal)
	return p
}

func (s *server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="orderdesk"`)
		writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Missing or invalid API key", "send Authorization: Bearer <api key>"))
		return
	}
	p, err := s.Auth.Authenticate(c.Request.Context(), key)
	if err != nil {
		if errors.Is(err, tenant.ErrUnauthenticated) {
			c.Header("WWW-Authenticate", `Bearer realm="orderdesk", error="invalid_token"`)
			writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Missing or invalid API key", "the API key is not valid"))
			return
		}
		writeError(c, s.Log, err)
		return
	}
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey, p))
	c.Next()
}

const requestIDHeader = "X-Request-Id"

func (s *server) requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID(id) {
		id = uuid.NewString()
	}
	c.Set(requestIDHeader, id)
	c.Header(requestIDHeader, id)
	c.Next()
}

// validRequestID accepts a caller's id if it is short and printable ASCII,
// so it cannot break log lines or headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.GetString(requestIDHeader) }

func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("route", routeOf(c)),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.Int("bytes", c.Writer.Size()),
		slog.String("request_id", requestID(c)),
	}
	if p := principal(c); p.Shop.ID != 0 {
		attrs = append(attrs, slog.Int64("shop_id", p.Shop.ID))
	}
	s.Log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http request", attrs...)
}

// recover turns a panic into a bare 500 problem; the cause goes to the log.
func (s *server) recover(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec)
		}
		s.Log.ErrorContext(c.Request.Context(), "panic serving request", "panic", fmt.Sprint(rec), "request_id", requestID(c), "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			writeProblem(c, newProblem(http.StatusInternalServerError, "internal", "Internal server error", ""))
		}
		c.Abort()
	}()
	c.Next()
}

// limitBody refuses bodies over MaxBodyBytes: at once when Content-Length
// says so, and while reading otherwise (decodeJSON reports it as 413).
func (s *server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > MaxBodyBytes {
		writeProblem(c, newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large", "the body must be at most 1 MiB"))
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	}
	c.Next()
}

func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_http_requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderdesk_http_request_duration_seconds",
			Help:    "HTTP request latency by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
	}
	runtime := []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	for _, c := range append(runtime, m.requests, m.duration) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
	}
	return m, nil
}

func (s *server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	labels := prometheus.Labels{"method": c.Request.Method, "route": routeOf(c), "status": strconv.Itoa(c.Writer.Status())}
	s.metrics.requests.With(labels).Inc()
	s.metrics.duration.With(labels).Observe(time.Since(start).Seconds())
}
