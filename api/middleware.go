package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/propagation"

	"github.com/orderdesk/orderdesk/internal/telemetry"
)

const requestIDHeader = "X-Request-Id"

// securityHeaders go on every answer: no content sniffing, no caching of
// answers that carry customers' data, no referrer, no framing, no active
// content. The docs page replaces the CSP with its own and lets its static
// files be cached.
func (s *server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	for _, kv := range s.security {
		// Shared values, capped at their length: an Add appends to a copy.
		h[kv.key] = kv.value[:1:1]
	}
	c.Next()
}

// headerValue is a header and its value, built once.
type headerValue struct {
	key   string
	value []string
}

// securityHeaderValues are the headers securityHeaders sets, in canonical
// form.
func securityHeaderValues() []headerValue {
	out := []headerValue{}
	for _, kv := range [][2]string{
		{"X-Content-Type-Options", "nosniff"},
		{"Cache-Control", "no-store"},
		{"Referrer-Policy", "no-referrer"},
		{"X-Frame-Options", "DENY"},
		{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	} {
		out = append(out, headerValue{key: http.CanonicalHeaderKey(kv[0]), value: []string{kv[1]}})
	}
	return out
}

// trace starts the request's server span, named after its route, as a
// child of the caller's traceparent when it sent one. Probes and scrapes
// are not traced.
func (s *server) trace() gin.HandlerFunc {
	tp := s.Tracing
	if tp == nil {
		// Nothing records spans: no span per request. A caller's
		// traceparent still names the trace in log lines and problem
		// instances, as a span of a no-op tracer would carry it.
		prop := telemetry.Propagator()
		return func(c *gin.Context) {
			if len(c.Request.Header["Traceparent"]) > 0 {
				c.Request = c.Request.WithContext(prop.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header)))
			}
			c.Next()
		}
	}
	return otelgin.Middleware("orderdesk",
		otelgin.WithTracerProvider(tp),
		otelgin.WithPropagators(telemetry.Propagator()),
		otelgin.WithGinFilter(func(c *gin.Context) bool {
			switch c.Request.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
		otelgin.WithSpanNameFormatter(func(c *gin.Context) string {
			return methodLabel(c.Request.Method) + " " + routeOf(c)
		}),
	)
}

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
	ctx := c.Request.Context()
	if !s.Log.Enabled(ctx, slog.LevelInfo) {
		return // the level logs no requests: build no record
	}
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
	s.Log.LogAttrs(ctx, slog.LevelInfo, "http request", attrs...)
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
	webhooks *prometheus.CounterVec
	// series caches each label set's counter and histogram: looking them
	// up by labels hashes them and allocates, on every request.
	series sync.Map // requestLabels -> requestSeries
}

// requestLabels are a request's metric labels; route is Gin's template, so
// the set is bounded by routes × methods × statuses.
type requestLabels struct {
	method, route string
	status        int
}

type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (m *httpMetrics) seriesOf(l requestLabels) requestSeries {
	if v, ok := m.series.Load(l); ok {
		return v.(requestSeries)
	}
	labels := prometheus.Labels{"method": l.method, "route": l.route, "status": strconv.Itoa(l.status)}
	v, _ := m.series.LoadOrStore(l, requestSeries{requests: m.requests.With(labels), duration: m.duration.With(labels)})
	return v.(requestSeries)
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
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_webhook_deliveries_total",
			Help: "Shopify webhook deliveries by outcome: accepted, duplicate, ignored, refused (signed but not a JSON object for its topic), invalid_signature, invalid_header, unknown_shop, too_large, error.",
		}, []string{"outcome"}),
	}
	runtime := []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	for _, c := range append(runtime, m.requests, m.duration, m.webhooks) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
	}
	return m, nil
}

// methodLabel bounds the method label: any token is a method to
// net/http, so one a client invents is counted as "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

func (s *server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	series := s.metrics.seriesOf(requestLabels{method: methodLabel(c.Request.Method), route: routeOf(c), status: c.Writer.Status()})
	series.requests.Inc()
	series.duration.Observe(time.Since(start).Seconds())
}
