package shopifysandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// gql posts a document to the sandbox's GraphQL endpoint of version.
func gql(t *testing.T, base, version, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/api/"+version+"/graphql.json", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Access-Token", "tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

const runBulk = `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { bulkOperation { id status } userErrors { code message } } }`
const pollBulk = `query($id: ID!) { bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount fileSize url } }`

func newBulkSandbox(t *testing.T) (*Sandbox, string) {
	t.Helper()
	sb := New(Options{Shop: "bulk.myshopify.com", Token: "tok"})
	sb.Seed(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv.URL
}

// start runs a bulk query and returns the payload.
func start(t *testing.T, base, version, inner string) (id string, userErrors []any) {
	t.Helper()
	out := gql(t, base, version, runBulk, map[string]any{"q": inner})
	data, _ := out["data"].(map[string]any)
	p, _ := data["bulkOperationRunQuery"].(map[string]any)
	if p == nil {
		t.Fatalf("no payload: %v", out)
	}
	userErrors, _ = p["userErrors"].([]any)
	if op, ok := p["bulkOperation"].(map[string]any); ok {
		id, _ = op["id"].(string)
	}
	return id, userErrors
}

// await polls an operation until it is no longer running.
func await(t *testing.T, base, id string) map[string]any {
	t.Helper()
	for range 200 {
		out := gql(t, base, "2026-10", pollBulk, map[string]any{"id": id})
		op := out["data"].(map[string]any)["bulkOperation"].(map[string]any)
		if op["status"] != "RUNNING" && op["status"] != "CREATED" {
			return op
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("operation never finished")
	return nil
}

func errCode(errs []any) string {
	if len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].(map[string]any)["code"].(string)
	return c
}

// TestBulkQueryRules: Shopify's rules for the inner query are userErrors
// (INVALID), checked against the schema first.
func TestBulkQueryRules(t *testing.T) {
	t.Parallel()
	_, base := newBulkSandbox(t)
	for _, tc := range []struct{ name, query, want string }{
		{"a field the schema lacks", `{ orders { edges { node { id nmae } } } }`, "Cannot query field"},
		{"no connection", `{ shop { name } }`, "at least one connection"},
		{"two top-level fields", `{ orders { edges { node { id } } } products { edges { node { id } } } }`, "single top-level field"},
		{"six connections", `{ orders { edges { node { id lineItems { edges { node { id } } } shippingLines { edges { node { id } } }
			fulfillments { id fulfillmentLineItems { edges { node { id } } } events { edges { node { id } } } }
			refunds { id refundLineItems { edges { node { id } } } } } } } }`, "more than 5 connections"},
		{"three levels", `{ customers { edges { node { id orders { edges { node { id lineItems { edges { node { id } } } } } } } } } }`, "more than 2 levels"},
		{"a mutation", `mutation { webhookSubscriptionDelete(id: "gid://shopify/WebhookSubscription/1") { deletedWebhookSubscriptionId } }`, "must be queries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, errs := start(t, base, "2026-10", tc.query)
			if id != "" || errCode(errs) != "INVALID" || !strings.Contains(errs[0].(map[string]any)["message"].(string), tc.want) {
				t.Errorf("id %q, userErrors %v; want INVALID saying %q", id, errs, tc.want)
			}
		})
	}
}

// TestBulkConcurrency: from 2026-01 five bulk queries run at a time (the
// sixth is LIMIT_REACHED), before it one (OPERATION_IN_PROGRESS); a held
// operation completes once the fault is cleared; Refuse and Fail faults.
func TestBulkConcurrency(t *testing.T) {
	t.Parallel()
	sb, base := newBulkSandbox(t)
	q := `{ orders { edges { node { id } } } }`
	sb.SetBulkFault(BulkFault{Hold: true})
	for i := range 5 {
		if id, errs := start(t, base, "2026-10", q); id == "" {
			t.Fatalf("operation %d refused: %v", i+1, errs)
		}
	}
	if _, errs := start(t, base, "2026-10", q); errCode(errs) != "LIMIT_REACHED" {
		t.Errorf("a sixth at once: %v, want LIMIT_REACHED", errs)
	}
	// Only 2026-10's schema is pinned, so older versions are checked on the rule itself.
	for version, want := range map[string]int{"2025-10": 1, "2026-01": 5, "2026-10": 5, "unstable": 5} {
		if got := bulkLimit(version); got != want {
			t.Errorf("bulkLimit(%s) = %d, want %d", version, got, want)
		}
	}
	sb.SetBulkFault(BulkFault{})
	for _, op := range sb.BulkOperations() {
		if got := await(t, base, op.ID); got["status"] != "COMPLETED" {
			t.Errorf("%s is %s once released", op.ID, got["status"])
		}
	}
	sb.SetBulkFault(BulkFault{Refuse: "OPERATION_IN_PROGRESS"})
	if _, errs := start(t, base, "2026-10", q); errCode(errs) != "OPERATION_IN_PROGRESS" {
		t.Errorf("refusal fault: %v", errs)
	}
	sb.SetBulkFault(BulkFault{Fail: "TIMEOUT"})
	id, _ := start(t, base, "2026-10", q)
	if op := await(t, base, id); op["status"] != "FAILED" || op["errorCode"] != "TIMEOUT" || op["url"] != nil {
		t.Errorf("failure fault: %v", op)
	}
}

// TestBulkJSONL: the result has one line per object; a nested
// connection's nodes are lines of their own, right after their parent,
// naming it in __parentId; plain lists stay inline; counts and Range.
func TestBulkJSONL(t *testing.T) {
	t.Parallel()
	sb, base := newBulkSandbox(t)
	id, errs := start(t, base, "2026-10", `{ orders(sortKey: ID) { edges { node { id name fulfillments { id status events { edges { node { id status } } } } lineItems { edges { node { id quantity } } } } } } }`)
	if id == "" {
		t.Fatal(errs)
	}
	op := await(t, base, id)
	if op["status"] != "COMPLETED" {
		t.Fatalf("operation: %v", op)
	}
	resp, err := http.Get(op["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(raw))
	seen := map[string]bool{}
	roots := 0
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON object: %s", sc.Text())
		}
		lines = append(lines, l)
		oid, _ := l["id"].(string)
		parent, child := l["__parentId"].(string)
		switch {
		case !child:
			roots++
			if _, nested := l["lineItems"]; nested {
				t.Errorf("a connection nested in its parent's line: %s", sc.Text())
			}
			if _, inline := l["fulfillments"].([]any); !inline {
				t.Errorf("a plain list not inline: %s", sc.Text())
			}
			for _, f := range l["fulfillments"].([]any) {
				seen[f.(map[string]any)["id"].(string)] = true
			}
		case !seen[parent]:
			t.Errorf("%s names a parent not written before it: %s", oid, parent)
		}
		seen[oid] = true
	}
	if want := len(sb.orders); roots != want {
		t.Errorf("%d root lines, want %d orders", roots, want)
	}
	if op["objectCount"] != itoa(len(lines)) || op["rootObjectCount"] != itoa(roots) || op["fileSize"] != itoa(len(raw)) {
		t.Errorf("counts %v for %d lines, %d roots, %d bytes", op, len(lines), roots, len(raw))
	}
	// From a line's start: the rest, each line counted once more.
	from := bytes.IndexByte(raw, '\n') + 1
	req, _ := http.NewRequest(http.MethodGet, op["url"].(string), nil)
	req.Header.Set("Range", "bytes="+itoa(from)+"-")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(rest, raw[from:]) {
		t.Errorf("range: %d, %d bytes", resp.StatusCode, len(rest))
	}
	reads := sb.BulkLineReads(id)
	if reads[0] != 1 || reads[1] != 2 || reads[len(reads)-1] != 2 {
		t.Errorf("line reads %v", reads[:3])
	}
	// A cut download ends mid-line, short of its Content-Length.
	sb.SetBulkFault(BulkFault{CutAtLine: 3})
	resp, err = http.Get(op["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	cut, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || bytes.Count(cut, []byte("\n")) != 2 || len(cut) <= bytes.LastIndexByte(cut, '\n')+1 {
		t.Errorf("cut download: %d lines, err %v", bytes.Count(cut, []byte("\n")), err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestAppendJSON: the bulk writer's encoder writes what json.Marshal
// writes, escapes and key order included.
func TestAppendJSON(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"id": "gid://shopify/Order/1", "note": "a <b> & \"c\"\n\u2028é", "n": 3, "big": uint64(1 << 63), "neg": int64(-4),
		"ok": true, "none": nil, "f": 1.5, "list": []any{"x", 2, map[string]any{"z": 1, "a": []string{"q"}}},
		"maps": []map[string]any{{"b": 1}, {"a": nil}}, "nilList": []any(nil), "empty": map[string]any{},
		"__parentId": "gid://shopify/Order/0",
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := appendJSON(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("appendJSON\n%s\njson.Marshal\n%s", got, want)
	}
}
