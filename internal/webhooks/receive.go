package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// Receive takes a delivery: verified, routed, recorded once with its job.
// It does no other work, so Shopify gets its answer in milliseconds.
func (s *Service) Receive(ctx context.Context, h Headers, body []byte) (Outcome, error) {
	if err := webhooksig.Verify(s.secret, body, h.HMAC); err != nil {
		return "", ErrInvalidSignature
	}
	eventID := h.EventID
	if eventID == "" {
		eventID = h.WebhookID
	}
	switch {
	case h.Topic == "":
		return "", fmt.Errorf("%w: X-Shopify-Topic", ErrMissingHeader)
	case h.ShopDomain == "":
		return "", fmt.Errorf("%w: X-Shopify-Shop-Domain", ErrMissingHeader)
	case eventID == "":
		return "", fmt.Errorf("%w: X-Shopify-Event-Id or X-Shopify-Webhook-Id", ErrMissingHeader)
	}
	shop, err := s.shops.ShopByDomain(ctx, h.ShopDomain)
	if errors.Is(err, tenant.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", ErrUnknownShop, h.ShopDomain)
	}
	if err != nil {
		return "", err
	}
	if !s.topics[h.Topic] {
		return Ignored, nil
	}
	if s.queue == nil {
		return "", errors.New("webhooks: no job queue")
	}
	fresh, err := s.recorder.RecordDelivery(ctx, Delivery{ShopID: shop.ID, EventID: eventID, Topic: h.Topic, ReceivedAt: time.Now()},
		func(ctx context.Context, tx any) error {
			return s.queue.EnqueueWebhook(ctx, tx, Job{Shop: shop, Topic: h.Topic, EventID: eventID, Payload: body})
		})
	if err != nil {
		return "", err
	}
	if !fresh {
		return Duplicate, nil
	}
	return Accepted, nil
}
