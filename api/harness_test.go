package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/jobs"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

const (
	shopA  = "shop-a.myshopify.com"
	shopB  = "shop-b.myshopify.com"
	keyA   = "key-a-0123456789abcdef"
	keyB   = "key-b-0123456789abcdef"
	tokenA = "shpat_a"
	tokenB = "shpat_b"
	// webhookSecret signs the sandbox's webhooks in tests.
	webhookSecret = "whsec_test"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// harness is the real service: router, domain, store on a fresh database,
// and the Shopify adapter talking to a sandbox over HTTP.
type harness struct {
	t      testing.TB
	router http.Handler
	sb     *shopifysandbox.Sandbox // shop A's Shopify
	sbB    *shopifysandbox.Sandbox // shop B's, with its own catalogue and token
	front  *shopifysandbox.Shops   // both, behind one origin, as Shopify serves them
	store  *store.Store
	svc    *orders.Service
	syncer *orders.Syncer
	shopA  tenant.Shop
	shopB  tenant.Shop
	spec   routers.Router
	events *events.Service
}

type harnessOpts struct {
	kind string
	ttl  time.Duration
	// orders replaces the real domain service (to make it fail or panic).
	orders api.OrderService
	// shopifyTimeout bounds each Shopify attempt (default 2s).
	shopifyTimeout time.Duration
	// noJobs leaves River's workers stopped: jobs are queued, never run.
	noJobs bool
	// actionWait is how long action requests wait before a 202 (default 10s).
	actionWait time.Duration
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	if o.kind == "" {
		o.kind = "postgres"
	}
	if o.shopifyTimeout == 0 {
		o.shopifyTimeout = 2 * time.Second
	}
	if o.ttl == 0 {
		o.ttl = time.Hour
	}
	if o.actionWait == 0 {
		o.actionWait = 10 * time.Second
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st := storetest.New(t, o.kind)
	st.RenderOrdersWith(api.OrderRenderer())
	// A short key cache: as in production, but a test of a deleted shop or
	// key waits little.
	tenants := tenant.NewService(st.Tenants(), tenant.WithKeyCache(200*time.Millisecond, 0))
	a, err := tenants.Bootstrap(ctx, shopA, keyA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tenants.Bootstrap(ctx, shopB, keyB)
	if err != nil {
		t.Fatal(err)
	}
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: shopA, Token: tokenA, BucketSize: 400, LeakPerSecond: 20})
	sb.Seed(now)
	sbB := shopifysandbox.New(shopifysandbox.Options{Shop: shopB, Token: tokenB, BucketSize: 400, LeakPerSecond: 20})
	sbB.SeedSecondShop(now)
	front := shopifysandbox.NewShops(shopifysandbox.ShopsOptions{})
	front.Add(sb)
	front.Add(sbB)
	srv := httptest.NewServer(front)
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	sc, err := shopify.New(shopify.Config{
		APIVersion: "2026-10", BaseURL: srv.URL, Timeout: o.shopifyTimeout, BaseBackoff: 5 * time.Millisecond,
		Tokens: tenant.NewTokens(st.Tenants(), nil, map[string]string{shopA: tokenA, shopB: tokenB}, 0), Metrics: reg,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.NewService(st.Orders(), sc, o.ttl, log, orders.WithSettleDelay(0), orders.WithLeaseTTL(2*time.Second), orders.WithJobWait(2*time.Second))
	syncer := orders.NewSyncer(svc, st.Orders(), time.Hour)
	hooks := webhooks.NewService([]byte(webhookSecret), st.Tenants(), st, syncer, shopify.DecodeOrder, log)
	hooks.ConfirmUninstallsWith(sc)
	// Deliveries are group-committed, as in production.
	ingest, err := webhooks.NewBatcher(st, webhooks.BatcherOptions{Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ingest.Close(sctx)
	})
	hooks.RecordInBatches(ingest)
	var runner *jobs.Runner
	// Event endpoints may be local receivers (httptest) in tests.
	policy := events.URLPolicy{AllowHTTP: true, AllowPrivate: true}
	jopts := jobs.Options{PollInterval: 20 * time.Millisecond, ReconcileEvery: time.Hour, Actions: svc, SQL: st.SQL(),
		Events: &jobs.EventsOptions{Store: st.Events(),
			Deliverer: events.NewDeliverer(st.Events(), policy.Client(5*time.Second), 5*time.Second, log)}}
	if st.Pool() != nil {
		runner, err = jobs.NewPostgres(st.Pool(), hooks, syncer, log, jopts)
	} else {
		runner, err = jobs.NewSQLite(st.SQL(), hooks, syncer, log, jopts)
	}
	if err != nil {
		t.Fatal(err)
	}
	hooks.SetQueue(runner)
	svc.SetActionQueue(runner)
	st.OnEventsWritten(func([]events.Event) { runner.KickEvents() })
	evs := events.NewService(st.Events(), policy, runner.KickEvents)
	if !o.noJobs {
		if err := runner.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = runner.Stop(sctx)
		})
	}
	var os api.OrderService = svc
	if o.orders != nil {
		os = o.orders
	}
	router, err := api.NewRouter(api.Deps{Log: log, Auth: tenants, Orders: os, Idempotency: idempotency.NewService(st.Idempotency()), Webhooks: hooks, Ready: st.Ping, Registry: reg, ActionWait: o.actionWait, Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, router: router, sb: sb, sbB: sbB, front: front, store: st, svc: svc, syncer: syncer, shopA: a, shopB: b, events: evs}
	h.spec = h.loadSpec()
	return h
}

// loadSpec reads the document the service serves, checks it is valid
// OpenAPI 3, and builds a router to find each response's operation.
func (h *harness) loadSpec() routers.Router {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		h.t.Fatalf("GET /openapi.json = %d", rec.Code)
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		h.t.Fatalf("load openapi: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		h.t.Fatalf("served openapi document is invalid: %v", err)
	}
	doc.Servers = nil // match paths on any host
	r, err := legacy.NewRouter(doc)
	if err != nil {
		h.t.Fatalf("openapi router: %v", err)
	}
	return r
}

// backfill loads the sandbox's orders into the store.
func (h *harness) backfill() {
	h.t.Helper()
	if _, err := h.syncer.SyncOrders(context.Background(), h.shopA, time.Time{}, nil, nil); err != nil {
		h.t.Fatal(err)
	}
}

type response struct {
	*httptest.ResponseRecorder
}

// decode reads the body as JSON into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body.String(), err)
	}
}

