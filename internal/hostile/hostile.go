// Package hostile generates hostile HTTP requests from an OpenAPI 3
// document: for every operation it documents, requests whose path ids,
// query strings, headers and JSON bodies carry wrong types, overflowing
// numbers, unicode and control characters, malformed escapes and broken
// JSON, plus forged and malformed webhooks, unknown routes and wrong
// methods. Most are built on a valid request so that a single defect gets
// past the checks before it; some are left valid. CheckAnswer holds the
// rules every answer must keep. It knows nothing of orderdesk beyond the
// document and Options, so an endpoint added to the document is probed
// without changes here.
package hostile

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Options bind the generator to a running service.
type Options struct {
	Seed uint64
	// APIKey is a valid key, sent as a Bearer token on most requests.
	APIKey string
	// WebhookSecret signs webhook deliveries; forged ones use other secrets.
	WebhookSecret string
	// WebhookPath is the operation that takes Shopify's webhooks.
	WebhookPath string
	// ShopDomain is the shop the webhooks name.
	ShopDomain string
	// Topics are webhook topics the service applies.
	Topics []string
	// IDs are ids that exist (orders, customers): valid path and query ids.
	IDs []int64
}

// Request is one generated request.
type Request struct {
	Op       string // operationId, or "route" for unknown routes and methods
	Kind     string // what was made hostile ("valid" when nothing was)
	Method   string
	Path     string // decoded, as a server sees it
	RawQuery string
	Header   http.Header
	Body     []byte
}

// HTTP builds the request for a handler. Path and query are set as they
// are, so malformed escapes reach the service instead of a URL parser.
func (r Request) HTTP() *http.Request {
	req := httptest.NewRequest(r.Method, "/", bytes.NewReader(r.Body))
	req.URL = &url.URL{Path: r.Path, RawQuery: r.RawQuery}
	req.RequestURI = r.Path
	if r.RawQuery != "" {
		req.RequestURI += "?" + r.RawQuery
	}
	req.Header = r.Header.Clone()
	req.ContentLength = int64(len(r.Body))
	return req
}

// alwaysInvalid are the kinds of defect no correct service accepts.
var alwaysInvalid = []string{
	"path", "query:malformed-escape", "query:repeated", "query:empty", "query:blank", "query:unknown", "query:semicolon", "query:no-value",
	"header:repeated", "webhook:bad-number", "webhook:repeated-header",
	"body:broken", "body:truncated", "body:unknown-member", "body:deep", "body:array", "body:too-large", "body:amount",
	"webhook:forged", "webhook:broken-body", "route:unknown", "route:method",
}

// MustBeRefused says whether the request carries a defect that a correct
// service refuses (a 4xx, or a webhook acknowledged as refused), never
// serves as if it meant something else.
func (r Request) MustBeRefused() bool {
	for _, k := range strings.Split(r.Kind, "+") {
		if slices.Contains(alwaysInvalid, k) {
			return true
		}
	}
	return false
}

func (r Request) String() string {
	q := ""
	if r.RawQuery != "" {
		q = "?" + r.RawQuery
	}
	return fmt.Sprintf("[%s %s] %s %q%s", r.Op, r.Kind, r.Method, r.Path, q)
}

// Generator makes requests; it is deterministic for a seed.
type Generator struct {
	opts    Options
	rng     *rand.Rand
	ops     []operation
	keys    []string // Idempotency-Keys used, to reuse some
	hookIDs []string // webhook ids used, to send duplicates
}

type operation struct {
	id, method, path string
	params           []*openapi3.Parameter
	body             *openapi3.Schema
	secured          bool
}

// New reads the document's operations.
func New(doc *openapi3.T, opts Options) (*Generator, error) {
	g := &Generator{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := operation{id: op.OperationID, method: method, path: path, secured: op.Security == nil || len(*op.Security) > 0}
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				if p.Value != nil {
					o.params = append(o.params, p.Value)
				}
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					o.body = mt.Schema.Value
				}
			}
			g.ops = append(g.ops, o)
		}
	}
	if len(g.ops) == 0 {
		return nil, fmt.Errorf("hostile: the document has no operations")
	}
	slices.SortFunc(g.ops, func(a, b operation) int { return cmp.Compare(a.method+a.path, b.method+b.path) })
	return g, nil
}

