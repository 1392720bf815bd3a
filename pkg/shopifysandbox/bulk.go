package shopifysandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Bulk operations, as Shopify documents them (shopify.dev, "Perform bulk
// operations with the GraphQL Admin API", and the 2026-10 reference of
// bulkOperationRunQuery and BulkOperation):
//   - bulkOperationRunQuery(query:, groupObjects:) validates the inner
//     query against the schema; it must select a single top-level
//     connection field and may hold at most five connections, nested at
//     most two levels deep. Problems are userErrors (code INVALID).
//   - API versions 2026-01 and later run up to five bulk queries at a time
//     per shop (the sixth is LIMIT_REACHED); earlier ones run one
//     (OPERATION_IN_PROGRESS).
//   - The result is JSONL: one line per object. The nodes of a nested
//     connection are lines of their own naming their parent's id in
//     __parentId, never nested in the parent's line; plain lists and
//     objects stay inline. The sandbox always writes a parent's children
//     right after it (what groupObjects: true guarantees), so output
//     grouped or not is valid for either.
//   - bulkOperationCancel(id:) cancels a created or running operation
//     (CANCELED: the sandbox skips CANCELING); any other is a userError.
//   - bulkOperation(id:) and node(id:) report status, objectCount,
//     rootObjectCount, fileSize and url (currentBulkOperation is
//     deprecated in 2026-10, so the schema check refuses it).
// The sandbox serves the file at /sandbox/bulk/{id}.jsonl with Range
// support (bytes=N-), like the signed storage URL Shopify hands out, and
// counts how often each line was sent so tests can show a resumed
// download reads nothing twice.

// Bulk operation limits (see above).
const (
	bulkMaxConnections = 5
	bulkMaxDepth       = 2
	bulkConcurrent     = 5 // 2026-01 and later; 1 before
)

// BulkFault changes how the sandbox runs bulk operations.
type BulkFault struct {
	// Refuse answers every bulkOperationRunQuery with a userError of this
	// code (OPERATION_IN_PROGRESS, LIMIT_REACHED, INVALID).
	Refuse string `json:"refuse,omitempty"`
	// Fail ends new operations FAILED with this errorCode
	// (INTERNAL_SERVER_ERROR, TIMEOUT, ACCESS_DENIED), no url.
	Fail string `json:"fail,omitempty"`
	// Hold keeps new operations RUNNING until the fault is cleared.
	Hold bool `json:"hold,omitempty"`
	// CutAtLine ends the next download of a result that carries line N
	// (counted from 1 in its file) in the middle of that line, as a
	// dropped connection would.
	CutAtLine int `json:"cut_at_line,omitempty"`
}

// BulkOperation is what the sandbox knows of one bulk operation.
type BulkOperation struct {
	ID          string `json:"id"`
	Query       string `json:"query"`
	Status      string `json:"status"`
	ErrorCode   string `json:"error_code,omitempty"`
	Objects     int    `json:"object_count"`
	RootObjects int    `json:"root_object_count"`
	FileSize    int    `json:"file_size"`
	// CompletedAt is when the result file was ready (zero until then).
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

type bulkOp struct {
	BulkOperation
	created, completed time.Time
	data               []byte
	lineStarts         []int // offset of each line in data
	reads              []int // times each line was sent
}

type bulkState struct {
	mu    sync.Mutex
	ops   map[string]*bulkOp
	order []string
	fault BulkFault
	next  uint64
}

func (s *Sandbox) bulk() *bulkState {
	s.bulkOnce.Do(func() { s.bulkOps = &bulkState{ops: map[string]*bulkOp{}} })
	return s.bulkOps
}

// SetBulkFault sets (or, with the zero value, clears) the bulk fault.
// Clearing Hold lets held operations complete.
func (s *Sandbox) SetBulkFault(f BulkFault) {
	b := s.bulk()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fault = f
	if !f.Hold {
		for _, op := range b.ops {
			if op.Status == "RUNNING" && op.ErrorCode == "" && op.data != nil {
				op.Status, op.completed = "COMPLETED", s.opts.Now()
			}
		}
	}
}

// BulkOperations lists the bulk operations run so far, oldest first.
func (s *Sandbox) BulkOperations() []BulkOperation {
	b := s.bulk()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]BulkOperation, 0, len(b.order))
	for _, id := range b.order {
		op := b.ops[id].BulkOperation
		if op.Status == "COMPLETED" {
			op.CompletedAt = b.ops[id].completed
		}
		out = append(out, op)
	}
	return out
}

