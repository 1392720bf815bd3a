package tenant

import (
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// ErrRateLimited: the API key has spent its request budget for now; see
// RateLimitError for when to come back.
var ErrRateLimited = errors.New("rate limit exceeded for this api key")

// RateLimitError says how long until the key's next request is allowed. It
// matches ErrRateLimited.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v: retry in %s", ErrRateLimited, e.RetryAfter.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Limiter is a token bucket per API key, in this replica's memory: a key
// may make `burst` requests at once and `perSecond` a second over time. N
// replicas behind a load balancer allow about N times that. Buckets live in
// a bounded LRU; a key whose bucket was evicted starts again full.
type Limiter struct {
	perSecond rate.Limit
	burst     int
	buckets   *lru.Cache[int64, *rate.Limiter]
	now       func() time.Time
}

// NewLimiter returns a limiter for up to `keys` keys at once, or nil (no
// limit) when perSecond is 0. now may be nil (time.Now).
func NewLimiter(perSecond float64, burst, keys int, now func() time.Time) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	if keys < 1 {
		keys = 10000
	}
	if now == nil {
		now = time.Now
	}
	buckets, _ := lru.New[int64, *rate.Limiter](keys) // keys > 0: no error
	return &Limiter{perSecond: rate.Limit(perSecond), burst: burst, buckets: buckets, now: now}
}

// Allow spends one request of the key's budget, or says how long to wait.
func (l *Limiter) Allow(keyID int64) error {
	if l == nil {
		return nil
	}
	b, ok := l.buckets.Get(keyID)
	if !ok {
		// Two first requests racing may each make a bucket; one wins the
		// slot, and the other request is still counted in its own.
		b = rate.NewLimiter(l.perSecond, l.burst)
		if prev, found, _ := l.buckets.PeekOrAdd(keyID, b); found {
			b = prev
		}
	}
	now := l.now()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &RateLimitError{RetryAfter: d}
	}
	return nil
}
