package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
)

// EventService manages a shop's event endpoints and events
// (events.Service).
type EventService interface {
	Endpoints(ctx context.Context, shopID int64) ([]events.Endpoint, error)
	CreateEndpoint(ctx context.Context, shopID int64, in events.NewEndpoint) (events.Endpoint, error)
	CreateEndpointOnce(ctx context.Context, shopID int64, in events.NewEndpoint, claim orders.IdempotencyClaim) (events.Endpoint, bool, error)
	Endpoint(ctx context.Context, shopID int64, id string, attempts int) (events.EndpointView, error)
	DeleteEndpoint(ctx context.Context, shopID int64, id string) error
	EnableEndpoint(ctx context.Context, shopID int64, id string) (events.Endpoint, error)
	RotateSecret(ctx context.Context, shopID int64, id string) (events.Endpoint, error)
	Events(ctx context.Context, shopID int64, f events.Filter) ([]events.Stored, error)
	Redeliver(ctx context.Context, shopID int64, eventID string) ([]string, error)
}

// EventEndpointResponse is where a shop's events go. The secret is never
// shown again after its creation or rotation.
type EventEndpointResponse struct {
	ID    string   `json:"id" example:"ep_01936f0e-8a4b-7c2d-9e1f-2a3b4c5d6e7f"`
	URL   string   `json:"url" example:"https://crm.example.com/orderdesk/events"`
	Types []string `json:"types" example:"order.refunded,action.succeeded"` // empty: every type
	// api (POST /event-endpoints) or env (ORDERDESK_EVENTS_URL)
	Source         string     `json:"source" enums:"api,env" example:"api"`
	State          string     `json:"state" enums:"enabled,disabled" example:"enabled"`
	DisabledReason *string    `json:"disabled_reason" extensions:"x-nullable" example:"the endpoint answered 410 Gone"`
	DisabledAt     *time.Time `json:"disabled_at" format:"date-time" example:"2026-11-22T09:15:00Z" extensions:"x-nullable"`
	// Until then the previous secret signs too (after a rotation).
	PreviousSecretUntil *time.Time `json:"previous_secret_until" format:"date-time" example:"2026-11-22T09:15:00Z" extensions:"x-nullable"`
	CreatedAt           time.Time  `json:"created_at" format:"date-time" example:"2026-11-22T09:15:00Z"`
	UpdatedAt           time.Time  `json:"updated_at" format:"date-time" example:"2026-11-22T09:15:00Z"`
} //	@name	EventEndpoint