// BulkLineReads is how many times each line of an operation's result was
// sent, in file order (nil for an unknown operation).
func (s *Sandbox) BulkLineReads(id string) []int {
	b := s.bulk()
	b.mu.Lock()
	defer b.mu.Unlock()
	if op, ok := b.ops[id]; ok {
		return slices.Clone(op.reads)
	}
	return nil
}

// serveBulk answers the bulk operation documents: bulkOperationRunQuery,
// and bulkOperation(id:) / node(id:) on a BulkOperation. It reports
// whether the document was one of those.
func (s *Sandbox) serveBulk(w http.ResponseWriter, r *http.Request, p *parsedRequest, version string) bool {
	roots := p.rootFields()
	if len(roots) != 1 {
		return false
	}
	switch {
	case p.op.Operation == ast.Mutation && roots[0] == "bulkOperationRunQuery":
		data, err := p.execute(map[string]any{"__typename": "Mutation", "bulkOperationRunQuery": lazy(func(args map[string]any) (any, error) {
			return s.runBulk(r, version, args), nil
		})})
		s.answerBulk(w, data, err)
		return true
	case p.op.Operation == ast.Mutation && roots[0] == "bulkOperationCancel":
		data, err := p.execute(map[string]any{"__typename": "Mutation", "bulkOperationCancel": lazy(func(args map[string]any) (any, error) {
			return s.cancelBulk(r, args), nil
		})})
		s.answerBulk(w, data, err)
		return true
	case p.op.Operation == ast.Query && (roots[0] == "bulkOperation" || roots[0] == "node"):
		if roots[0] == "node" {
			f := p.op.SelectionSet[0].(*ast.Field)
			if id, _ := f.ArgumentMap(p.vars)["id"].(string); !strings.HasPrefix(id, "gid://shopify/BulkOperation/") {
				return false
			}
		}
		find := lazy(func(args map[string]any) (any, error) {
			id, _ := args["id"].(string)
			b := s.bulk()
			b.mu.Lock()
			defer b.mu.Unlock()
			op, ok := b.ops[id]
			if !ok {
				return nil, nil
			}
			return s.bulkObject(r, op), nil
		})
		data, err := p.execute(map[string]any{"__typename": "QueryRoot", "bulkOperation": find, "node": find})
		s.answerBulk(w, data, err)
		return true
	}
	return false
}

func (s *Sandbox) answerBulk(w http.ResponseWriter, data map[string]any, err error) {
	if err != nil {
		s.writeGraphQL(w, nil, []gqlError{{Message: err.Error(), Extensions: map[string]any{"code": "BAD_REQUEST"}}})
		return
	}
	s.writeGraphQL(w, data, nil)
}

// bulkObject renders an operation as the Admin API's BulkOperation;
// callers hold the bulk lock.
func (s *Sandbox) bulkObject(r *http.Request, op *bulkOp) map[string]any {
	out := map[string]any{
		"__typename": "BulkOperation", "id": op.ID, "query": op.Query, "type": "QUERY",
		"status": op.Status, "errorCode": nullable(op.ErrorCode),
		"createdAt": op.created.UTC().Format(time.RFC3339), "completedAt": nil,
		"objectCount": strconv.Itoa(op.Objects), "rootObjectCount": strconv.Itoa(op.RootObjects),
		"fileSize": nil, "url": nil, "partialDataUrl": nil,
	}
	if op.Status == "COMPLETED" {
		out["completedAt"] = op.completed.UTC().Format(time.RFC3339)
		out["fileSize"] = strconv.Itoa(op.FileSize)
		out["url"] = "http://" + r.Host + "/sandbox/bulk/" + strconv.FormatUint(gidID(op.ID), 10) + ".jsonl"
	}
	return out
}

