package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// listOrders godoc
//
//	@Summary		List orders
//	@Description	A contact's (or the shop's) orders, newest first (created_at, then id), served from orderdesk's copy. Filtering by customer_id reads the customer's orders from Shopify first when the copy is older than ORDERDESK_ORDER_TTL. Filters take orderdesk's values.
//	@Tags			orders
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			customer_id			query		int		false	"Shopify customer id"
//	@Param			email				query		string	false	"Customer email (case-insensitive)"
//	@Param			phone				query		string	false	"Customer phone, E.164"
//	@Param			name				query		string	false	"Order name, e.g. #1001"
//	@Param			status				query		string	false	"Order status"											Enums(open, archived, cancelled)
//	@Param			financial_status	query		string	false	"Payment status"										Enums(pending, authorized, partially_paid, paid, partially_refunded, refunded, voided, expired)
//	@Param			fulfillment_status	query		string	false	"Fulfilment status"										Enums(unfulfilled, partially_fulfilled, fulfilled, restocked)
//	@Param			updated_since		query		string	false	"RFC 3339 time; orders updated at or after it"			Format(date-time)
//	@Param			limit				query		int		false	"Page size (default 20; above 100 is clamped to 100)"	minimum(1)	default(20)
//	@Param			cursor				query		string	false	"next_cursor of the previous page"
//	@Success		200					{object}	OrderListResponse
//	@Failure		400					{object}	Problem	"Invalid query parameter"
//	@Failure		401					{object}	Problem
//	@Failure		429					{object}	Problem		"The API key's rate limit; Retry-After says when to come back"
//	@Header			429					{integer}	Retry-After	"Seconds until the key may call again"
//	@Failure		409					{object}	Problem		"The shop has uninstalled the app (shop_uninstalled)"
//	@Failure		500					{object}	Problem		"Internal error (no details)"
//	@ID				listOrders
//	@Router			/orders [get]
func (s *server) listOrders(c *gin.Context) {
	f, fieldErrs := parseListFilter(c)
	if len(fieldErrs) > 0 {
		p := newProblem(http.StatusBadRequest, "invalid_query", "Invalid query parameter", fieldErrs[0].Field+": "+fieldErrs[0].Message)
		p.Errors = fieldErrs
		writeProblem(c, p)
		return
	}
	page, err := s.Orders.List(c.Request.Context(), principal(c).Shop, f)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	resp := OrderListResponse{Orders: make([]OrderResponse, 0, len(page.Orders))}
	for _, o := range page.Orders {
		resp.Orders = append(resp.Orders, toOrderResponse(o))
	}
	if page.Next != nil {
		next := page.Next.Encode()
		resp.NextCursor = &next
	}
	writeJSON(c, http.StatusOK, resp)
}

var (
	validStatuses    = []string{"open", "archived", "cancelled"}
	validFinancial   = []string{"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "expired"}
	validFulfillment = []string{"unfulfilled", "partially_fulfilled", "fulfilled", "restocked"}
)

func parseListFilter(c *gin.Context) (orders.ListFilter, []FieldError) {
	f := orders.ListFilter{Limit: 20}
	var errs []FieldError
	bad := func(field, msg string) { errs = append(errs, FieldError{Field: field, Message: msg}) }
	q := c.Request.URL.Query()
	if v := q.Get("customer_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			bad("customer_id", "must be a positive integer")
		}
		f.CustomerID = id
	}
	f.Email = strings.TrimSpace(q.Get("email"))
	f.Phone = strings.TrimSpace(q.Get("phone"))
	f.Name = strings.TrimSpace(q.Get("name"))
	oneOf := func(field string, allowed []string) string {
		v := q.Get(field)
		if v != "" && !slices.Contains(allowed, v) {
			bad(field, "must be one of "+strings.Join(allowed, ", "))
		}
		return v
	}
	f.Status = orders.Status(oneOf("status", validStatuses))
	f.FinancialStatus = orders.FinancialStatus(oneOf("financial_status", validFinancial))
	f.FulfillmentStatus = orders.FulfillmentStatus(oneOf("fulfillment_status", validFulfillment))
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad("updated_since", "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z")
		}
		f.UpdatedSince = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("limit", "must be a positive integer")
		}
		f.Limit = min(n, 100)
	}
	if v := q.Get("cursor"); v != "" {
		cur, err := orders.DecodeCursor(v)
		if err != nil {
			bad("cursor", "is not a cursor this API returned")
		}
		f.After = &cur
	}
	return f, errs
}

// getOrder godoc
//
//	@Summary		Get an order
//	@Description	One order with its three statuses, labels, per-line-item tracking and the actions allowed now. Served from orderdesk's copy; read from Shopify first when the copy is missing, older than ORDERDESK_ORDER_TTL, or refresh=true.
//	@Tags			orders
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id		path		int		true	"Shopify order id"
//	@Param			refresh	query		bool	false	"Read Shopify first"
//	@Success		200		{object}	OrderResponse
//	@Failure		400		{object}	Problem	"Invalid id"
//	@Failure		401		{object}	Problem
//	@Failure		429		{object}	Problem		"The API key's rate limit; Retry-After says when to come back"
//	@Header			429		{integer}	Retry-After	"Seconds until the key may call again"
//	@Failure		404		{object}	Problem		"No such order in this shop"
//	@Failure		409		{object}	Problem		"The shop has uninstalled the app (shop_uninstalled)"
//	@Failure		502		{object}	Problem		"Shopify failed"
//	@Failure		500		{object}	Problem		"Internal error (no details)"
//	@Failure		504		{object}	Problem		"Shopify did not answer in time"
//	@ID				getOrder
//	@Router			/orders/{id} [get]
func (s *server) getOrder(c *gin.Context) {
	id, ok := orderID(c)
	if !ok {
		return
	}
	refresh := false
	if v := c.Query("refresh"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			p := newProblem(http.StatusBadRequest, "invalid_query", "Invalid query parameter", "refresh: must be true or false")
			p.Errors = []FieldError{{Field: "refresh", Message: "must be true or false"}}
			writeProblem(c, p)
			return
		}
		refresh = b
	}
	o, err := s.Orders.Get(c.Request.Context(), principal(c).Shop, id, refresh)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	writeJSON(c, http.StatusOK, toOrderResponse(o))
}

// orderID parses the :id path parameter, writing a 400 when it is not an id.
func orderID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		p := newProblem(http.StatusBadRequest, "invalid_id", "Invalid order id", "the order id must be a positive integer")
		p.Errors = []FieldError{{Field: "id", Message: "must be a positive integer"}}
		writeProblem(c, p)
		return 0, false
	}
	return id, true
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
