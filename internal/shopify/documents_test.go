package shopify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orderdesk/orderdesk/pkg/shopifyschema"
)

// TestDocuments holds every GraphQL document orderdesk sends to the pinned
// schema: the .graphql files (as genqlient reads them, fragments shared)
// and the documents still kept as Go strings.
func TestDocuments(t *testing.T) {
	t.Parallel()
	schema, err := shopifyschema.Load("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join("graphql", "*.graphql"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no documents in graphql/: %v", err)
	}
	var sources []*ast.Source
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &ast.Source{Name: p, Input: string(b)})
	}
	if _, err := shopifyschema.ValidateSources(schema, sources...); err != nil {
		t.Error(err)
	}
	for name, doc := range map[string]string{
		"orderCancel": orderCancelMutation, "cancelJob": cancelJobQuery, "refundCreate": refundCreateMutation, "suggestedRefund": suggestedRefundQuery,
	} {
		if _, err := shopifyschema.Validate(schema, name, doc); err != nil {
			t.Error(err)
		}
	}
}
