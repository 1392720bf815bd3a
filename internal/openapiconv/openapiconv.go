// Package openapiconv converts swag's Swagger 2.0 output to the OpenAPI 3.0
// document orderdesk serves, completing what Swagger 2.0 cannot say. It
// runs when the docs are generated (make docs, cmd/orderdesk-openapi), not
// in the service: kin-openapi and its JSON Schema compiler cost the binary
// 2-3 MB and its start-up 1.7 MB of allocations.
package openapiconv

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderdesk/orderdesk/internal/orders"
)

const (
	mediaJSON    = "application/json"
	mediaProblem = "application/problem+json"
)

// Convert turns a Swagger 2.0 document (swag's swagger.json) into the
// OpenAPI 3.0 one, indented JSON.
func Convert(swagger2 []byte) ([]byte, error) {
	var v2 openapi2.T
	if err := json.Unmarshal(swagger2, &v2); err != nil {
		return nil, fmt.Errorf("read swagger 2.0 document: %w", err)
	}
	v3, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("convert to openapi 3: %w", err)
	}
	completeOpenAPI3(v3)
	out, err := json.MarshalIndent(v3, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode openapi 3: %w", err)
	}
	return out, nil
}

// completeOpenAPI3 says in OpenAPI 3 what Swagger 2.0 (and so swag) cannot:
//   - one media type per response: application/json for success,
//     application/problem+json for errors (2.0's produces lists both for
//     every response, which generated clients cannot tell apart);
//   - the bearer scheme, an http scheme in 3.0 (2.0 has only apiKey), and
//     security: [] on the operations that take no API key;
//   - a type next to nullable on a nullable $ref (allOf), as 3.0 wants;
//   - the one money syntax, orders.MoneyPattern, on every field of
//     format "decimal";
//   - examples for the free-form objects (timeline data, webhook payload,
//     an action event's request).
func completeOpenAPI3(doc *openapi3.T) {
	if doc.Components != nil {
		if scheme, ok := doc.Components.SecuritySchemes["BearerAuth"]; ok && scheme.Value != nil {
			scheme.Value = &openapi3.SecurityScheme{
				Type: "http", Scheme: "bearer",
				Description: "An orderdesk API key: send Authorization: Bearer <api key>.",
			}
		}
	}
	doc.Security = nil
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Security == nil {
				op.Security = openapi3.NewSecurityRequirements() // public: security: []
			}
			for code, resp := range op.Responses.Map() {
				if resp.Value == nil || resp.Value.Content == nil {
					continue
				}
				want := mediaJSON
				if status, err := strconv.Atoi(code); err == nil && status >= 400 {
					want = mediaProblem
				}
				for mt := range resp.Value.Content {
					if mt != want {
						delete(resp.Value.Content, mt)
					}
				}
			}
		}
	}
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Nullable && s.Type == nil && len(s.AllOf) > 0 {
			s.Type = &openapi3.Types{openapi3.TypeObject}
		}
		if s.Type.Is(openapi3.TypeString) && s.Format == "decimal" {
			s.Pattern = orders.MoneyPattern
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		for _, sub := range s.AllOf {
			walk(sub)
		}
	}
	if doc.Components != nil {
		for _, s := range doc.Components.Schemas {
			walk(s)
		}
		// swag cannot write an example for a map of any values.
		if ev, ok := doc.Components.Schemas["TimelineEvent"]; ok && ev.Value != nil {
			if data, ok := ev.Value.Properties["data"]; ok && data.Value != nil {
				data.Value.Example = map[string]any{"refund_id": 509562969, "amount": "10.00", "currency": "USD", "note": "damaged"}
			}
		}
		if ev, ok := doc.Components.Schemas["EventAction"]; ok && ev.Value != nil {
			if req, ok := ev.Value.Properties["request"]; ok && req.Value != nil {
				req.Value.Example = map[string]any{"amount": "10.00", "note": "damaged", "notify_customer": true}
			}
		}
		if p, ok := doc.Components.Schemas["WebhookPayload"]; ok && p.Value != nil {
			p.Value.Example = map[string]any{"id": 450789469, "name": "#1001", "updated_at": "2026-11-21T08:30:00-05:00", "financial_status": "paid"}
		}
	}
}
