// Package shopifyschema holds Shopify's published Admin GraphQL schema
// (introspection from npm @shopify/dev-mcp, see PROVENANCE.md), renders it
// as SDL, and validates GraphQL documents against it: a document with an
// unknown field, a wrong argument or a deprecated field for the pinned
// version is refused. It knows nothing of the application using it.
package shopifyschema

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

//go:embed *.json.gz
var files embed.FS

// sdlFiles are the committed renderings of files (TestSDLCommitted holds
// them to the introspection); Load parses these, as rendering takes long.
//
//go:embed *.graphql
var sdlFiles embed.FS

// Provenance says where a schema file comes from.
type Provenance struct {
	APIVersion string // Admin API version, e.g. 2026-10
	File       string // embedded file name
	Package    string // npm package and version it was taken from
	Path       string // path inside the package
	SHA256     string // of the .json.gz as published
}

// versions are the pinned schemas, by API version.
var versions = map[string]Provenance{
	"2026-10": {
		APIVersion: "2026-10",
		File:       "admin_2026-10.json.gz",
		Package:    "@shopify/dev-mcp@1.16.0",
		Path:       "dist/data/admin_2026-10.json.gz",
		SHA256:     "f3b522f264556925eada700e795e4a002a9cba83444ebcc6c0d724254a0c6593",
	},
}

// Versions lists the API versions with a pinned schema.
func Versions() []string {
	out := make([]string, 0, len(versions))
	for v := range versions {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// ProvenanceOf describes the pinned schema of an API version.
func ProvenanceOf(version string) (Provenance, error) {
	p, ok := versions[version]
	if !ok {
		return Provenance{}, fmt.Errorf("no Shopify Admin schema pinned for API version %q (have %s)", version, strings.Join(Versions(), ", "))
	}
	return p, nil
}

// Raw returns the embedded .json.gz of a version, checked against its sha256.
func Raw(version string) ([]byte, error) {
	p, err := ProvenanceOf(version)
	if err != nil {
		return nil, err
	}
	b, err := files.ReadFile(p.File)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", version, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != p.SHA256 {
		return nil, fmt.Errorf("schema %s: sha256 %s, provenance says %s", version, got, p.SHA256)
	}
	return b, nil
}

type typeRef struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OfType *typeRef `json:"ofType"`
}

func (t *typeRef) String() string {
	switch t.Kind {
	case "NON_NULL":
		return t.OfType.String() + "!"
	case "LIST":
		return "[" + t.OfType.String() + "]"
	}
	return t.Name
}

type inputValue struct {
	Name              string   `json:"name"`
	Type              *typeRef `json:"type"`
	DefaultValue      *string  `json:"defaultValue"`
	IsDeprecated      bool     `json:"isDeprecated"`
	DeprecationReason *string  `json:"deprecationReason"`
}

type field struct {
	Name              string       `json:"name"`
	Args              []inputValue `json:"args"`
	Type              *typeRef     `json:"type"`
	IsDeprecated      bool         `json:"isDeprecated"`
	DeprecationReason *string      `json:"deprecationReason"`
}

type enumValue struct {
	Name              string  `json:"name"`
	IsDeprecated      bool    `json:"isDeprecated"`
	DeprecationReason *string `json:"deprecationReason"`
}

type fullType struct {
	Kind          string       `json:"kind"`
	Name          string       `json:"name"`
	IsOneOf       bool         `json:"isOneOf"`
	Fields        []field      `json:"fields"`
	InputFields   []inputValue `json:"inputFields"`
	Interfaces    []typeRef    `json:"interfaces"`
	EnumValues    []enumValue  `json:"enumValues"`
	PossibleTypes []typeRef    `json:"possibleTypes"`
}

type directive struct {
	Name         string       `json:"name"`
	Locations    []string     `json:"locations"`
	Args         []inputValue `json:"args"`
	IsRepeatable bool         `json:"isRepeatable"`
}

type introspection struct {
	Data struct {
		Schema struct {
			QueryType        *typeRef    `json:"queryType"`
			MutationType     *typeRef    `json:"mutationType"`
			SubscriptionType *typeRef    `json:"subscriptionType"`
			Types            []fullType  `json:"types"`
			Directives       []directive `json:"directives"`
		} `json:"__schema"`
	} `json:"data"`
}

// SDL renders a version's schema as GraphQL SDL, without descriptions, in
// the introspection's order (deterministic: the same file gives the same text).
func SDL(version string) (string, error) {
	raw, err := Raw(version)
	if err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("schema %s: %w", version, err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		return "", fmt.Errorf("schema %s: %w", version, err)
	}
	var in introspection
	if err := json.Unmarshal(js, &in); err != nil {
		return "", fmt.Errorf("schema %s: %w", version, err)
	}
	return render(in, version)
}

// prelude holds what gqlparser declares itself.
var prelude = map[string]bool{
	"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true,
	"include": true, "skip": true, "deprecated": true, "specifiedBy": true,
}

