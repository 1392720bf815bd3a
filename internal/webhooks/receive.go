package webhooks

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/textinput"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// maxHeaderID bounds X-Shopify-Webhook-Id and X-Shopify-Event-Id (Shopify
// sends UUIDs).
const maxHeaderID = 255

var (
	// Shopify's topics are resource/event (orders/updated) or, for newer
	// ones, resource.event (customer.tags_added).
	topicRe      = regexp.MustCompile(`^[a-z0-9_]+[/.][a-z0-9_]+$`)
	shopDomainRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)
)

// Receive takes a delivery: verified, routed, recorded once with its job.
// It does no other work, so Shopify gets its answer in milliseconds. A
// signed body that cannot be applied is recorded as refused (Shopify's
// retries are then duplicates) and answered with success, never an error
// Shopify would retry for ever.
func (s *Service) Receive(ctx context.Context, h Headers, body []byte) (Outcome, error) {
	if err := webhooksig.Verify(s.secret, body, h.HMAC); err != nil {
		return "", ErrInvalidSignature
	}
	if err := checkHeaders(h); err != nil {
		return "", err
	}
	if !shopDomainRe.MatchString(h.ShopDomain) {
		return "", fmt.Errorf("%w: %s", ErrUnknownShop, h.ShopDomain)
	}
	shop, err := s.shopCache.get(ctx, h.ShopDomain, s.shops.ShopByDomain)
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
	d := Delivery{ShopID: shop.ID, WebhookID: h.WebhookID, EventID: h.EventID, Topic: h.Topic, ReceivedAt: time.Now()}
	triggered := d.ReceivedAt.UTC()
	if h.TriggeredAt != "" {
		triggered, _ = time.Parse(time.RFC3339Nano, h.TriggeredAt) // checked by checkHeaders
	}
	var enqueue func(ctx context.Context, tx any) error
	d.Refusal = s.payloads.check(h.Topic, h.ShopDomain, body)
	switch {
	case d.Refusal != "":
	case carriesOrder[h.Topic]:
		// Recorded with its body: the record is its place in the pending
		// queue, applied in a batch (ApplyPending).
		d.Payload, d.TriggeredAt = body, triggered.UTC()
	default:
		enqueue = func(ctx context.Context, tx any) error {
			return s.queue.EnqueueWebhook(ctx, tx, Job{Shop: shop, Topic: h.Topic, WebhookID: h.WebhookID, EventID: h.EventID, TriggeredAt: triggered.UTC(), Payload: body})
		}
	}
	var fresh bool
	if enqueue == nil && s.batcher != nil {
		fresh, err = s.batcher.Record(ctx, d) // committed with the deliveries arriving beside it
	} else {
		fresh, err = s.recorder.RecordDelivery(ctx, d, enqueue)
	}
	switch {
	case err != nil:
		return "", err
	case !fresh:
		return Duplicate, nil
	case d.Refusal != "":
		s.log.WarnContext(ctx, "webhook refused", "shop_id", shop.ID, "topic", h.Topic, "webhook_id", h.WebhookID, "reason", d.Refusal)
		return Refused, nil
	case d.Payload != nil:
		s.queue.KickApply()
	}
	return Accepted, nil
}

// checkHeaders checks the Shopify headers a delivery is recorded under:
// present, and the printable ASCII Shopify sends.
func checkHeaders(h Headers) error {
	for _, hd := range []struct {
		name, value string
		required    bool
	}{
		{"X-Shopify-Topic", h.Topic, true},
		{"X-Shopify-Shop-Domain", h.ShopDomain, true},
		{"X-Shopify-Webhook-Id", h.WebhookID, true},
		{"X-Shopify-Event-Id", h.EventID, false},
		{"X-Shopify-Triggered-At", h.TriggeredAt, false},
	} {
		switch {
		case hd.value == "" && hd.required:
			return fmt.Errorf("%w: %s", ErrMissingHeader, hd.name)
		case hd.value != "" && !textinput.ASCII(hd.value, maxHeaderID):
			return fmt.Errorf("%w: %s must be at most %d printable ASCII characters", ErrInvalidHeader, hd.name, maxHeaderID)
		}
	}
	if h.TriggeredAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, h.TriggeredAt); err != nil {
			return fmt.Errorf("%w: X-Shopify-Triggered-At is not an RFC 3339 time", ErrInvalidHeader)
		}
	}
	if !topicRe.MatchString(h.Topic) {
		return fmt.Errorf("%w: X-Shopify-Topic is not a topic like orders/updated", ErrInvalidHeader)
	}
	return nil
}
