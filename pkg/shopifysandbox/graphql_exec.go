package shopifysandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/orderdesk/orderdesk/pkg/shopifyschema"
)

// Every GraphQL document the sandbox receives is checked against the
// published schema of the request's API version (pkg/shopifyschema: the
// specification's rules and no deprecated field), and refused with a
// GraphQL error otherwise, so a typo in a document fails a test rather
// than a merchant's request. Reads are then executed for real: the
// sandbox resolves the operation's root fields to objects of Shopify's
// shape and returns exactly the selected fields (aliases, fragments,
// connections with first/after), costed the way Shopify documents it.

// maxQueryCost is the most a single query may request; Shopify refuses
// costlier queries with MAX_COST_EXCEEDED before running them.
const maxQueryCost = 1000

// parsedRequest is a validated document and the operation to run.
type parsedRequest struct {
	schema *ast.Schema
	op     *ast.OperationDefinition
	vars   map[string]any
}

// parseGraphQL validates the request's document against the schema of
// version and picks its operation.
func parseGraphQL(version string, req gqlRequest) (*parsedRequest, []gqlError) {
	schema, err := shopifyschema.Load(version)
	if err != nil {
		return nil, []gqlError{{Message: fmt.Sprintf("API version %s is not supported: %v", version, err), Extensions: map[string]any{"code": "BAD_REQUEST"}}}
	}
	doc, err := shopifyschema.Validate(schema, "request", req.Query)
	if err != nil {
		var ve *shopifyschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, []gqlError{{Message: err.Error()}}
		}
		out := make([]gqlError, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			e := gqlError{Message: p.Message, Extensions: map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}}
			if p.Line > 0 {
				e.Locations = []gqlLocation{{Line: p.Line, Column: p.Column}}
			}
			out = append(out, e)
		}
		return nil, out
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		return nil, []gqlError{{Message: fmt.Sprintf("no operation %q in the document", req.OperationName)}}
	}
	vars := map[string]any{}
	for k, raw := range req.Variables {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, []gqlError{{Message: fmt.Sprintf("Variable $%s: invalid JSON", k), Extensions: map[string]any{"code": "INVALID_VARIABLE"}}}
		}
		vars[k] = v
	}
	// Variables are coerced to their declared types as Shopify does: a
	// missing required one, or an enum value the schema lacks (a
	// compliance topic as a WebhookSubscriptionTopic), is refused.
	coerced, verr := validator.VariableValues(schema, op, vars)
	if verr != nil {
		return nil, []gqlError{{Message: strings.TrimPrefix(verr.Error(), "input: "), Extensions: map[string]any{"code": "INVALID_VARIABLE"}}}
	}
	return &parsedRequest{schema: schema, op: op, vars: coerced}, nil
}

// rootFields names the operation's top-level fields.
func (p *parsedRequest) rootFields() []string {
	var out []string
	for _, sel := range p.op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			out = append(out, f.Name)
		}
	}
	return out
}

// lazy is a field whose value depends on its arguments (a connection's
// order, a search).
type lazy func(args map[string]any) (any, error)

// connection is a list Shopify pages with first/after/last/before; each
// node is an object with an "id" the cursors are made of.
type connection []map[string]any

// lazyConnection is a connection whose nodes are rendered only when they
// are on the page asked for (a shop's orders).
type lazyConnection struct {
	ids    []string
	render func(i int) map[string]any
}

// execute resolves the operation's selection over root, an object whose
// fields are the operation type's root fields.
func (p *parsedRequest) execute(root map[string]any) (map[string]any, error) {
	return p.object(p.op.SelectionSet, root)
}

func (p *parsedRequest) object(set ast.SelectionSet, obj map[string]any) (map[string]any, error) {
	out := map[string]any{}
	typename, _ := obj["__typename"].(string)
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				out[key(s)] = typename
				continue
			}
			v, err := p.field(s, obj[s.Name])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			merge(out, key(s), v)
		case *ast.InlineFragment:
			if s.TypeCondition == "" || p.matches(s.TypeCondition, typename) {
				sub, err := p.object(s.SelectionSet, obj)
				if err != nil {
					return nil, err
				}
				for k, v := range sub {
					merge(out, k, v)
				}
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && p.matches(s.Definition.TypeCondition, typename) {
				sub, err := p.object(s.Definition.SelectionSet, obj)
				if err != nil {
					return nil, err
				}
				for k, v := range sub {
					merge(out, k, v)
				}
			}
		}
	}
	return out, nil
}

