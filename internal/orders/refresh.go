package orders

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RefreshBudget bounds the background refreshes of stale copies per shop, so
// a storm of stale views never takes the Shopify rate limit an agent's
// action needs: at most Workers refreshes of one shop talk to Shopify at
// once, at most PerSecond start each second, and at most Queue wait. A
// refresh dropped because the queue is full is scheduled again by the next
// view of that copy (and the reconciliation sweep repairs what no one views).
type RefreshBudget struct {
	Workers   int
	PerSecond float64
	Queue     int
	// Timeout bounds one refresh, Shopify read and store write together.
	Timeout time.Duration
}

// DefaultRefreshBudget: one refresh of a shop at a time, at most one a
// second. An order read costs one GraphQL query (or three REST calls), so
// this keeps most of Shopify's per-shop budget for actions and syncs.
var DefaultRefreshBudget = RefreshBudget{Workers: 1, PerSecond: 1, Queue: 1000, Timeout: 30 * time.Second}

// refreshKey names one background refresh: a copy of an order, or a
// customer's order list. A struct, not a string, so scheduling allocates
// nothing when the refresh is already pending.
type refreshKey struct {
	shopID   int64
	customer bool
	id       int64
}

// refresher runs background refreshes: one per key at a time, within each
// shop's budget. It lives in the process: a view schedules a refresh without
// a database write, and two replicas refreshing the same copy at worst read
// it twice (the store keeps the newer).
type refresher struct {
	budget RefreshBudget
	log    *slog.Logger

	mu      sync.Mutex
	closed  bool
	pending map[refreshKey]struct{}
	shops   map[int64]*shopBudget
	// ctx is cancelled by close: it ends the refreshes waiting or running.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type shopBudget struct {
	slots   chan struct{} // one token per refresh talking to Shopify
	limiter *rate.Limiter
	waiting int // scheduled and not finished
}

func newRefresher(b RefreshBudget, log *slog.Logger) *refresher {
	if b.Workers <= 0 {
		b.Workers = DefaultRefreshBudget.Workers
	}
	if b.PerSecond <= 0 {
		b.PerSecond = DefaultRefreshBudget.PerSecond
	}
	if b.Queue <= 0 {
		b.Queue = DefaultRefreshBudget.Queue
	}
	if b.Timeout <= 0 {
		b.Timeout = DefaultRefreshBudget.Timeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &refresher{budget: b, log: log, pending: map[refreshKey]struct{}{}, shops: map[int64]*shopBudget{}, ctx: ctx, cancel: cancel}
}

// busy reports whether schedule would refuse key now: closed, already
// pending, or the shop's queue full. A storm of views of stale copies asks
// it first, so the views that find their refresh pending build nothing.
func (r *refresher) busy(key refreshKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return true
	}
	if _, ok := r.pending[key]; ok {
		return true
	}
	b := r.shops[key.shopID]
	return b != nil && b.waiting >= r.budget.Queue
}

// schedule runs fn in the background unless a refresh of key is already
// pending, the shop's queue is full or the refresher is closed. It reports
// whether fn was scheduled.
func (r *refresher) schedule(key refreshKey, fn func(context.Context) error) bool {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	if _, ok := r.pending[key]; ok {
		r.mu.Unlock()
		return false
	}
	b := r.shops[key.shopID]
	if b == nil {
		b = &shopBudget{slots: make(chan struct{}, r.budget.Workers), limiter: rate.NewLimiter(rate.Limit(r.budget.PerSecond), 1)}
		r.shops[key.shopID] = b
	}
	if b.waiting >= r.budget.Queue {
		r.mu.Unlock()
		return false
	}
	r.pending[key] = struct{}{}
	b.waiting++
	r.wg.Add(1)
	r.mu.Unlock()

	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.pending, key)
			b.waiting--
			r.mu.Unlock()
		}()
		ctx := Background(r.ctx)
		for {
			err := r.run(ctx, b, fn)
			if errors.Is(err, errMore) {
				continue // queued again behind the shop's other refreshes
			}
			if err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "background refresh failed; the stored copy stays", "shop_id", key.shopID, "customer", key.customer, "id", key.id, "err", err)
			}
			return
		}
	}()
	return true
}

// errMore is what a refresh returns when it has more to do and yields the
// shop's slot: the refresher runs it again, within the budget, after the
// refreshes waiting before it (a customer's long list is read in turns).
var errMore = errors.New("more to refresh")

// run waits for a slot of the shop and its rate, then runs fn once within
// the refresh timeout. ctx's end is returned.
func (r *refresher) run(ctx context.Context, b *shopBudget, fn func(context.Context) error) error {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.slots }()
	if err := b.limiter.Wait(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.budget.Timeout)
	defer cancel()
	return fn(ctx)
}

// close stops scheduling, cancels the refreshes still waiting or running,
// and waits for them (bounded by ctx).
func (r *refresher) close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