// Operations lists the operationIds the generator probes.
func (g *Generator) Operations() []string {
	var out []string
	for _, o := range g.ops {
		out = append(out, o.id)
	}
	return out
}

// Next makes the next request.
func (g *Generator) Next() Request {
	if g.rng.IntN(20) == 0 {
		return g.route()
	}
	o := g.ops[g.rng.IntN(len(g.ops))]
	r := g.valid(o)
	if o.path == g.opts.WebhookPath {
		return g.webhook(o, r)
	}
	type defect struct {
		part string
		make func(operation, *Request) string
	}
	kinds := []defect{{"query", g.query}, {"header", g.header}}
	if strings.Contains(o.path, "{") {
		kinds = append(kinds, defect{"path", g.pathID})
	}
	if o.body != nil {
		kinds = append(kinds, defect{"body", g.body}, defect{"body", g.body}, defect{"body", g.body})
	}
	n := g.rng.IntN(10)
	switch {
	case n == 0:
		r.Kind = "valid"
	case n < 8:
		r.Kind = kinds[g.rng.IntN(len(kinds))].make(o, &r)
	default: // two defects at once, in different parts: a second in the same part could undo the first
		first := kinds[g.rng.IntN(len(kinds))]
		others := slices.DeleteFunc(slices.Clone(kinds), func(d defect) bool { return d.part == first.part })
		r.Kind = first.make(o, &r)
		if len(others) > 0 {
			r.Kind += "+" + others[g.rng.IntN(len(others))].make(o, &r)
		}
	}
	return r
}

// valid is a request the operation should accept.
func (g *Generator) valid(o operation) Request {
	r := Request{Op: o.id, Method: strings.ToUpper(o.method), Header: http.Header{}}
	path := o.path
	q := url.Values{}
	for _, p := range o.params {
		v := g.validValue(p.Name, p.Schema)
		switch p.In {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.Name+"}", v)
		case "query":
			if p.Required || g.rng.IntN(4) == 0 {
				q.Set(p.Name, v)
			}
		case "header":
			if p.Required || g.rng.IntN(2) == 0 {
				r.Header.Set(p.Name, v)
			}
		}
	}
	r.Path, r.RawQuery = path, q.Encode()
	if o.secured && g.opts.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+g.opts.APIKey)
	}
	if o.body != nil {
		r.Header.Set("Content-Type", "application/json")
		r.Body = encode(g.validJSON(o.body, 0))
	}
	return r
}

func (g *Generator) validValue(name string, ref *openapi3.SchemaRef) string {
	switch name {
	case "Idempotency-Key":
		if len(g.keys) > 0 && g.rng.IntN(10) == 0 {
			return g.keys[g.rng.IntN(len(g.keys))] // a replay, or a reuse with another body
		}
		k := fmt.Sprintf("hostile-%d-%d", g.opts.Seed, g.rng.Uint64())
		g.keys = append(g.keys, k)
		return k
	case "X-Agent-Id":
		return "agent-" + strconv.Itoa(g.rng.IntN(100))
	}
	var s *openapi3.Schema
	if ref != nil {
		s = ref.Value
	}
	switch {
	case s == nil:
		return "x"
	case len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[g.rng.IntN(len(s.Enum))])
	case s.Type.Is(openapi3.TypeInteger):
		if len(g.opts.IDs) > 0 && (name == "id" || strings.HasSuffix(name, "_id")) {
			return strconv.FormatInt(g.opts.IDs[g.rng.IntN(len(g.opts.IDs))], 10)
		}
		return strconv.Itoa(1 + g.rng.IntN(100))
	case s.Type.Is(openapi3.TypeBoolean):
		return strconv.FormatBool(g.rng.IntN(2) == 0)
	case s.Format == "date-time":
		return "2026-11-01T00:00:00Z"
	case s.Example != nil:
		return fmt.Sprint(s.Example)
	}
	return "x"
}

