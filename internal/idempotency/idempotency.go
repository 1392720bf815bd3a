// Package idempotency holds the Idempotency-Key protocol's answers (API.md,
// after the IETF draft): a key is claimed in the same transaction that
// records its action (see orders.Service), and the first final answer of
// the action is stored here and replayed for every retry with that key.
// Transient answers (409 action_in_progress, 429, 400, 5xx) are never
// stored, so the same key runs once their cause is gone.
package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Retention is how long keys are kept: API.md promises at least 24 hours.
const Retention = 24 * time.Hour

// Errors a caller maps to HTTP.
var (
	// ErrKeyReused: the key was used with a different request (422).
	ErrKeyReused = errors.New("idempotency key reused with a different request")
	// ErrInFlight: the key is being claimed by a concurrent request (409).
	ErrInFlight = errors.New("a request with this idempotency key is in progress")
)

// Key identifies a record: keys are scoped to the API key that sent them.
type Key struct {
	ShopID   int64
	APIKeyID int64
	Key      string
}

// Response is a stored final answer.
type Response struct {
	Status int
	Body   []byte
}

// Store persists answers.
type Store interface {
	// Settle stores the key's first final answer; a key holding one keeps
	// it. It returns the answer the key holds afterwards.
	Settle(ctx context.Context, k Key, status int, body []byte) (Response, error)
	// DeleteExpired forgets records that expired before now.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// Service runs the protocol's storage side over a Store.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service.
func NewService(store Store) *Service { return &Service{store: store, now: time.Now} }

// Settle records a final answer (an action's outcome, or a refusal by the
// rules or by Shopify) and returns the one the key holds: the first.
func (s *Service) Settle(ctx context.Context, k Key, status int, body []byte) (Response, error) {
	r, err := s.store.Settle(ctx, k, status, body)
	if err != nil {
		return Response{}, fmt.Errorf("idempotency key: %w", err)
	}
	return r, nil
}

// Sweep forgets expired keys; run it periodically so the table stays small.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteExpired(ctx, s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("sweep idempotency keys: %w", err)
	}
	return n, nil
}
