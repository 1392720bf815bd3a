package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestReviewShopRedactSparesAnInstalledShop (review of issue 12): Shopify
// sends shop/redact 48 hours after a shop uninstalls the app. Its body is
// the same every time ({"shop_id","shop_domain"}), so its signature is too,
// and X-Shopify-Webhook-Id, the dedupe key, is not signed: a shop/redact
// seen once can be resent with a fresh id at any later time. Arriving for
// a shop that is installed (never uninstalled, or installed again within
// the 48 hours) it must erase nothing: not the orders, not the CRM's keys.
// Once the shop has uninstalled, it erases everything.
func TestReviewShopRedactSparesAnInstalledShop(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			redact := []byte(`{"shop_id":1,"shop_domain":"shop-a.myshopify.com"}`)

			done := h.finishedJobs()
			ack(t, h.hookAs(shopA, "shop/redact", uuid.NewString(), redact), "accepted")
			eventually(t, 5*time.Second, "the shop/redact job", func() bool { return h.finishedJobs() > done })
			if _, err := h.store.Tenants().ShopByDomain(context.Background(), shopA); err != nil {
				t.Fatalf("shop/redact for an installed shop erased it: %v", err)
			}
			if r := h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit), keyA); r.Code != http.StatusOK {
				t.Fatalf("after shop/redact for an installed shop its key gets %d %s", r.Code, r.Body)
			}
			if _, ok := h.stored(shopifysandbox.OrderPending); !ok {
				t.Fatal("shop/redact for an installed shop erased its orders")
			}

			ack(t, h.hookAs(shopA, "app/uninstalled", uuid.NewString(), []byte(`{"id":1,"myshopify_domain":"shop-a.myshopify.com"}`)), "accepted")
			eventually(t, 5*time.Second, "app/uninstalled", func() bool { return h.shopState().State == tenant.Uninstalled })
			ack(t, h.hookAs(shopA, "shop/redact", uuid.NewString(), redact), "accepted")
			eventually(t, 5*time.Second, "shop/redact after the uninstall", func() bool {
				_, err := h.store.Tenants().ShopByDomain(context.Background(), shopA)
				return err != nil
			})
			if _, ok := h.stored(shopifysandbox.OrderPending); ok {
				t.Error("orders survived shop/redact of an uninstalled shop")
			}
		})
	}
}