func render(in introspection, version string) (string, error) {
	s := in.Data.Schema
	var b strings.Builder
	fmt.Fprintf(&b, "# Shopify Admin API %s, rendered from %s. Code generated by go generate ./pkg/shopifyschema; DO NOT EDIT.\n\n", version, versions[version].File)
	b.WriteString("schema {\n")
	if s.QueryType != nil {
		fmt.Fprintf(&b, "  query: %s\n", s.QueryType.Name)
	}
	if s.MutationType != nil {
		fmt.Fprintf(&b, "  mutation: %s\n", s.MutationType.Name)
	}
	if s.SubscriptionType != nil {
		fmt.Fprintf(&b, "  subscription: %s\n", s.SubscriptionType.Name)
	}
	b.WriteString("}\n\n")
	for _, d := range s.Directives {
		if prelude[d.Name] {
			continue
		}
		fmt.Fprintf(&b, "directive @%s%s", d.Name, args(d.Args))
		if d.IsRepeatable {
			b.WriteString(" repeatable")
		}
		fmt.Fprintf(&b, " on %s\n\n", strings.Join(d.Locations, " | "))
	}
	for _, t := range s.Types {
		if strings.HasPrefix(t.Name, "__") || prelude[t.Name] {
			continue
		}
		switch t.Kind {
		case "SCALAR":
			fmt.Fprintf(&b, "scalar %s\n\n", t.Name)
		case "OBJECT", "INTERFACE":
			kw := "type"
			if t.Kind == "INTERFACE" {
				kw = "interface"
			}
			fmt.Fprintf(&b, "%s %s%s {\n", kw, t.Name, implements(t.Interfaces))
			for _, f := range t.Fields {
				fmt.Fprintf(&b, "  %s%s: %s%s\n", f.Name, args(f.Args), f.Type, deprecated(f.IsDeprecated, f.DeprecationReason))
			}
			b.WriteString("}\n\n")
		case "UNION":
			names := make([]string, 0, len(t.PossibleTypes))
			for _, p := range t.PossibleTypes {
				names = append(names, p.Name)
			}
			fmt.Fprintf(&b, "union %s = %s\n\n", t.Name, strings.Join(names, " | "))
		case "ENUM":
			fmt.Fprintf(&b, "enum %s {\n", t.Name)
			for _, v := range t.EnumValues {
				fmt.Fprintf(&b, "  %s%s\n", v.Name, deprecated(v.IsDeprecated, v.DeprecationReason))
			}
			b.WriteString("}\n\n")
		case "INPUT_OBJECT":
			oneOf := ""
			if t.IsOneOf {
				oneOf = " @oneOf"
			}
			fmt.Fprintf(&b, "input %s%s {\n", t.Name, oneOf)
			for _, f := range t.InputFields {
				fmt.Fprintf(&b, "  %s\n", inputDef(f))
			}
			b.WriteString("}\n\n")
		default:
			return "", fmt.Errorf("schema %s: type %s of unknown kind %s", version, t.Name, t.Kind)
		}
	}
	return b.String(), nil
}

func implements(ifaces []typeRef) string {
	if len(ifaces) == 0 {
		return ""
	}
	names := make([]string, 0, len(ifaces))
	for _, i := range ifaces {
		names = append(names, i.Name)
	}
	return " implements " + strings.Join(names, " & ")
}

func args(in []inputValue) string {
	if len(in) == 0 {
		return ""
	}
	parts := make([]string, 0, len(in))
	for _, a := range in {
		parts = append(parts, inputDef(a))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func inputDef(v inputValue) string {
	s := v.Name + ": " + v.Type.String()
	if v.DefaultValue != nil {
		s += " = " + *v.DefaultValue
	}
	return s + deprecated(v.IsDeprecated, v.DeprecationReason)
}

func deprecated(is bool, reason *string) string {
	if !is {
		return ""
	}
	if reason == nil || *reason == "" {
		return " @deprecated"
	}
	return " @deprecated(reason: " + strconv.Quote(*reason) + ")"
}

// cache keeps each version's parsed schema: the embedded file is immutable,
// and parsing it takes a noticeable fraction of a second.
var cache sync.Map // version -> func() (*ast.Schema, error)

// Load parses a version's schema, from its committed SDL.
func Load(version string) (*ast.Schema, error) {
	f, _ := cache.LoadOrStore(version, sync.OnceValues(func() (*ast.Schema, error) {
		if _, err := ProvenanceOf(version); err != nil {
			return nil, err
		}
		name := "admin_" + version + ".graphql"
		sdl, err := sdlFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", version, err)
		}
		s, gerr := gqlparser.LoadSchema(&ast.Source{Name: name, Input: string(sdl)})
		if gerr != nil {
			return nil, fmt.Errorf("schema %s: %w", version, gerr)
		}
		return s, nil
	}))
	return f.(func() (*ast.Schema, error))()
}

// Problem is one reason a document is refused.
type Problem struct {
	Message string
	Source  string // file name, when known
	Line    int
	Column  int
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.Source, p.Line, p.Column, p.Message)
}

// ValidationError lists everything wrong with a document.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		msgs = append(msgs, p.String())
	}
	return "invalid GraphQL: " + strings.Join(msgs, "; ")
}

