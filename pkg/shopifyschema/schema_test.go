package shopifyschema

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestProvenance(t *testing.T) {
	for _, v := range Versions() {
		if _, err := Raw(v); err != nil {
			t.Fatal(err)
		}
		p, _ := ProvenanceOf(v)
		doc, err := os.ReadFile("PROVENANCE.md")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), p.SHA256) || !strings.Contains(string(doc), p.Package) {
			t.Errorf("PROVENANCE.md does not name %s and %s", p.Package, p.SHA256)
		}
	}
	if _, err := ProvenanceOf("2019-04"); err == nil {
		t.Error("a version without a pinned schema was accepted")
	}
}

// TestSDLCommitted holds the committed SDL (what genqlient reads) to the
// embedded introspection.
func TestSDLCommitted(t *testing.T) {
	want, err := SDL("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("admin_2026-10.graphql")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("admin_2026-10.graphql is stale: run go generate ./pkg/shopifyschema")
	}
}

func TestValidate(t *testing.T) {
	schema, err := Load("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc string
		wantErr   string // empty: valid
	}{
		{"valid order read", `query($id: ID!) { order(id: $id) { id name displayFinancialStatus totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount } } } }`, ""},
		{"valid keyed mutation", `mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) { refund { id } userErrors { field message } } }`, ""},
		{"unknown field", `query($id: ID!) { order(id: $id) { id finacialStatus } }`, `Cannot query field "finacialStatus" on type "Order"`},
		{"wrong argument", `query { orders(frist: 10) { nodes { id } } }`, `Unknown argument "frist"`},
		{"undeclared variable", `query { order(id: $id) { id } }`, `Variable "$id" is not defined`},
		{"syntax", `query { order(id: "x") { id `, `Expected Name`},
		{"deprecated field", `query($id: ID!) { order(id: $id) { id netPayment } }`, "field Order.netPayment is deprecated"},
		{"deprecated field in a fragment", `query($id: ID!) { order(id: $id) { ...F } } fragment F on Order { id cartDiscountAmount }`, "field Order.cartDiscountAmount is deprecated"},
		{"deprecated enum value in a literal", `mutation { refundCreate(input: {orderId: "gid://shopify/Order/1", currency: BYR}) { refund { id } } }`, "enum value CurrencyCode.BYR is deprecated"},
		{"current enum value in a literal", `mutation { refundCreate(input: {orderId: "gid://shopify/Order/1", currency: EUR}) { refund { id } } }`, ""},
		{"sort key", `query { orders(first: 1, sortKey: UPDATED_AT, query: "updated_at:>=2026-01-01") { nodes { id } pageInfo { hasNextPage endCursor } } }`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(schema, tt.name, tt.doc)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused a valid document: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("accepted a document that should fail with %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			}
			var ve *ValidationError
			if err != nil && !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
		})
	}
}
