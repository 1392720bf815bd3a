package shopify

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gqlast "github.com/vektah/gqlparser/v2/ast"

	"github.com/orderdesk/orderdesk/pkg/shopifyschema"
)

// TestDocuments holds every GraphQL document orderdesk sends to the pinned
// schema: the .graphql files (as genqlient reads them, fragments shared),
// and each operation as generated.go sends it (genqlient prints it again,
// with its fragments). No document is kept as a Go string elsewhere.
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
	var sources []*gqlast.Source
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &gqlast.Source{Name: p, Input: string(b)})
	}
	if _, err := shopifyschema.ValidateSources(schema, sources...); err != nil {
		t.Error(err)
	}

	sent := operations(t, "generated.go")
	for _, name := range []string{"orderCancel", "cancelJob", "refundCreate", "suggestedRefund", "installationProbe", "AccessScopes"} {
		if _, ok := sent[name]; !ok {
			t.Errorf("generated.go has no %s operation", name)
		}
	}
	for name, doc := range sent {
		if _, err := shopifyschema.Validate(schema, name, doc); err != nil {
			t.Errorf("%s as sent: %v", name, err)
		}
	}
	// The key goes to Shopify in the directive, not only as a variable.
	if doc := sent["refundCreate"]; !strings.Contains(doc, "refundCreate(input: $input) @idempotent(key: $idempotencyKey)") {
		t.Errorf("refundCreate is sent without @idempotent(key:):\n%s", doc)
	}
	if doc := sent["orderCancel"]; strings.Contains(doc, "@idempotent") {
		t.Errorf("orderCancel takes no @idempotent key in 2026-10:\n%s", doc)
	}

	// Every other Go file of the package sends none of its own.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "generated.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		for name := range literals(t, f) {
			t.Errorf("%s holds a GraphQL document in a Go string (%q): move it to graphql/", f, name)
		}
	}
}

// operations are generated.go's *_Operation constants, by operation name.
func operations(t *testing.T, file string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, doc := range stringConsts(t, file) {
		if op, ok := strings.CutSuffix(name, "_Operation"); ok {
			out[op] = doc
		}
	}
	return out
}

// literals are a file's string literals that open like a GraphQL
// operation, by where they are.
func literals(t *testing.T, file string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		v = strings.TrimSpace(v)
		for _, kw := range []string{"query", "mutation", "subscription"} {
			if rest, ok := strings.CutPrefix(v, kw); ok && strings.Contains(rest, "{") && strings.HasSuffix(rest, "}") {
				out[fset.Position(lit.Pos()).String()] = v
			}
		}
		return true
	})
	return out
}

func stringConsts(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if v, err := strconv.Unquote(lit.Value); err == nil {
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}
