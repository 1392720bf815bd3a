package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

func names(list api.OrderListResponse) []string {
	out := []string{}
	for _, o := range list.Orders {
		out = append(out, o.Name)
	}
	return out
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			tests := []struct {
				query string
				want  []string
			}{
				{"", []string{"#1015", "#1014", "#1013", "#1012", "#1011", "#1010", "#1009", "#1008", "#1007", "#1006", "#1005", "#1004", "#1003", "#1002", "#1001"}},
				{"customer_id=207119552", []string{"#1011", "#1009", "#1007", "#1005", "#1004"}},
				{"email=ALICE@example.com", []string{"#1011", "#1009", "#1007", "#1005", "#1004"}},
				{"phone=" + url.QueryEscape("+81312345678"), []string{"#1015"}},
				{"name=" + url.QueryEscape("#1006"), []string{"#1006"}},
				{"status=archived", []string{"#1009"}},
				{"status=cancelled", []string{"#1008"}},
				{"financial_status=partially_refunded", []string{"#1006"}},
				{"fulfillment_status=partially_fulfilled", []string{"#1001"}},
				{"customer_id=207119551&fulfillment_status=fulfilled", []string{"#1013", "#1012", "#1010"}},
				{"updated_since=" + url.QueryEscape(now.Add(-48*time.Hour).Format(time.RFC3339)), []string{"#1015", "#1014"}},
				{"customer_id=1", []string{}},
			}
			for _, tt := range tests {
				r := h.get("/orders?"+tt.query, keyA)
				if r.Code != http.StatusOK {
					t.Fatalf("%q: status %d %s", tt.query, r.Code, r.Body)
				}
				var list api.OrderListResponse
				r.decode(t, &list)
				if fmt.Sprint(names(list)) != fmt.Sprint(tt.want) {
					t.Errorf("%q: got %v, want %v", tt.query, names(list), tt.want)
				}
				if list.NextCursor != nil {
					t.Errorf("%q: next_cursor on a single page", tt.query)
				}
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.sb.AddGenerated(230, now)
	h.backfill()
	seen := map[int64]bool{}
	var last time.Time
	path := "/orders?limit=40"
	pages := 0
	for {
		r := h.get(path, keyA)
		var list api.OrderListResponse
		r.decode(t, &list)
		pages++
		for _, o := range list.Orders {
			if seen[o.ID] {
				t.Fatalf("order %d on two pages", o.ID)
			}
			if !last.IsZero() && o.CreatedAt.After(last) {
				t.Fatalf("not newest first: %v after %v", o.CreatedAt, last)
			}
			seen[o.ID], last = true, o.CreatedAt
		}
		if list.NextCursor == nil {
			break
		}
		path = "/orders?limit=40&cursor=" + url.QueryEscape(*list.NextCursor)
	}
	if len(seen) != 245 || pages != 7 {
		t.Errorf("saw %d orders on %d pages, want 245 on 7", len(seen), pages)
	}
	var list api.OrderListResponse
	h.get("/orders?limit=1000", keyA).decode(t, &list)
	if len(list.Orders) != 100 || list.NextCursor == nil {
		t.Errorf("limit 1000 gave %d orders (want clamped to 100 with a next page)", len(list.Orders))
	}
	h.get("/orders", keyA).decode(t, &list)
	if len(list.Orders) != 20 {
		t.Errorf("default page = %d orders, want 20", len(list.Orders))
	}
}

func TestGetOrder(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			r := h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit), keyA)
			if r.Code != http.StatusOK {
				t.Fatalf("status %d: %s", r.Code, r.Body)
			}
			var o api.OrderResponse
			r.decode(t, &o)
			if o.Labels.FulfillmentStatus != "Partially fulfilled · Arriving on 3 December 2026" || o.Shipment == nil || o.Shipment.Status != "in_transit" {
				t.Errorf("shipment %+v label %q", o.Shipment, o.Labels.FulfillmentStatus)
			}
			shipped := o.LineItems[0]
			if len(shipped.Tracking) != 1 || shipped.Tracking[0].URL == "" || shipped.Tracking[0].Company != "UPS" {
				t.Errorf("tracking on the shipped line = %+v", shipped.Tracking)
			}
			if len(o.LineItems[1].Tracking) != 0 {
				t.Errorf("unshipped line has tracking: %+v", o.LineItems[1].Tracking)
			}
			if o.TotalPrice != "228.00" || o.RefundableAmount != "228.00" || o.Actions.Cancel.Allowed || o.Actions.Cancel.BlockedReason == nil ||
				*o.Actions.Cancel.BlockedReason != "order_fulfilled" || !o.Actions.Refund.RequiresReturn {
				t.Errorf("money/actions = %s %s %+v", o.TotalPrice, o.RefundableAmount, o.Actions)
			}

			var jpy api.OrderResponse
			h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderJPY), keyA).decode(t, &jpy)
			if jpy.TotalPrice != "3500" || jpy.Actions.Refund.MaxAmount != "3500" {
				t.Errorf("JPY money = %s / %s, want no decimals", jpy.TotalPrice, jpy.Actions.Refund.MaxAmount)
			}
			var voided api.OrderResponse
			h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderCancelledVoided), keyA).decode(t, &voided)
			if voided.Status != "cancelled" || voided.FinancialStatus != "voided" || voided.CancelledAt == nil || voided.Labels.Status != "Cancelled" {
				t.Errorf("cancelled order = %s %s %v %s", voided.Status, voided.FinancialStatus, voided.CancelledAt, voided.Labels.Status)
			}
		})
	}
}

