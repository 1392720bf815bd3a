package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/telemetry"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Problem is an RFC 9457 problem detail, orderdesk's only error body.
type Problem struct {
	// A URI naming the problem type.
	Type string `json:"type" example:"https://orderdesk.dev/problems/not_found"`
	// Short summary of the problem type.
	Title string `json:"title" example:"Not found"`
	// The HTTP status code.
	Status int `json:"status" example:"404"`
	// What went wrong with this request.
	Detail string `json:"detail,omitempty" example:"order 450789469 not found"`
	// Stable machine-readable code.
	Code string `json:"code" example:"not_found"`
	// This occurrence: urn:request: and the request id (also in the X-Request-Id header), then ;trace= and the W3C trace id of the request's trace when it is traced (the id to look up in the tracing backend and in the service's logs).
	Instance string `json:"instance,omitempty" example:"urn:request:7d0e0b1e-1c3a-4a51-8a3c-5a3b7e1c9f10;trace=4bf92f3577b34da6a3ce929d0e0e4736"`
	// Field errors, on validation failures.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid field.
type FieldError struct {
	Field   string `json:"field" example:"limit"`
	Message string `json:"message" example:"must be a positive integer"`
}

const problemTypeBase = "https://orderdesk.dev/problems/"

// errorMapping is the one table from domain errors to HTTP. detail says
// whether the error's text goes to the client: for 4xx, and for 5xx only
// where it is Shopify's own words, never internal details.
var errorMapping = []struct {
	err    error
	status int
	code   string
	title  string
	detail bool
}{
	{tenant.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "Missing or invalid API key", true},
	{tenant.ErrRateLimited, http.StatusTooManyRequests, "rate_limited", "Too many requests for this API key", true},
	{tenant.ErrInvalidDomain, http.StatusBadRequest, "invalid_shop_domain", "Not a shop domain like example.myshopify.com", true},
	{tenant.ErrOAuthSignature, http.StatusUnauthorized, "oauth_signature_invalid", "The request is not signed by Shopify", true},
	{tenant.ErrOAuthState, http.StatusForbidden, "oauth_state_invalid", "The install's state does not match; start the install again", true},
	{tenant.ErrOAuthCode, http.StatusBadRequest, "oauth_code_invalid", "Shopify refused the authorization code; start the install again", true},
	// Before ErrShopifyAuth, which it also matches: the cause is known.
	{tenant.ErrShopUninstalled, http.StatusConflict, "shop_uninstalled", "The shop has uninstalled the app", true},
	// The cause chain of a 404 says nothing the client can use.
	// Before orders.ErrNotFound, which they wrap: the title names the kind.
	{events.ErrEndpointNotFound, http.StatusNotFound, "not_found", "No such event endpoint in this shop", false},
	{events.ErrEventNotFound, http.StatusNotFound, "not_found", "No such event in this shop", false},
	{orders.ErrNotFound, http.StatusNotFound, "not_found", "No such order in this shop", false},
	{orders.ErrRuleViolation, http.StatusConflict, "rule_violation", "Not allowed in the order's current state", true},
	{orders.ErrActionInProgress, http.StatusConflict, "action_in_progress", "Another action is in progress on this order", true},
	{idempotency.ErrInFlight, http.StatusConflict, "idempotency_key_in_use", "A request with this Idempotency-Key is in progress", true},
	{idempotency.ErrKeyReused, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key reused with a different request", true},
	{orders.ErrInvalidInput, http.StatusUnprocessableEntity, "invalid_input", "Invalid input", true},
	{orders.ErrShopifyTimeout, http.StatusGatewayTimeout, "shopify_timeout", "Shopify did not answer in time", false},
	{orders.ErrShopifyRejected, http.StatusBadGateway, "shopify_rejected", "Shopify refused the change", true},
	{orders.ErrShopifyRateLimited, http.StatusBadGateway, "shopify_rate_limited", "Shopify is rate limiting this shop", false},
	{orders.ErrShopifyAuth, http.StatusBadGateway, "shopify_auth", "Shopify refused the shop's access token", false},
	{orders.ErrShopifyUnavailable, http.StatusBadGateway, "shopify_unavailable", "Shopify failed", false},
}

// statusClientClosedRequest is nginx's 499: the client closed the
// connection before the answer (never seen by a client).
const statusClientClosedRequest = 499

// problemFor maps an error to its problem. Details of 5xx stay in the log.
func problemFor(err error) Problem {
	for _, m := range errorMapping {
		if !errors.Is(err, m.err) {
			continue
		}
		p := Problem{Type: problemTypeBase + m.code, Title: m.title, Status: m.status, Code: m.code}
		if m.detail {
			p.Detail = err.Error()
		}
		var rule *orders.RuleError
		if errors.As(err, &rule) {
			p.Code, p.Type, p.Detail = string(rule.Reason), problemTypeBase+string(rule.Reason), rule.Detail
		}
		var verr *orders.ValidationError
		if errors.As(err, &verr) {
			if verr.Code != "" {
				p.Code, p.Type = verr.Code, problemTypeBase+verr.Code
			}
			p.Detail = verr.Error()
			for _, f := range verr.Fields {
				p.Errors = append(p.Errors, FieldError(f))
			}
		}
		return p
	}
	return newProblem(http.StatusInternalServerError, "internal", "Internal server error", "")
}

func newProblem(status int, code, title, detail string) Problem {
	return Problem{Type: problemTypeBase + code, Title: title, Status: status, Code: code, Detail: detail}
}

// retryAfter is when to try again, in seconds, for problems that pass.
var retryAfter = map[string]string{
	"action_in_progress":     "2",
	"idempotency_key_in_use": "2",
	"not_ready":              "5",
	"webhook_ingest_busy":    "1",
}

// problemHeaders sets the headers a problem carries besides its body.
func problemHeaders(c *gin.Context, p Problem) {
	if s, ok := retryAfter[p.Code]; ok {
		c.Header("Retry-After", s)
	}
}

// problemInstance names this occurrence of a problem: the request id, and
// the trace id when the request is traced.
func problemInstance(c *gin.Context) string {
	inst := "urn:request:" + requestID(c)
	if id := telemetry.TraceID(c.Request.Context()); id != "" {
		inst += ";trace=" + id
	}
	return inst
}

// writeProblem sends p as application/problem+json and stops the chain.
func writeProblem(c *gin.Context, p Problem) {
	p.Instance = problemInstance(c)
	problemHeaders(c, p)
	b, _ := json.Marshal(p) // strings and ints: encoding cannot fail
	c.Data(p.Status, mediaProblem, b)
	c.Abort()
}

// writeError maps err through the table; 5xx causes are logged here.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		// The client went away (closed its connection) before the answer:
		// nothing failed on this side and nobody reads the answer. 499, as
		// proxies record it, keeps it out of the 5xx the alerts count.
		log.InfoContext(c.Request.Context(), "request ended by the client", "err", err, "request_id", requestID(c))
		_ = c.Error(err)
		writeProblem(c, newProblem(statusClientClosedRequest, "client_closed_request", "Client closed request", ""))
		return
	}
	p := problemFor(err)
	if p.Status >= 500 {
		log.ErrorContext(c.Request.Context(), "request failed", "err", err, "request_id", requestID(c), "status", p.Status)
	}
	_ = c.Error(err)
	writeProblem(c, p)
}