// runBulk is bulkOperationRunQuery: it checks the inner query, starts the
// operation and returns the payload.
func (s *Sandbox) runBulk(r *http.Request, version string, args map[string]any) map[string]any {
	refuse := func(code, msg string) map[string]any {
		return map[string]any{"__typename": "BulkOperationRunQueryPayload", "bulkOperation": nil,
			"userErrors": []map[string]any{{"__typename": "BulkOperationUserError", "field": []string{"query"}, "message": msg, "code": code}}}
	}
	query, _ := args["query"].(string)
	inner, errs := parseGraphQL(version, gqlRequest{Query: query})
	if len(errs) > 0 {
		return refuse("INVALID", "Invalid bulk query: "+errs[0].Message)
	}
	if err := checkBulkQuery(inner); err != nil {
		return refuse("INVALID", err.Error())
	}
	b := s.bulk()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fault.Refuse != "" {
		return refuse(b.fault.Refuse, "A bulk query operation for this app and shop is already in progress.")
	}
	running := 0
	for _, op := range b.ops {
		if op.Status == "CREATED" || op.Status == "RUNNING" {
			running++
		}
	}
	switch limit := bulkLimit(version); {
	case limit == 1 && running > 0:
		return refuse("OPERATION_IN_PROGRESS", "A bulk query operation for this app and shop is already in progress.")
	case running >= limit:
		return refuse("LIMIT_REACHED", fmt.Sprintf("Bulk operations limit reached (%d at a time). Please try again later.", limit))
	}
	b.next++
	op := &bulkOp{created: s.opts.Now()}
	op.ID, op.Query, op.Status = gqlID("BulkOperation", 8_000_000+b.next), query, "RUNNING"
	b.ops[op.ID] = op
	b.order = append(b.order, op.ID)
	fault := b.fault
	go s.executeBulk(op, inner, fault)
	return map[string]any{"__typename": "BulkOperationRunQueryPayload", "bulkOperation": s.bulkObject(r, op), "userErrors": []any{}}
}

// cancelBulk is bulkOperationCancel: a created or running operation is
// CANCELED (Shopify passes through CANCELING; the sandbox stops at once:
// its file is never served); any other is a userError, as Shopify answers.
func (s *Sandbox) cancelBulk(r *http.Request, args map[string]any) map[string]any {
	id, _ := args["id"].(string)
	b := s.bulk()
	b.mu.Lock()
	defer b.mu.Unlock()
	refuse := func(msg string) map[string]any {
		return map[string]any{"__typename": "BulkOperationCancelPayload", "bulkOperation": nil,
			"userErrors": []map[string]any{{"__typename": "UserError", "field": []string{"id"}, "message": msg}}}
	}
	op, ok := b.ops[id]
	if !ok {
		return refuse("Bulk operation does not exist")
	}
	if op.Status != "CREATED" && op.Status != "RUNNING" {
		return refuse("A bulk operation cannot be canceled when it is " + strings.ToLower(op.Status))
	}
	op.Status = "CANCELED"
	return map[string]any{"__typename": "BulkOperationCancelPayload", "bulkOperation": s.bulkObject(r, op), "userErrors": []any{}}
}

// bulkLimit is how many bulk queries an API version runs at once.
func bulkLimit(version string) int {
	if version == "unstable" || version >= "2026-01" {
		return bulkConcurrent
	}
	return 1
}

