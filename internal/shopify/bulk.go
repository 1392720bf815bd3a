package shopify

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// The backfill's bulk export (orders.Exporter). An order's OrderFacts hold
// eight connections and Shopify runs bulk queries of at most five, so the
// export is two bulk operations run side by side over the same orders in
// the same order (sortKey: ID): bulk/orders.graphql (the order less its
// refunds) and bulk/refunds.graphql. Their JSONL files are streamed
// together, a group (an order's line and its children's, which
// groupObjects puts right after it) at a time from each, joined on the
// order id, reassembled into the nested shape of the OrderFacts fragment
// (children by __parentId) and converted by OrderFromGraphQL, the one
// converter of every read. An order in one file only (created or changed
// between the two operations' snapshots) is read alone afterwards.

//go:embed bulk/orders.graphql
var bulkOrdersQuery string

//go:embed bulk/refunds.graphql
var bulkRefundsQuery string

// bulkPlaceholder is where the search goes in the bulk documents (bulk
// queries take no variables).
const bulkPlaceholder = "query: ORDERS_QUERY"

// bulkDocuments are the export's two inner queries for a search.
func bulkDocuments(search string) [2]string {
	q := "query: " + strconv.Quote(search)
	return [2]string{strings.Replace(bulkOrdersQuery, bulkPlaceholder, q, 1), strings.Replace(bulkRefundsQuery, bulkPlaceholder, q, 1)}
}

// exportCheckpoint is the export's state, stored by the backfill after
// every saved batch (orders.SyncRun.Checkpoint).
type exportCheckpoint struct {
	Parts     [2]exportPart `json:"parts"`
	Objects   int           `json:"objects"`             // lines read from both files
	Unmatched []int64       `json:"unmatched,omitempty"` // orders in one file only, read alone at the end
}

// exportPart is one bulk operation and how far its file was received:
// Offset bytes, of which the lines in Pending (the order groups under way)
// and the bytes in Tail (received, not yet split into lines) are not yet
// saved, so a resumed download asks for the file from Offset and no byte
// of it is sent twice.
type exportPart struct {
	ID      string            `json:"id"`
	Offset  int64             `json:"offset"`
	Size    int64             `json:"size,omitempty"` // the file's, once known
	Pending []json.RawMessage `json:"pending,omitempty"`
	// TailBytes are the bytes as received (base64): they end wherever the
	// last chunk did, often inside a UTF-8 character, which a JSON string
	// would have replaced with U+FFFD. Tail is where releases before kept
	// them (read from their checkpoints, never written).
	TailBytes []byte `json:"tailBytes,omitempty"`
	Tail      string `json:"tail,omitempty"`
	Total     int    `json:"total,omitempty"` // root objects (orders), once completed
}

// tail is the part's received bytes not yet split into lines.
func (p exportPart) tail() []byte {
	if p.TailBytes != nil {
		return p.TailBytes
	}
	return []byte(p.Tail)
}

// jsonlChunk is how much of a result file one request asks for. Each is
// read whole before its lines are used, so what was received is exactly
// what the checkpoint holds (a download is never asked again for bytes it
// was sent), and memory stays bounded whatever the file's size.
const jsonlChunk = 256 << 10

// StartExport starts the two bulk operations of an export. When the second
// cannot start (before 2026-01 a shop runs one bulk query at a time, and
// from 2026-01 five), the first is cancelled: the backfill pages instead,
// and the operation would hold a slot of the shop's, the only one on the
// older versions, until it finished for nothing (the next backfill would
// then be refused its first operation too).
func (c *Client) StartExport(ctx context.Context, shop tenant.Shop, since time.Time) (string, error) {
	cp, err := c.startExport(ctx, shop, since)
	if err != nil {
		for _, p := range cp.Parts {
			if p.ID == "" {
				continue
			}
			if cerr := c.cancelBulk(context.WithoutCancel(ctx), shop, p.ID); cerr != nil {
				c.log.WarnContext(ctx, "bulk export: an operation of an export that could not start is left running", "shop", shop.Domain, "operation", p.ID, "err", cerr)
			}
		}
		return "", err
	}
	raw, err := json.Marshal(cp)
	return string(raw), err
}

