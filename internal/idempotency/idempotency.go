// Package idempotency implements the Idempotency-Key protocol of API.md
// (after the IETF draft): the first final response to a key is replayed,
// the same key with another request is refused, a key whose request is
// still running is refused, and a key whose request ended without a final
// answer (502/504) resumes the same action.
package idempotency

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Retention is how long keys are kept: API.md promises at least 24 hours.
const Retention = 24 * time.Hour

// Lease is how long a request holds its key. It outlasts any request (the
// server's write timeout is 60 s); a crashed request's key frees itself.
const Lease = 2 * time.Minute

// Errors a caller maps to HTTP.
var (
	// ErrKeyReused: the key was used with a different request (422).
	ErrKeyReused = errors.New("idempotency key reused with a different request")
	// ErrInFlight: the key's first request is still running (409).
	ErrInFlight = errors.New("a request with this idempotency key is in progress")
)

// Key identifies a record: keys are scoped to the API key that sent them.
type Key struct {
	ShopID   int64
	APIKeyID int64
	Key      string
}

// Record is what the store keeps for a key.
type Record struct {
	RequestHash string
	ActionID    string
	LockedUntil *time.Time
	// Status and Body are set once the request reached a final answer.
	Status    int
	Body      []byte
	ExpiresAt time.Time
}

// Store persists records. Claim must be atomic: of concurrent claims for
// one key, exactly one creates or takes it over.
type Store interface {
	// Claim inserts rec for k when there is no live record (none, or
	// expired), or takes over a record with the same hash whose lease ran
	// out and that holds no final answer. It returns the record as it
	// stands after the call and whether this call owns it now.
	Claim(ctx context.Context, k Key, rec Record, now time.Time) (Record, bool, error)
	// Complete stores the final answer and releases the lease.
	Complete(ctx context.Context, k Key, status int, body []byte) error
	// Release drops the lease without a final answer, so the key can resume.
	Release(ctx context.Context, k Key) error
	// DeleteExpired forgets records that expired before now.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// Begun is the outcome of Begin.
type Begun struct {
	// ActionID is the action the request carries out (new, or resumed).
	ActionID string
	// Replay is set when a final answer exists: send it back as it was.
	Replay *Response
}

// Response is a stored final answer.
type Response struct {
	Status int
	Body   []byte
}

// Service runs the protocol over a Store.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service.
func NewService(store Store) *Service { return &Service{store: store, now: time.Now} }

// Begin claims the key for a request whose fingerprint is hash.
func (s *Service) Begin(ctx context.Context, k Key, hash string) (Begun, error) {
	now := s.now().UTC()
	lease := now.Add(Lease)
	rec := Record{RequestHash: hash, ActionID: uuid.NewString(), LockedUntil: &lease, ExpiresAt: now.Add(Retention)}
	got, owned, err := s.store.Claim(ctx, k, rec, now)
	if err != nil {
		return Begun{}, fmt.Errorf("idempotency key: %w", err)
	}
	switch {
	case got.RequestHash != hash:
		return Begun{}, ErrKeyReused
	case got.Status != 0:
		return Begun{ActionID: got.ActionID, Replay: &Response{Status: got.Status, Body: got.Body}}, nil
	case !owned:
		return Begun{}, ErrInFlight
	}
	return Begun{ActionID: got.ActionID}, nil
}

// Finish records the request's answer: final answers (2xx, 4xx) are kept for
// replay; others (5xx) release the key so a retry resumes the action, and
// so does a 404: no such order, so no action started.
func (s *Service) Finish(ctx context.Context, k Key, status int, body []byte) error {
	if status >= 500 || status == http.StatusNotFound {
		return s.store.Release(ctx, k)
	}
	return s.store.Complete(ctx, k, status, body)
}

// Sweep forgets expired keys; run it periodically so the table stays small.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteExpired(ctx, s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("sweep idempotency keys: %w", err)
	}
	return n, nil
}