// checkBulkQuery applies Shopify's bulk query rules to a validated query.
func checkBulkQuery(p *parsedRequest) error {
	if p.op.Operation != ast.Query {
		return errors.New("bulk queries must be queries, not " + string(p.op.Operation))
	}
	fields := p.op.SelectionSet
	if len(fields) != 1 {
		return errors.New("bulk queries must select a single top-level field")
	}
	root, ok := fields[0].(*ast.Field)
	if !ok || !isConnection(root) {
		return errors.New("bulk queries must contain at least one connection, at the top level")
	}
	n, depth := countConnections(ast.SelectionSet{root}, 0)
	switch {
	case n > bulkMaxConnections:
		return fmt.Errorf("bulk queries cannot contain more than %d connections (this one has %d)", bulkMaxConnections, n)
	case depth > bulkMaxDepth:
		return fmt.Errorf("bulk queries cannot nest connections more than %d levels deep (this one nests %d)", bulkMaxDepth, depth)
	}
	return nil
}

func isConnection(f *ast.Field) bool {
	return f.Definition != nil && strings.HasSuffix(f.Definition.Type.Name(), "Connection")
}

// countConnections counts the connection fields of a selection and the
// deepest nesting of connections in it.
func countConnections(set ast.SelectionSet, depth int) (count, deepest int) {
	deepest = depth
	for _, sel := range set {
		var sub ast.SelectionSet
		d := depth
		switch s := sel.(type) {
		case *ast.Field:
			if isConnection(s) {
				count++
				d++
			}
			sub = s.SelectionSet
		case *ast.InlineFragment:
			sub = s.SelectionSet
		case *ast.FragmentSpread:
			if s.Definition != nil {
				sub = s.Definition.SelectionSet
			}
		}
		c, dd := countConnections(sub, d)
		count += c
		deepest = max(deepest, dd)
	}
	return count, deepest
}

// executeBulk writes the operation's JSONL over the shop's data as it is
// now, then completes it (or fails it, or holds it, per fault).
func (s *Sandbox) executeBulk(op *bulkOp, p *parsedRequest, fault BulkFault) {
	w := &bulkWriter{p: p}
	s.mu.RLock() // rendering only reads the shop's data
	err := w.run(s.readRootLocked())
	s.mu.RUnlock()
	b := s.bulk()
	b.mu.Lock()
	defer b.mu.Unlock()
	if op.Status == "CANCELED" {
		return // cancelled while it ran: no result
	}
	op.Objects, op.RootObjects = len(w.starts), w.roots
	switch {
	case err != nil || fault.Fail != "":
		op.Status, op.ErrorCode = "FAILED", "INTERNAL_SERVER_ERROR"
		if fault.Fail != "" {
			op.ErrorCode = fault.Fail
		}
		return
	}
	op.data, op.lineStarts, op.reads, op.FileSize = w.buf.Bytes(), w.starts, make([]int, len(w.starts)), w.buf.Len()
	if !b.fault.Hold {
		op.Status, op.completed = "COMPLETED", s.opts.Now()
	}
}

// bulkWriter renders a bulk query's result as JSONL.
type bulkWriter struct {
	p      *parsedRequest
	buf    bytes.Buffer
	starts []int
	roots  int
}

func (w *bulkWriter) run(root map[string]any) error {
	f := w.p.op.SelectionSet[0].(*ast.Field)
	nodes, err := w.connection(f, root[f.Name])
	if err != nil {
		return err
	}
	w.roots = nodes.count
	return nodes.write(w, "")
}

// nodes are a connection's nodes still to be written, rendered one at a
// time, with the selection that applies to each.
type nodes struct {
	set    ast.SelectionSet
	count  int
	render func(i int) map[string]any
}

func (n nodes) write(w *bulkWriter, parentID string) error {
	for i := range n.count {
		if err := w.node(n.set, n.render(i), parentID); err != nil {
			return err
		}
	}
	return nil
}