// cancelBulk cancels a bulk operation (best effort: one that already
// ended cannot be cancelled, and is no longer running).
func (c *Client) cancelBulk(ctx context.Context, shop tenant.Shop, id string) error {
	resp, err := BulkOperationCancel(ctx, c.transport(shop, false), id)
	if err != nil {
		return fmt.Errorf("bulk export: cancel %s: %w", id, err)
	}
	if p := resp.BulkOperationCancel; p != nil && len(p.UserErrors) > 0 {
		return fmt.Errorf("bulk export: cancel %s: %s", id, p.UserErrors[0].Message)
	}
	return nil
}

// startExport starts the export's operations in turn; on an error, the
// checkpoint names those it started.
func (c *Client) startExport(ctx context.Context, shop tenant.Shop, since time.Time) (exportCheckpoint, error) {
	var cp exportCheckpoint
	for i, doc := range bulkDocuments(ordersSearch(since)) {
		resp, err := BulkOperationRunQuery(ctx, c.transport(shop, false), doc)
		if err != nil {
			return cp, fmt.Errorf("bulk export: %w", err)
		}
		p := resp.BulkOperationRunQuery
		if p == nil {
			return cp, errors.New("bulk export: no answer")
		}
		if len(p.UserErrors) > 0 {
			e := p.UserErrors[0]
			code := ""
			if e.Code != nil {
				code = string(*e.Code)
			}
			if code == string(BulkOperationUserErrorCodeOperationInProgress) || code == string(BulkOperationUserErrorCodeLimitReached) {
				return cp, fmt.Errorf("bulk export: %s: %s: %w", code, e.Message, orders.ErrExportRefused)
			}
			return cp, fmt.Errorf("bulk export: %s: %s", code, e.Message)
		}
		if p.BulkOperation == nil {
			return cp, errors.New("bulk export: no operation")
		}
		cp.Parts[i].ID = p.BulkOperation.Id
	}
	return cp, nil
}

// ReadExport waits for the export's operations, then streams both files
// from the checkpoint, joined on the order id.
func (c *Client) ReadExport(ctx context.Context, shop tenant.Shop, checkpoint string, batch int, save func(orders.ExportBatch) error) error {
	var cp exportCheckpoint
	if err := json.Unmarshal([]byte(checkpoint), &cp); err != nil || cp.Parts[0].ID == "" || cp.Parts[1].ID == "" {
		return fmt.Errorf("bulk export checkpoint %q: %w", checkpoint, orders.ErrInvalidInput)
	}
	var readers [2]*jsonlReader
	for i := range cp.Parts {
		url, total, err := c.awaitBulk(ctx, shop, cp.Parts[i].ID)
		if errors.Is(err, orders.ErrExportRefused) {
			// The export cannot be read (an operation failed, expired or
			// was cancelled) and the backfill pages instead: the other
			// operation, if it still runs, would hold a slot for nothing.
			for _, p := range cp.Parts {
				if p.ID != cp.Parts[i].ID {
					if cerr := c.cancelBulk(context.WithoutCancel(ctx), shop, p.ID); cerr != nil {
						c.log.DebugContext(ctx, "bulk export: the other operation of a failed export not cancelled (it may have ended)", "shop", shop.Domain, "operation", p.ID, "err", cerr)
					}
				}
			}
		}
		if err != nil {
			return err
		}
		cp.Parts[i].Total = total
		readers[i] = c.openJSONL(ctx, url, cp.Parts[i])
	}
	ready := time.Now() // both files can be read from here on
	dec := newBulkDecoder()
	var out []orders.ShopifyOrder
	before := cp.Objects // read by earlier runs
	flush := func() error {
		for i, r := range readers {
			cp.Parts[i].Offset, cp.Parts[i].Size, cp.Parts[i].Pending = r.offset, r.size, r.pending()
			cp.Parts[i].TailBytes, cp.Parts[i].Tail = bytes.Clone(r.data), ""
		}
		cp.Objects = before + readers[0].lines + readers[1].lines
		raw, err := json.Marshal(cp)
		if err != nil {
			return err
		}
		err = save(orders.ExportBatch{Orders: out, Checkpoint: string(raw), Objects: cp.Objects, Total: cp.Parts[0].Total, Ready: ready})
		out = make([]orders.ShopifyOrder, 0, batch) // the batch is save's: it may keep it while the next is read
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, flush())
		}
		na, err := readers[0].group()
		var nb int
		if err == nil {
			nb, err = readers[1].group()
		}
		if err != nil {
			// Keep what is whole: the orders joined so far are saved, the
			// lines of the groups under way go into the checkpoint.
			return errors.Join(err, flush())
		}
		if na == 0 && nb == 0 {
			break
		}
		ida, idb := readers[0].rootID(na), readers[1].rootID(nb)
		switch {
		case nb == 0 || (na > 0 && ida < idb):
			cp.Unmatched = append(cp.Unmatched, ida)
			readers[0].consume(na)
		case na == 0 || idb < ida:
			cp.Unmatched = append(cp.Unmatched, idb)
			readers[1].consume(nb)
		default:
			o, err := c.assemble(ctx, shop, dec, readers[0].buf[:na], readers[1].buf[:nb])
			if err != nil {
				return err
			}
			out = append(out, o)
			readers[0].consume(na)
			readers[1].consume(nb)
		}
		if len(out) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for _, id := range cp.Unmatched {
		o, err := c.Order(ctx, shop, id)
		if errors.Is(err, orders.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bulk export: order %d: %w", id, err)
		}
		out = append(out, o)
	}
	cp.Unmatched = nil
	return flush()
}