func key(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// merge sets out[k], merging objects selected more than once.
func merge(out map[string]any, k string, v any) {
	old, ok := out[k].(map[string]any)
	nv, ok2 := v.(map[string]any)
	if !ok || !ok2 {
		out[k] = v
		return
	}
	for kk, vv := range nv {
		merge(old, kk, vv)
	}
}

// matches says whether an object of typename satisfies a type condition.
func (p *parsedRequest) matches(cond, typename string) bool {
	if cond == typename || typename == "" {
		return true
	}
	def := p.schema.Types[cond]
	if def == nil || !def.IsAbstractType() {
		return false
	}
	for _, t := range p.schema.GetPossibleTypes(def) {
		if t.Name == typename {
			return true
		}
	}
	return false
}

func (p *parsedRequest) field(f *ast.Field, v any) (any, error) {
	args := f.ArgumentMap(p.vars)
	if l, ok := v.(lazy); ok {
		var err error
		if v, err = l(args); err != nil {
			return nil, err
		}
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case connection:
		ids := make([]string, len(x))
		for i, n := range x {
			ids[i], _ = n["id"].(string)
		}
		return p.page(f, lazyConnection{ids: ids, render: func(i int) map[string]any { return x[i] }}, args)
	case lazyConnection:
		return p.page(f, x, args)
	case []map[string]any:
		if n, ok := intArg(args, "first"); ok && n < len(x) {
			x = x[:n]
		}
		out := make([]any, 0, len(x))
		for _, o := range x {
			po, err := p.object(f.SelectionSet, o)
			if err != nil {
				return nil, err
			}
			out = append(out, po)
		}
		return out, nil
	case map[string]any:
		return p.object(f.SelectionSet, x)
	default:
		return x, nil
	}
}

// page answers a connection field: first/after or last/before, at most 250.
func (p *parsedRequest) page(f *ast.Field, all lazyConnection, args map[string]any) (any, error) {
	first, hasFirst := intArg(args, "first")
	last, hasLast := intArg(args, "last")
	switch {
	case hasFirst == hasLast:
		return nil, errors.New("you must provide one of first or last")
	case hasFirst && (first < 0 || first > 250), hasLast && (last < 0 || last > 250):
		return nil, errors.New("first and last must be between 0 and 250")
	}
	start, end := 0, len(all.ids)
	if after, ok := args["after"].(string); ok && after != "" {
		i, err := cursorIndex(all.ids, after)
		if err != nil {
			return nil, err
		}
		start = i + 1
	}
	if before, ok := args["before"].(string); ok && before != "" {
		i, err := cursorIndex(all.ids, before)
		if err != nil {
			return nil, err
		}
		end = i
	}
	if start > end {
		start = end
	}
	hasNext, hasPrev := end < len(all.ids), start > 0
	if hasFirst && first < end-start {
		end, hasNext = start+first, true
	}
	if hasLast && last < end-start {
		start, hasPrev = end-last, true
	}
	nodes := make([]any, 0, end-start)
	edges := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		n := all.render(i)
		edges = append(edges, map[string]any{"__typename": "Edge", "cursor": cursorOf(all.ids[i]), "node": n})
		nodes = append(nodes, n)
	}
	info := map[string]any{"__typename": "PageInfo", "hasNextPage": hasNext, "hasPreviousPage": hasPrev, "startCursor": nil, "endCursor": nil}
	if end > start {
		info["startCursor"], info["endCursor"] = cursorOf(all.ids[start]), cursorOf(all.ids[end-1])
	}
	out := map[string]any{}
	for _, sel := range f.SelectionSet {
		s, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		var v any
		switch s.Name {
		case "__typename":
			out[key(s)] = f.Definition.Type.Name()
			continue
		case "pageInfo":
			v = info
		case "nodes":
			v = nodes
		case "edges":
			v = edges
		}
		pv, err := p.list(s, v)
		if err != nil {
			return nil, err
		}
		out[key(s)] = pv
	}
	return out, nil
}

