// Package shopifysandbox is a stand-in for one shop's Shopify Admin API,
// for tests (in-process, as an http.Handler) and demos (over HTTP from
// another process). It serves the REST reads orderdesk uses and the GraphQL
// mutations it makes, enforces Shopify's leaky bucket with its headers and
// 429s, refuses what Shopify refuses, and lets a test switch on faults:
// latency, 5xx, hangs, 429 bursts and GraphQL userErrors. It counts every
// call so tests can assert on what the "store" received.
package shopifysandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/pkg/shopifyschema"
)

// Options configure a sandbox.
type Options struct {
	// Shop is the shop domain, e.g. demo.myshopify.com.
	Shop string
	// Token is the Admin API access token callers must send.
	Token string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BucketSize and LeakPerSecond shape the REST leaky bucket (default 40, 2).
	BucketSize    int
	LeakPerSecond float64
}

// Fault changes how the sandbox answers matching requests.
type Fault struct {
	// Op limits the fault to one operation (see the Op* constants); empty matches all.
	Op string `json:"op,omitempty"`
	// Times is how many matching requests it affects (default 1).
	Times int `json:"times,omitempty"`
	// Status answers with this HTTP status instead of serving (500, 503, 429, 401...).
	// 429 on GraphQL is Shopify's throttling: HTTP 200 with a top-level THROTTLED.
	Status int `json:"status,omitempty"`
	// Latency delays the answer; longer than the client waits is a timeout.
	Latency time.Duration `json:"latency,omitempty"`
	// UserErrors makes a GraphQL mutation answer with these userErrors.
	UserErrors []UserError `json:"user_errors,omitempty"`
	// ApplyFirst lets a GraphQL mutation take effect before the latency or
	// status applies: Shopify did the work but the answer was lost.
	ApplyFirst bool `json:"apply_first,omitempty"`
	// TopLevel answers a GraphQL call with a top-level error of this code
	// (INTERNAL_SERVER_ERROR, THROTTLED); with ApplyFirst, after the
	// mutation took effect.
	TopLevel string `json:"top_level,omitempty"`
	// CancelJobFails makes an orderCancel's job end FAILED, the order not
	// cancelled (OrderCancelJobResult.status).
	CancelJobFails bool `json:"cancel_job_fails,omitempty"`
}

// FaultRecord is a fault that was applied, and to which operation.
type FaultRecord struct {
	Op    string `json:"op"`
	Fault Fault  `json:"fault"`
}

// LedgerEntry is one refund the sandbox made: the honest record of the
// money it moved, whatever answers were lost on the way.
type LedgerEntry struct {
	RefundID uint64          `json:"refund_id"`
	OrderID  uint64          `json:"order_id"`
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency,omitempty"`
	Key      string          `json:"idempotency_key"`
	Note     string          `json:"note"`
	At       time.Time       `json:"at"`
}

// Chaos injects random faults into mutations and their reads: each call
// of one of Ops draws, from a generator seeded with Seed, whether a fault
// applies (probability Rate) and which of Kinds. Kinds: "5xx", "timeout"
// (latency past the client's timeout, Latency), "lost" (applied, answer
// lost), "429", "internal" (top-level INTERNAL_SERVER_ERROR), "user_error".
type Chaos struct {
	Seed    int64         `json:"seed"`
	Rate    float64       `json:"rate"`
	Ops     []string      `json:"ops"`
	Kinds   []string      `json:"kinds"`
	Latency time.Duration `json:"latency"`
}

// UserError is a GraphQL mutation's userErrors entry.
type UserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"`
}

// Operations, as counted by Calls and matched by Fault.Op.
const (
	OpOrderGet          = "order.get"
	OpOrdersList        = "orders.list"
	OpCustomerOrders    = "customer.orders"
	OpTransactionsList  = "transactions.list"
	OpFulfillmentEvents = "fulfillment_events.list"
	OpOrderCancel       = "graphql.orderCancel"
	OpRefundCreate      = "graphql.refundCreate"
	OpJob               = "graphql.job"
	OpSuggestRefund     = "graphql.suggestedRefund"
	OpOrdersCount       = "orders.count"
	OpWebhooksList      = "webhooks.list"
	OpWebhooksCreate    = "webhooks.create"
)

