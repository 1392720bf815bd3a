package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// jobs counts River jobs of a kind in a state.
func (h *harness) jobs(kind, state string) int {
	h.t.Helper()
	var n int
	q := fmt.Sprintf("SELECT count(*) FROM river_job WHERE kind = '%s' AND state = '%s'", kind, state)
	if err := h.store.SQL().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) shopState() tenant.StoredToken {
	h.t.Helper()
	st, err := h.store.Tenants().ShopToken(context.Background(), h.shopA.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// TestAppUninstalled: the shop is marked uninstalled and its token
// dropped; its data is still served from the copy, nothing calls Shopify
// for it (jobs are cancelled, saying why), and shop/redact still erases it.
func TestAppUninstalled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.backfill()

	// Shop B's signed app/uninstalled, routed to shop A by the unsigned
	// header, uninstalls nothing.
	ack(t, h.hook("app/uninstalled", uuid.NewString(), []byte(`{"id":2,"myshopify_domain":"shop-b.myshopify.com","domain":"b.example.com"}`), webhookSecret), "accepted")
	eventually(t, 3*time.Second, "the forged delivery's job", func() bool { return h.jobs("apply_webhook", "completed") == 1 })
	if st := h.shopState(); st.State != tenant.Installed {
		t.Fatalf("another shop's app/uninstalled uninstalled shop A: %+v", st)
	}

	// The merchant uninstalls: Shopify revokes the shop's token, then tells.
	h.front.Uninstall(shopA)
	ack(t, h.hook("app/uninstalled", uuid.NewString(), []byte(`{"id":1,"myshopify_domain":"shop-a.myshopify.com","domain":"a.example.com"}`), webhookSecret), "accepted")
	eventually(t, 3*time.Second, "app/uninstalled", func() bool { return h.shopState().State == tenant.Uninstalled })

	reads := h.sb.Calls(shopifysandbox.OpOrderGet)
	if r := h.get(fmt.Sprintf("/orders/%d", shopifysandbox.OrderInTransit), keyA); r.Code != http.StatusOK {
		t.Errorf("the kept copy: %d %s", r.Code, r.Body)
	}
	problem(t, h.get(fmt.Sprintf("/orders/%d?refresh=true", shopifysandbox.OrderInTransit), keyA), http.StatusConflict, "shop_uninstalled")

	// A delivery whose apply needs Shopify is cancelled, not retried.
	ack(t, h.hook("refunds/create", uuid.NewString(), []byte(fmt.Sprintf(`{"id":9,"order_id":%d}`, shopifysandbox.OrderInTransit)), webhookSecret), "accepted")
	eventually(t, 3*time.Second, "the skipped job", func() bool { return h.jobs("apply_webhook", "cancelled") == 1 })
	var errs string
	_ = h.store.SQL().QueryRowContext(context.Background(), "SELECT CAST(errors AS TEXT) FROM river_job WHERE state = 'cancelled'").Scan(&errs)
	if !strings.Contains(errs, "uninstalled the app") {
		t.Errorf("the cancelled job does not say why: %s", errs)
	}
	if n := h.sb.Calls(shopifysandbox.OpOrderGet); n != reads {
		t.Errorf("Shopify was called %d times for an uninstalled shop", n-reads)
	}

	ack(t, h.hook("shop/redact", uuid.NewString(), []byte(`{"shop_domain":"shop-a.myshopify.com"}`), webhookSecret), "accepted")
	eventually(t, 3*time.Second, "shop/redact", func() bool {
		_, err := h.store.Tenants().ShopByDomain(context.Background(), shopA)
		return err != nil
	})
}

// TestStaleAppUninstalledKeepsAReinstall: Shopify retries a delivery it
// could not hand over (orderdesk down, a 5xx) for hours, with its
// X-Shopify-Triggered-At; a River job is retried too. An app/uninstalled
// triggered before the shop's current installation must not drop the
// token of that installation.
func TestStaleAppUninstalledKeepsAReinstall(t *testing.T) {
	t.Parallel()

	h := newHarness(t, harnessOpts{})
	body := []byte(`{"id":1,"myshopify_domain":"shop-a.myshopify.com"}`)
	r := h.do(http.MethodPost, "/webhooks/shopify", "", strings.NewReader(string(body)), "Content-Type", "application/json",
		"X-Shopify-Topic", "app/uninstalled", "X-Shopify-Shop-Domain", shopA, "X-Shopify-Webhook-Id", uuid.NewString(), "X-Shopify-Event-Id", uuid.NewString(),
		"X-Shopify-Triggered-At", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano), "X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(webhookSecret), body))
	ack(t, r, "accepted")
	eventually(t, 3*time.Second, "the delivery's job", func() bool { return h.jobs("apply_webhook", "completed") == 1 })
	if st := h.shopState(); st.State != tenant.Installed {
		t.Errorf("an uninstall from before the current installation uninstalled the shop: %+v", st)
	}
}
