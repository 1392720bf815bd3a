package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestPreparedSyncBatchKeepsANewerWebhookWrite: a backfill batch prepared
// (rows and documents rendered) from an order's older state, then saved
// after a webhook stored its newer state, changes neither the copy nor its
// document (the updated_at rule holds for prepared rows), and sends no
// event twice.
func TestPreparedSyncBatchKeepsANewerWebhookWrite(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.RenderOrdersWith(testRenderer(1))
		sh := shop(t, s, "prepared.myshopify.com")
		st := s.Orders()
		old := order(1, 7, base, "paid")
		if err := st.SaveOrders(ctx, sh.ID, []orders.Order{old}, nil, false); err != nil {
			t.Fatal(err)
		}
		prepared, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{old, order(2, 8, base, "paid")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		src := old.Source
		src.UpdatedAt = base.Add(time.Hour)
		src.Customer.Email = "new@example.com"
		newer := orders.Build(src, base.Add(2*time.Hour))
		newer = withRefund(newer, 70, "5.00")
		if err := st.SaveOrders(ctx, sh.ID, []orders.Order{newer}, nil, false); err != nil {
			t.Fatal(err)
		}
		before := listEvents(t, s, sh.ID, events.Filter{})
		if err := st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{StartedAt: base}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSyncBatch(ctx, sh.ID, prepared, orders.SyncRun{StartedAt: base, Checkpoint: "cp1", Orders: 2, Pages: 1}); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetOrder(ctx, sh.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !got.UpdatedAt.Equal(newer.UpdatedAt) || len(got.Refunds) != 1 {
			t.Errorf("copy after the older batch: updated %s, %d refunds; want the webhook's", got.UpdatedAt, len(got.Refunds))
		}
		if v := mustView(t, s, sh.ID, 1); string(v.Doc) != docOf(newer) || !v.SyncedAt.Equal(newer.SyncedAt) {
			t.Errorf("view after the older batch: doc %s synced %s, want %s %s", v.Doc, v.SyncedAt, docOf(newer), newer.SyncedAt)
		}
		if v := mustView(t, s, sh.ID, 2); string(v.Doc) != docOf(order(2, 8, base, "paid")) {
			t.Errorf("order 2's view = %s", v.Doc)
		}
		after := listEvents(t, s, sh.ID, events.Filter{})
		if len(after) != len(before) {
			t.Errorf("events %v after the batch, %v before: the batch (older facts, order 2 history) added some", types(after), types(before))
		}
	})
}