// Sandbox is one shop's fake Admin API. Safe for concurrent use.
type Sandbox struct {
	opts Options

	// mu guards the shop's data. Bulk operations render their results
	// under its read lock, so the export's two operations run side by
	// side, as Shopify runs concurrent bulk queries.
	mu           sync.RWMutex
	orders       map[uint64]*goshopify.Order
	transactions map[uint64][]goshopify.Transaction
	events       map[uint64][]goshopify.FulfillmentEvent // by fulfilment id
	faults       []*Fault
	calls        map[string]int
	refundKeys   map[string]uint64     // idempotency key -> refund id
	jobs         map[string]*cancelJob // job id -> its result
	ledger       []LedgerEntry
	faultLog     []FaultRecord
	chaos        *Chaos
	chaosRand    *rand.Rand
	nextID       uint64
	throttled    int
	restCalls    int            // REST Admin API requests, whatever their outcome or path
	restOps      map[string]int // of calls, those made through REST, by operation
	unserved     int            // GraphQL requests not served: a body that is not JSON, an operation the sandbox does not serve
	refused      []string       // GraphQL documents refused as invalid: the first error of each
	refundInputs []json.RawMessage
	webhooks     []goshopify.Webhook
	hookURL      string
	hookSecret   string
	level        float64
	levelAt      time.Time
	bulkOnce     sync.Once
	bulkOps      *bulkState // bulk operations (bulk.go), with their own lock
}

// New returns an empty sandbox; Seed fills it with the catalogue.
func New(opts Options) *Sandbox {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BucketSize == 0 {
		opts.BucketSize = 40
	}
	if opts.LeakPerSecond == 0 {
		opts.LeakPerSecond = 2
	}
	// Parse the schemas documents are validated against before the first
	// request needs one (about a second each, more under the race detector).
	for _, v := range shopifyschema.Versions() {
		go func() { _, _ = shopifyschema.Load(v) }()
	}
	return &Sandbox{
		opts:         opts,
		orders:       map[uint64]*goshopify.Order{},
		transactions: map[uint64][]goshopify.Transaction{},
		events:       map[uint64][]goshopify.FulfillmentEvent{},
		calls:        map[string]int{},
		restOps:      map[string]int{},
		refundKeys:   map[string]uint64{},
		jobs:         map[string]*cancelJob{},
		nextID:       900000000,
	}
}

// AddOrder stores (or replaces) an order, its transactions, and events by fulfilment id.
func (s *Sandbox) AddOrder(o goshopify.Order, txs []goshopify.Transaction, events map[uint64][]goshopify.FulfillmentEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := o
	s.orders[o.Id] = &cp
	s.transactions[o.Id] = txs
	maps.Copy(s.events, events)
}

// Order returns a copy of an order as the sandbox holds it now.
func (s *Sandbox) Order(id uint64) (goshopify.Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return goshopify.Order{}, false
	}
	return *o, true
}

// Inject queues a fault; faults apply in the order injected.
func (s *Sandbox) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults drops every queued fault and stops chaos.
func (s *Sandbox) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.chaos, s.chaosRand = nil, nil
}

// SetChaos starts random faults (see Chaos); ClearFaults stops them.
func (s *Sandbox) SetChaos(c Chaos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chaos, s.chaosRand = &c, rand.New(rand.NewPCG(uint64(c.Seed), 0x5eed))
}

// Ledger is every refund the sandbox made, in order.
func (s *Sandbox) Ledger() []LedgerEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ledger)
}

// AppliedFaults is every fault applied so far, in order.
func (s *Sandbox) AppliedFaults() []FaultRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.faultLog)
}