// do sends a request through the router and validates the response against
// the OpenAPI document whenever the route is documented.
func (h *harness) do(method, path, key string, body io.Reader, headers ...string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, path, body)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	h.validate(req, rec)
	return response{rec}
}

func (h *harness) get(path, key string) response {
	h.t.Helper()
	return h.do(http.MethodGet, path, key, nil)
}

func (h *harness) validate(req *http.Request, rec *httptest.ResponseRecorder) {
	h.t.Helper()
	route, params, err := h.spec.FindRoute(req)
	if err != nil {
		return // undocumented route or method: the problem shape is checked by the tests
	}
	if strings.HasPrefix(req.URL.Path, "/docs") || req.URL.Path == "/metrics" {
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		h.t.Errorf("%s %s -> %d does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL, rec.Code, err, rec.Body.String())
	}
}

// problem checks an error response is RFC 9457 problem+json with the
// status and code given, and returns it.
func problem(t testing.TB, r response, status int, code string) api.Problem {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status = %d, want %d; body %s", r.Code, status, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var raw map[string]any
	r.decode(t, &raw)
	for _, f := range []string{"type", "title", "status", "code"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("problem lacks %q: %s", f, r.Body.String())
		}
	}
	var p api.Problem
	r.decode(t, &p)
	if p.Status != status || (code != "" && p.Code != code) || p.Instance == "" {
		t.Errorf("problem = %+v, want status %d code %q", p, status, code)
	}
	return p
}
