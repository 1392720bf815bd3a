package api

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// WebhookReceiver takes Shopify's webhook deliveries.
type WebhookReceiver interface {
	Receive(ctx context.Context, h webhooks.Headers, body []byte) (webhooks.Outcome, error)
}

// WebhookAck is the answer to a delivery Shopify made.
type WebhookAck struct {
	// accepted: recorded and queued; duplicate: seen before (same X-Shopify-Webhook-Id), not applied again; ignored: a topic orderdesk does not use; refused: signed, but not a JSON object for its topic — recorded, never applied, and acknowledged so Shopify stops retrying.
	Status string `json:"status" enums:"accepted,duplicate,ignored,refused" example:"accepted"`
} //	@name	WebhookAck

// WebhookPayload is Shopify's REST-shaped JSON object for the topic (an
// order for orders/*, a refund for refunds/create, ...).
type WebhookPayload map[string]any //	@name	WebhookPayload

// shopifyWebhook godoc
//
//	@Summary		Shopify webhooks
//	@Description	Receives Shopify's webhooks, authenticated by X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the app secret) instead of an API key. A delivery is recorded once, deduplicated on X-Shopify-Webhook-Id across every shop (Shopify's retries repeat it; X-Shopify-Event-Id, shared by the deliveries of one merchant action, is recorded for correlation), and answered at once: an order delivery is recorded with its body (concurrent deliveries share one INSERT and commit, and none is answered before its commit) and applied by the batch loop (the newest delivery per order, a batch at a time; the delay from delivery to stored copy is the metric orderdesk_webhook_apply_lag_seconds), any other topic is recorded with the River job that applies it. A signed body that is not a JSON object for its topic (not JSON, not UTF-8, a NUL in a string, nested too deep, or without the order, customer or shop its topic names) is recorded as refused and acknowledged. Payloads older than the stored order never overwrite it. X-Shopify-Shop-Domain is not signed, so a delivery is bound to its shop: an order or customer the shop has no copy of is read through the shop's own token rather than taken from the payload (another shop's delivery resent under this domain stores nothing), and customers/redact and shop/redact act only when their body's shop_domain names the routed shop; shop/redact erases a shop only once it has uninstalled the app (Shopify sends it 48 hours after the uninstall), so a shop/redact resent under a fresh X-Shopify-Webhook-Id to an installed shop erases nothing. app/uninstalled is applied only once Shopify refuses the shop's own access token (it revokes it the moment the merchant uninstalls): one resent while Shopify still honours the token is recorded as refused and changes nothing.
//	@Tags			webhooks
//	@ID				receiveShopifyWebhook
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			X-Shopify-Hmac-Sha256	header		string			true	"base64 HMAC-SHA256 of the raw body"
//	@Param			X-Shopify-Topic			header		string			true	"e.g. orders/updated"
//	@Param			X-Shopify-Shop-Domain	header		string			true	"e.g. example.myshopify.com"
//	@Param			X-Shopify-Webhook-Id	header		string			true	"Unique per delivery, repeated by retries: the dedupe key"
//	@Param			X-Shopify-Event-Id		header		string			false	"Shared by the deliveries of one merchant action: recorded for correlation"
//	@Param			X-Shopify-Triggered-At	header		string			false	"When the change happened (RFC 3339), repeated by retries: an app/uninstalled triggered before the shop's current installation is not applied"
//	@Param			body					body		WebhookPayload	true	"Shopify's payload for the topic"
//	@Success		200						{object}	WebhookAck
//	@Failure		400						{object}	Problem			"A Shopify header is missing, sent twice, or not printable ASCII"
//	@Failure		401						{object}	Problem			"Signature missing or invalid: nothing was stored"
//	@Failure		404						{object}	Problem			"A shop orderdesk does not serve"
//	@Failure		413						{object}	Problem			"Body over 1 MiB"
//	@Failure		500						{object}	Problem			"Internal error (no details); Shopify retries"
//	@Failure		503						{object}	Problem			"webhook_ingest_busy: deliveries waiting for their commit fill the queue, or the service is stopping; nothing was recorded, Shopify retries"
//	@Header			503						{integer}	Retry-After		"Seconds to wait before sending the delivery again"
//	@Header			all						{string}	X-Request-Id	"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Router			/webhooks/shopify [post]
func (s *server) shopifyWebhook(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.metrics.webhooks.WithLabelValues("too_large").Inc()
			writeProblem(c, newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large", "the body must be at most 1 MiB"))
			return
		}
		writeProblem(c, newProblem(http.StatusBadRequest, "invalid_body", "Invalid request body", "the body could not be read"))
		return
	}
	// Shopify sends each header once; one sent twice is not read as its
	// first value (X-Shopify-Webhook-Id is the dedupe key).
	for _, name := range []string{"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-Hmac-Sha256"} {
		if len(c.Request.Header.Values(name)) > 1 {
			s.metrics.webhooks.WithLabelValues("invalid_header").Inc()
			writeProblem(c, newProblem(http.StatusBadRequest, "invalid_header", "Invalid Shopify header", name+" is sent more than once"))
			return
		}
	}
	h := webhooks.Headers{
		Topic:       c.GetHeader("X-Shopify-Topic"),
		ShopDomain:  c.GetHeader("X-Shopify-Shop-Domain"),
		WebhookID:   c.GetHeader("X-Shopify-Webhook-Id"),
		EventID:     c.GetHeader("X-Shopify-Event-Id"),
		HMAC:        c.GetHeader("X-Shopify-Hmac-Sha256"),
		TriggeredAt: c.GetHeader("X-Shopify-Triggered-At"),
	}
	outcome, err := s.Webhooks.Receive(c.Request.Context(), h, body)
	label := string(outcome)
	switch {
	case errors.Is(err, webhooks.ErrInvalidSignature):
		label = "invalid_signature"
		writeProblem(c, newProblem(http.StatusUnauthorized, "invalid_signature", "Invalid webhook signature", "X-Shopify-Hmac-Sha256 is missing or does not match the body"))
	case errors.Is(err, webhooks.ErrMissingHeader):
		label = "invalid_header"
		writeProblem(c, newProblem(http.StatusBadRequest, "missing_header", "Missing Shopify header", err.Error()))
	case errors.Is(err, webhooks.ErrInvalidHeader):
		label = "invalid_header"
		writeProblem(c, newProblem(http.StatusBadRequest, "invalid_header", "Invalid Shopify header", err.Error()))
	case errors.Is(err, webhooks.ErrUnknownShop):
		label = "unknown_shop"
		writeProblem(c, newProblem(http.StatusNotFound, "unknown_shop", "Unknown shop", "the shop of X-Shopify-Shop-Domain is not one orderdesk serves"))
	case errors.Is(err, webhooks.ErrBusy), errors.Is(err, webhooks.ErrStopping):
		// Nothing was recorded: Shopify retries the delivery.
		label = "busy"
		writeProblem(c, newProblem(http.StatusServiceUnavailable, "webhook_ingest_busy", "Webhook ingest busy", "deliveries waiting to be recorded fill the queue, or the service is stopping; retry later"))
	case err != nil:
		label = "error"
		writeError(c, s.Log, err)
	default:
		writeJSON(c, http.StatusOK, WebhookAck{Status: string(outcome)})
	}
	s.metrics.webhooks.WithLabelValues(label).Inc()
}
