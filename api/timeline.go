package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// TimelineEventResponse is one entry of a contact's activity.
type TimelineEventResponse struct {
	ID         string    `json:"id" example:"order:450789469:refund:509562969"`
	Type       string    `json:"type" enums:"order.placed,order.paid,order.partially_paid,order.fulfilled,order.partially_fulfilled,shipment.in_transit,shipment.out_for_delivery,shipment.ready_for_pickup,shipment.attempted_delivery,shipment.delivered,shipment.failure,order.cancelled,order.refunded,action.cancel,action.refund" example:"order.refunded"`
	OccurredAt time.Time `json:"occurred_at" format:"date-time" example:"2026-11-22T09:15:00Z"`
	OrderID    int64     `json:"order_id" example:"450789469" format:"int64"`
	OrderName  string    `json:"order_name" example:"#1001"`
	Summary    string    `json:"summary" example:"Refund of 10.00 USD by agent 42: succeeded"`
	AgentID    *string   `json:"agent_id" extensions:"x-nullable" example:"42"`
	// Details by type: amounts, tracking, estimated delivery, action outcome.
	Data map[string]any `json:"data"`
} //	@name	TimelineEvent

// TimelineResponse is a page of a contact's activity, newest first.
type TimelineResponse struct {
	Events     []TimelineEventResponse `json:"events"`
	NextCursor *string                 `json:"next_cursor" extensions:"x-nullable" example:"MjAyNi0xMS0yMlQwOToxNTowMFp8b3JkZXI6NDUwNzg5NDY5OnBsYWNlZA"`
} //	@name	Timeline

// timeline godoc
//
//	@Summary		A contact's activity timeline
//	@Description	Everything that happened to the contact's orders, newest first: placed, paid, shipped (with tracking), carrier updates, delivered, cancelled, refunded, and every agent action with its outcome. A contact never seen before is read from Shopify first; one the shop has no order of (another shop's customer, or one Shopify does not know) is 404.
//	@Tags			timeline
//	@ID				getTimeline
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id		path		integer	true	"Shopify customer id"									Format(int64)	minimum(1)
//	@Param			limit	query		int		false	"Page size (default 20; above 100 is clamped to 100)"	minimum(1)		default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	TimelineResponse
//	@Failure		400		{object}	Problem	"Invalid id, limit or cursor"
//	@Failure		401		{object}	Problem
//	@Failure		404		{object}	Problem				"No order of this customer in this shop (not_found)"
//	@Failure		429		{object}	Problem				"The API key's rate limit; Retry-After says when to come back"
//	@Header			429		{integer}	Retry-After			"Seconds until the key may call again"
//	@Failure		409		{object}	Problem				"The shop has uninstalled the app (shop_uninstalled)"
//	@Failure		500		{object}	Problem				"Internal error (no details)"
//	@Header			all		{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401		{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/customers/{id}/timeline [get]
func (s *server) timeline(c *gin.Context) {
	q := queryValues(c)
	var errs []FieldError
	id, ok := parseID(c.Param("id"))
	if !ok {
		errs = append(errs, FieldError{"id", "must be a positive integer"})
	}
	limit := 20
	if v, given := q["limit"]; given {
		var msg string
		if limit, msg = parseLimit(v); msg != "" {
			errs = append(errs, FieldError{"limit", msg})
		}
	}
	var after *orders.TimelineCursor
	if v, given := q["cursor"]; given {
		cur, err := orders.DecodeTimelineCursor(v)
		if err != nil {
			errs = append(errs, FieldError{"cursor", "is not a cursor this API returned"})
		}
		after = &cur
	}
	if len(errs) > 0 {
		writeProblem(c, queryProblem(errs))
		return
	}
	page, err := s.Orders.Timeline(c.Request.Context(), principal(c).Shop, id, after, limit)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	r := TimelineResponse{Events: make([]TimelineEventResponse, 0, len(page.Events))}
	for _, e := range page.Events {
		data := e.Data
		if data == nil {
			data = map[string]any{}
		}
		r.Events = append(r.Events, TimelineEventResponse{
			ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, OrderID: e.OrderID, OrderName: e.OrderName,
			Summary: e.Summary, AgentID: optString(e.AgentID), Data: data,
		})
	}
	if page.Next != nil {
		next := page.Next.Encode()
		r.NextCursor = &next
	}
	writeJSON(c, http.StatusOK, r)
}
