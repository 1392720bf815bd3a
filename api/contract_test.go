package api_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/orders"
)

// TestContractConventions holds the served document to the conventions
// of the contract, for every operation and schema (later ones included):
// one media type per answer, X-Request-Id documented on every answer,
// formats on times, ids and money, examples on every property.
func TestContractConventions(t *testing.T) {
	t.Parallel()
	raw, err := api.OpenAPI3()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if s := doc.Components.SecuritySchemes["BearerAuth"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("the security scheme is not http bearer: %+v", s)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.Security == nil {
				t.Errorf("%s: no security (public operations say security: [])", where)
			}
			for code, resp := range op.Responses.Map() {
				status, _ := strconv.Atoi(code)
				if resp.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: X-Request-Id not documented (@Header all {string} X-Request-Id)", where, code)
				}
				want := "application/json"
				if status >= 400 {
					want = "application/problem+json"
				}
				for mt := range resp.Value.Content {
					if mt != want {
						t.Errorf("%s %s: media type %s, want only %s", where, code, mt, want)
					}
				}
			}
		}
	}
	money := regexp.MustCompile(`(^|_)(amount|price)$|^total_|_price$`)
	for name, ref := range doc.Components.Schemas {
		for prop, p := range ref.Value.Properties {
			s, where := p.Value, name+"."+prop
			if p.Ref != "" || len(s.AllOf) > 0 || s.Type.Is(openapi3.TypeArray) && s.Items != nil && s.Items.Ref != "" {
				continue
			}
			if s.Example == nil {
				t.Errorf("%s: no example", where)
			}
			switch {
			case strings.HasSuffix(prop, "_at") && s.Format != "date-time":
				t.Errorf("%s: a time without format date-time", where)
			case s.Type.Is(openapi3.TypeInteger) && (prop == "id" || strings.HasSuffix(prop, "_id")) && s.Format != "int64":
				t.Errorf("%s: an id without format int64", where)
			case money.MatchString(prop) && s.Type.Is(openapi3.TypeString) && (s.Format != "decimal" || s.Pattern != orders.MoneyPattern):
				t.Errorf("%s: money without format decimal and the money pattern (tag it format:\"decimal\")", where)
			}
		}
	}
}