// chaosFaultLocked draws a random fault for op, if chaos is on.
func (s *Sandbox) chaosFaultLocked(op string) *Fault {
	c := s.chaos
	if c == nil || !slices.Contains(c.Ops, op) || len(c.Kinds) == 0 || s.chaosRand.Float64() >= c.Rate {
		return nil
	}
	f := &Fault{Op: op, Times: 1}
	switch c.Kinds[s.chaosRand.IntN(len(c.Kinds))] {
	case "5xx":
		f.Status = http.StatusServiceUnavailable
	case "timeout":
		f.Latency = c.Latency
	case "lost":
		f.ApplyFirst, f.Status = true, http.StatusBadGateway
	case "429":
		f.Status = http.StatusTooManyRequests
	case "internal":
		f.TopLevel = "INTERNAL_SERVER_ERROR"
	case "user_error":
		if op == OpRefundCreate || op == OpOrderCancel {
			f.UserErrors = []UserError{{Field: []string{"base"}, Message: "sandbox: refused by chaos"}}
		} else {
			f.Status = http.StatusInternalServerError
		}
	}
	return f
}

// Calls is how many requests an operation received (faulted ones included).
func (s *Sandbox) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// RefundInputs are the RefundInput variables of every refundCreate call,
// in order: what orderdesk asked Shopify for.
func (s *Sandbox) RefundInputs() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refundInputs)
}

// RESTCalls is how many REST Admin API requests the sandbox received, at
// any path and whatever their outcome (not found, refused, faulted,
// throttled): Shopify's REST API is legacy, and orderdesk is meant to make
// none.
func (s *Sandbox) RESTCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restCalls
}

// RefusedDocuments are the first errors of the GraphQL documents the
// sandbox refused as invalid against the schema, in order.
func (s *Sandbox) RefusedDocuments() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refused)
}

// Throttled is how many requests the leaky bucket refused with 429
// (injected 429 faults not included).
func (s *Sandbox) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// takeFault consumes the first fault matching op.
func (s *Sandbox) takeFault(op string) *Fault {
	for i, f := range s.faults {
		if f.Op != "" && f.Op != op {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		cp := *f
		return &cp
	}
	return nil
}

// ServeHTTP routes /admin/api/{version}/... like Shopify, and the
// sandbox's own /sandbox/... endpoints (see serveAdmin).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if admin, ok := strings.CutPrefix(r.URL.Path, "/sandbox/"); ok {
		s.serveAdmin(w, r, admin)
		return
	}
	version, parts, ok := adminPath(r.URL.Path)
	if !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	if !isGraphQLPath(r.Method, parts) {
		s.noteREST() // whatever follows: a path not served, a token refused
	}
	op, handler := s.route(r.Method, parts)
	if op == "" {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.Token {
		writeErrors(w, http.StatusUnauthorized, "[API] Invalid API key or access token (unrecognized login or wrong password)")
		return
	}
	if op == "graphql" {
		s.serveGraphQL(w, r, version)
		return
	}

	s.mu.Lock()
	s.calls[op]++
	s.restOps[op]++
	fault := s.takeFault(op)
	level, limited := s.takeBucket()
	s.mu.Unlock()
	w.Header().Set("X-Shopify-Shop-Api-Call-Limit", fmt.Sprintf("%d/%d", int(level), s.opts.BucketSize))
	if fault != nil && !s.applyFault(w, r, fault) {
		return
	}
	if limited {
		s.mu.Lock()
		s.throttled++
		s.mu.Unlock()
		w.Header().Set("Retry-After", "2.0")
		writeErrors(w, http.StatusTooManyRequests, "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.")
		return
	}
	handler(w, r)
}

// applyFault delays and/or fails a request; false means it was answered.
func (s *Sandbox) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return false
		}
	}
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1.0")
		writeErrors(w, f.Status, "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.")
		return false
	case f.Status >= 400:
		writeErrors(w, f.Status, http.StatusText(f.Status))
		return false
	}
	return true
}

// takeBucket leaks the REST bucket and adds this call; callers hold mu.
func (s *Sandbox) takeBucket() (level float64, limited bool) {
	now := s.opts.Now()
	if !s.levelAt.IsZero() {
		s.level = max(0, s.level-now.Sub(s.levelAt).Seconds()*s.opts.LeakPerSecond)
	}
	s.levelAt = now
	if s.level+1 > float64(s.opts.BucketSize) {
		return s.level, true
	}
	s.level++
	return s.level, false
}

