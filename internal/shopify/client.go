// Package shopify is orderdesk's adapter to the Shopify Admin API, over
// go-shopify v4.7.0. It implements orders.Shopify and makes up for what the
// library lacks: a base URL (a RoundTripper rewrites scheme and host),
// concurrency safety (one library client per call over one shared
// *http.Client), rate limiting (per-shop REST bucket and GraphQL cost
// budget), ctx-aware retries for reads, per-call timeouts, and mapping of
// Shopify's failures to the domain's errors.
package shopify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Config is how the adapter reaches Shopify.
type Config struct {
	// APIVersion pins the Admin API version, e.g. 2026-10.
	APIVersion string
	// BaseURL, when set, replaces https://{shop} (sandbox, tests).
	BaseURL string
	// Timeout bounds each HTTP attempt.
	Timeout time.Duration
	// Tokens gives each shop's Admin API access token.
	Tokens TokenSource
	// MaxAttempts bounds read attempts (default 4).
	MaxAttempts int
	// ReadBudget bounds a read with all its retries (default 20s), so an
	// agent waits for an answer at most this long.
	ReadBudget time.Duration
	// JobTimeout bounds the wait for an orderCancel job (default 15s).
	JobTimeout time.Duration
	// BaseBackoff is the first retry's backoff ceiling (default 200ms).
	BaseBackoff time.Duration
	// Metrics, when set, receives the adapter's Prometheus collectors.
	Metrics prometheus.Registerer
	// Tracing, when set, traces every HTTP attempt to Shopify.
	Tracing trace.TracerProvider
}

// Client is the adapter. It is safe for concurrent use.
type Client struct {
	cfg      Config
	http     *http.Client
	limiters *limiters
	log      *slog.Logger
	metrics  *metrics
}

// metrics show how orderdesk spends the shop's Shopify budget.
type metrics struct {
	calls   *prometheus.CounterVec   // by api, op, outcome
	retries *prometheus.CounterVec   // by api, op
	waits   *prometheus.HistogramVec // time spent waiting for the rate limit, by api
	points  *prometheus.GaugeVec     // GraphQL points orderdesk estimates are left, by shop
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_shopify_calls_total",
			Help: "Shopify API calls by api (rest, graphql), operation and outcome (ok, throttled, error, timeout).",
		}, []string{"api", "op", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_shopify_retries_total",
			Help: "Shopify calls retried, by api and operation.",
		}, []string{"api", "op"}),
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderdesk_shopify_rate_limit_wait_seconds",
			Help:    "Time calls waited for the shop's rate limit before going out, by api.",
			Buckets: []float64{.001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"api"}),
		points: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orderdesk_shopify_graphql_points_available",
			Help: "GraphQL cost points orderdesk estimates the shop has left (extensions.cost.throttleStatus); background work leaves 40% for agents.",
		}, []string{"shop_id"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.calls, m.retries, m.waits, m.points} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register shopify metrics: %w", err)
			}
		}
	}
	return m, nil
}

// observe counts one call's outcome.
func (m *metrics) observe(api, op string, err error) {
	outcome := "ok"
	var rl goshopify.RateLimitError
	switch {
	case err == nil:
	case errors.As(err, &rl):
		outcome = "throttled"
	case errors.Is(err, context.DeadlineExceeded):
		outcome = "timeout"
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			outcome = "timeout"
		} else {
			outcome = "error"
		}
	}
	m.calls.WithLabelValues(api, op, outcome).Inc()
}

// take waits for room in a bucket, recording how long; background work
// (orders.IsBackground) waits for room under backgroundShare.
func (m *metrics) take(ctx context.Context, api string, b *bucket, cost float64) error {
	share := 1.0
	if orders.IsBackground(ctx) {
		share = backgroundShare
	}
	start := time.Now()
	err := b.take(ctx, cost, share)
	m.waits.WithLabelValues(api).Observe(time.Since(start).Seconds())
	return err
}

// New builds the adapter.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 200 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.ReadBudget <= 0 {
		cfg.ReadBudget = 20 * time.Second
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 15 * time.Second
	}
	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("shopify base url %q: not an absolute URL", cfg.BaseURL)
		}
		rt = rewriteOrigin{scheme: u.Scheme, host: u.Host, next: rt}
	}
	if cfg.Tracing != nil {
		rt = tracedTransport(rt, cfg.Tracing)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:      cfg,
		http:     &http.Client{Transport: rt}, // per-attempt timeouts come from contexts
		limiters: newLimiters(),
		log:      log,
		metrics:  m,
	}, nil
}

// APIVersion is the Admin API version the adapter is pinned to.
func (c *Client) APIVersion() string { return c.cfg.APIVersion }

// rewriteOrigin sends requests for https://{shop}/... to another origin,
// keeping the shop domain in X-Shopify-Shop-Domain so a sandbox can tell
// shops apart.
type rewriteOrigin struct {
	scheme, host string
	next         http.RoundTripper
}

