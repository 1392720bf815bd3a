// Package webhooks receives Shopify's webhooks: it verifies the signature,
// routes the delivery to its shop, records it once (deduplicating Shopify's
// retries) together with the job that applies it, and, in that job, applies
// each topic to orderdesk's copy.
package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Errors the HTTP layer maps.
var (
	// ErrInvalidSignature: the HMAC is missing or wrong (401; nothing stored).
	ErrInvalidSignature = errors.New("webhook signature missing or invalid")
	// ErrMissingHeader: a Shopify header the delivery needs is absent (400).
	ErrMissingHeader = errors.New("webhook header missing")
	// ErrInvalidHeader: a Shopify header is not the text it should be (400).
	ErrInvalidHeader = errors.New("webhook header invalid")
	// ErrUnknownShop: the shop domain is not one orderdesk serves (404).
	ErrUnknownShop = errors.New("webhook for a shop orderdesk does not serve")
)

// APITopics are the topics orderdesk subscribes a shop to through the
// Admin API (webhookSubscriptionCreate).
var APITopics = []string{
	"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
	"orders/partially_fulfilled", "orders/edited", "refunds/create", "fulfillments/create",
	"fulfillments/update", "fulfillment_events/create", "app/uninstalled",
}

// ComplianceTopics are Shopify's mandatory privacy topics. They are not
// in the API's WebhookSubscriptionTopic: an app subscribes to them in its
// configuration (shopify.app.toml, or the Partner Dashboard).
var ComplianceTopics = []string{"customers/data_request", "customers/redact", "shop/redact"}

// Topics orderdesk applies (both kinds); others are acknowledged and ignored.
var Topics = append(slices.Clone(APITopics), ComplianceTopics...)

// Headers are the delivery's Shopify headers.
type Headers struct {
	Topic      string // X-Shopify-Topic
	ShopDomain string // X-Shopify-Shop-Domain
	WebhookID  string // X-Shopify-Webhook-Id: one per delivery, repeated by retries; the dedupe key
	EventID    string // X-Shopify-Event-Id: shared by one merchant action's deliveries; for correlation
	HMAC       string // X-Shopify-Hmac-Sha256
	// TriggeredAt is X-Shopify-Triggered-At: when the merchant's action
	// happened, repeated by Shopify's retries ("" when not sent).
	TriggeredAt string
}

// Outcome says what Receive did with a delivery.
type Outcome string

// Outcomes of a delivery.
const (
	Accepted  Outcome = "accepted"
	Duplicate Outcome = "duplicate"
	Ignored   Outcome = "ignored"
	// Refused: signed, but the body is not a JSON object for its topic. It
	// is recorded (so Shopify's retries are duplicates) and never applied.
	Refused Outcome = "refused"
)

// Delivery is a delivery as recorded for dedupe.
type Delivery struct {
	ShopID     int64
	WebhookID  string
	EventID    string // "" when Shopify sent none
	Topic      string
	ReceivedAt time.Time
	// Refusal says why a refused delivery was not applied; "" otherwise.
	Refusal string
	// Payload, set for a delivery that carries its order, is recorded
	// with it: the record is the delivery's place in the pending queue
	// (see ApplyPending). nil for a delivery applied by its own job.
	Payload []byte
	// TriggeredAt is kept with a pending delivery for its job, should it
	// be handed to one.
	TriggeredAt time.Time
}

// PendingDelivery is a recorded delivery that carries its order, claimed
// to be applied in a batch.
type PendingDelivery struct {
	Delivery
	ShopDomain string
}

// Job is the work a delivery leaves behind.
type Job struct {
	Shop      tenant.Shop
	Topic     string
	WebhookID string
	EventID   string
	// TriggeredAt is when Shopify says the change happened (its
	// X-Shopify-Triggered-At), or when orderdesk received the delivery if
	// Shopify did not say. Retries of the job keep it.
	TriggeredAt time.Time
	Payload     []byte
}

// Recorder records a delivery and, in the same transaction, runs enqueue
// (nil for a refused delivery, or one recorded with its payload as
// pending); false when the delivery was recorded before. RefuseDelivery
// records, after the fact, why a recorded delivery's job applied nothing.
//
// Pending deliveries: ClaimPending leases up to limit of them, oldest
// first, that no live lease holds (a process that dies mid-batch leaves
// its lease to expire, and the deliveries are claimed again);
// FinishPending marks deliveries applied and drops their bodies;
// HandOverPending does that for one delivery and, in the same
// transaction, runs enqueue (the job that applies it through Shopify).
type Recorder interface {
	RecordDelivery(ctx context.Context, d Delivery, enqueue func(ctx context.Context, tx any) error) (bool, error)
	RefuseDelivery(ctx context.Context, webhookID, refusal string) error
	ClaimPending(ctx context.Context, limit int, lease time.Duration) ([]PendingDelivery, error)
	FinishPending(ctx context.Context, webhookIDs []string, at time.Time) error
	HandOverPending(ctx context.Context, webhookID string, at time.Time, enqueue func(ctx context.Context, tx any) error) error
}