// connection lists a connection field's nodes with the selection that
// applies to each (under nodes, or edges { node }); pagination arguments
// are ignored, as in Shopify's bulk queries, other arguments (query,
// sortKey, reverse) apply.
func (w *bulkWriter) connection(f *ast.Field, v any) (nodes, error) {
	args := f.ArgumentMap(w.p.vars)
	delete(args, "first")
	delete(args, "after")
	delete(args, "last")
	delete(args, "before")
	if l, ok := v.(lazy); ok {
		var err error
		if v, err = l(args); err != nil {
			return nodes{}, err
		}
	}
	var all lazyConnection
	switch x := v.(type) {
	case lazyConnection:
		all = x
	case connection:
		all = lazyConnection{ids: make([]string, len(x)), render: func(i int) map[string]any { return x[i] }}
	case nil:
		return nodes{}, nil
	default:
		return nodes{}, fmt.Errorf("%s is not a connection", f.Name)
	}
	var set ast.SelectionSet
	for _, sel := range f.SelectionSet {
		s, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		switch s.Name {
		case "nodes":
			set = append(set, s.SelectionSet...)
		case "edges":
			for _, e := range s.SelectionSet {
				if n, ok := e.(*ast.Field); ok && n.Name == "node" {
					set = append(set, n.SelectionSet...)
				}
			}
		}
	}
	return nodes{set: set, count: len(all.ids), render: all.render}, nil
}

// node writes one object's line, then the lines of its nested connections.
func (w *bulkWriter) node(set ast.SelectionSet, obj map[string]any, parentID string) error {
	line := map[string]any{}
	var children []func() error
	if err := w.project(set, obj, line, &children); err != nil {
		return err
	}
	if parentID != "" {
		line["__parentId"] = parentID
	}
	w.starts = append(w.starts, w.buf.Len())
	raw, err := appendJSON(w.buf.AvailableBuffer(), line)
	if err != nil {
		return err
	}
	w.buf.Write(raw)
	w.buf.WriteByte('\n')
	for _, c := range children {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// project copies the selected fields of obj into out; nested connections
// become children written after the line, linked by obj's id.
func (w *bulkWriter) project(set ast.SelectionSet, obj map[string]any, out map[string]any, children *[]func() error) error {
	typename, _ := obj["__typename"].(string)
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				out[key(s)] = typename
				continue
			}
			if isConnection(s) {
				owner, _ := obj["id"].(string)
				if owner == "" {
					return fmt.Errorf("the parent of connection %s must have an id", s.Name)
				}
				n, err := w.connection(s, obj[s.Name])
				if err != nil {
					return err
				}
				*children = append(*children, func() error { return n.write(w, owner) })
				continue
			}
			v, err := w.value(s, obj[s.Name], children)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
			merge(out, key(s), v)
		case *ast.InlineFragment:
			if s.TypeCondition == "" || w.p.matches(s.TypeCondition, typename) {
				if err := w.project(s.SelectionSet, obj, out, children); err != nil {
					return err
				}
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && w.p.matches(s.Definition.TypeCondition, typename) {
				if err := w.project(s.Definition.SelectionSet, obj, out, children); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *bulkWriter) value(f *ast.Field, v any, children *[]func() error) (any, error) {
	if l, ok := v.(lazy); ok {
		var err error
		if v, err = l(f.ArgumentMap(w.p.vars)); err != nil {
			return nil, err
		}
	}
	switch x := v.(type) {
	case []map[string]any:
		list := make([]any, 0, len(x))
		for _, o := range x {
			po := map[string]any{}
			if err := w.project(f.SelectionSet, o, po, children); err != nil {
				return nil, err
			}
			list = append(list, po)
		}
		return list, nil
	case map[string]any:
		po := map[string]any{}
		if err := w.project(f.SelectionSet, x, po, children); err != nil {
			return nil, err
		}
		return po, nil
	}
	return v, nil
}

// appendJSON appends v as encoding/json writes it (map keys sorted, the
// same escaping), without its reflection for the values a rendered line
// holds; any other type goes through json.Marshal. Rendering the export's
// lines spent a third of its time in json.Marshal.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		return appendList(b, x)
	case []map[string]any:
		return appendList(b, x)
	case []string:
		return appendList(b, x)
	}
	raw, err := json.Marshal(v)
	return append(b, raw...), err
}

func appendList[T any](b []byte, list []T) ([]byte, error) {
	if list == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, e := range list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, e); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendString quotes printable ASCII with nothing to escape itself and
// leaves anything else to encoding/json.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, err := json.Marshal(s)
			return append(b, raw...), err
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// serveBulkFile serves GET /sandbox/bulk/{id}.jsonl, from the byte a
// Range: bytes=N- header names.
func (s *Sandbox) serveBulkFile(w http.ResponseWriter, r *http.Request, name string) {
	num, ok := strings.CutSuffix(name, ".jsonl")
	b := s.bulk()
	b.mu.Lock()
	op := b.ops["gid://shopify/BulkOperation/"+num]
	if !ok || op == nil || op.Status != "COMPLETED" || r.Method != http.MethodGet {
		b.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	from, end := 0, len(op.data) // bytes [from, end) are asked for
	if rng := r.Header.Get("Range"); rng != "" {
		lo, hi, ok := parseRange(rng)
		if !ok || lo >= len(op.data) {
			b.mu.Unlock()
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(op.data)))
			http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		from = lo
		if hi >= 0 && hi+1 < end {
			end = hi + 1
		}
	}
	sent := end // bytes [from, sent) are written
	if cut := b.fault.CutAtLine; cut > 0 {
		if last := cut - 1; last < len(op.lineStarts) && op.lineStarts[last] >= from && op.lineStarts[last] < end {
			b.fault.CutAtLine = 0
			lineEnd := end
			if last+1 < len(op.lineStarts) {
				lineEnd = min(end, op.lineStarts[last+1])
			}
			sent = op.lineStarts[last] + (lineEnd-op.lineStarts[last])/2
		}
	}
	// A line is sent when its last byte is.
	for i, start := range op.lineStarts {
		lineEnd := len(op.data)
		if i+1 < len(op.lineStarts) {
			lineEnd = op.lineStarts[i+1]
		}
		if start < sent && lineEnd > from && lineEnd <= sent {
			op.reads[i]++
		}
	}
	data := op.data
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Length", strconv.Itoa(end-from))
	status := http.StatusOK
	if r.Header.Get("Range") != "" {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, end-1, len(data)))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	_, _ = w.Write(data[from:sent]) // a cut answer is shorter than its Content-Length: the client sees the connection drop
}

