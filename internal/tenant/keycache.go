package tenant

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// keyCache resolves key hashes to principals, keeping each answer for a
// short TTL in a bounded LRU. It is per replica: another replica's
// revocation reaches this one when the entry expires, so the TTL is the
// longest a revoked key keeps working.
//
// Unknown keys must not cost the database a lookup each: the same unknown
// key is remembered as unknown for the TTL (a new key is a fresh random
// secret, never one tried before, so this delays no real key), and
// lookups that find nothing spend a per-replica budget (misses a second,
// with a burst). Once it is spent, a key this replica does not know is
// answered 429 with Retry-After without a lookup, until the budget
// refills; keys it knows (cached) are unaffected. So someone spraying
// random keys costs the database at most the budget, at any rate.
type keyCache struct {
	store   Store
	ttl     time.Duration
	now     func() time.Time
	entries *lru.Cache[string, keyEntry]  // nil when ttl is 0
	unknown *lru.Cache[string, time.Time] // hash -> until when it is known unknown; nil when ttl is 0
	misses  *rate.Limiter                 // nil: no budget (every unknown key is looked up)

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
		c.entries, _ = lru.New[string, keyEntry](o.cacheSize)  // size > 0: no error
		c.unknown, _ = lru.New[string, time.Time](o.cacheSize) // size > 0: no error
	}
	if o.missesPerSecond > 0 {
		c.misses = rate.NewLimiter(rate.Limit(o.missesPerSecond), max(1, o.missBurst))
	}
	return c
}

func (c *keyCache) resolve(ctx context.Context, hash string) (Principal, error) {
	now := c.now()
	known := false // a key this replica resolved before: its expired entry is re-checked without the miss budget
	if c.entries != nil {
		if e, ok := c.entries.Get(hash); ok {
			if now.Before(e.expires) {
				c.noteUse(e.p.KeyID, now)
				return e.p, nil
			}
			// Kept until the re-check answers: a random-key spray that
			// spends the miss budget must not lock a real key out.
			known = true
		}
		if until, ok := c.unknown.Get(hash); ok {
			if now.Before(until) {
				return Principal{}, ErrUnauthenticated
			}
			c.unknown.Remove(hash)
		}
	}
	if !known && c.misses != nil && c.misses.TokensAt(now) < 1 {
		r := c.misses.ReserveN(now, 1)
		wait := r.DelayFrom(now)
		r.CancelAt(now)
		return Principal{}, &RateLimitError{RetryAfter: max(wait, time.Millisecond)}
	}
	p, err := c.store.PrincipalByKeyHash(ctx, hash)
	if errors.Is(err, ErrUnauthenticated) && c.entries != nil {
		c.entries.Remove(hash) // revoked since: not known any more
	}
	if errors.Is(err, ErrUnauthenticated) {
		if c.misses != nil {
			c.misses.AllowN(now, 1)
		}
		if c.unknown != nil {
			c.unknown.Add(hash, now.Add(c.ttl))
		}
	}
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
