package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderdesk/orderdesk/internal/hostile"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/webhooks"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

var (
	hostileN    = flag.Int("hostile.n", 300, "hostile requests per database (make hostile: 5000)")
	hostileSeed = flag.Uint64("hostile.seed", 1, "seed of the hostile-request generator")
)

// TestHostileRequests sends requests generated from the served OpenAPI
// document (internal/hostile) through the real router on both databases
// and holds, for every one: no 500; every error problem+json and as the
// document says; a refused request changes nothing (orders, actions,
// idempotency keys, webhook deliveries, jobs, timeline, leases, and the
// sandbox's mutation calls), except what API.md says a refusal by the
// rules or by Shopify records (its action, failed, and its stored answer);
// a refused or duplicate webhook queues no job. River's workers are left
// stopped so that nothing changes between two requests.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			runHostile(t, kind, *hostileN, *hostileSeed)
		})
	}
}

func runHostile(t *testing.T, kind string, n int, seed uint64) {
	h := newHarness(t, harnessOpts{kind: kind, noJobs: true})
	h.backfill()
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{int64(shopifysandbox.Bob.Id), int64(shopifysandbox.Alice.Id), 424242}
	for id := shopifysandbox.OrderInTransit; id <= shopifysandbox.OrderJPY; id++ {
		ids = append(ids, int64(id))
	}
	gen, err := hostile.New(doc, hostile.Options{
		Seed: seed, APIKey: keyA, WebhookSecret: webhookSecret, WebhookPath: "/webhooks/shopify",
		ShopDomain: shopA, Topics: webhooks.Topics, IDs: ids,
	})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[int]int{}
	kinds := map[string]int{}
	refused, stored, violations := 0, 0, 0
	fail := func(r hostile.Request, format string, args ...any) {
		t.Helper()
		violations++
		if violations <= 20 {
			t.Errorf("%s: %s", r, fmt.Sprintf(format, args...))
		}
	}
	before := h.snapshot(t)
	for range n {
		r := gen.Next()
		req := r.HTTP()
		rec := httptest.NewRecorder()
		h.router.ServeHTTP(rec, req)
		// Every answer is the document's. (The check's router takes /orders/,
		// an empty id, for /orders: those are unknown routes.)
		if r.Op != "route" && !strings.HasSuffix(r.Path, "/") && !strings.Contains(r.Path, "//") {
			h.validate(req, rec)
		}
		after := h.snapshot(t)
		status, body := rec.Code, rec.Body.Bytes()
		statuses[status]++
		kinds[strings.SplitN(r.Kind, ":", 2)[0]]++
		if err := hostile.CheckAnswer(status, rec.Header(), body); err != nil {
			fail(r, "%v", err)
		}
		var answer struct{ Code, Status string }
		_ = json.Unmarshal(body, &answer)
		if r.MustBeRefused() && status < 400 && answer.Status != "refused" && answer.Status != "duplicate" {
			fail(r, "a request the generator broke was served with %d: %.200s", status, body)
		}
		d := diff(before, after)
		switch {
		case status >= 400 && storedRefusal(r.Op, status, answer.Code):
			refused++
			stored++
			// The action re-read its order from Shopify first: the copy may
			// move, and with it the order's own timeline events.
			d.forget("timeline_events", "order:"+strings.Split(r.Path, "/")[2]+":")
			if err := d.only(map[string]int{"idempotency_keys": 1, "actions": 1, "timeline_events": 1}, map[string]int{"orders": 1}); err != nil {
				fail(r, "%d %s changed more than its stored refusal: %v", status, answer.Code, err)
			}
			if status != http.StatusBadGateway && after.mutations != before.mutations {
				fail(r, "%d %s called a Shopify mutation", status, answer.Code)
			}
		case status >= 400:
			refused++
			if err := d.only(nil, nil); err != nil {
				fail(r, "refused with %d %s, yet changed %v", status, answer.Code, err)
			}
			if after.mutations != before.mutations {
				fail(r, "refused with %d %s, yet called a Shopify mutation", status, answer.Code)
			}
		case r.Op == "receiveShopifyWebhook" && answer.Status == "refused":
			if err := d.only(map[string]int{"webhook_deliveries": 1}, nil); err != nil {
				fail(r, "a refused delivery changed more than its record: %v", err)
			}
		case r.Op == "receiveShopifyWebhook" && answer.Status != "accepted":
			if err := d.only(nil, nil); err != nil {
				fail(r, "a %s delivery changed %v", answer.Status, err)
			}
		}
		if len(after.tables["order_leases"]) > 0 {
			fail(r, "an order lease outlived its request")
		}
		before = after
	}
	t.Logf("%s: %d hostile requests (seed %d): statuses %v; by kind %v; %d refused (%d of them stored refusals by the rules or Shopify); %d violations",
		kind, n, seed, statuses, kinds, refused, stored, violations)
	if statuses[http.StatusInternalServerError] > 0 || violations > 0 {
		t.Fatalf("%d answers of 500, %d violations", statuses[http.StatusInternalServerError], violations)
	}
	if refused < n/2 {
		t.Errorf("only %d of %d requests were refused: the generator is not hostile enough", refused, n)
	}
}