// EventEndpointSecretResponse is an endpoint with its new signing secret,
// shown this once.
type EventEndpointSecretResponse struct {
	Endpoint EventEndpointResponse `json:"endpoint"`
	// The whsec_ secret that signs deliveries (Standard Webhooks).
	Secret string `json:"secret" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
} //	@name	EventEndpointSecret

// EventAttemptResponse is one delivery attempt.
type EventAttemptResponse struct {
	EventID     string    `json:"event_id" example:"evt_01936f0e-8a4b-7c2d-9e1f-2a3b4c5d6e7f"`
	EventType   string    `json:"event_type" example:"order.refunded"`
	AttemptedAt time.Time `json:"attempted_at" format:"date-time" example:"2026-11-22T09:15:00Z"`
	// The endpoint's HTTP status; null when it did not answer.
	Status    *int    `json:"status" extensions:"x-nullable" example:"503"`
	LatencyMs int64   `json:"latency_ms" example:"42"`
	Error     *string `json:"error" extensions:"x-nullable" example:"HTTP 503 Service Unavailable"`
} //	@name	EventAttempt

// EventEndpointDetailResponse is an endpoint with its latest attempts.
type EventEndpointDetailResponse struct {
	Endpoint EventEndpointResponse `json:"endpoint"`
	// Newest first, at most 50.
	RecentAttempts []EventAttemptResponse `json:"recent_attempts"`
} //	@name	EventEndpointDetail

// EventEndpointListResponse is the shop's endpoints, oldest first.
type EventEndpointListResponse struct {
	Endpoints []EventEndpointResponse `json:"endpoints"`
} //	@name	EventEndpointList

// EventEndpointRequest creates an endpoint.
type EventEndpointRequest struct {
	// https (http only outside production); no loopback, link-local or
	// private address unless ORDERDESK_EVENTS_ALLOW_PRIVATE.
	URL string `json:"url" example:"https://crm.example.com/orderdesk/events"`
	// Event types to send; omitted or empty: every type.
	Types []string `json:"types,omitempty" example:"order.refunded,order.cancelled,action.succeeded,action.failed"`
} //	@name	EventEndpointRequest

// EventListResponse is a page of the shop's events, newest first.
type EventListResponse struct {
	Events     []EventPayload `json:"events"`
	NextCursor *string        `json:"next_cursor" extensions:"x-nullable" example:"cDoxMjM"`
} //	@name	EventList

// RedeliveryResponse says where an event is being sent again.
type RedeliveryResponse struct {
	EventID string `json:"event_id" example:"evt_01936f0e-8a4b-7c2d-9e1f-2a3b4c5d6e7f"`
	// The endpoints that take the event; enabled ones receive it shortly,
	// disabled ones once re-enabled.
	Endpoints []string `json:"endpoints" example:"ep_01936f0e-8a4b-7c2d-9e1f-2a3b4c5d6e7f"`
} //	@name	Redelivery

func toEndpointResponse(e events.Endpoint) EventEndpointResponse {
	r := EventEndpointResponse{ID: e.ID, URL: e.URL, Types: e.Types, Source: e.Source, State: e.State, DisabledAt: e.DisabledAt,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if r.Types == nil {
		r.Types = []string{}
	}
	if e.DisabledReason != "" {
		reason := e.DisabledReason
		r.DisabledReason = &reason
	}
	if len(e.Secrets) > 1 && e.SecretsRetireAt != nil && time.Now().Before(*e.SecretsRetireAt) {
		r.PreviousSecretUntil = e.SecretsRetireAt
	}
	return r
}

func toAttemptResponse(a events.Attempt) EventAttemptResponse {
	r := EventAttemptResponse{EventID: a.EventID, EventType: a.EventType, AttemptedAt: a.At, LatencyMs: a.Latency.Milliseconds()}
	if a.Status != 0 {
		st := a.Status
		r.Status = &st
	}
	if a.Error != "" {
		e := a.Error
		r.Error = &e
	}
	return r
}

// eventsEnabled answers 404 on every events route when the router has no
// event service (tests of other parts).
func (s *server) eventsEnabled(c *gin.Context) bool {
	if s.Events == nil {
		writeProblem(c, newProblem(http.StatusNotFound, "route_not_found", "Not found", "outbound events are not configured"))
		return false
	}
	return true
}

// listEventEndpoints godoc
//
//	@Summary		The shop's event endpoints
//	@Description	Where the shop's outbound events go, oldest first, with their state (a disabled endpoint says why). Secrets are never shown here.
//	@Tags			events
//	@ID				listEventEndpoints
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Success		200	{object}	EventEndpointListResponse
//	@Failure		400	{object}	Problem	"An unknown query parameter (this operation takes none)"
//	@Failure		401	{object}	Problem
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/event-endpoints [get]
func (s *server) listEventEndpoints(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	eps, err := s.Events.Endpoints(c.Request.Context(), principal(c).Shop.ID)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	out := EventEndpointListResponse{Endpoints: make([]EventEndpointResponse, 0, len(eps))}
	for _, e := range eps {
		out.Endpoints = append(out.Endpoints, toEndpointResponse(e))
	}
	writeJSON(c, http.StatusOK, out)
}

// createEventEndpoint godoc
//
//	@Summary		Subscribe an endpoint to the shop's events
//	@Description	Creates an endpoint and answers its whsec_ signing secret, shown this once. Every delivery is a POST of one event (the EventPayload schema) signed per Standard Webhooks (webhook-id = the event id, the same on every redelivery; webhook-timestamp; webhook-signature v1,…), retried with backoff for 3 days. The URL must be https (http only when ORDERDESK_ENV=development) and must not be a loopback, link-local or private address (unless ORDERDESK_EVENTS_ALLOW_PRIVATE=true); the address is checked again on every connection. With an Idempotency-Key (recommended; kept 24 hours per API key), a retry after a lost answer with the same key and body answers 201 again, marked Idempotent-Replayed: true, with the same endpoint as it is now and its newest secret, and creates nothing; the same key with another body is a 422 (idempotency_key_reused), and while the first request with it is still being recorded a 409 (idempotency_key_in_use). Without one, each request creates an endpoint.
//	@Tags			events
//	@ID				createEventEndpoint
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			Idempotency-Key	header		string					false	"Unique per intended endpoint (1 to 255 printable ASCII characters); a retry with it answers the endpoint the first request created"
//	@Param			body			body		EventEndpointRequest	true	"URL and event types"
//	@Success		201				{object}	EventEndpointSecretResponse
//	@Failure		400				{object}	Problem	"Malformed body, unknown field, or an invalid Idempotency-Key (idempotency_key_required)"
//	@Failure		401				{object}	Problem
//	@Failure		404				{object}	Problem				"The endpoint this Idempotency-Key created was deleted since"
//	@Failure		409				{object}	Problem				"idempotency_key_in_use: the first request with this key is still being recorded (not stored: retry)"
//	@Failure		413				{object}	Problem				"Body over 1 MiB"
//	@Failure		415				{object}	Problem				"Not application/json"
//	@Failure		422				{object}	Problem				"URL refused (invalid_url), unknown event type (invalid_event_type), or idempotency_key_reused"
//	@Failure		429				{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500				{object}	Problem				"Internal error (no details)"
//	@Header			201				{boolean}	Idempotent-Replayed	"true: this Idempotency-Key created the endpoint before; nothing was created now"
//	@Header			409				{integer}	Retry-After			"Seconds to wait before retrying"
//	@Header			429				{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all				{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401				{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/event-endpoints [post]
func (s *server) createEventEndpoint(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	var req EventEndpointRequest
	if !decodeJSON(c, &req) {
		return
	}
	in := events.NewEndpoint{URL: req.URL, Types: req.Types}
	p := principal(c)
	if len(c.Request.Header.Values("Idempotency-Key")) == 0 {
		ep, err := s.Events.CreateEndpoint(c.Request.Context(), p.Shop.ID, in)
		if err != nil {
			writeError(c, s.Log, err)
			return
		}
		writeJSON(c, http.StatusCreated, EventEndpointSecretResponse{Endpoint: toEndpointResponse(ep), Secret: ep.Secrets[0]})
		return
	}
	key, ok := idempotencyKey(c)
	if !ok {
		return
	}
	raw, err := json.Marshal(req)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	ep, created, err := s.Events.CreateEndpointOnce(c.Request.Context(), p.Shop.ID, in, orders.IdempotencyClaim{
		ShopID: p.Shop.ID, APIKeyID: p.KeyID, Key: key, RequestHash: requestHash(c, raw), ExpiresAt: time.Now().Add(idempotency.Retention)})
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	if !created {
		c.Header("Idempotent-Replayed", "true")
	}
	writeJSON(c, http.StatusCreated, EventEndpointSecretResponse{Endpoint: toEndpointResponse(ep), Secret: ep.Secrets[0]})
}

// getEventEndpoint godoc
//
//	@Summary		One event endpoint with its latest delivery attempts
//	@Description	The endpoint and its 50 latest attempts, newest first: status (null: no answer), latency, error. Another shop's endpoint is a 404.
//	@Tags			events
//	@ID				getEventEndpoint
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"Endpoint id"
//	@Success		200	{object}	EventEndpointDetailResponse
//	@Failure		400	{object}	Problem	"An unknown query parameter (this operation takes none)"
//	@Failure		401	{object}	Problem
//	@Failure		404	{object}	Problem				"No such endpoint in this shop"
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/event-endpoints/{id} [get]
func (s *server) getEventEndpoint(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	v, err := s.Events.Endpoint(c.Request.Context(), principal(c).Shop.ID, c.Param("id"), 50)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	out := EventEndpointDetailResponse{Endpoint: toEndpointResponse(v.Endpoint), RecentAttempts: make([]EventAttemptResponse, 0, len(v.Attempts))}
	for _, a := range v.Attempts {
		out.RecentAttempts = append(out.RecentAttempts, toAttemptResponse(a))
	}
	writeJSON(c, http.StatusOK, out)
}

// deleteEventEndpoint godoc
//
//	@Summary		Unsubscribe an endpoint
//	@Description	Deletes the endpoint with its pending deliveries and attempts. Another shop's endpoint is a 404.
//	@Tags			events
//	@ID				deleteEventEndpoint
//	@Produce		application/problem+json
//	@Security		BearerAuth
//	@Param			id	path	string	true	"Endpoint id"
//	@Success		204
//	@Failure		400	{object}	Problem	"An unknown query parameter (this operation takes none)"
//	@Failure		401	{object}	Problem
//	@Failure		404	{object}	Problem				"No such endpoint in this shop"
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/event-endpoints/{id} [delete]
func (s *server) deleteEventEndpoint(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	if err := s.Events.DeleteEndpoint(c.Request.Context(), principal(c).Shop.ID, c.Param("id")); err != nil {
		writeError(c, s.Log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// enableEventEndpoint godoc
//
//	@Summary		Re-enable an endpoint
//	@Description	Enables a disabled endpoint (410 Gone, or 3 days of failures): everything it has not received is sent from now, in each order's sequence, with a fresh retry schedule. Enabling an enabled endpoint changes nothing.
//	@Tags			events
//	@ID				enableEventEndpoint
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"Endpoint id"
//	@Success		200	{object}	EventEndpointResponse
//	@Failure		400	{object}	Problem	"An unknown query parameter (this operation takes none)"
//	@Failure		401	{object}	Problem
//	@Failure		404	{object}	Problem				"No such endpoint in this shop"
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/event-endpoints/{id}/enable [post]
func (s *server) enableEventEndpoint(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	ep, err := s.Events.EnableEndpoint(c.Request.Context(), principal(c).Shop.ID, c.Param("id"))
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	writeJSON(c, http.StatusOK, toEndpointResponse(ep))
}

// rotateEventEndpointSecret godoc
//
//	@Summary		Rotate an endpoint's signing secret
//	@Description	Answers a new whsec_ secret, shown this once. For 24 hours (previous_secret_until) deliveries carry a signature by each secret, so the receiver can switch without losing an event; then only the new one signs. Each call rotates again.
//	@Tags			events
//	@ID				rotateEventEndpointSecret
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"Endpoint id"
//	@Success		200	{object}	EventEndpointSecretResponse
//	@Failure		400	{object}	Problem	"An unknown query parameter (this operation takes none)"
//	@Failure		401	{object}	Problem
//	@Failure		404	{object}	Problem				"No such endpoint in this shop"
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/event-endpoints/{id}/rotate-secret [post]
func (s *server) rotateEventEndpointSecret(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	ep, err := s.Events.RotateSecret(c.Request.Context(), principal(c).Shop.ID, c.Param("id"))
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	writeJSON(c, http.StatusOK, EventEndpointSecretResponse{Endpoint: toEndpointResponse(ep), Secret: ep.Secrets[0]})
}

func encodeEventCursor(pos int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("p:" + strconv.FormatInt(pos, 10)))
}

func decodeEventCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(b), "p:"), 10, 64)
	if err != nil || n <= 0 || !strings.HasPrefix(string(b), "p:") {
		return 0, false
	}
	return n, true
}

// listEvents godoc
//
//	@Summary		The shop's outbound events
//	@Description	Every event written for the shop, newest first, exactly as delivered (the body of each delivery is one EventPayload). Filters: type, order_id. Orders loaded as history (a backfill, a contact's first read) have no events.
//	@Tags			events
//	@ID				listEvents
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			type		query		string	false	"Only this event type"									Enums(order.placed,order.paid,order.partially_paid,order.fulfilled,order.partially_fulfilled,shipment.ready_for_pickup,shipment.in_transit,shipment.out_for_delivery,shipment.attempted_delivery,shipment.delivered,shipment.failure,order.cancelled,order.refunded,action.succeeded,action.failed)
//	@Param			order_id	query		integer	false	"Only this order's events"								Format(int64)	minimum(1)
//	@Param			limit		query		int		false	"Page size (default 20; above 100 is clamped to 100)"	minimum(1)		default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	EventListResponse
//	@Failure		400			{object}	Problem	"Invalid type, order_id, limit or cursor"
//	@Failure		401			{object}	Problem
//	@Failure		429			{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500			{object}	Problem				"Internal error (no details)"
//	@Header			429			{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all			{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401			{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/events [get]
func (s *server) listEvents(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	q := queryValues(c)
	var errs []FieldError
	f := events.Filter{Limit: 20}
	if v, given := q["type"]; given {
		if !events.KnownType(v) {
			errs = append(errs, FieldError{"type", "is not an event type"})
		}
		f.Type = v
	}
	if v, given := q["order_id"]; given {
		id, ok := parseID(v)
		if !ok {
			errs = append(errs, FieldError{"order_id", "must be a positive integer"})
		}
		f.OrderID = id
	}
	if v, given := q["limit"]; given {
		var msg string
		if f.Limit, msg = parseLimit(v); msg != "" {
			errs = append(errs, FieldError{"limit", msg})
		}
	}
	if v, given := q["cursor"]; given {
		pos, ok := decodeEventCursor(v)
		if !ok {
			errs = append(errs, FieldError{"cursor", "is not a cursor this API returned"})
		}
		f.Before = pos
	}
	if len(errs) > 0 {
		writeProblem(c, queryProblem(errs))
		return
	}
	page, err := s.Events.Events(c.Request.Context(), principal(c).Shop.ID, events.Filter{Type: f.Type, OrderID: f.OrderID, Before: f.Before, Limit: f.Limit + 1})
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	out := EventListResponse{Events: make([]EventPayload, 0, len(page))}
	for i, st := range page {
		if i == f.Limit {
			cur := encodeEventCursor(page[i-1].Pos)
			out.NextCursor = &cur
			break
		}
		var p EventPayload
		if err := json.Unmarshal(st.Body, &p); err != nil {
			writeError(c, s.Log, err)
			return
		}
		out.Events = append(out.Events, p)
	}
	writeJSON(c, http.StatusOK, out)
}

// redeliverEvent godoc
//
//	@Summary		Send an event again
//	@Description	Makes the event due again, from now, at every endpoint of the shop that takes its type, with the same webhook-id (receivers deduplicate on it) and a fresh signature. Each order's sequence still holds: a redelivered event goes before that order's later undelivered ones. Another shop's event is a 404.
//	@Tags			events
//	@ID				redeliverEvent
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"Event id"
//	@Success		202	{object}	RedeliveryResponse
//	@Failure		400	{object}	Problem	"An unknown query parameter (this operation takes none)"
//	@Failure		401	{object}	Problem
//	@Failure		404	{object}	Problem				"No such event in this shop"
//	@Failure		429	{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Failure		500	{object}	Problem				"Internal error (no details)"
//	@Header			429	{integer}	Retry-After			"Seconds until the key may call again"
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/events/{id}/redeliver [post]
func (s *server) redeliverEvent(c *gin.Context) {
	if !s.eventsEnabled(c) {
		return
	}
	eps, err := s.Events.Redeliver(c.Request.Context(), principal(c).Shop.ID, c.Param("id"))
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	if eps == nil {
		eps = []string{}
	}
	writeJSON(c, http.StatusAccepted, RedeliveryResponse{EventID: c.Param("id"), Endpoints: eps})
}