// member is one member of a JSON object, kept in order so duplicates and
// case variants can be written.
type member struct {
	name  string
	value any
}

// object and rawJSON render as they are; everything else through encoding/json.
type (
	object  []member
	rawJSON string
)

func encode(v any) []byte {
	var b bytes.Buffer
	write(&b, v)
	return b.Bytes()
}

func write(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case object:
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(m.name)
			b.Write(name)
			b.WriteByte(':')
			write(b, m.value)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			write(b, x)
		}
		b.WriteByte(']')
	case rawJSON:
		b.WriteString(string(v))
	default:
		out, err := json.Marshal(v)
		if err != nil {
			out = []byte("null")
		}
		b.Write(out)
	}
}

func (g *Generator) validJSON(s *openapi3.Schema, depth int) any {
	switch {
	case s == nil || depth > 4:
		return nil
	case s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0:
		var obj object
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if slices.Contains(s.Required, n) || g.rng.IntN(3) == 0 {
				obj = append(obj, member{n, g.validJSON(s.Properties[n].Value, depth+1)})
			}
		}
		return obj
	case s.Type.Is(openapi3.TypeArray):
		var items *openapi3.Schema
		if s.Items != nil {
			items = s.Items.Value
		}
		return []any{g.validJSON(items, depth+1)}
	case len(s.Enum) > 0:
		return s.Enum[g.rng.IntN(len(s.Enum))]
	case s.Example != nil:
		if s.Type.Is(openapi3.TypeInteger) && len(g.opts.IDs) > 0 && g.rng.IntN(2) == 0 {
			return g.opts.IDs[g.rng.IntN(len(g.opts.IDs))]
		}
		return s.Example
	case s.Type.Is(openapi3.TypeInteger):
		return 1
	case s.Type.Is(openapi3.TypeBoolean):
		return true
	}
	return "x"
}

// Hostile values, by the type they stand in for.
var (
	hostileText = []string{
		"", " ", "\x00", "a\x00b", "\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "é", "𝕏😀", "\u202egnp.exe", "\x1b[31mred",
		"a\r\nX-Injected: 1", "' OR 1=1 --", "../../etc/passwd", "%00", "%zz", "<script>alert(1)</script>",
		strings.Repeat("a", 300), strings.Repeat("é", 3000), "\t", "null", "true", "0",
	}
	hostileIDs = []string{
		"0", "-1", "+1", "007", "1.5", "1e3", "0x10", "9223372036854775808",
		"99999999999999999999999", "abc", " 1", "1 ", "١٢٣", "1\x00", "\xff", "%31", "",
	}
	// hostileAmounts are refused in a currency of at most two decimals (the
	// sandbox has USD, EUR and JPY orders).
	hostileAmounts = []string{
		" 0.01", "+0.01", "-0.01", ".01", "1.", "00.01", "0.010", "1.00000", "1e2", "1E2", "0x10", "1,00", "NaN", "Infinity",
		"0", "0.00", "99999999999999999999", "1.23456", "１", "1 000", "",
	}
	hostileJSONValues = []rawJSON{
		`null`, `true`, `0`, `-1`, `1.5`, `1e400`, `99999999999999999999999`, `"\u0000"`, `"a\u0000b"`, `"\ud800"`, `"\udc00x"`,
		"\"\xff\"", `[]`, `{}`, `[[[[[[[[[[1]]]]]]]]]]`, rawJSON(`"` + strings.Repeat("x", 6000) + `"`), `""`, `"1e2"`, `"-5"`,
	}
	brokenBodies = []string{
		"", " ", "{", "}", "{\"", "[", "null", "[]", "\"x\"", "1", "{\"amount\":}", "{'amount':'1'}", "{\"amount\":\"1\",}",
		"{\"amount\":\"1\"}{\"amount\":\"2\"}", "{\"amount\":\"1\"} x", "\xef\xbb\xbf{\"amount\":\"1\"}", "{\"amount\":\"1\"// c\n}",
		"amount=1", "\x00\x01\x02", "\xff\xfe{}", strings.Repeat("[", 20000), strings.Repeat("{\"a\":", 20000) + "1" + strings.Repeat("}", 20000),
	}
)

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *Generator) pathID(o operation, r *Request) string {
	path := o.path
	for _, p := range o.params {
		if p.In == "path" {
			path = strings.ReplaceAll(path, "{"+p.Name+"}", g.pick(hostileIDs))
		}
	}
	r.Path = path
	return "path"
}