// Validate parses a document and checks it against the schema: the
// GraphQL specification's rules, and no deprecated field, argument, input
// field or enum value. It returns the parsed document when it is valid.
func Validate(schema *ast.Schema, name, doc string) (*ast.QueryDocument, error) {
	return ValidateSources(schema, &ast.Source{Name: name, Input: doc})
}

// ValidateSources checks several files as one document: operations in
// some, the fragments they spread in others (as genqlient reads them).
func ValidateSources(schema *ast.Schema, sources ...*ast.Source) (*ast.QueryDocument, error) {
	q := &ast.QueryDocument{}
	ve := &ValidationError{}
	add := func(errs gqlerror.List) {
		for _, e := range errs {
			p := Problem{Message: e.Message}
			if len(e.Locations) > 0 {
				p.Line, p.Column = e.Locations[0].Line, e.Locations[0].Column
			}
			ve.Problems = append(ve.Problems, p)
		}
	}
	for _, src := range sources {
		doc, err := parser.ParseQuery(src)
		if err != nil {
			var ge *gqlerror.Error
			if errors.As(err, &ge) {
				p := Problem{Message: ge.Message, Source: src.Name}
				if len(ge.Locations) > 0 {
					p.Line, p.Column = ge.Locations[0].Line, ge.Locations[0].Column
				}
				ve.Problems = append(ve.Problems, p)
				continue
			}
			ve.Problems = append(ve.Problems, Problem{Message: err.Error(), Source: src.Name})
			continue
		}
		q.Operations = append(q.Operations, doc.Operations...)
		q.Fragments = append(q.Fragments, doc.Fragments...)
	}
	if len(ve.Problems) > 0 {
		return nil, ve
	}
	add(validator.Validate(schema, q))
	for i := range ve.Problems {
		ve.Problems[i].Source = sourceAt(sources, ve.Problems[i])
	}
	if len(ve.Problems) > 0 {
		return nil, ve
	}
	if probs := deprecations(schema, q); len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	return q, nil
}

// sourceAt names the file of a problem when there is only one file.
func sourceAt(sources []*ast.Source, p Problem) string {
	if p.Source != "" || len(sources) != 1 {
		return p.Source
	}
	return sources[0].Name
}

// deprecations finds every deprecated thing a valid document uses.
func deprecations(schema *ast.Schema, q *ast.QueryDocument) []Problem {
	var out []Problem
	at := func(pos *ast.Position, msg string) {
		p := Problem{Message: msg}
		if pos != nil {
			p.Line, p.Column = pos.Line, pos.Column
			if pos.Src != nil {
				p.Source = pos.Src.Name
			}
		}
		out = append(out, p)
	}
	var value func(v *ast.Value, t *ast.Type)
	value = func(v *ast.Value, t *ast.Type) {
		if v == nil || t == nil {
			return
		}
		def := schema.Types[t.Name()]
		switch {
		case v.Kind == ast.ListValue && t.Elem != nil:
			for _, c := range v.Children {
				value(c.Value, t.Elem)
			}
		case v.Kind == ast.EnumValue && def != nil:
			if ev := def.EnumValues.ForName(v.Raw); ev != nil {
				if d := ev.Directives.ForName("deprecated"); d != nil {
					at(v.Position, fmt.Sprintf("enum value %s.%s is deprecated: %s", def.Name, ev.Name, reason(d)))
				}
			}
		case v.Kind == ast.ObjectValue && def != nil:
			for _, c := range v.Children {
				f := def.Fields.ForName(c.Name)
				if f == nil {
					continue
				}
				if d := f.Directives.ForName("deprecated"); d != nil {
					at(c.Position, fmt.Sprintf("input field %s.%s is deprecated: %s", def.Name, f.Name, reason(d)))
				}
				value(c.Value, f.Type)
			}
		}
	}
	var walk func(set ast.SelectionSet)
	seen := map[string]bool{}
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if s.Definition != nil {
					if d := s.Definition.Directives.ForName("deprecated"); d != nil {
						at(s.Position, fmt.Sprintf("field %s.%s is deprecated: %s", s.ObjectDefinition.Name, s.Name, reason(d)))
					}
					for _, a := range s.Arguments {
						ad := s.Definition.Arguments.ForName(a.Name)
						if ad == nil {
							continue
						}
						if d := ad.Directives.ForName("deprecated"); d != nil {
							at(a.Position, fmt.Sprintf("argument %s(%s:) is deprecated: %s", s.Name, a.Name, reason(d)))
						}
						value(a.Value, ad.Type)
					}
				}
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if s.Definition != nil && !seen[s.Name] {
					seen[s.Name] = true
					walk(s.Definition.SelectionSet)
				}
			}
		}
	}
	for _, op := range q.Operations {
		for _, v := range op.VariableDefinitions {
			value(v.DefaultValue, v.Type)
		}
		walk(op.SelectionSet)
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return out
}

func reason(d *ast.Directive) string {
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		return a.Value.Raw
	}
	return "no reason given"
}