func (r rewriteOrigin) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set("X-Shopify-Shop-Domain", req.URL.Host)
	out.URL.Scheme, out.URL.Host, out.Host = r.scheme, r.host, r.host
	return r.next.RoundTrip(out)
}

// TokenSource gives a shop's access token. Its errors never contain a
// token; every one means orderdesk cannot authenticate to the shop.
type TokenSource interface {
	Token(ctx context.Context, shop tenant.Shop) (string, error)
}

// StaticTokens maps a shop domain to its token (the environment's single
// shop, tests).
type StaticTokens map[string]string

// Token returns the shop's token.
func (m StaticTokens) Token(_ context.Context, shop tenant.Shop) (string, error) {
	token, ok := m[shop.Domain]
	if !ok {
		return "", fmt.Errorf("shop %s: %w", shop.Domain, tenant.ErrNoAccessToken)
	}
	return token, nil
}

// library builds a go-shopify client for one call: the library keeps
// rate-limit state in unsynchronised fields, so clients are never shared.
func (c *Client) library(ctx context.Context, shop tenant.Shop) (*goshopify.Client, error) {
	if c.cfg.Tokens == nil {
		return nil, fmt.Errorf("no access token source for shop %s: %w", shop.Domain, orders.ErrShopifyAuth)
	}
	token, err := c.cfg.Tokens.Token(ctx, shop)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, orders.ErrShopifyAuth)
	}
	return goshopify.NewClient(goshopify.App{}, shop.Domain, token,
		goshopify.WithHTTPClient(c.http),
		goshopify.WithVersion(c.cfg.APIVersion),
	)
}

// retryable says whether a read error is worth another attempt, and after
// how long: Retry-After for 429, full jitter on an exponential ceiling otherwise.
func (c *Client) retryable(err error, attempt int) (time.Duration, bool) {
	ceiling := c.cfg.BaseBackoff << (attempt - 1)
	jitter := time.Duration(rand.Int64N(int64(ceiling) + 1))
	var rl goshopify.RateLimitError
	if errors.As(err, &rl) {
		if rl.RetryAfter > 0 {
			return time.Duration(rl.RetryAfter)*time.Second + jitter/4, true
		}
		return ceiling + jitter, true
	}
	var re goshopify.ResponseError
	if errors.As(err, &re) {
		return jitter, re.Status >= 500
	}
	var de goshopify.ResponseDecodingError
	if errors.As(err, &de) {
		return jitter, de.Status >= 500
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return jitter, true
	}
	return 0, false
}

// mapError turns a go-shopify failure into a domain error, keeping the cause.
func mapError(err error) error {
	var rl goshopify.RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("%w: %v", orders.ErrShopifyRateLimited, err)
	}
	status := 0
	var re goshopify.ResponseError
	var de goshopify.ResponseDecodingError
	switch {
	case errors.As(err, &re):
		status = re.Status
	case errors.As(err, &de):
		status = de.Status
	}
	switch {
	case status == http.StatusNotFound:
		return fmt.Errorf("%w: %v", orders.ErrNotFound, err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w: %v", orders.ErrShopifyAuth, err)
	case status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %v", orders.ErrShopifyRateLimited, err)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %v", orders.ErrShopifyTimeout, err)
	}
	return fmt.Errorf("%w: %v", orders.ErrShopifyUnavailable, err)
}

func mapCtxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", orders.ErrShopifyTimeout, err)
	}
	return err
}

// Order reads an order with its transactions, fulfilments (tracking,
// carrier events) and refunds in one GraphQL query: the full state, as
// needed before any mutation.
func (c *Client) Order(ctx context.Context, shop tenant.Shop, id int64) (orders.ShopifyOrder, error) {
	resp, err := Order(ctx, c.reader(shop), gid("Order", id), viewBounds.lines, viewBounds.events)
	if err != nil {
		return orders.ShopifyOrder{}, err
	}
	if resp.Order == nil {
		return orders.ShopifyOrder{}, fmt.Errorf("order %d: %w", id, orders.ErrNotFound)
	}
	return OrderFromGraphQL(&resp.Order.OrderFacts)
}

// bounds are the OrderFacts fragment's nested list sizes for one
// operation: line items of the order, of a fulfilment and of a refund
// (lines); carrier events of a fulfilment and transactions of a refund
// (events).
type bounds struct{ lines, events int }

// Shopify refuses a query whose requested cost passes 1,000 points, and
// every nested entry asked for costs points on each order of a page
// (TestDocumentCosts holds these under the limit). Lists ask for little
// and read an order that has more again alone, with the view's bounds.
var (
	viewBounds = bounds{lines: 50, events: 20}
	listBounds = bounds{lines: 10, events: 5}
)

// OrdersPageSize is how many orders one CustomerOrders or OrdersPage
// page holds, with listBounds. A backfill of many orders goes through a
// bulk operation instead.
const OrdersPageSize = 5