func (g *Generator) query(o operation, r *Request) string {
	var names []string
	for _, p := range o.params {
		if p.In == "query" {
			names = append(names, p.Name)
		}
	}
	name := "x"
	if len(names) > 0 && g.rng.IntN(4) > 0 {
		name = names[g.rng.IntN(len(names))]
	}
	var kind, pair string
	switch g.rng.IntN(10) {
	case 8: // spaces only: "+" is a space in a query string
		kind, pair = "query:blank", name+"="+g.pick([]string{"+", "%20", "++", "%20+"})
	case 0:
		kind, pair = "query:malformed-escape", name+"="+g.pick([]string{"%zz", "%", "%2", "%g0", "1%", "%%"})
	case 1:
		kind, pair = "query:bad-value", name+"="+url.QueryEscape(g.pick(append(hostileIDs, hostileText...)))
	case 2:
		kind, pair = "query:raw-bytes", name+"="+g.pick([]string{"\xff\xfe", "é", "a b", "a\x00b", "a#b", "\x7f"})
	case 3:
		kind, pair = "query:repeated", name+"=1&"+name+"=2"
	case 4:
		kind, pair = "query:empty", name+"="
	case 5:
		kind, pair = "query:unknown", g.pick([]string{"unknown=1", "CUSTOMER_ID=1", "limit[]=1", "a.b=1", "=1", "%00=1", "\xff=1"})
	case 6:
		kind, pair = "query:semicolon", name+"=1;"+name+"=2"
	case 7:
		kind, pair = "query:long", name+"="+strings.Repeat("9", 300+g.rng.IntN(5000))
	default:
		kind, pair = "query:no-value", name
	}
	if r.RawQuery == "" || g.rng.IntN(2) == 0 {
		r.RawQuery = pair
	} else {
		r.RawQuery += "&" + pair
	}
	return kind
}

func (g *Generator) header(o operation, r *Request) string {
	switch g.rng.IntN(7) {
	case 6: // a header the operation takes, sent twice
		var names []string
		for _, p := range o.params {
			if p.In == "header" {
				names = append(names, p.Name)
			}
		}
		if o.body != nil {
			names = append(names, "Content-Type")
		}
		if len(names) == 0 {
			r.Header.Set("X-Request-Id", g.pick(hostileText))
			return "header:request-id"
		}
		name := g.pick(names)
		first := r.Header.Get(name)
		if first == "" {
			first = g.validValue(name, nil)
		}
		r.Header[http.CanonicalHeaderKey(name)] = []string{first, g.pick([]string{first, "other", "text/plain"})}
		return "header:repeated"
	case 0:
		r.Header.Set("Authorization", g.pick([]string{"", "Bearer", "Bearer ", "Basic " + g.opts.APIKey, "Bearer " + g.opts.APIKey + "\x00",
			"Bearer \xff\xfe", "Bearer " + strings.Repeat("k", 5000), "bearer " + g.opts.APIKey, "Token " + g.opts.APIKey}))
		return "header:authorization"
	case 1:
		r.Header.Set("X-Agent-Id", g.pick(hostileText))
		return "header:agent"
	case 2:
		r.Header.Set("Idempotency-Key", g.pick(append(hostileText, strings.Repeat("k", 256))))
		return "header:idempotency-key"
	case 3:
		r.Header.Set("Content-Type", g.pick([]string{"text/plain", "application/json; charset=latin1", "application/json;;", "multipart/form-data; boundary=x",
			"application/problem+json", "application/x-www-form-urlencoded", "\xff", "application/json; charset=utf-8"}))
		return "header:content-type"
	case 4:
		r.Header.Set("X-Request-Id", g.pick(hostileText))
		return "header:request-id"
	default:
		for _, h := range []string{"X-Agent-Id", "Idempotency-Key", "Authorization", "Content-Type"} {
			if g.rng.IntN(2) == 0 {
				r.Header.Del(h)
			}
		}
		return "header:missing"
	}
}

