package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestOneMerchantActionsDeliveriesAreAllApplied: one merchant action (a
// refund that also closes the order) makes two deliveries with the same
// X-Shopify-Event-Id, different webhook ids and topics. Both are applied:
// orders/updated stores its body, refunds/create re-reads the order.
func TestOneMerchantActionsDeliveriesAreAllApplied(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			before := h.sb.Calls(shopifysandbox.OpOrderGet)
			o, _ := h.sb.Order(shopifysandbox.OrderPaidUnfulfilled)
			later := now.Add(time.Hour)
			o.UpdatedAt, o.ClosedAt = &later, &later
			event := uuid.NewString()
			ack(t, h.hookEvent("orders/updated", uuid.NewString(), event, orderJSON(t, o), webhookSecret), "accepted")
			refund := []byte(fmt.Sprintf(`{"id":5001,"order_id":%d}`, shopifysandbox.OrderPaidUnfulfilled))
			ack(t, h.hookEvent("refunds/create", uuid.NewString(), event, refund, webhookSecret), "accepted")
			eventually(t, 5*time.Second, "both deliveries applied", func() bool {
				s, _ := h.stored(shopifysandbox.OrderPaidUnfulfilled)
				return s.Status == orders.StatusArchived && h.sb.Calls(shopifysandbox.OpOrderGet) == before+1
			})
		})
	}
}
