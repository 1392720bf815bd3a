package shopify

import (
	"context"
	"fmt"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// CountOrders counts the shop's orders (any status) updated since
// updatedAtMin, for a backfill's progress and ETA.
func (c *Client) CountOrders(ctx context.Context, shop tenant.Shop, updatedAtMin time.Time) (int, error) {
	var n int
	err := c.read(ctx, shop, "count orders", func(ctx context.Context, lib *goshopify.Client) error {
		var err error
		n, err = lib.Order.Count(ctx, goshopify.OrderCountOptions{Status: "any", UpdatedAtMin: updatedAtMin})
		return err
	})
	return n, err
}

// RegisterWebhooks subscribes address to each topic, idempotently:
// subscriptions that exist are kept, missing ones are created. It returns
// the topics created and the topics already there.
func (c *Client) RegisterWebhooks(ctx context.Context, shop tenant.Shop, address string, topics []string) (created, kept []string, err error) {
	var existing []goshopify.Webhook
	err = c.read(ctx, shop, "list webhooks", func(ctx context.Context, lib *goshopify.Client) error {
		var err error
		existing, err = lib.Webhook.List(ctx, nil)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	have := map[string]bool{}
	for _, w := range existing {
		if w.Address == address {
			have[w.Topic] = true
		}
	}
	for _, topic := range topics {
		if have[topic] {
			kept = append(kept, topic)
			continue
		}
		// Creating is not retried blindly: a lost answer is settled by the
		// next run, which finds the subscription and keeps it.
		lib, err := c.library(ctx, shop)
		if err != nil {
			return created, kept, err
		}
		rest, _ := c.limiters.forShop(shop.Domain)
		if err := c.metrics.take(ctx, "rest", rest, 1); err != nil {
			return created, kept, mapCtxErr(err)
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		_, err = lib.Webhook.Create(actx, goshopify.Webhook{Topic: topic, Address: address, Format: "json"})
		cancel()
		c.metrics.observe("rest", "create webhook", err)
		if err != nil {
			return created, kept, fmt.Errorf("subscribe %s: %w", topic, mapError(err))
		}
		created = append(created, topic)
	}
	return created, kept, nil
}
