package api

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// listOrders godoc
//
//	@Summary		List orders
//	@Description	A contact's (or the shop's) orders, newest first (created_at, then id), served from orderdesk's copy. Filtering by customer_id reads a contact never listed before from Shopify: the answer waits only for the newest orders it shows (at most 20 s), says complete false, and the rest is read in the background; a list older than ORDERDESK_ORDER_TTL is served as stored and refreshed in the background. Filters take orderdesk's values. Filters combine with AND: an order is listed only when it matches every filter given (customer_id=1&email=a@example.com lists the orders of customer 1 that carry that email, not the union); a filter not given does not filter; a filter given empty or blank is a 400. No filter lists all of the shop's orders.
//	@Tags			orders
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			customer_id			query		integer	false	"Shopify customer id"	Format(int64)	minimum(1)
//	@Param			email				query		string	false	"Customer email, compared case-insensitively (send a '+' as %2B). ANDed with the other filters."
//	@Param			phone				query		string	false	"Customer phone in any common notation: +13125551212, +1 312 555 1212, (312) 555-1212 and 3125551212 find the same contact. Compared in E.164; a number without a country code is read as one of ORDERDESK_PHONE_REGION's country (default US). Send a '+' as %2B. Not a phone number: 400. ANDed with the other filters."
//	@Param			name				query		string	false	"Order name with or without its '#': 1001 and %231001 both find #1001 (send '#' as %23). Exact otherwise. ANDed with the other filters."
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
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/orders [get]
func (s *server) listOrders(c *gin.Context) {
	f, fieldErrs := parseListFilter(queryValues(c), s.PhoneRegion)
	if len(fieldErrs) > 0 {
		writeProblem(c, queryProblem(fieldErrs))
		return
	}
	page, err := s.Orders.ListViews(c.Request.Context(), principal(c).Shop, f)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	writeOrderPage(c, page)
}

// listParams are the parameters of GET /orders.
var listParams = []string{"customer_id", "email", "phone", "name", "status", "financial_status", "fulfillment_status", "updated_since", "limit", "cursor"}

var (
	validStatuses    = []string{"open", "archived", "cancelled"}
	validFinancial   = []string{"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "expired"}
	validFulfillment = []string{"unfulfilled", "partially_fulfilled", "fulfilled", "restocked"}
)

// parseListFilter reads GET /orders' parameters (already parsed by query):
// every value given is used or refused, never dropped. A phone is read as
// a number of phoneRegion when it has no country code.
func parseListFilter(q map[string]string, phoneRegion string) (orders.ListFilter, []FieldError) {
	f := orders.ListFilter{Limit: 20}
	var errs []FieldError
	bad := func(field, msg string) { errs = append(errs, FieldError{Field: field, Message: msg}) }
	if v, ok := q["customer_id"]; ok {
		id, valid := parseID(v)
		if !valid {
			bad("customer_id", "must be a positive integer")
		}
		f.CustomerID = id
	}
	// Text filters are taken as sent, never trimmed: a '+' that a caller
	// meant as a plus sign arrives as a space ("email=bob+x@example.com",
	// "phone=+1312..."), so a space where it cannot belong is a 400 that
	// says so rather than a search for something else.
	text := func(field string, inner bool) string {
		const plus = " (a '+' in a query string is a space: send a plus sign as %2B)"
		v := q[field]
		switch {
		case inner && strings.ContainsFunc(v, unicode.IsSpace):
			bad(field, "must not hold a space"+plus)
		case v != strings.TrimSpace(v):
			bad(field, "must not start or end with a space"+plus)
		}
		return v
	}
	f.Email = text("email", true)
	f.Phone = text("phone", false)
	if _, given := q["phone"]; given && f.Phone == strings.TrimSpace(f.Phone) {
		e164, ok := orders.NormalizePhone(f.Phone, phoneRegion)
		if !ok {
			bad("phone", "must be a phone number: E.164 (+13125551212, its '+' sent as %2B) or a number of "+phoneRegion+" (ORDERDESK_PHONE_REGION) without its country code")
		}
		f.Phone = e164
	}
	f.Name = text("name", false)
	oneOf := func(field string, allowed []string) string {
		v, ok := q[field]
		if ok && !slices.Contains(allowed, v) {
			bad(field, "must be one of "+strings.Join(allowed, ", "))
		}
		return v
	}
	f.Status = orders.Status(oneOf("status", validStatuses))
	f.FinancialStatus = orders.FinancialStatus(oneOf("financial_status", validFinancial))
	f.FulfillmentStatus = orders.FulfillmentStatus(oneOf("fulfillment_status", validFulfillment))
	if v, ok := q["updated_since"]; ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad("updated_since", "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z")
		}
		f.UpdatedSince = t
	}
	if v, ok := q["limit"]; ok {
		n, err := parseLimit(v)
		if err != "" {
			bad("limit", err)
		}
		f.Limit = n
	}
	if v, ok := q["cursor"]; ok {
		cur, err := orders.DecodeCursor(v)
		if err != nil {
			bad("cursor", "is not a cursor this API returned")
		}
		f.After = &cur
	}
	return f, errs
}

// parseLimit reads a page size: a positive integer, above 100 clamped to 100.
func parseLimit(v string) (int, string) {
	if n, ok := parseID(v); ok {
		return int(min(n, 100)), ""
	}
	return 20, "must be a positive integer (above 100 is clamped to 100)"
}

// getOrder godoc
//
//	@Summary		Get an order
//	@Description	One order with its three statuses, labels, per-line-item tracking and the actions allowed now. Served from orderdesk's copy; read from Shopify first when the copy is missing, older than ORDERDESK_ORDER_TTL, or refresh=true.
//	@Tags			orders
//	@Produce		json,application/problem+json
//	@Security		BearerAuth
//	@Param			id		path		integer	true	"Shopify order id"	Format(int64)	minimum(1)
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
//	@Header			all	{string}	X-Request-Id		"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			401	{string}	WWW-Authenticate	"The Bearer challenge: Bearer realm=orderdesk"
//	@Router			/orders/{id} [get]
func (s *server) getOrder(c *gin.Context) {
	id, ok := pathID(c, "order")
	if !ok {
		return
	}
	refresh := false
	if v, given := queryValues(c)["refresh"]; given {
		if v != "true" && v != "false" {
			writeProblem(c, queryProblem([]FieldError{{Field: "refresh", Message: "must be true or false"}}))
			return
		}
		refresh = v == "true"
	}
	v, err := s.Orders.View(c.Request.Context(), principal(c).Shop, id, refresh)
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	writeOrderView(c, v)
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