// Polling a bulk operation: Shopify's documents say only to poll its
// status; Shopify CLI's own watch (shopify app bulk execute --watch) asks
// every 300 ms for its first 3 s (QUICK_WATCH_POLL_INTERVAL_MS,
// QUICK_WATCH_TIMEOUT_MS in @shopify/cli-kit). orderdesk does the same, then
// backs off to one poll every 2 s for long exports (each poll is a query
// on the shop's budget).
const (
	bulkQuickPoll    = 300 * time.Millisecond
	bulkQuickPollFor = 3 * time.Second
	bulkSlowPoll     = 2 * time.Second
)

// bulkPollWait is how long to wait before the next poll of an operation
// polled for `elapsed`.
func bulkPollWait(elapsed, last time.Duration) time.Duration {
	if elapsed < bulkQuickPollFor {
		return bulkQuickPoll
	}
	return min(2*last, bulkSlowPoll)
}

// awaitBulk polls a bulk operation until it completes, returning its
// file's URL ("" when it found nothing) and its root object count.
func (c *Client) awaitBulk(ctx context.Context, shop tenant.Shop, id string) (string, int, error) {
	start := time.Now()
	wait := time.Duration(0)
	for {
		resp, err := BulkOperation(ctx, c.reader(shop), id)
		if err != nil {
			return "", 0, fmt.Errorf("bulk export %s: %w", id, err)
		}
		op := resp.BulkOperation
		if op == nil {
			return "", 0, fmt.Errorf("bulk export %s: gone (results expire after 7 days): %w", id, orders.ErrExportRefused)
		}
		switch op.Status {
		case BulkOperationStatusCompleted:
			total, _ := strconv.Atoi(op.RootObjectCount)
			return deref(op.Url), total, nil
		case BulkOperationStatusCreated, BulkOperationStatusRunning:
		default:
			code := ""
			if op.ErrorCode != nil {
				code = string(*op.ErrorCode)
			}
			return "", 0, fmt.Errorf("bulk export %s: %s %s: %w", id, op.Status, code, orders.ErrExportRefused)
		}
		wait = bulkPollWait(time.Since(start), wait)
		select {
		case <-ctx.Done():
			return "", 0, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// openJSONL reads a result file from the part's checkpoint. A completed
// operation that found nothing has no file.
func (c *Client) openJSONL(ctx context.Context, url string, p exportPart) *jsonlReader {
	return &jsonlReader{c: c, ctx: ctx, url: url, offset: p.Offset, size: p.Size, buf: p.Pending, data: p.tail(), eof: url == ""}
}

// jsonlReader reads a bulk result a group at a time (a root object's line
// and the lines of its children, with __parentId, that follow it),
// fetching the file a chunk at a time (Range: bytes=N-M).
type jsonlReader struct {
	c      *Client
	ctx    context.Context
	url    string
	offset int64             // bytes received
	size   int64             // the file's size, 0 while unknown
	data   []byte            // received, not yet split into lines
	lines  int               // lines split this run
	buf    []json.RawMessage // lines split and not yet consumed
	eof    bool              // the whole file was received
	// headLine is the group head rootID last decoded, headID its id.
	headLine []byte
	headID   int64
}

var parentKey = []byte(`"__parentId":`)

// group makes buf start with one whole group and returns its length (0
// at the end of the file).
func (r *jsonlReader) group() (int, error) {
	for len(r.buf) == 0 {
		more, err := r.readLine()
		if err != nil {
			return 0, err
		}
		if !more {
			return 0, nil
		}
	}
	if bytes.Contains(r.buf[0], parentKey) {
		return 0, fmt.Errorf("bulk export file: near byte %d, a child line with no parent before it (was the operation run with groupObjects: true?)", r.offset)
	}
	for i := 1; ; {
		if i < len(r.buf) {
			if !bytes.Contains(r.buf[i], parentKey) {
				return i, nil
			}
			i++
			continue
		}
		more, err := r.readLine()
		if err != nil {
			return 0, err
		}
		if !more {
			return i, nil // the file's last group
		}
	}
}

// readLine splits the next line into buf, fetching a chunk when needed;
// false at the end of the file.
func (r *jsonlReader) readLine() (bool, error) {
	for {
		if i := bytes.IndexByte(r.data, '\n'); i >= 0 {
			line := bytes.TrimSpace(r.data[:i])
			r.data = r.data[i+1:]
			r.lines++
			if len(line) > 0 {
				r.buf = append(r.buf, json.RawMessage(bytes.Clone(line)))
			}
			return true, nil
		}
		if r.eof {
			if len(bytes.TrimSpace(r.data)) > 0 {
				return false, fmt.Errorf("bulk export file: ends inside a line (%d bytes)", len(r.data))
			}
			return false, nil
		}
		if err := r.fetch(); err != nil {
			return false, err
		}
	}
}

// fetch receives the next chunk of the file. Bytes received before a
// dropped connection are kept (and counted in offset) with the error.
func (r *jsonlReader) fetch() error {
	if r.size > 0 && r.offset >= r.size {
		r.eof = true
		return nil
	}
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return fmt.Errorf("bulk export file: %w", err)
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r.offset, r.offset+jsonlChunk-1))
	resp, err := r.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("bulk export file: %w", mapCtxErr(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		// Content-Range: bytes N-M/SIZE
		if _, total, ok := strings.Cut(resp.Header.Get("Content-Range"), "/"); ok {
			r.size, _ = strconv.ParseInt(total, 10, 64)
		}
	case http.StatusRequestedRangeNotSatisfiable: // past the end: nothing more
		r.eof = true
		return nil
	case http.StatusOK: // the whole file, from a server that ignores ranges
		if r.offset > 0 {
			return errors.New("bulk export file: the server ignores Range, cannot resume")
		}
	default:
		return fmt.Errorf("bulk export file: HTTP %d", resp.StatusCode)
	}
	var body io.Reader = resp.Body
	if resp.StatusCode == http.StatusPartialContent {
		body = io.LimitReader(resp.Body, jsonlChunk)
	}
	chunk, err := io.ReadAll(body)
	r.data = append(r.data, chunk...)
	r.offset += int64(len(chunk))
	if err != nil {
		return fmt.Errorf("bulk export file: dropped after %d bytes: %w", r.offset, mapCtxErr(err))
	}
	if resp.StatusCode == http.StatusOK || len(chunk) == 0 || (r.size > 0 && r.offset >= r.size) {
		r.eof = true
	}
	return nil
}

func (r *jsonlReader) consume(n int) { r.buf = r.buf[n:] }

// pending is a copy of the lines read and not yet consumed.
func (r *jsonlReader) pending() []json.RawMessage {
	return append([]json.RawMessage(nil), r.buf...)
}

// rootID is the numeric id of the group's root (0 for none).
func (r *jsonlReader) rootID(n int) int64 {
	if n == 0 {
		return 0
	}
	line := r.buf[0]
	if len(line) > 0 && len(r.headLine) > 0 && &line[0] == &r.headLine[0] {
		return r.headID // the same group head as last time (the other file's turn)
	}
	head, _ := lineHead(line)
	id, _ := gidNumber(head)
	r.headLine, r.headID = line, id
	return id
}

// assemble rebuilds one order from its two groups (the order less its
// refunds, and its refunds) into OrderFacts, each child line decoded into
// the node type of the connection its id's type belongs to (JSONL lines do
// not say which of the parent's connections they come from) and appended
// under the parent its __parentId names; then it converts it. An order with
// more than OrderFacts' plain lists hold is read alone, as paged reads do.
func (c *Client) assemble(ctx context.Context, shop tenant.Shop, dec bulkDecoder, main, refunds []json.RawMessage) (orders.ShopifyOrder, error) {
	var o OrderFacts
	if err := dec.decode(main[0], &o); err != nil {
		return orders.ShopifyOrder{}, fmt.Errorf("bulk export: an order line: %w", err)
	}
	var r struct {
		Refunds []OrderFactsRefundsRefund `json:"refunds"`
	}
	if err := dec.decode(refunds[0], &r); err != nil {
		return orders.ShopifyOrder{}, fmt.Errorf("bulk export: order %s: its refunds line: %w", o.Id, err)
	}
	o.Refunds = r.Refunds
	fulfillments := make(map[string]*OrderFactsFulfillmentsFulfillment, len(o.Fulfillments))
	for i := range o.Fulfillments {
		fulfillments[o.Fulfillments[i].Id] = &o.Fulfillments[i]
	}
	refundsByID := make(map[string]*OrderFactsRefundsRefund, len(o.Refunds))
	for i := range o.Refunds {
		refundsByID[o.Refunds[i].Id] = &o.Refunds[i]
	}
	for _, line := range append(main[1:len(main):len(main)], refunds[1:]...) {
		id, parent := lineHead(line)
		f, rf := fulfillments[parent], refundsByID[parent]
		var err error
		switch kind := gidKind(id); {
		case parent == o.Id && kind == "LineItem":
			err = appendNode(dec, line, &o.LineItems.Nodes)
		case parent == o.Id && kind == "ShippingLine":
			err = appendNode(dec, line, &o.ShippingLines.Nodes)
		case f != nil && kind == "FulfillmentLineItem":
			err = appendNode(dec, line, &f.FulfillmentLineItems.Nodes)
		case f != nil && kind == "FulfillmentEvent":
			err = appendNode(dec, line, &f.Events.Nodes)
		case rf != nil && kind == "RefundLineItem":
			err = appendNode(dec, line, &rf.RefundLineItems.Nodes)
		case rf != nil && kind == "RefundShippingLine":
			err = appendNode(dec, line, &rf.RefundShippingLines.Nodes)
		case rf != nil && kind == "OrderTransaction":
			err = appendNode(dec, line, &rf.Transactions.Nodes)
		default:
			err = fmt.Errorf("%s under %s: no such connection in the order", id, parent)
		}
		if err != nil {
			return orders.ShopifyOrder{}, fmt.Errorf("bulk export: order %s: %w", o.Id, err)
		}
	}
	return c.listed(ctx, shop, &o)
}

// appendNode decodes a child line into a connection's node type.
func appendNode[T any](dec bulkDecoder, line json.RawMessage, nodes *[]T) error {
	var n T
	if err := dec.decode(line, &n); err != nil {
		return err
	}
	*nodes = append(*nodes, n)
	return nil
}

// gidKind is the type in a global id: gid://shopify/LineItem/1 → LineItem.
func gidKind(gid string) string {
	rest, ok := strings.CutPrefix(gid, "gid://shopify/")
	if !ok {
		return ""
	}
	kind, _, _ := strings.Cut(rest, "/")
	return kind
}
