package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// LeaseStore keeps the order leases: one executor per order at a time,
// each named by its own holder token, expiring on the database's clock.
type LeaseStore interface {
	// AcquireLease takes the order's lease for holder for ttl: false when
	// another holder's lease has not expired.
	AcquireLease(ctx context.Context, shopID, orderID int64, actionID, holder string, ttl time.Duration) (bool, error)
	// RenewLease extends holder's lease; false when holder lost it.
	RenewLease(ctx context.Context, shopID, orderID int64, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease drops the lease if holder holds it, nobody else's.
	ReleaseLease(ctx context.Context, shopID, orderID int64, holder string) error
}

// errLeaseBusy: another executor holds the order; it finishes the action.
var errLeaseBusy = errors.New("another executor holds the order's lease")

// errLeaseLost: the lease ran out (the executor stalled past it) and may
// belong to another executor now; nothing more may be sent or saved.
var errLeaseLost = errors.New("the order's lease was lost")

// lease is one executor's hold on an order. The keeper renews it while
// the work runs; once a renewal fails the work's context is cancelled, and
// check refuses every further step.
type lease struct {
	leases  LeaseStore
	shop    tenant.Shop
	orderID int64
	holder  string
	ttl     time.Duration
	lost    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// acquire takes the order's lease under a fresh token and keeps it alive
// until release. ctx is cancelled when the lease is lost.
func (s *Service) acquire(ctx context.Context, shop tenant.Shop, a Action) (*lease, context.Context, context.CancelFunc, error) {
	l := &lease{leases: s.leases, shop: shop, orderID: a.OrderID, holder: uuid.NewString(), ttl: s.leaseTTL,
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	ok, err := s.leases.AcquireLease(ctx, shop.ID, a.OrderID, a.ID, l.holder, l.ttl)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("lease: %w", err)
	}
	if !ok {
		return nil, nil, nil, errLeaseBusy
	}
	wctx, cancel := context.WithCancel(ctx)
	go l.keep(wctx, cancel)
	return l, wctx, cancel, nil
}

func (l *lease) keep(ctx context.Context, cancel context.CancelFunc) {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := l.leases.RenewLease(context.WithoutCancel(ctx), l.shop.ID, l.orderID, l.holder, l.ttl)
			if err == nil && !ok {
				close(l.lost)
				cancel()
				return
			}
		}
	}
}

// check refuses a step once the lease is lost; before each Shopify call
// and each save it also renews the lease, so a step starts with a full ttl.
func (l *lease) check(ctx context.Context) error {
	select {
	case <-l.lost:
		return errLeaseLost
	default:
	}
	ok, err := l.leases.RenewLease(ctx, l.shop.ID, l.orderID, l.holder, l.ttl)
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	if !ok {
		return errLeaseLost
	}
	return nil
}

// release stops the keeper and drops the lease (only this holder's).
func (l *lease) release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	return l.leases.ReleaseLease(context.WithoutCancel(ctx), l.shop.ID, l.orderID, l.holder)
}
