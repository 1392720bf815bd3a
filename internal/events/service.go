package events

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// Endpoint sources.
const (
	SourceAPI = "api"
	SourceEnv = "env" // ORDERDESK_EVENTS_URL / _SECRET
)

// RotationGrace is how long the previous secret keeps signing after a
// rotation: receivers have a day to switch.
const RotationGrace = 24 * time.Hour

// Service manages a shop's endpoints and events: what the API and the
// start-up bootstrap call. kick wakes the delivery pump after a change that
// makes deliveries due (nil: none).
type Service struct {
	st     Store
	policy URLPolicy
	kick   func()
	now    func() time.Time
}

// NewService is the endpoints' and events' service.
func NewService(st Store, policy URLPolicy, kick func()) *Service {
	if kick == nil {
		kick = func() {}
	}
	return &Service{st: st, policy: policy, kick: kick, now: time.Now}
}

// NewEndpoint is an endpoint to create.
type NewEndpoint struct {
	URL   string
	Types []string
}

func invalid(code, field, msg string) error {
	return &orders.ValidationError{Code: code, Fields: []orders.FieldError{{Field: field, Message: msg}}}
}

func (s *Service) checkEndpoint(ctx context.Context, in NewEndpoint) ([]string, error) {
	if strings.TrimSpace(in.URL) == "" {
		return nil, invalid("invalid_url", "url", "required")
	}
	if _, err := s.policy.Check(ctx, in.URL); err != nil {
		return nil, invalid("invalid_url", "url", err.Error())
	}
	types := make([]string, 0, len(in.Types))
	seen := map[string]bool{}
	for _, t := range in.Types {
		if !KnownType(t) {
			return nil, invalid("invalid_event_type", "types", fmt.Sprintf("%q is not an event type (one of %s)", t, strings.Join(Types, ", ")))
		}
		if !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	return types, nil
}

// CreateEndpoint validates and records a new endpoint of the shop with a
// fresh secret; the secret is returned here and never shown again.
func (s *Service) CreateEndpoint(ctx context.Context, shopID int64, in NewEndpoint) (Endpoint, error) {
	ep, err := s.newEndpoint(ctx, shopID, in)
	if err != nil {
		return Endpoint{}, err
	}
	if err := s.st.CreateEndpoint(ctx, ep); err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// CreateEndpointOnce is CreateEndpoint under an Idempotency-Key: a retry
// after a lost answer (same key, same request) returns the endpoint the
// first one created, with its signing secret, and false; nothing is
// created again.
func (s *Service) CreateEndpointOnce(ctx context.Context, shopID int64, in NewEndpoint, claim orders.IdempotencyClaim) (Endpoint, bool, error) {
	ep, err := s.newEndpoint(ctx, shopID, in)
	if err != nil {
		return Endpoint{}, false, err
	}
	return s.st.CreateEndpointOnce(ctx, ep, claim)
}

func (s *Service) newEndpoint(ctx context.Context, shopID int64, in NewEndpoint) (Endpoint, error) {
	types, err := s.checkEndpoint(ctx, in)
	if err != nil {
		return Endpoint{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	now := s.now().UTC()
	return Endpoint{ID: "ep_" + uuid.Must(uuid.NewV7()).String(), ShopID: shopID, URL: in.URL, Types: types, Secrets: []string{secret},
		Source: SourceAPI, State: EndpointEnabled, CreatedAt: now, UpdatedAt: now}, nil
}

// Bootstrap creates, or updates, the shop's endpoint of
// ORDERDESK_EVENTS_URL with ORDERDESK_EVENTS_SECRET. A changed secret is
// a rotation: the previous one keeps signing for RotationGrace.
func (s *Service) Bootstrap(ctx context.Context, shopID int64, url, secret string) (Endpoint, error) {
	if _, err := s.checkEndpoint(ctx, NewEndpoint{URL: url}); err != nil {
		return Endpoint{}, fmt.Errorf("ORDERDESK_EVENTS_URL: %w", err)
	}
	if err := CheckSecret(secret); err != nil {
		return Endpoint{}, fmt.Errorf("ORDERDESK_EVENTS_SECRET: %w", err)
	}
	now := s.now().UTC()
	ep, ok, err := s.st.EndpointBySource(ctx, shopID, SourceEnv)
	if err != nil {
		return Endpoint{}, err
	}
	if !ok {
		ep = Endpoint{ID: "ep_" + uuid.Must(uuid.NewV7()).String(), ShopID: shopID, URL: url, Types: []string{}, Secrets: []string{secret},
			Source: SourceEnv, State: EndpointEnabled, CreatedAt: now, UpdatedAt: now}
		return ep, s.st.CreateEndpoint(ctx, ep)
	}
	if ep.URL != url {
		ep.URL, ep.UpdatedAt = url, now
		if err := s.st.UpdateEndpointConfig(ctx, ep); err != nil {
			return Endpoint{}, err
		}
	}
	if len(ep.Secrets) == 0 || ep.Secrets[0] != secret {
		return s.st.RotateSecret(ctx, shopID, ep.ID, secret, now.Add(RotationGrace), now)
	}
	return ep, nil
}

// EndpointView is an endpoint with its backlog and latest attempts.
type EndpointView struct {
	Endpoint Endpoint
	Attempts []Attempt
}

// Endpoints lists the shop's endpoints.
func (s *Service) Endpoints(ctx context.Context, shopID int64) ([]Endpoint, error) {
	return s.st.ListEndpoints(ctx, shopID)
}

// Endpoint is one of the shop's endpoints with its recent attempts.
func (s *Service) Endpoint(ctx context.Context, shopID int64, id string, attempts int) (EndpointView, error) {
	ep, err := s.st.ShopEndpoint(ctx, shopID, id)
	if err != nil {
		return EndpointView{}, err
	}
	as, err := s.st.RecentAttempts(ctx, id, attempts)
	if err != nil {
		return EndpointView{}, err
	}
	return EndpointView{Endpoint: ep, Attempts: as}, nil
}

// DeleteEndpoint deletes one of the shop's endpoints.
func (s *Service) DeleteEndpoint(ctx context.Context, shopID int64, id string) error {
	return s.st.DeleteEndpoint(ctx, shopID, id)
}

// EnableEndpoint re-enables an endpoint: what it has not received is sent
// from now, with a fresh retry schedule.
func (s *Service) EnableEndpoint(ctx context.Context, shopID int64, id string) (Endpoint, error) {
	ep, err := s.st.EnableEndpoint(ctx, shopID, id, s.now())
	if err == nil {
		s.kick()
	}
	return ep, err
}

// RotateSecret gives the endpoint a new secret (returned here only); the
// previous one keeps signing for RotationGrace.
func (s *Service) RotateSecret(ctx context.Context, shopID int64, id string) (Endpoint, error) {
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	return s.st.RotateSecret(ctx, shopID, id, secret, now.Add(RotationGrace), now)
}

// Events lists the shop's events, newest first.
func (s *Service) Events(ctx context.Context, shopID int64, f Filter) ([]Stored, error) {
	if f.Type != "" && !KnownType(f.Type) {
		return nil, invalid("invalid_event_type", "type", fmt.Sprintf("%q is not an event type", f.Type))
	}
	return s.st.ListEvents(ctx, shopID, f)
}

// Redeliver sends one of the shop's events again, with the same
// webhook-id, to every endpoint that wants it; it returns those endpoints.
func (s *Service) Redeliver(ctx context.Context, shopID int64, eventID string) ([]string, error) {
	eps, err := s.st.Redeliver(ctx, shopID, eventID, s.now())
	if err != nil {
		return nil, err
	}
	s.kick()
	return eps, nil
}
