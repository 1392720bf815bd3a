// Package webhooks receives Shopify's webhooks: it verifies the signature,
// routes the delivery to its shop, records it once (deduplicating Shopify's
// retries) together with the job that applies it, and, in that job, applies
// each topic to orderdesk's copy.
package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// Errors the HTTP layer maps.
var (
	// ErrInvalidSignature: the HMAC is missing or wrong (401; nothing stored).
	ErrInvalidSignature = errors.New("webhook signature missing or invalid")
	// ErrMissingHeader: a Shopify header the delivery needs is absent (400).
	ErrMissingHeader = errors.New("webhook header missing")
	// ErrUnknownShop: the shop domain is not one orderdesk serves (404).
	ErrUnknownShop = errors.New("webhook for a shop orderdesk does not serve")
)

// Topics orderdesk applies; others are acknowledged and ignored.
var Topics = []string{
	"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
	"orders/partially_fulfilled", "orders/edited", "refunds/create", "fulfillments/create",
	"fulfillments/update", "fulfillment_events/create",
	"customers/data_request", "customers/redact", "shop/redact",
}

// Headers are the delivery's Shopify headers.
type Headers struct {
	Topic      string // X-Shopify-Topic
	ShopDomain string // X-Shopify-Shop-Domain
	EventID    string // X-Shopify-Event-Id
	WebhookID  string // X-Shopify-Webhook-Id, the dedupe key when there is no event id
	HMAC       string // X-Shopify-Hmac-Sha256
}

// Outcome says what Receive did with a delivery.
type Outcome string

// Outcomes of a delivery.
const (
	Accepted  Outcome = "accepted"
	Duplicate Outcome = "duplicate"
	Ignored   Outcome = "ignored"
)

// Delivery is a delivery as recorded for dedupe.
type Delivery struct {
	ShopID     int64
	EventID    string
	Topic      string
	ReceivedAt time.Time
}

// Job is the work a delivery leaves behind.
type Job struct {
	Shop    tenant.Shop
	Topic   string
	EventID string
	Payload []byte
}

// Recorder records a delivery and, in the same transaction, runs enqueue;
// false when the delivery was recorded before.
type Recorder interface {
	RecordDelivery(ctx context.Context, d Delivery, enqueue func(ctx context.Context, tx any) error) (bool, error)
}

// Queue inserts a job inside the recorder's transaction.
type Queue interface {
	EnqueueWebhook(ctx context.Context, tx any, j Job) error
}

// Shops finds the shop a delivery is for.
type Shops interface {
	ShopByDomain(ctx context.Context, domain string) (tenant.Shop, error)
}

// OrderSync applies changes to orderdesk's copy.
type OrderSync interface {
	ApplyShopifyOrder(ctx context.Context, shop tenant.Shop, src orders.ShopifyOrder) error
	RefreshOrder(ctx context.Context, shop tenant.Shop, orderID int64) error
	RedactCustomer(ctx context.Context, shop tenant.Shop, customerID int64, orderIDs []int64) error
	ForgetShop(ctx context.Context, shop tenant.Shop) error
}

// Service receives and applies webhooks.
type Service struct {
	secret   []byte
	shops    Shops
	recorder Recorder
	sync     OrderSync
	decode   func([]byte) (orders.ShopifyOrder, error)
	log      *slog.Logger
	queue    Queue
	topics   map[string]bool
}

// NewService wires a Service. secret is the app's API secret; decode turns
// an orders/* body (Shopify's REST order) into the domain's facts.
func NewService(secret []byte, shops Shops, recorder Recorder, sync OrderSync, decode func([]byte) (orders.ShopifyOrder, error), log *slog.Logger) *Service {
	topics := map[string]bool{}
	for _, t := range Topics {
		topics[t] = true
	}
	return &Service{secret: secret, shops: shops, recorder: recorder, sync: sync, decode: decode, log: log, topics: topics}
}

// SetQueue connects the job queue; the queue's workers call back into the
// Service, so the two are built one after the other.
func (s *Service) SetQueue(q Queue) { s.queue = q }

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

// ApplyWebhook applies one delivery's payload (run by the job worker).
func (s *Service) ApplyWebhook(ctx context.Context, shop tenant.Shop, topic string, payload []byte) error {
	var ref struct {
		ID        int64 `json:"id"`
		OrderID   int64 `json:"order_id"`
		OrderEdit *struct {
			OrderID int64 `json:"order_id"`
		} `json:"order_edit"`
		Customer *struct {
			ID int64 `json:"id"`
		} `json:"customer"`
		OrdersToRedact []int64 `json:"orders_to_redact"`
	}
	if err := json.Unmarshal(payload, &ref); err != nil {
		return fmt.Errorf("webhook %s: payload is not JSON: %w", topic, err)
	}
	switch topic {
	case "orders/edited":
		if ref.OrderEdit == nil {
			return fmt.Errorf("webhook %s: no order_edit", topic)
		}
		return s.sync.RefreshOrder(ctx, shop, ref.OrderEdit.OrderID)
	case "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled":
		src, err := s.decode(payload)
		if err != nil {
			return fmt.Errorf("webhook %s: %w", topic, err)
		}
		return s.sync.ApplyShopifyOrder(ctx, shop, src)
	case "refunds/create", "fulfillments/create", "fulfillments/update", "fulfillment_events/create":
		// These name the order; its new state comes from Shopify.
		if ref.OrderID == 0 {
			return fmt.Errorf("webhook %s: no order_id", topic)
		}
		return s.sync.RefreshOrder(ctx, shop, ref.OrderID)
	case "customers/redact":
		if ref.Customer == nil {
			return fmt.Errorf("webhook %s: no customer", topic)
		}
		s.log.InfoContext(ctx, "erasing a customer's personal data", "shop_id", shop.ID, "customer_id", ref.Customer.ID)
		return s.sync.RedactCustomer(ctx, shop, ref.Customer.ID, ref.OrdersToRedact)
	case "shop/redact":
		s.log.InfoContext(ctx, "deleting a shop's data", "shop_id", shop.ID)
		return s.sync.ForgetShop(ctx, shop)
	case "customers/data_request":
		// Recorded with the delivery; the merchant answers it from Shopify.
		s.log.InfoContext(ctx, "customer data request recorded", "shop_id", shop.ID)
		return nil
	}
	return nil
}