// storedRefusal: API.md stores the answer of an action request that
// started its action and was refused by the rules or by Shopify.
func storedRefusal(op string, status int, code string) bool {
	if op != "cancelOrder" && op != "refundOrder" {
		return false
	}
	switch status {
	case http.StatusConflict:
		return slices.Contains([]string{"already_cancelled", "order_fulfilled", "not_paid", "nothing_to_refund", "return_required"}, code)
	case http.StatusUnprocessableEntity:
		return code != "idempotency_key_reused"
	case http.StatusBadGateway:
		return code == "shopify_rejected"
	}
	return false
}

// dbState is what a request could change: the rows of the tables that
// matter (by key, as a digest of their columns) and the sandbox's count
// of mutation calls.
type dbState struct {
	tables    map[string]map[string]string
	mutations int
}

// stateQueries select each table's key and the columns a change shows in
// (an order's synced_at is left out: a read may refresh it).
var stateQueries = map[string]string{
	"orders":             "SELECT shop_id, id, name, status, financial_status, fulfillment_status, updated_at, shopify FROM orders",
	"customer_syncs":     "SELECT shop_id, customer_id, synced_at FROM customer_syncs",
	"actions":            "SELECT id, status, kind, order_id, amount, cancel_done, refund_done, error FROM actions",
	"idempotency_keys":   "SELECT api_key_id, key, request_hash, action_id, response_status, locked_until FROM idempotency_keys",
	"webhook_deliveries": "SELECT shop_id, webhook_id, topic, event_id, refusal FROM webhook_deliveries",
	// An action's own job is inserted with it and runs later, whatever the
	// next request is: it is left out (the actions rows show the outcome).
	"river_job":       "SELECT id, kind, state, args FROM river_job WHERE kind <> 'action'",
	"timeline_events": "SELECT id, type, summary, data FROM timeline_events",
	"order_leases":    "SELECT shop_id, order_id, holder, expires_ms FROM order_leases",
}

// keyColumns is how many leading columns make a row's key.
var keyColumns = map[string]int{"orders": 2, "customer_syncs": 2, "idempotency_keys": 2, "webhook_deliveries": 2, "order_leases": 2}

func (h *harness) snapshot(t *testing.T) dbState {
	t.Helper()
	s := dbState{tables: map[string]map[string]string{},
		mutations: h.sb.Calls(shopifysandbox.OpOrderCancel) + h.sb.Calls(shopifysandbox.OpRefundCreate)}
	for table, q := range stateQueries {
		rows, err := h.store.SQL().QueryContext(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		s.tables[table] = map[string]string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			cells := make([]string, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				cells[i] = fmt.Sprint(v)
			}
			k := max(1, keyColumns[table])
			sum := sha256.Sum256([]byte(strings.Join(cells[k:], "\x1f")))
			s.tables[table][strings.Join(cells[:k], "/")] = hex.EncodeToString(sum[:8])
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// stateDiff is what changed between two snapshots, by table.
type stateDiff struct{ added, changed, removed map[string][]string }

func diff(a, b dbState) stateDiff {
	d := stateDiff{added: map[string][]string{}, changed: map[string][]string{}, removed: map[string][]string{}}
	for table, rows := range b.tables {
		for k, v := range rows {
			old, ok := a.tables[table][k]
			switch {
			case !ok:
				d.added[table] = append(d.added[table], k)
			case old != v:
				d.changed[table] = append(d.changed[table], k)
			}
		}
		for k := range a.tables[table] {
			if _, ok := rows[k]; !ok {
				d.removed[table] = append(d.removed[table], k)
			}
		}
	}
	return d
}

// forget drops the added and changed rows of table whose key starts with
// prefix.
func (d stateDiff) forget(table, prefix string) {
	keep := func(keys []string) []string {
		return slices.DeleteFunc(keys, func(k string) bool { return strings.HasPrefix(k, prefix) })
	}
	d.added[table], d.changed[table] = keep(d.added[table]), keep(d.changed[table])
}

// only says whether the change is at most the given additions and
// changes per table, with no row removed.
func (d stateDiff) only(additions, changes map[string]int) error {
	var out []string
	for _, table := range slices.Sorted(maps.Keys(stateQueries)) {
		if n := len(d.added[table]); n > additions[table] {
			out = append(out, fmt.Sprintf("%s: %d added %v", table, n, d.added[table]))
		}
		if len(d.changed[table]) > changes[table] {
			out = append(out, fmt.Sprintf("%s: changed %v", table, d.changed[table]))
		}
		if len(d.removed[table]) > 0 {
			out = append(out, fmt.Sprintf("%s: removed %v", table, d.removed[table]))
		}
	}
	if len(out) > 0 {
		return fmt.Errorf("%s", strings.Join(out, "; "))
	}
	return nil
}