func (g *Generator) body(o operation, r *Request) string {
	v := g.validJSON(o.body, 0)
	obj, _ := v.(object)
	switch g.rng.IntN(9) {
	case 0:
		r.Body = []byte(g.pick(brokenBodies))
		return "body:broken"
	case 1:
		b := encode(v)
		if len(b) > 1 {
			b = b[:g.rng.IntN(len(b)-1)+1]
		}
		r.Body = b
		return "body:truncated"
	case 2: // a member's value of another type or out of range
		if len(obj) == 0 {
			obj = append(obj, member{"amount", nil})
		}
		obj[g.rng.IntN(len(obj))].value = hostileJSONValues[g.rng.IntN(len(hostileJSONValues))]
		r.Body = encode(obj)
		return "body:wrong-type"
	case 3: // a duplicate member, or a case variant of one
		if len(obj) == 0 {
			r.Body = []byte(`{"amount":"1.00","amount":"2.00"}`)
			return "body:duplicate"
		}
		m := obj[g.rng.IntN(len(obj))]
		name := m.name
		if g.rng.IntN(2) == 0 {
			name = strings.ToUpper(name)
		}
		obj = append(obj, member{name, g.validJSON(o.body.Properties[m.name].Value, 1)})
		r.Body = encode(obj)
		return "body:duplicate"
	case 4:
		obj = append(obj, member{g.pick([]string{"unknown", "Amount", "amount ", "__proto__", "", "\u0000", "line_items[0]"}), "1"})
		r.Body = encode(obj)
		return "body:unknown-member"
	case 5: // hostile text in every string member, recursively
		r.Body = encode(g.hostileStrings(v, 0))
		return "body:text"
	case 6: // a money string in a spelling the syntax refuses
		obj = append(slices.DeleteFunc(obj, func(m member) bool { return m.name == "amount" || m.name == "line_items" || m.name == "shipping" }),
			member{"amount", g.pick(hostileAmounts)})
		r.Body = encode(obj)
		return "body:amount"
	case 7:
		depth := 10 + g.rng.IntN(2000)
		r.Body = []byte(`{"shipping":` + strings.Repeat(`{"full":`, depth) + "true" + strings.Repeat("}", depth+1))
		return "body:deep"
	default:
		if g.rng.IntN(20) == 0 {
			r.Body = bytes.Repeat([]byte(" "), 1<<20+1) // over the 1 MiB limit
			return "body:too-large"
		}
		r.Body = encode([]any{v})
		return "body:array"
	}
}

