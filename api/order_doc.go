// The order's document, rendered when the order is written and sent as
// stored by the views.

package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// orderDocVersion names the shape of the stored order documents. Change it
// with anything that changes what toOrderResponse answers for the same
// order (a field, a label's words, a format): documents of another version
// are not served, the orders are rendered from their facts instead.
// TestOrderDocVersion fails when OrderResponse's shape changes without it.
const orderDocVersion = 1

// OrderRenderer renders the documents the store keeps with each order:
// exactly the bytes GET /orders/{id} answers (toOrderResponse, encoded by
// writeJSON) without the trailing synced_at member, which is the copy's
// and is added when the document is sent, from the store's column.
func OrderRenderer() orders.Renderer {
	return orders.Renderer{Version: orderDocVersion, Render: renderOrderDoc}
}

func renderOrderDoc(o orders.Order) ([]byte, error) {
	b, err := json.Marshal(toOrderResponse(o))
	if err != nil {
		return nil, fmt.Errorf("render order %d: %w", o.ID, err)
	}
	// synced_at is OrderResponse's last member: cut `"synced_at":...}`,
	// keeping the comma before it.
	ts, err := json.Marshal(o.SyncedAt)
	if err != nil {
		return nil, fmt.Errorf("render order %d: %w", o.ID, err)
	}
	tail := append(append([]byte(`,"synced_at":`), ts...), '}')
	if !bytes.HasSuffix(b, tail) {
		return nil, fmt.Errorf("render order %d: the document does not end with synced_at", o.ID)
	}
	return b[:len(b)-len(tail)+1], nil
}

// appendOrderView appends the answer of an order's view: its stored
// document completed with synced_at, or the order encoded as writeJSON
// would when no document is stored.
func appendOrderView(buf []byte, v orders.OrderView) ([]byte, error) {
	if v.Doc == nil {
		b, err := json.Marshal(toOrderResponse(*v.Order))
		if err != nil {
			return nil, err
		}
		return append(buf, b...), nil
	}
	buf = append(buf, v.Doc...)
	buf = append(buf, `"synced_at":`...)
	buf = appendJSONTime(buf, v.SyncedAt)
	return append(buf, '}'), nil
}

// appendJSONTime appends t as encoding/json does (RFC 3339 with the
// nanoseconds it has).
func appendJSONTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// orderViewSize is room for an order's document and its synced_at.
func orderViewSize(v orders.OrderView) int {
	if v.Doc == nil {
		return 4096
	}
	return len(v.Doc) + len(`"synced_at":"2006-01-02T15:04:05.999999999Z07:00"}`)
}

// writeOrderView sends one order's view.
func writeOrderView(c *gin.Context, v orders.OrderView) {
	buf, err := appendOrderView(make([]byte, 0, orderViewSize(v)), v)
	if err != nil {
		_ = c.Error(err)
		writeProblem(c, newProblem(http.StatusInternalServerError, "internal", "Internal server error", ""))
		return
	}
	writeBody(c, buf)
}

// writeOrderPage sends a page of order views as OrderListResponse, the
// stored documents spliced in as they are.
func writeOrderPage(c *gin.Context, page orders.ViewPage) {
	size := len(`{"orders":[],"next_cursor":null,"complete":false}`) + 128
	for _, v := range page.Views {
		size += orderViewSize(v) + 1
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"orders":[`...)
	for i, v := range page.Views {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendOrderView(buf, v); err != nil {
			_ = c.Error(err)
			writeProblem(c, newProblem(http.StatusInternalServerError, "internal", "Internal server error", ""))
			return
		}
	}
	buf = append(buf, `],"next_cursor":`...)
	if page.Next != nil {
		buf = strconv.AppendQuote(buf, page.Next.Encode()) // base64url: nothing to escape
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"complete":`...)
	buf = strconv.AppendBool(buf, page.Complete)
	writeBody(c, append(buf, '}'))
}

// writeBody sends a 200 JSON answer whose bytes are ready, with its length.
func writeBody(c *gin.Context, b []byte) {
	c.Writer.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
	c.Data(http.StatusOK, mediaJSON, b)
}
