package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// The rate and ETA leave out a bulk export's wait for Shopify's files.
func TestProgressLineRateLeavesTheWaitOut(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p    orders.SyncProgress
		want string
	}{
		{orders.SyncProgress{Bulk: true, Objects: 3000, Orders: 1000, Fetched: 1000, Total: 2000, Elapsed: 62 * time.Second, Waited: 60 * time.Second},
			"bulk: 3000 objects, 1000/2000 orders (50%), 500 orders/s, ETA 2s"},
		{orders.SyncProgress{Bulk: true, Objects: 10, Orders: 4, Fetched: 4, Total: 8, Elapsed: time.Second, Waited: time.Second},
			"bulk: 10 objects, 4/8 orders (50%), - orders/s"},
		{orders.SyncProgress{Pages: 2, Orders: 500, Fetched: 500, Total: 1000, Elapsed: 2 * time.Second},
			"page 2: 500/1000 orders (50%), 250 orders/s, ETA 2s"},
		{orders.SyncProgress{Bulk: true, Resumed: true, Objects: 9, Orders: 300, Fetched: 0, Elapsed: time.Second},
			"(resumed) bulk: 9 objects, 300 orders, - orders/s"},
	}
	for _, c := range cases {
		if got := progressLine(c.p); got != c.want {
			t.Errorf("progressLine(%+v)\n got %q\nwant %q", c.p, got, c.want)
		}
	}
	if got := rate(cases[0].p); !strings.HasPrefix(got, "500 ") {
		t.Errorf("rate = %q, want 500 orders/s", got)
	}
}

// A run stopped because another sync took its backfill over says so, and
// not "run again to resume" (that would stop the other); any other error
// says how to resume. The error is matched through its wrapping.
func TestStopLineTellsATakeoverApart(t *testing.T) {
	t.Parallel()
	p := orders.SyncProgress{Orders: 750}
	moved := fmt.Errorf("backfill: save orders: save sync run: batch 4: %w", orders.ErrSyncRunMoved)
	for _, c := range []struct {
		err       error
		want, not string
	}{
		{moved, "stopped after 750 orders: another sync of this shop has taken over the backfill", "run again with the same --since"},
		{fmt.Errorf("backfill: %w", context.Canceled), "interrupted after 750 orders: run again with the same --since to resume", "taken over"},
		{fmt.Errorf("backfill: save sync run: end: shop 7: %w", tenant.ErrNotFound), "stopped after 750 orders: the shop is no longer in orderdesk", "taken over"},
	} {
		got := stopLine(p, c.err)
		if !strings.Contains(got, c.want) || strings.Contains(got, c.not) {
			t.Errorf("stopLine(%v) = %q, want %q and not %q", c.err, got, c.want, c.not)
		}
	}
}
