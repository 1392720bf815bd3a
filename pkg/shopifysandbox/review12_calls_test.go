package shopifysandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type review12Calls struct {
	Operations map[string]int `json:"operations"`
	REST       int            `json:"rest"`
	Refused    []string       `json:"refused_documents"`
	Unserved   int            `json:"unserved_documents"`
}

func review12Get(t *testing.T, url string) review12Calls {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c review12Calls
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func review12Do(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	req.Header.Set("X-Shopify-Access-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReview12RESTToSecondShopInvisible: behind the demo's multi-shop front,
// GET /sandbox/calls naming no shop answers for the first shop only: a REST
// call to the second shop leaves "rest": 0, which TestDemoRuns and README
// read as "orderdesk made no REST call".
func TestReview12RESTToSecondShopInvisible(t *testing.T) {
	front := NewShops(ShopsOptions{ClientID: "id", ClientSecret: "secret"})
	a := New(Options{Shop: "a.myshopify.com", Token: "tok-a"})
	a.Seed(time.Now())
	b := New(Options{Shop: "b.myshopify.com", Token: "tok-b"})
	b.SeedSecondShop(time.Now())
	front.Add(a)
	front.Add(b)
	srv := httptest.NewServer(front)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/api/2026-10/orders.json", nil)
	req.Header.Set("X-Shopify-Access-Token", "tok-b")
	req.Header.Set("X-Shopify-Shop-Domain", "b.myshopify.com") // what orderdesk's client sends
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || b.RESTCalls() != 1 {
		t.Fatalf("REST orders.json to shop b: %d, b counted %d REST calls", resp.StatusCode, b.RESTCalls())
	}
	if c := review12Get(t, srv.URL+"/sandbox/calls"); c.REST == 0 {
		t.Errorf("a REST call was made (to the second shop) but GET /sandbox/calls says rest=%d, operations %v", c.REST, c.Operations)
	}
}

// TestReview12RESTUnroutedNotCounted: "rest" counts only the REST endpoints
// the sandbox implements. A REST call to any other Admin API path (shop.json,
// fulfillment_orders.json, ...) gets a 404 and leaves "rest": 0, so the check
// "0 REST" passes for a client that does call REST.
func TestReview12RESTUnroutedNotCounted(t *testing.T) {
	sb := New(Options{Shop: "a.myshopify.com", Token: "tok"})
	sb.Seed(time.Now())
	srv := httptest.NewServer(sb)
	defer srv.Close()
	for _, p := range []string{"/admin/api/2026-10/shop.json", "/admin/api/2026-10/orders/450789469/fulfillment_orders.json", "/admin/api/2026-10/customers/207119551.json"} {
		code := review12Do(t, http.MethodGet, srv.URL+p, "tok", "")
		t.Logf("GET %s: %d", p, code)
	}
	// and a REST call with a token the sandbox refuses (401) counts nowhere either
	review12Do(t, http.MethodGet, srv.URL+"/admin/api/2026-10/orders.json", "wrong", "")
	if c := review12Get(t, srv.URL+"/sandbox/calls"); c.REST == 0 {
		t.Errorf("4 REST requests made, GET /sandbox/calls says rest=%d", c.REST)
	}
}

// TestReview12UnservedDocumentCountedNowhere: a GraphQL document that is
// valid against the schema but not one the sandbox serves gets an error
// answer and is neither an operation nor a refused document.
func TestReview12UnservedDocumentCountedNowhere(t *testing.T) {
	sb := New(Options{Shop: "a.myshopify.com", Token: "tok"})
	sb.Seed(time.Now())
	srv := httptest.NewServer(sb)
	defer srv.Close()
	out := gql(t, srv.URL, "2026-10", `{ shop { name } }`, nil)
	t.Logf("answer: %v", out)
	c := review12Get(t, srv.URL+"/sandbox/calls")
	total := 0
	for _, n := range c.Operations {
		total += n
	}
	if total == 0 && len(c.Refused) == 0 && c.Unserved != 1 {
		t.Errorf("a GraphQL call answered with %v is in no count: %+v", out["errors"], c)
	}
}

// TestReview12InstallationProbeNotValidated: the multi-shop front answers any
// GraphQL body containing "currentAppInstallation" itself, before the shop's
// sandbox validates it: an invalid document is answered with data and never
// reaches refused_documents.
func TestReview12InstallationProbeNotValidated(t *testing.T) {
	front := NewShops(ShopsOptions{ClientID: "id", ClientSecret: "secret"})
	a := New(Options{Shop: "a.myshopify.com", Token: "tok"})
	a.Seed(time.Now())
	front.Add(a)
	srv := httptest.NewServer(front)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"query": `{ currentAppInstallation { id noSuchField accessScopes { handle } } }`})
	code := review12Do(t, http.MethodPost, srv.URL+"/admin/api/2026-10/graphql.json", "tok", string(body))
	c := review12Get(t, srv.URL+"/sandbox/calls")
	if code == http.StatusOK && len(c.Refused) == 0 {
		t.Errorf("an invalid currentAppInstallation document was answered %d and refused_documents = %q", code, c.Refused)
	}
}
