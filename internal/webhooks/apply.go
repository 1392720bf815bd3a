package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// ApplyWebhook applies one delivery's payload (run by the job worker).
func (s *Service) ApplyWebhook(ctx context.Context, j Job) error {
	shop, topic, payload := j.Shop, j.Topic, j.Payload
	var ref struct {
		ID        int64 `json:"id"`
		OrderID   int64 `json:"order_id"`
		OrderEdit *struct {
			OrderID int64 `json:"order_id"`
		} `json:"order_edit"`
		Customer *struct {
			ID int64 `json:"id"`
		} `json:"customer"`
		OrdersToRedact []int64 `json:"orders_to_redact"`
	}
	if err := json.Unmarshal(payload, &ref); err != nil {
		return fmt.Errorf("webhook %s: payload is not JSON: %w", topic, err)
	}
	switch topic {
	case "orders/edited":
		if ref.OrderEdit == nil {
			return fmt.Errorf("webhook %s: no order_edit", topic)
		}
		return s.sync.RefreshOrder(ctx, shop, ref.OrderEdit.OrderID)
	case "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled":
		src, err := s.decode(payload)
		if err != nil {
			return fmt.Errorf("webhook %s: %w", topic, err)
		}
		untrusted, err := s.sync.ApplyShopifyOrders(ctx, shop, []orders.ShopifyOrder{src}, trustedBody)
		if err != nil {
			return fmt.Errorf("webhook %s: %w", topic, err)
		}
		if len(untrusted) > 0 {
			// The routing header is not signed: another shop's signed
			// delivery may have been resent under this shop's domain. The
			// order is read through this shop's own token instead, and
			// stored only as this shop's Shopify has it (not at all when
			// it has no such order).
			s.log.InfoContext(ctx, "an order or customer the shop never had: confirming it through the shop's own token", "shop_id", shop.ID, "order_id", src.ID, "topic", topic)
			return s.sync.RefreshOrder(ctx, shop, src.ID)
		}
		return nil
	case "refunds/create", "fulfillments/create", "fulfillments/update", "fulfillment_events/create":
		// These name the order; its new state comes from Shopify.
		if ref.OrderID == 0 {
			return fmt.Errorf("webhook %s: no order_id", topic)
		}
		return s.sync.RefreshOrder(ctx, shop, ref.OrderID)
	case "customers/redact":
		if ref.Customer == nil {
			return fmt.Errorf("webhook %s: no customer", topic)
		}
		s.log.InfoContext(ctx, "erasing a customer's personal data", "shop_id", shop.ID, "customer_id", ref.Customer.ID)
		return s.sync.RedactCustomer(ctx, shop, ref.Customer.ID, ref.OrdersToRedact)
	case "shop/redact":
		forgotten, err := s.sync.ForgetShop(ctx, shop)
		if forgotten {
			s.shopCache.drop(shop.ID)
		}
		switch {
		case err != nil:
			return err
		case !forgotten:
			// Shopify sends shop/redact 48 hours after an uninstall; the
			// shop is installed (again), or an old delivery was resent
			// under a fresh webhook id, which the signature does not cover.
			s.log.WarnContext(ctx, "shop/redact for a shop that is installed: nothing erased", "shop_id", shop.ID)
			return nil
		}
		s.log.InfoContext(ctx, "deleted a shop's data", "shop_id", shop.ID)
		return nil
	case "app/uninstalled":
		return s.uninstalled(ctx, shop, j, payload)
	case "customers/data_request":
		// Recorded with the delivery; the merchant answers it from Shopify.
		s.log.InfoContext(ctx, "customer data request recorded", "shop_id", shop.ID)
		return nil
	}
	return nil
}

// uninstalled applies app/uninstalled: the shop's token is dropped and
// nothing calls Shopify for it any more (its jobs are skipped, saying so);
// its data stays until shop/redact. The routing header is not signed, so
// the signed body must name the routed shop: shop A's delivery resent as
// shop B's uninstalls nothing.
//
// Neither the dedupe key (X-Shopify-Webhook-Id) nor X-Shopify-Triggered-At
// is signed, and the body is the same delivery after delivery: a shop's
// old app/uninstalled can be resent at any time with a fresh id and a
// current time. So the uninstall is confirmed through the shop's own token
// first: a token Shopify still honours means the app is installed, and the
// delivery is refused (recorded with it, acknowledged, nothing changed).
//
// An uninstall triggered before the shop's current installation (Shopify
// retries a delivery for hours; a job is retried too) leaves that
// installation alone.
func (s *Service) uninstalled(ctx context.Context, shop tenant.Shop, j Job, payload []byte) error {
	var body struct {
		MyshopifyDomain string `json:"myshopify_domain"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return fmt.Errorf("webhook app/uninstalled: payload is not JSON: %w", err)
	}
	if !strings.EqualFold(body.MyshopifyDomain, shop.Domain) {
		s.log.WarnContext(ctx, "app/uninstalled names another shop than the one it was routed to: ignored", "shop_id", shop.ID, "body_shop", body.MyshopifyDomain)
		return nil
	}
	if s.installations == nil {
		return errors.New("webhook app/uninstalled: no way to confirm the uninstall with Shopify")
	}
	installed, err := s.installations.Installed(ctx, shop)
	if err != nil {
		return fmt.Errorf("webhook app/uninstalled: confirming through the shop's token: %w", err)
	}
	if installed {
		const why = "app/uninstalled, but Shopify still honours the shop's access token: the app is installed"
		s.log.WarnContext(ctx, why+"; nothing changed", "shop_id", shop.ID, "webhook_id", j.WebhookID, "triggered_at", j.TriggeredAt)
		if err := s.recorder.RefuseDelivery(ctx, j.WebhookID, why); err != nil {
			return fmt.Errorf("webhook app/uninstalled: %w", err)
		}
		return nil
	}
	done, err := s.shops.MarkUninstalled(ctx, shop.ID, time.Now().UTC(), j.TriggeredAt)
	if err != nil {
		return err
	}
	if !done {
		s.log.WarnContext(ctx, "app/uninstalled triggered before the shop's current installation: ignored", "shop_id", shop.ID, "triggered_at", j.TriggeredAt)
		return nil
	}
	s.forget(shop.ID)
	s.shopCache.drop(shop.ID)
	s.log.InfoContext(ctx, "the shop uninstalled the app: token dropped, data kept until shop/redact", "shop_id", shop.ID)
	return nil
}