// parseRange reads "bytes=N-" or "bytes=N-M" (M is -1 when absent).
func parseRange(h string) (from, to int, ok bool) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	a, bs, ok2 := strings.Cut(spec, "-")
	if !ok || !ok2 {
		return 0, 0, false
	}
	from, err := strconv.Atoi(a)
	if err != nil || from < 0 {
		return 0, 0, false
	}
	if bs == "" {
		return from, -1, true
	}
	to, err = strconv.Atoi(bs)
	if err != nil || to < from {
		return 0, 0, false
	}
	return from, to, true
}

// serveBulkAdmin serves the bulk fault switch and listing:
//
//	POST /sandbox/bulk/faults   a BulkFault as JSON ({} clears it)
//	GET  /sandbox/bulk          the operations run so far
//
// It reports whether it handled the path.
func (s *Sandbox) serveBulkAdmin(w http.ResponseWriter, r *http.Request, path string) bool {
	rest, ok := strings.CutPrefix(path, "bulk")
	if !ok {
		return false
	}
	switch rest = strings.TrimPrefix(rest, "/"); {
	case rest == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"operations": s.BulkOperations()})
	case rest == "faults" && r.Method == http.MethodPost:
		var f BulkFault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeErrors(w, http.StatusBadRequest, "send a bulk fault as JSON: "+err.Error())
			return true
		}
		s.SetBulkFault(f)
		writeJSON(w, http.StatusCreated, f)
	case strings.HasSuffix(rest, ".jsonl"):
		s.serveBulkFile(w, r, rest)
	default:
		return false
	}
	return true
}
