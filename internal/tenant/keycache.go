package tenant

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// keyCache resolves key hashes to principals, keeping each answer for a
// short TTL in a bounded LRU. It is per replica: another replica's
// revocation reaches this one when the entry expires, so the TTL is the
// longest a revoked key keeps working. Unknown keys are not cached: a key
// created a moment ago works at once everywhere.
type keyCache struct {
	store   Store
	ttl     time.Duration
	now     func() time.Time
	entries *lru.Cache[string, keyEntry] // nil when ttl is 0

	mu   sync.Mutex
	used map[int64]time.Time // last use of each key since the last flush
}

type keyEntry struct {
	p       Principal
	expires time.Time
}

func newKeyCache(store Store, o options) *keyCache {
	c := &keyCache{store: store, ttl: o.cacheTTL, now: o.now, used: map[int64]time.Time{}}
	if o.cacheTTL > 0 {
		c.entries, _ = lru.New[string, keyEntry](o.cacheSize) // size > 0: no error
	}
	return c
}

func (c *keyCache) resolve(ctx context.Context, hash string) (Principal, error) {
	now := c.now()
	if c.entries != nil {
		if e, ok := c.entries.Get(hash); ok {
			if now.Before(e.expires) {
				c.noteUse(e.p.KeyID, now)
				return e.p, nil
			}
			c.entries.Remove(hash)
		}
	}
	p, err := c.store.PrincipalByKeyHash(ctx, hash)
	if err != nil {
		return Principal{}, err
	}
	if c.entries != nil {
		c.entries.Add(hash, keyEntry{p: p, expires: now.Add(c.ttl)})
	}
	c.noteUse(p.KeyID, now)
	return p, nil
}

func (c *keyCache) noteUse(keyID int64, at time.Time) {
	c.mu.Lock()
	if at.After(c.used[keyID]) {
		c.used[keyID] = at
	}
	c.mu.Unlock()
}

// flush writes last_used_at for the keys used since the last flush, with
// the time of the latest use among them (one statement).
func (c *keyCache) flush(ctx context.Context) error {
	c.mu.Lock()
	used := c.used
	c.used = map[int64]time.Time{}
	c.mu.Unlock()
	if len(used) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(used))
	var latest time.Time
	for _, at := range used {
		if at.After(latest) {
			latest = at
		}
	}
	if err := c.store.TouchAPIKeys(ctx, ids, latest.UTC()); err != nil {
		// Keep the uses for the next flush.
		c.mu.Lock()
		for id, at := range used {
			if at.After(c.used[id]) {
				c.used[id] = at
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("record api key use: %w", err)
	}
	return nil
}
