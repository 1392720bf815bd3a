package shopify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// CountOrders counts the shop's orders (any status) updated since
// updatedAtMin, exactly (ordersCount with no limit), for a backfill's
// progress and ETA.
func (c *Client) CountOrders(ctx context.Context, shop tenant.Shop, updatedAtMin time.Time) (int, error) {
	var query *string
	if q := ordersSearch(updatedAtMin); q != "" {
		query = &q
	}
	resp, err := OrdersCount(ctx, c.reader(shop), query)
	if err != nil {
		return 0, err
	}
	if resp.OrdersCount == nil {
		return 0, fmt.Errorf("count orders: %w: no count", orders.ErrShopifyUnavailable)
	}
	return resp.OrdersCount.Count, nil
}

// WebhookTopic is the GraphQL WebhookSubscriptionTopic of a REST topic
// name (orders/create is ORDERS_CREATE); false when the API has no such
// topic, as for the compliance topics, which are set in the app's
// configuration instead.
func WebhookTopic(topic string) (WebhookSubscriptionTopic, bool) {
	t := WebhookSubscriptionTopic(strings.ToUpper(strings.ReplaceAll(topic, "/", "_")))
	return t, slices.Contains(AllWebhookSubscriptionTopic, t)
}

// webhookPageSize is how many subscriptions one listing page holds.
const webhookPageSize = 100

// RegisterWebhooks subscribes address to each topic through GraphQL
// (webhookSubscriptionCreate), idempotently: subscriptions that exist
// (listed first, every page) are kept, missing ones are created. A topic
// the API does not take is refused before anything is created. It
// returns the topics created and the topics already there.
func (c *Client) RegisterWebhooks(ctx context.Context, shop tenant.Shop, address string, topics []string) (created, kept []string, err error) {
	want := make([]WebhookSubscriptionTopic, 0, len(topics))
	for _, topic := range topics {
		t, ok := WebhookTopic(topic)
		if !ok {
			return nil, nil, fmt.Errorf("webhook topic %s: not a WebhookSubscriptionTopic (compliance topics are set in shopify.app.toml): %w", topic, orders.ErrInvalidInput)
		}
		want = append(want, t)
	}
	have := map[WebhookSubscriptionTopic]bool{}
	var after *string
	for {
		resp, err := WebhookSubscriptions(ctx, c.reader(shop), webhookPageSize, after)
		if err != nil {
			return nil, nil, err
		}
		page := resp.WebhookSubscriptions
		for _, w := range page.Nodes {
			if w.Uri == address {
				have[w.Topic] = true
			}
		}
		if !page.PageInfo.HasNextPage || page.PageInfo.EndCursor == nil {
			break
		}
		after = page.PageInfo.EndCursor
	}
	for i, topic := range want {
		if have[topic] {
			kept = append(kept, topics[i])
			continue
		}
		// Creating is not retried blindly: a lost answer is settled by the
		// next run, which finds the subscription and keeps it.
		resp, err := WebhookSubscriptionCreate(ctx, c.transport(shop, false), topic, address)
		if err != nil {
			return created, kept, fmt.Errorf("subscribe %s: %w", topics[i], err)
		}
		if p := resp.WebhookSubscriptionCreate; p == nil || len(p.UserErrors) > 0 || p.WebhookSubscription == nil {
			var errs []userError
			if p != nil {
				for _, e := range p.UserErrors {
					errs = append(errs, userError{Field: e.Field, Message: e.Message})
				}
			}
			return created, kept, rejection("subscribe "+topics[i], errs)
		}
		created = append(created, topics[i])
	}
	return created, kept, nil
}
