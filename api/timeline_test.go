package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

func TestTimeline(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	// A contact never seen: read through from Shopify, then told newest first.
	var page api.TimelineResponse
	h.get(fmt.Sprintf("/customers/%d/timeline?limit=100", shopifysandbox.Bob.Id), keyA).decode(t, &page)
	if len(page.Events) < 10 || page.NextCursor != nil {
		t.Fatalf("Bob's timeline has %d events", len(page.Events))
	}
	seen := map[string]int{}
	for i, e := range page.Events {
		seen[e.Type]++
		if i > 0 && e.OccurredAt.After(page.Events[i-1].OccurredAt) {
			t.Errorf("not newest first at %d", i)
		}
	}
	for _, typ := range []string{"order.placed", "order.paid", "order.partially_fulfilled", "order.fulfilled", "shipment.in_transit",
		"shipment.out_for_delivery", "shipment.attempted_delivery", "shipment.delivered", "order.cancelled", "order.refunded"} {
		if seen[typ] == 0 {
			t.Errorf("no %s event in %v", typ, seen)
		}
	}
	for _, e := range page.Events {
		if e.Type == "shipment.in_transit" && e.OrderID == int64(shopifysandbox.OrderInTransit) &&
			(e.Summary != "Order #1001 in transit, arriving on 3 December 2026" || e.Data["estimated_delivery_at"] != "2026-12-03T00:00:00Z") {
			t.Errorf("in-transit event = %+v", e)
		}
	}
	// Paging walks the same events, from the copy.
	reads := h.sb.Calls(shopifysandbox.OpCustomerOrders)
	total, path := 0, fmt.Sprintf("/customers/%d/timeline?limit=4", shopifysandbox.Bob.Id)
	ids := map[string]bool{}
	for {
		var p api.TimelineResponse
		h.get(path, keyA).decode(t, &p)
		for _, e := range p.Events {
			if ids[e.ID] {
				t.Fatalf("event %s on two pages", e.ID)
			}
			ids[e.ID] = true
		}
		total += len(p.Events)
		if p.NextCursor == nil {
			break
		}
		path = fmt.Sprintf("/customers/%d/timeline?limit=4&cursor=%s", shopifysandbox.Bob.Id, url.QueryEscape(*p.NextCursor))
	}
	if total != len(page.Events) {
		t.Errorf("paged %d events, want %d", total, len(page.Events))
	}
	if n := h.sb.Calls(shopifysandbox.OpCustomerOrders); n != reads {
		t.Errorf("customer order pages read = %d, then %d: paging the timeline must not re-read Shopify", reads, n)
	}
	problem(t, h.get("/customers/abc/timeline", keyA), http.StatusBadRequest, "invalid_query")
	problem(t, h.get("/customers/1/timeline?cursor=zzz", keyA), http.StatusBadRequest, "invalid_query")
	// A contact the shop has no order of is not found, like another
	// shop's order.
	problem(t, h.get("/customers/1/timeline", keyA), http.StatusNotFound, "not_found")
}