// adminPath splits an Admin API path, /admin/api/{version}/{parts}.json;
// false for any other path.
func adminPath(path string) (version string, parts []string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/admin/api/")
	if !ok {
		return "", nil, false
	}
	version, rest, _ = strings.Cut(rest, "/")
	return version, strings.Split(strings.TrimSuffix(rest, ".json"), "/"), true
}

// isGraphQLPath is whether a request to /admin/api/{version}/ with path
// parts p is one to the GraphQL Admin API.
func isGraphQLPath(method string, p []string) bool {
	return method == http.MethodPost && len(p) == 1 && p[0] == "graphql"
}

// noteREST counts a request to the REST Admin API.
func (s *Sandbox) noteREST() {
	s.mu.Lock()
	s.restCalls++
	s.mu.Unlock()
}

// noteRefused records a GraphQL document refused as invalid.
func (s *Sandbox) noteRefused(msg string) {
	s.mu.Lock()
	s.refused = append(s.refused, msg)
	s.mu.Unlock()
}

// noteUnserved counts a GraphQL request the sandbox did not serve.
func (s *Sandbox) noteUnserved() {
	s.mu.Lock()
	s.unserved++
	s.mu.Unlock()
}

// CallReport is what a sandbox counted of the requests made to it, as
// GET /sandbox/calls answers.
type CallReport struct {
	// Operations counts the GraphQL requests served, by operation.
	Operations map[string]int `json:"operations"`
	// REST counts every request to the REST Admin API (orderdesk makes
	// none), whatever its path or outcome; RESTOperations those served, by
	// operation.
	REST           int            `json:"rest"`
	RESTOperations map[string]int `json:"rest_operations"`
	// Unserved counts GraphQL requests not served (a body that is not
	// JSON, a valid document the sandbox does not serve), and Refused
	// holds the first error of each document refused as invalid against
	// the schema.
	Unserved int      `json:"unserved_documents"`
	Refused  []string `json:"refused_documents"`
}

// CallReport reports what the sandbox counted of the requests made to it.
func (s *Sandbox) CallReport() CallReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := CallReport{Operations: map[string]int{}, REST: s.restCalls, RESTOperations: maps.Clone(s.restOps), Unserved: s.unserved, Refused: slices.Clone(s.refused)}
	for op, n := range s.calls {
		if g := n - s.restOps[op]; g > 0 {
			c.Operations[op] = g
		}
	}
	if c.Refused == nil {
		c.Refused = []string{}
	}
	return c
}

// add sums o into c.
func (c *CallReport) add(o CallReport) {
	for op, n := range o.Operations {
		c.Operations[op] += n
	}
	for op, n := range o.RESTOperations {
		c.RESTOperations[op] += n
	}
	c.REST += o.REST
	c.Unserved += o.Unserved
	c.Refused = append(c.Refused, o.Refused...)
}

func (s *Sandbox) route(method string, p []string) (string, http.HandlerFunc) {
	switch {
	case isGraphQLPath(method, p):
		return "graphql", nil
	case method == http.MethodPost && len(p) == 1 && p[0] == "webhooks":
		return OpWebhooksCreate, s.createWebhook
	case method != http.MethodGet:
		return "", nil
	case len(p) == 1 && p[0] == "webhooks":
		return OpWebhooksList, func(w http.ResponseWriter, r *http.Request) { s.listWebhooks(w) }
	case len(p) == 2 && p[0] == "orders" && p[1] == "count":
		return OpOrdersCount, s.countOrders
	case len(p) == 1 && p[0] == "orders":
		return OpOrdersList, s.listOrders
	case len(p) == 2 && p[0] == "orders":
		return OpOrderGet, func(w http.ResponseWriter, r *http.Request) { s.getOrder(w, p[1]) }
	case len(p) == 3 && p[0] == "orders" && p[2] == "transactions":
		return OpTransactionsList, func(w http.ResponseWriter, r *http.Request) { s.listTransactions(w, p[1]) }
	case len(p) == 5 && p[0] == "orders" && p[2] == "fulfillments" && p[4] == "events":
		return OpFulfillmentEvents, func(w http.ResponseWriter, r *http.Request) { s.listEvents(w, p[3]) }
	case len(p) == 3 && p[0] == "customers" && p[2] == "orders":
		return OpCustomerOrders, func(w http.ResponseWriter, r *http.Request) { s.customerOrders(w, r, p[1]) }
	}
	return "", nil
}