// Installations asks Shopify, through the shop's own token, whether the
// app is still installed: true when the token works; false when Shopify
// refuses it (it revokes a shop's tokens the moment the app is
// uninstalled) or orderdesk holds none; an error when Shopify gave no
// definite answer.
type Installations interface {
	Installed(ctx context.Context, shop tenant.Shop) (bool, error)
}

// Queue inserts a job inside the recorder's transaction; KickApply wakes
// the loop that applies pending deliveries (ApplyPending).
type Queue interface {
	EnqueueWebhook(ctx context.Context, tx any, j Job) error
	KickApply()
}

// Shops finds the shop a delivery is for, and records app/uninstalled.
type Shops interface {
	ShopByDomain(ctx context.Context, domain string) (tenant.Shop, error)
	// MarkUninstalled drops the shop's token and marks it uninstalled; its
	// data stays until shop/redact. An uninstall triggered before the
	// shop's current installation (a delivery or job retried after the
	// merchant installed again) changes nothing and returns false.
	MarkUninstalled(ctx context.Context, shopID int64, at, triggeredAt time.Time) (bool, error)
}

// OrderSync applies changes to orderdesk's copy.
type OrderSync interface {
	ApplyShopifyOrder(ctx context.Context, shop tenant.Shop, src orders.ShopifyOrder) error
	// ApplyShopifyOrders stores many orders of one shop in one
	// transaction; those trusted refuses are returned, not stored.
	ApplyShopifyOrders(ctx context.Context, shop tenant.Shop, srcs []orders.ShopifyOrder, trusted func(stored *orders.Order, src orders.ShopifyOrder) bool) ([]orders.ShopifyOrder, error)
	RefreshOrder(ctx context.Context, shop tenant.Shop, orderID int64) error
	RedactCustomer(ctx context.Context, shop tenant.Shop, customerID int64, orderIDs []int64) error
	ForgetShop(ctx context.Context, shop tenant.Shop) (bool, error)
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
	// forget drops what this process caches for a shop that uninstalled.
	forget func(shopID int64)
	// installations confirms an app/uninstalled before it is applied.
	installations Installations
	// shopCache remembers deliveries' shops by domain (see shopcache.go).
	shopCache *shopCache
	payloads  payloadChecker
	// batcher, when set, records deliveries without a job in group
	// commits (see ingest.go).
	batcher *Batcher
}

// NewService wires a Service. secret is the app's API secret; decode turns
// an orders/* body (Shopify's REST order) into the domain's facts.
func NewService(secret []byte, shops Shops, recorder Recorder, sync OrderSync, decode func([]byte) (orders.ShopifyOrder, error), log *slog.Logger) *Service {
	topics := map[string]bool{}
	for _, t := range Topics {
		topics[t] = true
	}
	return &Service{secret: secret, shops: shops, recorder: recorder, sync: sync, decode: decode, log: log, topics: topics, forget: func(int64) {}, shopCache: newShopCache(shopCacheTTL, shopCacheMax)}
}

// OnUninstalled runs forget after a shop's uninstall is recorded, so this
// process drops the shop's cached access token at once (other replicas
// within their cache's TTL).
func (s *Service) OnUninstalled(forget func(shopID int64)) { s.forget = forget }

// ConfirmUninstallsWith sets how an app/uninstalled is confirmed with
// Shopify before it is applied. Without it, app/uninstalled deliveries
// are never applied (their jobs fail): nothing in the delivery that a
// replay could not repeat proves the uninstall.
func (s *Service) ConfirmUninstallsWith(i Installations) { s.installations = i }

// RecordInBatches makes Receive record the deliveries that have no job
// (those that carry their order, and refused ones) through b: many
// concurrent deliveries in one INSERT and one commit. Without it each is
// its own INSERT.
func (s *Service) RecordInBatches(b *Batcher) { s.batcher = b }

// SetQueue connects the job queue; the queue's workers call back into the
// Service, so the two are built one after the other.
func (s *Service) SetQueue(q Queue) { s.queue = q }