// listed converts an order of a list; one with more nested entries than
// the list asked for is read again through the view query.
func (c *Client) listed(ctx context.Context, shop tenant.Shop, o *OrderFacts) (orders.ShopifyOrder, error) {
	facts, err := OrderFromGraphQL(o)
	if !errors.Is(err, ErrTruncated) {
		return facts, err
	}
	id, gerr := gidNumber(o.Id)
	if gerr != nil {
		return orders.ShopifyOrder{}, err
	}
	return c.Order(ctx, shop, id)
}

// CustomerOrders reads every order of a customer, newest first, following
// the cursor until Shopify says there is no more: no cap.
func (c *Client) CustomerOrders(ctx context.Context, shop tenant.Shop, customerID int64) ([]orders.ShopifyOrder, error) {
	var out []orders.ShopifyOrder
	after := ""
	for {
		page, err := c.CustomerOrdersPage(ctx, shop, customerID, after)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Orders...)
		if page.Next == "" {
			return out, nil
		}
		after = page.Next
	}
}

// CustomerOrdersPage reads one page (OrdersPageSize orders) of a
// customer's orders, newest first (created_at, then id), starting after
// the cursor `after` (the first page when empty). Next is Shopify's cursor
// of the following page, empty after the last.
func (c *Client) CustomerOrdersPage(ctx context.Context, shop tenant.Shop, customerID int64, after string) (orders.CustomerOrdersPage, error) {
	var cursor *string
	if after != "" {
		cursor = &after
	}
	resp, err := CustomerOrders(ctx, c.reader(shop), gid("Customer", customerID), OrdersPageSize, cursor, listBounds.lines, listBounds.events)
	if err != nil {
		return orders.CustomerOrdersPage{}, err
	}
	if resp.Customer == nil {
		return orders.CustomerOrdersPage{}, fmt.Errorf("customer %d: %w", customerID, orders.ErrNotFound)
	}
	page := resp.Customer.Orders
	out := orders.CustomerOrdersPage{Orders: make([]orders.ShopifyOrder, 0, len(page.Nodes))}
	for i := range page.Nodes {
		o, err := c.listed(ctx, shop, &page.Nodes[i].OrderFacts)
		if err != nil {
			return orders.CustomerOrdersPage{}, err
		}
		out.Orders = append(out.Orders, o)
	}
	if page.PageInfo.HasNextPage && page.PageInfo.EndCursor != nil {
		out.Next = *page.PageInfo.EndCursor
	}
	return out, nil
}

// pageToken is what OrdersPage's NextPageInfo carries: the search and
// where the next page starts (a GraphQL cursor only means something with
// the search it came from).
type pageToken struct {
	Query string `json:"q,omitempty"`
	After string `json:"a"`
}

// OrdersPage reads one page of the shop's orders updated since
// req.UpdatedAtMin (all of them when zero), oldest change first, through
// orders(query: "updated_at:>=..."). req.Limit is capped to what one query
// may cost.
func (c *Client) OrdersPage(ctx context.Context, shop tenant.Shop, req orders.PageRequest) (orders.OrdersPage, error) {
	tok := pageToken{Query: ordersSearch(req.UpdatedAtMin)}
	if req.PageInfo != "" {
		raw, err := base64.RawURLEncoding.DecodeString(req.PageInfo)
		if err != nil || json.Unmarshal(raw, &tok) != nil || tok.After == "" {
			return orders.OrdersPage{}, fmt.Errorf("page token %q: %w", req.PageInfo, orders.ErrInvalidInput)
		}
	}
	first := OrdersPageSize
	if req.Limit > 0 && req.Limit < first {
		first = req.Limit
	}
	var query, after *string
	if tok.Query != "" {
		query = &tok.Query
	}
	if tok.After != "" {
		after = &tok.After
	}
	resp, err := Orders(ctx, c.reader(shop), query, first, after, listBounds.lines, listBounds.events)
	if err != nil {
		return orders.OrdersPage{}, err
	}
	out := orders.OrdersPage{Orders: make([]orders.ShopifyOrder, 0, len(resp.Orders.Nodes))}
	for i := range resp.Orders.Nodes {
		o, err := c.listed(ctx, shop, &resp.Orders.Nodes[i].OrderFacts)
		if err != nil {
			return orders.OrdersPage{}, err
		}
		out.Orders = append(out.Orders, o)
	}
	if pi := resp.Orders.PageInfo; pi.HasNextPage && pi.EndCursor != nil {
		raw, err := json.Marshal(pageToken{Query: tok.Query, After: *pi.EndCursor})
		if err != nil {
			return orders.OrdersPage{}, fmt.Errorf("page token: %w", err)
		}
		out.NextPageInfo = base64.RawURLEncoding.EncodeToString(raw)
	}
	return out, nil
}

// ordersSearch is the orders search for a change time, in Shopify's
// search syntax; empty for every order.
func ordersSearch(updatedAtMin time.Time) string {
	if updatedAtMin.IsZero() {
		return ""
	}
	return fmt.Sprintf("updated_at:>='%s'", updatedAtMin.UTC().Format(time.RFC3339))
}
