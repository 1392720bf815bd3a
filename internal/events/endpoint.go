package events

import (
	"context"
	"fmt"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// Endpoint states.
const (
	EndpointEnabled  = "enabled"
	EndpointDisabled = "disabled"
)

// Endpoint is where a shop's events go.
type Endpoint struct {
	ID     string
	ShopID int64
	URL    string
	// Types filters the events sent; empty means every type.
	Types []string
	// Secrets sign every delivery, newest first: during a rotation a
	// receiver holding either one verifies.
	Secrets []string
	// SecretsRetireAt ends the older secrets' grace after a rotation: from
	// then on only the newest signs. nil: every secret signs.
	SecretsRetireAt *time.Time
	Source          string // "api" or "env" (ORDERDESK_EVENTS_URL)
	State           string
	DisabledReason  string
	DisabledAt      *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Wants reports whether the endpoint takes events of type t.
func (e Endpoint) Wants(t string) bool {
	if len(e.Types) == 0 {
		return true
	}
	for _, w := range e.Types {
		if w == t {
			return true
		}
	}
	return false
}

// MaxSigningSecrets bounds the secrets that sign one delivery: rotations
// repeated within the grace keep the older secrets signing, up to this.
const MaxSigningSecrets = 4

// SigningSecrets are the secrets that sign a delivery made at now.
func (e Endpoint) SigningSecrets(now time.Time) []string {
	if len(e.Secrets) > 1 && e.SecretsRetireAt != nil && !now.Before(*e.SecretsRetireAt) {
		return e.Secrets[:1]
	}
	return e.Secrets
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Due is a delivery whose time has come and whose order has nothing
// earlier still undelivered at the endpoint.
type Due struct {
	EndpointID    string
	EventPos      int64
	EventID       string
	EventType     string
	CreatedAt     time.Time // the event's creation, for the lag
	Payload       []byte
	Attempts      int
	FirstFailedAt *time.Time
	// Claim is the token of the claim that handed it out: its outcome
	// changes the delivery only while the delivery still holds it.
	Claim string
}

// Attempt is one try at delivering an event to an endpoint.
type Attempt struct {
	EndpointID  string
	EventID     string
	EventType   string
	At          time.Time
	Status      int // HTTP status; 0 when no answer
	Latency     time.Duration
	Error       string
	NextAttempt *time.Time // nil when the delivery is settled
}

// Outcome is what an attempt leaves behind: the delivery's new state and,
// when the endpoint is to be disabled, why.
type Outcome struct {
	State         string // DeliveryPending (retry at Next), DeliveryDelivered, DeliveryFailed
	Next          time.Time
	FirstFailedAt *time.Time
	Disable       string // reason; "" keeps the endpoint enabled
}

// EndpointStats is an endpoint's backlog, for metrics and the API.
type EndpointStats struct {
	EndpointID string
	ShopID     int64
	Pending    int
	Oldest     *time.Time // creation of the oldest undelivered event
}

// Filter selects a shop's events, newest first.
type Filter struct {
	Type    string
	OrderID int64
	Before  int64 // position cursor; 0 from the newest
	Limit   int
}

// Stored is an event as listed: its body and where it stands.
type Stored struct {
	Pos   int64
	Event Event
	Body  []byte
}

// Store is the persistence events need.
type Store interface {
	// DispatchEvents fans up to limit undispatched events out into
	// deliveries to the endpoints that want them; it returns how many
	// events it dispatched.
	DispatchEvents(ctx context.Context, now time.Time, limit int) (int, error)
	// EndpointsWithDue lists endpoints holding deliveries due by now.
	EndpointsWithDue(ctx context.Context, now time.Time) ([]string, error)
	// Endpoint returns an endpoint of any shop, or ErrNotFound.
	Endpoint(ctx context.Context, id string) (Endpoint, error)
	// ClaimDeliveries takes up to limit deliveries of the enabled endpoint
	// due by now, each the earliest undelivered of its order there, and
	// moves them lease ahead: another sender does not take them meanwhile,
	// and if this one dies they are due again after the lease.
	ClaimDeliveries(ctx context.Context, endpointID string, now time.Time, lease time.Duration, limit int) ([]Due, error)
	// NextDue is when the endpoint's next blocked-free delivery comes due.
	NextDue(ctx context.Context, endpointID string) (time.Time, bool, error)
	// RecordAttempts records attempts and their outcomes (the deliveries'
	// states, an endpoint's disabling) in one transaction.
	RecordAttempts(ctx context.Context, rs []Result) error

	CreateEndpoint(ctx context.Context, e Endpoint) error
	// CreateEndpointOnce creates e under an Idempotency-Key claimed in the
	// same transaction; a key that created an endpoint already returns
	// that one (false). Errors: idempotency.ErrKeyReused, ErrInFlight.
	CreateEndpointOnce(ctx context.Context, e Endpoint, claim orders.IdempotencyClaim) (Endpoint, bool, error)
	ListEndpoints(ctx context.Context, shopID int64) ([]Endpoint, error)
	ShopEndpoint(ctx context.Context, shopID int64, id string) (Endpoint, error)
	DeleteEndpoint(ctx context.Context, shopID int64, id string) error
	// EnableEndpoint re-enables an endpoint; its failed deliveries are
	// tried again from now.
	EnableEndpoint(ctx context.Context, shopID int64, id string, now time.Time) (Endpoint, error)
	// EndpointBySource finds the shop's endpoint of a source ("env").
	EndpointBySource(ctx context.Context, shopID int64, source string) (Endpoint, bool, error)
	UpdateEndpointConfig(ctx context.Context, e Endpoint) error
	// RotateSecret puts secret first among the endpoint's secrets, keeps
	// the ones signing now signing until retireAt (up to
	// MaxSigningSecrets in all), and drops the rest.
	RotateSecret(ctx context.Context, shopID int64, id, secret string, retireAt, now time.Time) (Endpoint, error)
	// RecentAttempts lists an endpoint's latest attempts, newest first.
	RecentAttempts(ctx context.Context, endpointID string, limit int) ([]Attempt, error)
	EndpointStats(ctx context.Context) ([]EndpointStats, error)

	ListEvents(ctx context.Context, shopID int64, f Filter) ([]Stored, error)
	// Redeliver makes the shop's event pending again at every endpoint
	// that wants it; it returns those endpoints.
	Redeliver(ctx context.Context, shopID int64, eventID string, now time.Time) ([]string, error)
}

// ErrNotFound is the domain's not-found: another shop's endpoint or event
// is not found either. ErrEndpointNotFound and ErrEventNotFound are it,
// naming what was not found.
var (
	ErrNotFound         = orders.ErrNotFound
	ErrEndpointNotFound = fmt.Errorf("no such event endpoint: %w", orders.ErrNotFound)
	ErrEventNotFound    = fmt.Errorf("no such event: %w", orders.ErrNotFound)
)
