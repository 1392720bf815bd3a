package shopifysandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

// SetWebhookTarget makes the sandbox send signed webhooks about its own
// changes to url, signed with secret, like Shopify does.
func (s *Sandbox) SetWebhookTarget(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = url, secret
}

// emitLocked queues webhooks for send after the lock is released; callers
// hold mu. Each goes out once, retried on failure like Shopify does.
func (s *Sandbox) emitLocked(topic string, payload any) {
	if s.hookURL == "" {
		return
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return
	}
	url, secret, shop := s.hookURL, s.hookSecret, s.opts.Shop
	go deliver(url, secret, shop, topic, body)
}

// Deliver sends one signed webhook now and returns the status it got: for
// tests that need a specific body, a duplicate, or an old payload. Like
// Shopify, retries of a delivery repeat its webhookID; eventID is shared by
// the deliveries one change produces.
func Deliver(url, secret, shop, topic, webhookID, eventID string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Shop-Domain", shop)
	req.Header.Set("X-Shopify-Event-Id", eventID)
	req.Header.Set("X-Shopify-Webhook-Id", webhookID)
	req.Header.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	req.Header.Set("X-Shopify-Hmac-Sha256", webhooksig.Sign([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func deliver(url, secret, shop, topic string, body []byte) {
	webhookID, eventID := uuid.NewString(), uuid.NewString()
	wait := 100 * time.Millisecond
	for range 5 {
		status, err := Deliver(url, secret, shop, topic, webhookID, eventID, body)
		if err == nil && status < 300 {
			return
		}
		time.Sleep(wait)
		wait *= 2
	}
}

// serveAdmin handles the sandbox's own endpoints, which stand in for
// changes made in Shopify's admin, by carriers, or by customers:
//
//	POST /sandbox/orders/{id}/fulfill                      ship every unshipped item (UPS, tracking)
//	POST /sandbox/orders/{id}/fulfillment_events {"status": "delivered", "estimated_delivery_at": "..."}
//
// and the fault-injection admin (see serveFaultAdmin).
func (s *Sandbox) serveAdmin(w http.ResponseWriter, r *http.Request, path string) {
	if s.serveFaultAdmin(w, r, strings.Trim(path, "/")) || s.serveBulkAdmin(w, r, strings.Trim(path, "/")) {
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "orders" {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	id, _ := strconv.ParseUint(parts[1], 10, 64)
	var status int
	var out any
	switch parts[2] {
	case "fulfill":
		status, out = s.fulfill(id)
	case "fulfillment_events":
		var in struct {
			Status              string     `json:"status"`
			EstimatedDeliveryAt *time.Time `json:"estimated_delivery_at"`
			Message             string     `json:"message"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Status == "" {
			writeErrors(w, http.StatusBadRequest, `send {"status": "in_transit|out_for_delivery|delivered|...", "estimated_delivery_at": RFC 3339}`)
			return
		}
		status, out = s.addEvent(id, in.Status, in.EstimatedDeliveryAt, in.Message)
	default:
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, status, out)
}

func (s *Sandbox) fulfill(id uint64) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return http.StatusNotFound, map[string]any{"errors": "Not Found"}
	}
	if o.CancelledAt != nil {
		return http.StatusUnprocessableEntity, map[string]any{"errors": "order is cancelled"}
	}
	shipped := map[uint64]int{}
	for _, f := range o.Fulfillments {
		for _, li := range f.LineItems {
			shipped[li.Id] += li.Quantity
		}
	}
	now := s.opts.Now().UTC()
	fid := s.newID()
	f := goshopify.Fulfillment{
		Id: fid, OrderId: o.Id, Status: "success", CreatedAt: &now, UpdatedAt: &now, ShipmentStatus: "confirmed",
		TrackingCompany: "UPS", TrackingNumbers: []string{fmt.Sprintf("1Z%09d", fid%1000000000)},
		TrackingUrls: []string{fmt.Sprintf("https://www.ups.com/track?tracknum=1Z%09d", fid%1000000000)},
	}
	for _, li := range o.LineItems {
		if left := li.Quantity - shipped[li.Id]; left > 0 {
			f.LineItems = append(f.LineItems, goshopify.LineItem{Id: li.Id, Quantity: left, Title: li.Title})
		}
	}
	if len(f.LineItems) == 0 {
		return http.StatusUnprocessableEntity, map[string]any{"errors": "nothing left to fulfill"}
	}
	o.Fulfillments = append(o.Fulfillments, f)
	o.FulfillmentStatus, o.UpdatedAt = "fulfilled", &now
	s.emitLocked("fulfillments/create", f)
	s.emitLocked("orders/fulfilled", o)
	return http.StatusCreated, map[string]any{"fulfillment": f}
}

func (s *Sandbox) addEvent(id uint64, status string, eta *time.Time, message string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return http.StatusNotFound, map[string]any{"errors": "Not Found"}
	}
	idx := -1
	for i, f := range o.Fulfillments {
		if f.Status == "success" {
			idx = i // the newest shipment
		}
	}
	if idx < 0 {
		return http.StatusUnprocessableEntity, map[string]any{"errors": "the order has no shipment: POST /sandbox/orders/{id}/fulfill first"}
	}
	now := s.opts.Now().UTC()
	f := &o.Fulfillments[idx]
	ev := goshopify.FulfillmentEvent{
		Id: s.newID(), FulfillmentId: f.Id, OrderId: o.Id, Status: status, Message: message,
		HappenedAt: now.Format(time.RFC3339), CreatedAt: now.Format(time.RFC3339), UpdatedAt: now.Format(time.RFC3339),
	}
	if eta != nil {
		ev.EstimatedDeliveryAt = eta.UTC().Format(time.RFC3339)
	}
	s.events[f.Id] = append(s.events[f.Id], ev)
	f.ShipmentStatus, f.UpdatedAt, o.UpdatedAt = status, &now, &now
	s.emitLocked("fulfillment_events/create", ev)
	return http.StatusCreated, map[string]any{"fulfillment_event": ev}
}

// webhook subscriptions, for `orderdesk webhooks register`.

func (s *Sandbox) listWebhooks(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]goshopify.Webhook, len(s.webhooks))
	copy(out, s.webhooks)
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

func (s *Sandbox) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Webhook goshopify.Webhook `json:"webhook"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Webhook.Topic == "" || in.Webhook.Address == "" {
		writeErrors(w, http.StatusUnprocessableEntity, "topic and address are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.webhooks {
		if h.Topic == in.Webhook.Topic && h.Address == in.Webhook.Address {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string][]string{"address": {"for this topic has already been taken"}}})
			return
		}
	}
	now := s.opts.Now().UTC()
	h := in.Webhook
	h.Id, h.CreatedAt, h.UpdatedAt, h.Format = s.newID(), &now, &now, "json"
	s.webhooks = append(s.webhooks, h)
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": h})
}

// countOrders serves /orders/count.json (status=any, updated_at_min).
func (s *Sandbox) countOrders(w http.ResponseWriter, r *http.Request) {
	var min time.Time
	if v := r.URL.Query().Get("updated_at_min"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "updated_at_min - Invalid value.")
			return
		}
		min = t
	}
	s.mu.Lock()
	n := 0
	for _, o := range s.orders {
		if min.IsZero() || o.UpdatedAt == nil || !o.UpdatedAt.Before(min) {
			n++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": n})
}
