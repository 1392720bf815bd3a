package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Batching: a delivery that carries its order (the orders/* topics but
// orders/edited) is recorded with its body and applied later, in a batch,
// by ApplyPending: its ingest is one INSERT and one commit, and the copies
// of a shop's many deliveries are stored in one transaction. Deliveries
// that need Shopify (an order the shop has no copy of, or a body that does
// not decode) are handed to an apply job, as every other topic's are.

// carriesOrder are the topics whose body is the order's new state.
var carriesOrder = map[string]bool{
	"orders/create": true, "orders/updated": true, "orders/paid": true, "orders/cancelled": true,
	"orders/fulfilled": true, "orders/partially_fulfilled": true,
}

// Batch sizes: how many pending deliveries one ApplyPending claims, and
// how long its lease holds them (a process that dies mid-batch leaves them
// to be claimed again once it expires).
const (
	BatchSize  = 500
	BatchLease = time.Minute
)

// Applied says what one ApplyPending did.
type Applied struct {
	// Claimed is the pending deliveries it claimed (0: none waiting).
	Claimed int
	// ReceivedAt is when each delivery it finished (stored, superseded by a
	// newer one of its order, or handed to a job) was received, for the
	// delivery-to-visible lag.
	ReceivedAt []time.Time
}

// ApplyPending claims a batch of pending deliveries and applies them: per
// shop, several deliveries of one order are coalesced to the newest by
// updated_at, and the orders are stored in one transaction. A delivery is
// marked finished only after its copy is stored, so a crash in between
// applies it again (storing an order is idempotent: the copy keeps the
// newest updated_at and an event is written once per fact).
func (s *Service) ApplyPending(ctx context.Context) (Applied, error) {
	claimed, err := s.recorder.ClaimPending(ctx, BatchSize, BatchLease)
	if err != nil {
		return Applied{}, fmt.Errorf("claim pending deliveries: %w", err)
	}
	res := Applied{Claimed: len(claimed)}
	var shops []int64
	byShop := map[int64][]PendingDelivery{}
	for _, d := range claimed {
		if byShop[d.ShopID] == nil {
			shops = append(shops, d.ShopID)
		}
		byShop[d.ShopID] = append(byShop[d.ShopID], d)
	}
	var firstErr error
	for _, id := range shops {
		done, err := s.applyShopBatch(ctx, byShop[id])
		res.ReceivedAt = append(res.ReceivedAt, done...)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return res, firstErr
}

// applyShopBatch applies one shop's pending deliveries and returns the
// receipt times of those it finished.
func (s *Service) applyShopBatch(ctx context.Context, batch []PendingDelivery) ([]time.Time, error) {
	shop := tenant.Shop{ID: batch[0].ShopID, Domain: batch[0].ShopDomain}
	newest := map[int64]int{} // order id → index in srcs and heads
	var (
		srcs    []orders.ShopifyOrder
		heads   []PendingDelivery // the delivery each src came from
		handOff []PendingDelivery
		covered []PendingDelivery // superseded by a newer delivery of their order
	)
	for _, d := range batch {
		src, err := s.decode(d.Payload)
		if err != nil || !carriesOrder[d.Topic] {
			handOff = append(handOff, d) // its job says why, and retries
			continue
		}
		i, ok := newest[src.ID]
		switch {
		case !ok:
			newest[src.ID] = len(srcs)
			srcs, heads = append(srcs, src), append(heads, d)
		case src.UpdatedAt.Before(srcs[i].UpdatedAt):
			covered = append(covered, d)
		default: // newer, or as new and received later
			covered = append(covered, heads[i])
			srcs[i], heads[i] = src, d
		}
	}
	untrusted, err := s.sync.ApplyShopifyOrders(ctx, shop, srcs, trustedBody)
	if err != nil {
		// One bad order must not hold the shop's others for ever: each
		// delivery goes to its own job, which retries it alone.
		s.log.WarnContext(ctx, "batch apply failed: handing its deliveries to jobs", "shop_id", shop.ID, "deliveries", len(batch), "err", err)
		return s.handOver(ctx, shop, batch)
	}
	// An order or customer the shop never had is confirmed through the
	// shop's own token (see ApplyWebhook): its newest delivery goes to a
	// job, and the older ones are covered by it.
	for _, src := range untrusted {
		i := newest[src.ID]
		handOff = append(handOff, heads[i])
		heads[i] = PendingDelivery{}
	}
	ids := make([]string, 0, len(batch))
	var received []time.Time
	for _, d := range append(heads, covered...) {
		if d.WebhookID != "" {
			ids = append(ids, d.WebhookID)
			received = append(received, d.ReceivedAt)
		}
	}
	if err := s.recorder.FinishPending(ctx, ids, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("finish %d deliveries: %w", len(ids), err)
	}
	more, err := s.handOver(ctx, shop, handOff)
	return append(received, more...), err
}

// handOver gives each delivery to its own apply job.
func (s *Service) handOver(ctx context.Context, shop tenant.Shop, list []PendingDelivery) ([]time.Time, error) {
	var received []time.Time
	for _, d := range list {
		j := Job{Shop: shop, Topic: d.Topic, WebhookID: d.WebhookID, EventID: d.EventID, TriggeredAt: d.TriggeredAt, Payload: d.Payload}
		err := s.recorder.HandOverPending(ctx, d.WebhookID, time.Now().UTC(), func(ctx context.Context, tx any) error {
			return s.queue.EnqueueWebhook(ctx, tx, j)
		})
		if err != nil {
			return received, fmt.Errorf("hand delivery %s to a job: %w", d.WebhookID, err)
		}
		received = append(received, d.ReceivedAt)
	}
	return received, nil
}

// trustedBody reports whether a payload may be stored as it is: the shop
// has a copy of the order, for the same customer. Shopify's ids are
// global, so a signed payload for an order the shop already has is that
// shop's; anything else (a new order, a customer the copy does not name)
// is confirmed through the shop's own token first.
func trustedBody(stored *orders.Order, src orders.ShopifyOrder) bool {
	switch {
	case stored == nil:
		return false
	case src.Customer == nil || src.Customer.ID == 0:
		return true
	}
	return stored.Customer != nil && stored.Customer.ID == src.Customer.ID
}