func (g *Generator) hostileStrings(v any, depth int) any {
	switch v := v.(type) {
	case object:
		out := make(object, len(v))
		for i, m := range v {
			out[i] = member{m.name, g.hostileStrings(m.value, depth+1)}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = g.hostileStrings(x, depth+1)
		}
		return out
	case string:
		if s := g.pick(hostileText); utf8Valid(s) {
			return s
		} else {
			return rawJSON(`"` + s + `"`) // invalid UTF-8 inside the JSON text itself
		}
	}
	return v
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// webhook makes a delivery: forged, malformed, odd in its headers, or
// signed and well formed.
func (g *Generator) webhook(o operation, r Request) Request {
	topic := "orders/updated"
	if len(g.opts.Topics) > 0 {
		topic = g.pick(g.opts.Topics)
	}
	id := int64(1)
	if len(g.opts.IDs) > 0 {
		id = g.opts.IDs[g.rng.IntN(len(g.opts.IDs))]
	}
	body := []byte(fmt.Sprintf(`{"id":%d,"order_id":%d,"order_edit":{"order_id":%d},"customer":{"id":%d},"shop_domain":%q,"updated_at":"2020-01-01T00:00:00Z"}`,
		id, id, id, id, g.opts.ShopDomain))
	webhookID := fmt.Sprintf("hostile-wh-%d", g.rng.Uint64())
	secret := g.opts.WebhookSecret
	r.Kind = "webhook:valid"
	var header, value string // a header made hostile, set last
	repeat := ""             // a header sent twice
	switch g.rng.IntN(10) {
	case 0:
		r.Kind, secret = "webhook:forged", g.pick([]string{"", "wrong", "whsec_" + g.opts.WebhookSecret})
	case 1, 2:
		r.Kind, body = "webhook:broken-body", []byte(g.pick(brokenBodies))
	case 3:
		r.Kind = "webhook:bad-text"
		body = []byte(g.pick([]string{
			`{"id":1,"note":"a\u0000b"}`, "{\"id\":1,\"note\":\"\xff\xfe\"}", `{"id":1,"note":"\ud800"}`, `{"id":"1"}`, `{"id":-1}`,
			`{"id":1e3}`, `{"id":99999999999999999999}`, `{"id":1,"id":2}`, `{"order_id":null}`, `{"customer":"x"}`, `{"shop_domain":"other.myshopify.com"}`,
		}))
	case 4:
		r.Kind = "webhook:headers"
		header = g.pick([]string{"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id"})
		value = g.pick(append(hostileText, "unknown.myshopify.com", "SHOP.MYSHOPIFY.COM", "carts/update", "orders/UPDATED"))
	case 5:
		if len(g.hookIDs) > 0 {
			r.Kind, webhookID = "webhook:duplicate", g.pick(g.hookIDs)
		}
	case 6: // numbers a database cannot store
		r.Kind = "webhook:bad-number"
		body = []byte(fmt.Sprintf(`{"id":%d,"order_id":%d,"total_weight":%s}`, id, id,
			g.pick([]string{"1e1000000", "1e-1000000", "-1E+99999", "1" + strings.Repeat("0", 131073), "0." + strings.Repeat("0", 16384) + "1"})))
	case 7:
		r.Kind = "webhook:repeated-header"
		repeat = g.pick([]string{"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Hmac-Sha256"})
	}
	g.hookIDs = append(g.hookIDs, webhookID)
	r.Body = body
	r.Header = http.Header{}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Shopify-Topic", topic)
	r.Header.Set("X-Shopify-Shop-Domain", g.opts.ShopDomain)
	r.Header.Set("X-Shopify-Webhook-Id", webhookID)
	r.Header.Set("X-Shopify-Event-Id", fmt.Sprintf("hostile-ev-%d", g.rng.IntN(50)))
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		r.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	if header != "" {
		r.Header.Set(header, value)
	}
	if repeat != "" {
		r.Header.Add(repeat, r.Header.Get(repeat))
	}
	return r
}

// route makes a request for a route or method the document does not have.
func (g *Generator) route() Request {
	r := Request{Op: "route", Method: http.MethodGet, Header: http.Header{}}
	if g.opts.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+g.opts.APIKey)
	}
	if g.rng.IntN(2) == 0 {
		o := g.ops[g.rng.IntN(len(g.ops))]
		r.Kind, r.Path = "route:method", g.valid(o).Path
		var free []string // the methods the path does not take
		for _, m := range []string{"DELETE", "PUT", "PATCH", "OPTIONS", "HEAD", "TRACE", "POST", "GET"} {
			if !slices.ContainsFunc(g.ops, func(x operation) bool { return x.path == o.path && strings.EqualFold(x.method, m) }) {
				free = append(free, m)
			}
		}
		r.Method = g.pick(free)
		return r
	}
	r.Kind = "route:unknown"
	r.Path = g.pick([]string{"/orders/1/nope", "/ORDERS", "/orders/", "//orders", "/docs/x", "/docs/../openapi.json", "/..",
		"/orders/1/actions/", "/customers", "/customers/1", "/webhooks", "/docs/doc.json", "/docs/index.html/x", "/metrics/x", "/\x00", "/é"})
	return r
}
