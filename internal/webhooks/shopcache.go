package webhooks

import (
	"context"
	"sync"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Shop lookups: every delivery names its shop by domain, and a burst of
// deliveries names the same few shops. A verified delivery's shop is
// remembered for a short while (bounded), so ingest is one statement, the
// delivery's INSERT. An unknown domain is not remembered (it is a 404 each
// time); a shop this process erases or uninstalls is dropped at once, and
// one another replica erased is forgotten within the TTL (until then its
// deliveries fail to record and Shopify retries them).
const (
	shopCacheTTL = 30 * time.Second
	shopCacheMax = 10000
)

type shopCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[string]cachedShop
	now     func() time.Time
}

type cachedShop struct {
	shop    tenant.Shop
	expires time.Time
}

func newShopCache(ttl time.Duration, max int) *shopCache {
	return &shopCache{ttl: ttl, max: max, entries: map[string]cachedShop{}, now: time.Now}
}

// get returns the shop of domain from the cache, or from lookup (and then
// remembers it).
func (c *shopCache) get(ctx context.Context, domain string, lookup func(context.Context, string) (tenant.Shop, error)) (tenant.Shop, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[domain]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.shop, nil
	}
	shop, err := lookup(ctx, domain)
	if err != nil {
		return shop, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		clear(c.entries) // bounded; a full cache starts over
	}
	c.entries[domain] = cachedShop{shop: shop, expires: now.Add(c.ttl)}
	return shop, nil
}

// drop forgets a shop (erased or uninstalled here).
func (c *shopCache) drop(shopID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, e := range c.entries {
		if e.shop.ID == shopID {
			delete(c.entries, d)
		}
	}
}
