package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
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

			h.front.Uninstall(shopA) // Shopify revokes the token, then sends app/uninstalled
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

// TestReviewReplayedAppUninstalledKeepsTheInstallation (review of issue
// 12): neither X-Shopify-Webhook-Id (the dedupe key) nor
// X-Shopify-Triggered-At (the staleness check) is signed, and the body of
// app/uninstalled is the shop, the same delivery after delivery. A shop's
// old app/uninstalled, resent with a fresh webhook id and a current
// Triggered-At, must not uninstall the shop's current installation while
// Shopify still honours its token: the uninstall is confirmed through the
// shop's own token (Shopify revokes it at once on a real uninstall), and a
// refused one is recorded with its delivery. Once the merchant really
// uninstalls (the sandbox revokes the token), the same delivery applies.
func TestReviewReplayedAppUninstalledKeepsTheInstallation(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			body := []byte(`{"id":1,"myshopify_domain":"shop-a.myshopify.com"}`)
			send := func(triggered time.Time) string {
				id := uuid.NewString()
				r := h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader(string(body)), "Content-Type", "application/json",
					"X-Shopify-Topic", "app/uninstalled", "X-Shopify-Shop-Domain", shopA, "X-Shopify-Webhook-Id", id, "X-Shopify-Event-Id", uuid.NewString(),
					"X-Shopify-Triggered-At", triggered.UTC().Format(time.RFC3339Nano), "X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), body))
				ack(t, r, "accepted")
				return id
			}
			refusal := func(id string) string {
				var why sql.NullString
				if err := h.store.SQL().QueryRowContext(context.Background(), fmt.Sprintf("SELECT refusal FROM webhook_deliveries WHERE webhook_id = '%s'", id)).Scan(&why); err != nil {
					t.Fatal(err)
				}
				return why.String
			}
			// The delivery Shopify made before the current installation: ignored.
			send(time.Now().Add(-time.Hour))
			eventually(t, 5*time.Second, "the stale delivery's job", func() bool { return h.jobs("apply_webhook", "completed") == 1 })
			// The same signed body resent, under a new id and a current time.
			replay := send(time.Now())
			eventually(t, 5*time.Second, "the replay's job", func() bool { return h.jobs("apply_webhook", "completed") == 2 })
			if st := h.shopState(); st.State != tenant.Installed {
				t.Fatalf("a replayed app/uninstalled uninstalled the shop while Shopify still honours its token: %+v", st)
			}
			if r := h.get(fmt.Sprintf("/orders/%d?refresh=true", shopifysandbox.OrderInTransit), keyA); r.Code != http.StatusOK {
				t.Fatalf("after the replay the shop's reads get %d %s", r.Code, r.Body)
			}
			if why := refusal(replay); !strings.Contains(why, "still honours") {
				t.Errorf("the refused replay is not recorded as refused: %q", why)
			}

			// The merchant uninstalls for real: the token stops working and
			// the same delivery now applies.
			h.front.Uninstall(shopA)
			real := send(time.Now())
			eventually(t, 5*time.Second, "the real uninstall", func() bool { return h.shopState().State == tenant.Uninstalled })
			if why := refusal(real); why != "" {
				t.Errorf("the confirmed uninstall is recorded as refused: %q", why)
			}
		})
	}
}
