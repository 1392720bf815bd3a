package shopify

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden from the current read path")

// catalogue is every seeded order, plus one whose shipping was refunded
// (the catalogue has none).
var catalogue = []uint64{
	shopifysandbox.OrderInTransit, shopifysandbox.OrderPaidUnfulfilled, shopifysandbox.OrderPending,
	shopifysandbox.OrderAuthorized, shopifysandbox.OrderPartiallyPaid, shopifysandbox.OrderPartiallyRefunded,
	shopifysandbox.OrderRefunded, shopifysandbox.OrderCancelledVoided, shopifysandbox.OrderArchived,
	shopifysandbox.OrderOutForDelivery, shopifysandbox.OrderReadyForPickup, shopifysandbox.OrderAttemptedDelivery,
	shopifysandbox.OrderDelivered, shopifysandbox.OrderEUR, shopifysandbox.OrderJPY,
	orderShippingRefunded,
}

const orderShippingRefunded uint64 = 450789499

// addShippingRefunded adds a paid order whose shipping (5.00 of 64.80) was
// refunded on its own.
func addShippingRefunded(t *testing.T, sb *shopifysandbox.Sandbox) {
	t.Helper()
	base, ok := sb.Order(shopifysandbox.OrderPaidUnfulfilled)
	if !ok {
		t.Fatal("catalogue order missing")
	}
	o := base
	o.Id, o.Name, o.OrderNumber = orderShippingRefunded, "#1099", 1099
	o.LineItems = nil
	for i, li := range base.LineItems {
		li.Id = orderShippingRefunded*10 + uint64(i)
		o.LineItems = append(o.LineItems, li)
	}
	o.ShippingLines = []goshopify.ShippingLines{{Id: orderShippingRefunded*10 + 9, Title: "Standard", Price: decPtr("5.00")}}
	o.FinancialStatus = "partially_refunded"
	at := o.UpdatedAt.Add(time.Hour)
	o.UpdatedAt = &at
	sale := goshopify.Transaction{Id: orderShippingRefunded * 100, OrderId: o.Id, Kind: "sale", Status: "success", Gateway: "shopify_payments", Amount: o.TotalPrice, Currency: "USD", CreatedAt: o.CreatedAt}
	pid := int64(sale.Id)
	refund := goshopify.Transaction{Id: orderShippingRefunded*100 + 1, OrderId: o.Id, Kind: "refund", Status: "success", Gateway: "shopify_payments", Amount: decPtr("5.00"), Currency: "USD", ParentId: &pid, CreatedAt: &at}
	o.Refunds = []goshopify.Refund{{
		Id: orderShippingRefunded + 7000, OrderId: o.Id, CreatedAt: &at, Note: "Late delivery",
		Transactions:     []goshopify.Transaction{refund},
		OrderAdjustments: []goshopify.OrderAdjustment{{Id: orderShippingRefunded + 8000, OrderId: o.Id, RefundId: orderShippingRefunded + 7000, Kind: "shipping_refund", Amount: decPtr("-5.00"), Reason: "Shipping refund"}},
	}}
	sb.AddOrder(o, []goshopify.Transaction{sale, refund}, nil)
}

func decPtr(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

// goldenView is what the CRM sees of an order: the domain order without
// the Shopify facts it came from (their shape belongs to the adapter), and
// the refund preview (what is refundable, shipping included).
type goldenView struct {
	Order   orders.Order
	Preview orders.RefundPreview
}

func viewOf(o orders.ShopifyOrder) goldenView {
	built := orders.Build(o, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	built.Source = orders.ShopifyOrder{}
	return goldenView{Order: built, Preview: orders.PreviewRefund(orders.Build(o, built.SyncedAt))}
}

// TestGoldenOrders holds the read path to the domain orders captured from
// the REST-era adapter: statuses, money, tracking per line item,
// refundable amounts and refunded shipping of every catalogue order.
// Run with -update only when the domain model itself changes.
func TestGoldenOrders(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{BucketSize: 1000, LeakPerSecond: 1000}, Config{})
	addShippingRefunded(t, sb)
	for _, id := range catalogue {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			src, err := c.Order(context.Background(), shop, int64(id))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(viewOf(src), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", fmt.Sprintf("order_%d.json", id))
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenOrders -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("order %d differs from %s:\n%s", id, path, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	wl, gl := splitLines(want), splitLines(got)
	out := ""
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 20; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			out += fmt.Sprintf("line %d\n  want %s\n  got  %s\n", i+1, w, g)
			shown++
		}
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