// list projects a connection's nodes or edges (or its pageInfo object).
func (p *parsedRequest) list(f *ast.Field, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		return p.object(f.SelectionSet, x)
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			m := e.(map[string]any)
			if f.Name == "edges" {
				po := map[string]any{}
				for _, sel := range f.SelectionSet {
					s, ok := sel.(*ast.Field)
					if !ok {
						continue
					}
					switch s.Name {
					case "cursor":
						po[key(s)] = m["cursor"]
					case "node":
						n, err := p.object(s.SelectionSet, m["node"].(map[string]any))
						if err != nil {
							return nil, err
						}
						po[key(s)] = n
					}
				}
				out = append(out, po)
				continue
			}
			po, err := p.object(f.SelectionSet, m)
			if err != nil {
				return nil, err
			}
			out = append(out, po)
		}
		return out, nil
	}
	return nil, nil
}

func cursorOf(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

func cursorIndex(ids []string, cursor string) (int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, fmt.Errorf("invalid cursor %q", cursor)
	}
	for i, id := range ids {
		if id == string(raw) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("invalid cursor %q", cursor)
}

func intArg(args map[string]any, name string) (int, bool) {
	switch v := args[name].(type) {
	case float64:
		return int(v), true
	case int:
		return v, true
	case int64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

// cost is the query's requested cost by Shopify's published rules
// (shopify.dev, "GraphQL Admin API rate limits"): scalars and enums 0, an
// object 1, a connection 2 plus first (or last) times the cost of a node
// (the page's pageInfo 1 more). The page does not say how plain lists of
// objects (Order.fulfillments, Order.refunds) are sized; they count as
// one element here, an approximation.
func (p *parsedRequest) cost() int {
	return p.setCost(p.op.SelectionSet)
}

func (p *parsedRequest) setCost(set ast.SelectionSet) int {
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total += p.fieldCost(s)
		case *ast.InlineFragment:
			total += p.setCost(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				total += p.setCost(s.Definition.SelectionSet)
			}
		}
	}
	return total
}

func (p *parsedRequest) fieldCost(f *ast.Field) int {
	if f.Definition == nil || f.Name == "__typename" {
		return 0
	}
	def := p.schema.Types[f.Definition.Type.Name()]
	if def == nil || def.Kind == ast.Scalar || def.Kind == ast.Enum {
		return 0
	}
	args := f.ArgumentMap(p.vars)
	n, ok := intArg(args, "first")
	if !ok {
		n, ok = intArg(args, "last")
	}
	if strings.HasSuffix(def.Name, "Connection") {
		if !ok {
			n = 1
		}
		per := 0
		for _, sel := range f.SelectionSet {
			s, isField := sel.(*ast.Field)
			switch {
			case !isField:
				per += p.setCost(ast.SelectionSet{sel})
			case s.Name == "nodes":
				per += 1 + p.setCost(s.SelectionSet)
			case s.Name == "edges":
				per += p.setCost(s.SelectionSet) // the edge's node is the object
			}
		}
		pageInfo := 0
		for _, sel := range f.SelectionSet {
			if s, isField := sel.(*ast.Field); isField && s.Name == "pageInfo" {
				pageInfo = 1
			}
		}
		return 2 + pageInfo + n*per
	}
	return 1 + p.setCost(f.SelectionSet)
}

// QueryCost is a document's requested cost by the rules the sandbox
// enforces (see cost), for tests that keep orderdesk's documents under
// Shopify's limit of 1,000 points a query.
func QueryCost(version, query, operation string, variables map[string]any) (int, error) {
	vars := map[string]json.RawMessage{}
	for k, v := range variables {
		raw, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		vars[k] = raw
	}
	p, errs := parseGraphQL(version, gqlRequest{Query: query, OperationName: operation, Variables: vars})
	if len(errs) > 0 {
		return 0, fmt.Errorf("%s", errs[0].Message)
	}
	return p.cost(), nil
}
