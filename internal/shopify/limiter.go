package shopify

import (
	"context"
	"sync"
	"time"
)

// bucket mirrors Shopify's GraphQL cost bucket on orderdesk's side, so
// calls wait here instead of being throttled: points, restored per second,
// reported in extensions.cost.throttleStatus.
type bucket struct {
	mu       sync.Mutex
	capacity float64
	leak     float64 // units per second
	level    float64
	at       time.Time
	now      func() time.Time
}

func newBucket(capacity, leak float64) *bucket {
	return &bucket{capacity: capacity, leak: leak, now: time.Now}
}

// drain leaks what time has let out; callers hold mu.
func (b *bucket) drain() {
	now := b.now()
	if !b.at.IsZero() {
		b.level = max(0, b.level-now.Sub(b.at).Seconds()*b.leak)
	}
	b.at = now
}

// backgroundShare is the part of a shop's points background work may use
// (orders.Background: backfills, refreshes of stale copies); the rest is
// kept for agents' reads and actions.
const backgroundShare = 0.6

// take waits until cost fits under share of the capacity (1 for agents'
// work, backgroundShare for background work), then adds it. It keeps a
// margin of one unit so concurrent replicas sharing the bucket rarely overflow it.
func (b *bucket) take(ctx context.Context, cost, share float64) error {
	for {
		b.mu.Lock()
		b.drain()
		room := b.capacity*share - 1 - b.level
		if room >= cost || b.level == 0 {
			b.level += cost
			b.mu.Unlock()
			return nil
		}
		wait := time.Duration((cost - room) / b.leak * float64(time.Second))
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// observe takes in the level Shopify reported, which also counts other
// clients of the same shop. It only ever raises the estimate: answers to
// concurrent calls arrive out of order, and an early call's lower reading
// does not count the calls sent since. The level falls only by leaking.
func (b *bucket) observe(level, capacity float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drain()
	if capacity > 0 {
		b.capacity = capacity
	}
	b.level = max(b.level, level)
}

// full marks the bucket full after a 429: nothing goes out until it leaks.
func (b *bucket) full() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drain()
	b.level = b.capacity
}

// limiters keeps one GraphQL cost bucket per shop.
type limiters struct {
	mu      sync.Mutex
	graphql map[string]*bucket
}

func newLimiters() *limiters {
	return &limiters{graphql: map[string]*bucket{}}
}

// forShop is the shop's GraphQL cost bucket. Standard plans have 2000
// points available, restoring 100/s; the bucket counts used points
// (capacity minus available) and takes Shopify's figures as they arrive.
func (l *limiters) forShop(shop string) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.graphql[shop] == nil {
		l.graphql[shop] = newBucket(2000, 100)
	}
	return l.graphql[shop]
}
