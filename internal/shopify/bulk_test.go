package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/shopifyschema"
)

// TestBulkDocuments: the export's two inner queries validate against the
// pinned schema (no deprecated field), with and without a search.
func TestBulkDocuments(t *testing.T) {
	t.Parallel()
	schema, err := shopifyschema.Load("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	for _, search := range []string{"", ordersSearch(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))} {
		for i, doc := range bulkDocuments(search) {
			if strings.Contains(doc, bulkPlaceholder) {
				t.Errorf("document %d keeps its placeholder", i)
			}
			if _, err := shopifyschema.Validate(schema, fmt.Sprintf("bulk%d", i), doc); err != nil {
				t.Error(err)
			}
		}
	}
}

// export runs a whole export and returns its orders by id.
func export(t *testing.T, c *Client, since time.Time) (map[int64]orders.ShopifyOrder, []orders.ExportBatch) {
	t.Helper()
	ctx := context.Background()
	cp, err := c.StartExport(ctx, shop, since)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]orders.ShopifyOrder{}
	var batches []orders.ExportBatch
	err = c.ReadExport(ctx, shop, cp, 250, func(b orders.ExportBatch) error {
		for _, o := range b.Orders {
			if _, dup := got[o.ID]; dup {
				t.Errorf("order %d exported twice", o.ID)
			}
			got[o.ID] = o
		}
		batches = append(batches, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, batches
}

// TestBulkExportBuildsTheSameOrders: every catalogue order reassembled
// from the bulk export's JSONL builds the same domain Order as the view's
// order(id:) read, and no order is read alone.
func TestBulkExportBuildsTheSameOrders(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	addShippingRefunded(t, sb)
	got, _ := export(t, c, time.Time{})
	if n := sb.Calls(shopifysandbox.OpOrderGet); n != 0 {
		t.Errorf("%d orders read alone during the export", n)
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, id := range catalogue {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			bulk, ok := got[int64(id)]
			if !ok {
				t.Fatal("not exported")
			}
			read, err := c.Order(context.Background(), shop, int64(id))
			if err != nil {
				t.Fatal(err)
			}
			w, _ := json.MarshalIndent(orders.Build(read, at), "", "  ")
			g, _ := json.MarshalIndent(orders.Build(bulk, at), "", "  ")
			if string(w) != string(g) {
				t.Errorf("order(id:) and the bulk export differ:\n%s", lineDiff(string(w), string(g)))
			}
		})
	}
	if len(got) != len(catalogue) {
		t.Errorf("exported %d orders, want %d", len(got), len(catalogue))
	}
	if n := sb.RESTCalls(); n != 0 {
		t.Errorf("%d REST calls", n)
	}
}

// TestBulkExportRefused: a bulk operation Shopify refuses (one already
// running) is ErrExportRefused, which the backfill pages on.
func TestBulkExportRefused(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	for _, code := range []string{"OPERATION_IN_PROGRESS", "LIMIT_REACHED"} {
		sb.SetBulkFault(shopifysandbox.BulkFault{Refuse: code})
		if _, err := c.StartExport(context.Background(), shop, time.Time{}); !errors.Is(err, orders.ErrExportRefused) {
			t.Errorf("%s: err = %v, want ErrExportRefused", code, err)
		}
	}
	sb.SetBulkFault(shopifysandbox.BulkFault{Fail: "INTERNAL_SERVER_ERROR"})
	cp, err := c.StartExport(context.Background(), shop, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ReadExport(context.Background(), shop, cp, 250, func(orders.ExportBatch) error { return nil })
	if !errors.Is(err, orders.ErrExportRefused) || !strings.Contains(err.Error(), "FAILED INTERNAL_SERVER_ERROR") {
		t.Errorf("a failed operation: err = %v", err)
	}
}

// TestBulkDecodeMatchesGenerated: the export's decoder (json v2, fragment
// types decoded straight into their fragment) fills the generated types
// exactly as their own encoding/json decoding does, nulls and absent
// fields included.
func TestBulkDecodeMatchesGenerated(t *testing.T) {
	t.Parallel()
	money := `{"shopMoney":{"amount":"12.50","currencyCode":"EUR"},"presentmentMoney":{"amount":"13","currencyCode":"USD"}}`
	tx := `{"id":"gid://shopify/OrderTransaction/9","kind":"SALE","status":"SUCCESS","gateway":null,"createdAt":"2026-11-01T10:00:00Z","amountSet":` + money + `,"parentTransaction":null}`
	orderLines := []string{
		`{"id":"gid://shopify/Order/1","name":"#1001","number":1,"email":null,"phone":"+1 555","createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-02T10:00:00Z",` +
			`"processedAt":"2026-11-01T10:00:00Z","cancelledAt":null,"cancelReason":null,"closedAt":"2026-11-03T00:00:00+01:00","currencyCode":"EUR",` +
			`"presentmentCurrencyCode":"USD","displayFinancialStatus":"PAID","displayFulfillmentStatus":"UNFULFILLED","taxesIncluded":true,` +
			`"totalPriceSet":` + money + `,"subtotalPriceSet":null,"totalTaxSet":` + money + `,"totalDiscountsSet":null,"totalShippingPriceSet":` + money +
			`,"totalRefundedShippingSet":` + money + `,"customer":null,"fulfillments":[],"transactions":[` + tx + `,` +
			strings.Replace(tx, `"parentTransaction":null`, `"parentTransaction":{"id":"gid://shopify/OrderTransaction/8"}`, 1) + `]}`,
		`{"id":"gid://shopify/Order/2","customer":{"id":"gid://shopify/Customer/3","firstName":"A","lastName":null,"defaultEmailAddress":null,"defaultPhoneNumber":{"phoneNumber":"+15550100"}},` +
			`"fulfillments":[{"id":"gid://shopify/Fulfillment/4","status":"SUCCESS","displayStatus":null,"createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-01T10:00:00Z",` +
			`"deliveredAt":null,"estimatedDeliveryAt":null,"location":null,"trackingInfo":[{"company":"UPS","number":"1Z","url":null}]}],"transactions":null}`,
	}
	for i, line := range orderLines {
		var want, got OrderFacts
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatalf("line %d: encoding/json: %v", i, err)
		}
		if err := newBulkDecoder().decode([]byte(line), &got); err != nil {
			t.Fatalf("line %d: bulk decoder: %v", i, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("line %d decodes differently:\nencoding/json %+v\nbulk decoder  %+v", i, want, got)
		}
	}
	var wantTx, gotTx OrderFactsRefundsRefundTransactionsOrderTransactionConnectionNodesOrderTransaction
	if err := json.Unmarshal([]byte(tx), &wantTx); err != nil {
		t.Fatal(err)
	}
	if err := newBulkDecoder().decode([]byte(tx), &gotTx); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(wantTx, gotTx) || gotTx.AmountSet.ShopMoney.Amount.String() != "12.5" {
		t.Errorf("a refund transaction decodes differently:\nencoding/json %+v\nbulk decoder  %+v", wantTx, gotTx)
	}
	if id, parent := lineHead([]byte(`{"__parentId":"gid://shopify/Order/1","lineItem":{"id":"gid://shopify/LineItem/7"},"id":"gid://shopify/FulfillmentLineItem/5"}`)); id != "gid://shopify/FulfillmentLineItem/5" || parent != "gid://shopify/Order/1" {
		t.Errorf("lineHead = %q, %q: a nested id is not the line's", id, parent)
	}
}

// TestBulkPollSchedule: every 300 ms for the first 3 s, as Shopify CLI's
// watch polls, then backing off to every 2 s.
func TestBulkPollSchedule(t *testing.T) {
	t.Parallel()
	var got []time.Duration
	elapsed, wait := time.Duration(0), time.Duration(0)
	for range 14 {
		wait = bulkPollWait(elapsed, wait)
		got = append(got, wait)
		elapsed += wait
	}
	want := "[300ms 300ms 300ms 300ms 300ms 300ms 300ms 300ms 300ms 300ms 600ms 1.2s 2s 2s]"
	if fmt.Sprint(got) != want {
		t.Errorf("poll waits %v, want %s", got, want)
	}
}