func (s *Sandbox) getOrder(w http.ResponseWriter, id string) {
	n, _ := strconv.ParseUint(id, 10, 64)
	o, ok := s.Order(n)
	if !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": o})
}

func (s *Sandbox) listTransactions(w http.ResponseWriter, id string) {
	n, _ := strconv.ParseUint(id, 10, 64)
	s.mu.Lock()
	_, ok := s.orders[n]
	txs := slices.Clone(s.transactions[n])
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	if txs == nil {
		txs = []goshopify.Transaction{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": txs})
}

func (s *Sandbox) listEvents(w http.ResponseWriter, fulfillmentID string) {
	n, _ := strconv.ParseUint(fulfillmentID, 10, 64)
	s.mu.Lock()
	evs := slices.Clone(s.events[n])
	s.mu.Unlock()
	if evs == nil {
		evs = []goshopify.FulfillmentEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"fulfillment_events": evs})
}

func (s *Sandbox) customerOrders(w http.ResponseWriter, r *http.Request, customerID string) {
	n, _ := strconv.ParseUint(customerID, 10, 64)
	s.mu.Lock()
	var out []goshopify.Order
	for _, o := range s.sortedLocked() {
		if o.Customer != nil && o.Customer.Id == n {
			out = append(out, *o)
		}
	}
	s.mu.Unlock()
	if out == nil {
		out = []goshopify.Order{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
}

// sortedLocked lists orders newest id first, as Shopify does; callers hold mu.
func (s *Sandbox) sortedLocked() []*goshopify.Order {
	ids := slices.Sorted(maps.Keys(s.orders))
	slices.Reverse(ids)
	out := make([]*goshopify.Order, len(ids))
	for i, id := range ids {
		out[i] = s.orders[id]
	}
	return out
}

// pageCursor is what page_info encodes: the query and where the page starts.
type pageCursor struct {
	UpdatedAtMin time.Time `json:"u,omitzero"`
	BeforeID     uint64    `json:"b"`
}

// listOrders serves /orders.json with status=any, limit, updated_at_min and
// page_info cursor paging; like Shopify, page_info takes no other filter.
func (s *Sandbox) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 250 {
			writeErrors(w, http.StatusBadRequest, "limit must be between 1 and 250")
			return
		}
		limit = n
	}
	var cur pageCursor
	if pi := q.Get("page_info"); pi != "" {
		for k := range q {
			if k != "page_info" && k != "limit" && k != "fields" {
				writeErrors(w, http.StatusBadRequest, k+" cannot be passed when page_info is present")
				return
			}
		}
		raw, err := base64.RawURLEncoding.DecodeString(pi)
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			writeErrors(w, http.StatusBadRequest, "page_info - Invalid value.")
			return
		}
	} else if v := q.Get("updated_at_min"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "updated_at_min - Invalid value.")
			return
		}
		cur.UpdatedAtMin = t
	}
	s.mu.Lock()
	var page []goshopify.Order
	more := false
	for _, o := range s.sortedLocked() {
		if cur.BeforeID != 0 && o.Id >= cur.BeforeID {
			continue
		}
		if !cur.UpdatedAtMin.IsZero() && o.UpdatedAt != nil && o.UpdatedAt.Before(cur.UpdatedAtMin) {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, *o)
	}
	s.mu.Unlock()
	if page == nil {
		page = []goshopify.Order{}
	}
	if more {
		next := pageCursor{UpdatedAtMin: cur.UpdatedAtMin, BeforeID: page[len(page)-1].Id}
		raw, _ := json.Marshal(next)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		link := fmt.Sprintf("%s://%s%s?limit=%d&page_info=%s", scheme, r.Host, r.URL.Path, limit, base64.RawURLEncoding.EncodeToString(raw))
		w.Header().Set("Link", "<"+link+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": page})
}

func (s *Sandbox) newID() uint64 {
	s.nextID++
	return s.nextID
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErrors answers the way Shopify's REST API does: {"errors": "..."}.
func writeErrors(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": msg})
}