func TestGetOrderReadThroughAndRefresh(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	path := fmt.Sprintf("/orders/%d", shopifysandbox.OrderPaidUnfulfilled)
	h.get(path, keyA)
	h.get(path, keyA)
	if n := h.sb.Calls(shopifysandbox.OpOrderGet); n != 1 {
		t.Errorf("two views within the TTL made %d Shopify reads, want 1", n)
	}
	// A change at Shopify shows with refresh=true.
	o, _ := h.sb.Order(shopifysandbox.OrderPaidUnfulfilled)
	later := now.Add(time.Hour)
	o.UpdatedAt, o.ClosedAt = &later, &later
	h.sb.AddOrder(o, nil, nil)
	var got api.OrderResponse
	h.get(path+"?refresh=true", keyA).decode(t, &got)
	if got.Status != "archived" || h.sb.Calls(shopifysandbox.OpOrderGet) != 2 {
		t.Errorf("refresh: status %s after %d reads", got.Status, h.sb.Calls(shopifysandbox.OpOrderGet))
	}
}

func TestStaleCopyServedWhileShopifyFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{ttl: time.Nanosecond})
	path := fmt.Sprintf("/orders/%d", shopifysandbox.OrderPaidUnfulfilled)
	if r := h.get(path, keyA); r.Code != http.StatusOK {
		t.Fatalf("first view: %d", r.Code)
	}
	h.sb.Inject(shopifysandbox.Fault{Status: 500, Times: 100})
	if r := h.get(path, keyA); r.Code != http.StatusOK {
		t.Errorf("stale copy not served while Shopify fails: %d %s", r.Code, r.Body)
	}
	problem(t, h.get(path+"?refresh=true", keyA), http.StatusBadGateway, "shopify_unavailable")
	problem(t, h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderJPY), keyA), http.StatusBadGateway, "shopify_unavailable")
}

func TestShopifyTimeoutIs504(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{shopifyTimeout: 100 * time.Millisecond})
	h.sb.Inject(shopifysandbox.Fault{Op: shopifysandbox.OpOrderGet, Latency: 10 * time.Second, Times: 10})
	problem(t, h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderJPY), keyA), http.StatusGatewayTimeout, "shopify_timeout")
}

func TestCustomerListReadsThroughOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	var list api.OrderListResponse
	h.get(fmt.Sprintf("/orders?customer_id=%d", shopifysandbox.Alice.Id), keyA).decode(t, &list)
	if len(list.Orders) != 5 {
		t.Errorf("Alice's orders from an empty store = %v", names(list))
	}
	h.get(fmt.Sprintf("/orders?customer_id=%d", shopifysandbox.Alice.Id), keyA)
	if n := h.sb.Calls(shopifysandbox.OpCustomerOrders); n != 1 {
		t.Errorf("customer order reads = %d, want 1 within the TTL", n)
	}
	// Orders read with the customer list are fresh: viewing one costs nothing.
	h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderArchived), keyA)
	if n := h.sb.Calls(shopifysandbox.OpOrderGet); n != 0 {
		t.Errorf("order read after the list = %d calls, want 0", n)
	}
}

// Issue 13: ?name= finds an order with or without its '#', and ?phone= a
// contact in any common notation (compared in E.164), through the router on
// both databases; a phone that is not a number is a 400 naming it.
func TestListOrdersSearchNotations(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h *harness) {
		h.backfill()
		list := func(query string) []string {
			t.Helper()
			r := h.get("/orders?"+query, keyA)
			if r.Code != http.StatusOK {
				t.Fatalf("%q: status %d %s", query, r.Code, r.Body)
			}
			var l api.OrderListResponse
			r.decode(t, &l)
			return names(l)
		}
		bob := list("customer_id=207119551")
		if len(bob) < 2 {
			t.Fatalf("Bob's orders: %v", bob)
		}
		for _, phone := range []string{"+13125551212", "3125551212", "+1 312 555 1212", "(312) 555-1212", "312-555-1212", "1 (312) 555-1212"} {
			if got := list("phone=" + url.QueryEscape(phone)); fmt.Sprint(got) != fmt.Sprint(bob) {
				t.Errorf("phone=%q: %v, want Bob's %v", phone, got, bob)
			}
		}
		if got := list("phone=" + url.QueryEscape("+44 20 7123 4567")); fmt.Sprint(got) != fmt.Sprint(list("customer_id=207119552")) {
			t.Errorf("Alice's phone in spaced notation: %v", got)
		}
		if got := list("phone=3125551213"); len(got) != 0 {
			t.Errorf("a different number: %v", got)
		}
		for _, name := range []string{"1006", url.QueryEscape("#1006")} {
			if got := list("name=" + name); fmt.Sprint(got) != "[#1006]" {
				t.Errorf("name=%s: %v, want [#1006]", name, got)
			}
		}
		if got := list("name=100"); len(got) != 0 {
			t.Errorf("name=100 is not a prefix search: %v", got)
		}
		// Filters combine with AND.
		if got := list("name=1001&phone=3125551212"); fmt.Sprint(got) != "[#1001]" {
			t.Errorf("name and Bob's phone: %v, want [#1001]", got)
		}
		if got := list("name=1004&phone=3125551212"); len(got) != 0 {
			t.Errorf("Alice's order with Bob's phone: %v", got)
		}
		for _, bad := range []string{"phone=abc", "phone=12", "phone=" + url.QueryEscape("+999 1234")} {
			p := problem(t, h.get("/orders?"+bad, keyA), http.StatusBadRequest, "invalid_query")
			if len(p.Errors) != 1 || p.Errors[0].Field != "phone" {
				t.Errorf("%s: errors %+v, want phone named", bad, p.Errors)
			}
		}
	})
}
