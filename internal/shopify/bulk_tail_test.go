package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestBulkExportResumesALineCutInsideACharacter: a download dropped in the
// middle of a line leaves the line's first bytes in the checkpoint (Tail),
// and those bytes may end inside a multi-byte character (a customer named
// in Japanese, a shop naming its orders "№…"). The resumed export joins
// them with the rest of the file exactly as received: the order's name is
// what Shopify sent, not one with U+FFFD where the checkpoint's JSON
// string had replaced the cut character. Each length puts the cut at
// another byte of a 3-byte character.
func TestBulkExportResumesALineCutInsideACharacter(t *testing.T) {
	t.Parallel()
	for _, n := range []int{300, 301, 302} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
			o, ok := sb.Order(shopifysandbox.OrderPaidUnfulfilled)
			if !ok {
				t.Fatal("catalogue order missing")
			}
			name := "#" + strings.Repeat("€", n)
			o.Id, o.Name, o.OrderNumber = 1, name, 1 // the first line of the orders file
			for i := range o.LineItems {
				o.LineItems[i].Id = 10 + uint64(i)
			}
			o.Refunds, o.Fulfillments, o.ShippingLines = nil, nil, nil
			sb.AddOrder(o, nil, nil)
			ctx := context.Background()
			cp, err := c.StartExport(ctx, shop, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			sb.SetBulkFault(shopifysandbox.BulkFault{CutAtLine: 1}) // the orders file is downloaded first
			var got *orders.ShopifyOrder
			save := func(b orders.ExportBatch) error {
				for i := range b.Orders {
					if b.Orders[i].ID == 1 {
						got = &b.Orders[i]
					}
				}
				cp = b.Checkpoint
				return nil
			}
			if err := c.ReadExport(ctx, shop, cp, 250, save); err == nil {
				t.Fatal("the cut download did not fail the first read")
			}
			if got != nil {
				t.Fatal("order 1 read whole before the cut")
			}
			if err := c.ReadExport(ctx, shop, cp, 250, save); err != nil {
				t.Fatalf("resumed read: %v", err)
			}
			if got == nil {
				t.Fatal("order 1 not exported")
			}
			if got.Name != name {
				t.Errorf("name after the resume = %q, want %q", got.Name, name)
			}
		})
	}
}

// TestExportPartTailOfAnEarlierRelease: a checkpoint written before the
// tail was kept as bytes still resumes from its tail.
func TestExportPartTailOfAnEarlierRelease(t *testing.T) {
	t.Parallel()
	var p exportPart
	if err := json.Unmarshal([]byte(`{"id":"gid://shopify/BulkOperation/1","offset":9,"tail":"{\"id\":"}`), &p); err != nil {
		t.Fatal(err)
	}
	if got := string(p.tail()); got != `{"id":` {
		t.Errorf("tail = %q", got)
	}
}
