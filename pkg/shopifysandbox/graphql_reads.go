package shopifysandbox

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"
	"github.com/vektah/gqlparser/v2/ast"
)

// The GraphQL reads: order(id:), customer(id:) { orders }, orders(query:)
// and ordersCount(query:), over the same orders the REST endpoints serve,
// rendered in the Admin API's shapes.

// readOp names the operation a read document performs, for Calls and
// Fault.Op; "" when the document is no read the sandbox serves.
func readOp(roots []string) string {
	if len(roots) == 0 {
		return ""
	}
	switch roots[0] {
	case "order":
		return OpOrderGet
	case "customer":
		return OpCustomerOrders
	case "orders":
		return OpOrdersList
	case "ordersCount":
		return OpOrdersCount
	case "webhookSubscriptions":
		return OpWebhooksList
	case "webhookSubscriptionCreate":
		return OpWebhooksCreate
	case "bulkOperationRunQuery", "currentBulkOperation":
		return ""
	}
	return ""
}

// readRootLocked is the query root's objects; callers hold mu. Fields are
// lazy so only what the document asks for is built.
func (s *Sandbox) readRootLocked() map[string]any {
	return map[string]any{
		"__typename": "QueryRoot",
		"order": lazy(func(args map[string]any) (any, error) {
			id, _ := args["id"].(string)
			o, ok := s.orders[gidID(id)]
			if !ok || !strings.HasPrefix(id, "gid://shopify/Order/") {
				return nil, nil
			}
			return s.gqlOrderLocked(o), nil
		}),
		"customer": lazy(func(args map[string]any) (any, error) {
			id, _ := args["id"].(string)
			cid := gidID(id)
			var mine []*goshopify.Order
			var who *goshopify.Customer
			for _, o := range s.orders {
				if o.Customer != nil && o.Customer.Id == cid {
					mine, who = append(mine, o), o.Customer
				}
			}
			if who == nil || !strings.HasPrefix(id, "gid://shopify/Customer/") {
				return nil, nil
			}
			c := gqlCustomer(who)
			c["orders"] = lazy(func(args map[string]any) (any, error) {
				return s.orderConnectionLocked(mine, args, nil)
			})
			return c, nil
		}),
		"orders": lazy(func(args map[string]any) (any, error) {
			match, err := searchOrders(args["query"])
			if err != nil {
				return nil, err
			}
			return s.orderConnectionLocked(s.sortedLocked(), args, match)
		}),
		"webhookSubscriptions": lazy(func(args map[string]any) (any, error) {
			out := lazyConnection{render: func(i int) map[string]any { return gqlWebhook(s.webhooks[i]) }}
			for _, h := range s.webhooks {
				out.ids = append(out.ids, gqlID("WebhookSubscription", h.Id))
			}
			return out, nil
		}),
		"ordersCount": lazy(func(args map[string]any) (any, error) {
			match, err := searchOrders(args["query"])
			if err != nil {
				return nil, err
			}
			n := 0
			for _, o := range s.orders {
				if match == nil || match(o) {
					n++
				}
			}
			return map[string]any{"__typename": "Count", "count": n, "precision": "EXACT"}, nil
		}),
	}
}

// mutationRootLocked is the mutation root's objects the executor serves;
// callers hold mu.
func (s *Sandbox) mutationRootLocked() map[string]any {
	return map[string]any{
		"__typename": "Mutation",
		"webhookSubscriptionCreate": lazy(func(args map[string]any) (any, error) {
			topic, _ := args["topic"].(string)
			in, _ := args["webhookSubscription"].(map[string]any)
			uri, _ := in["uri"].(string)
			refuse := func(field, msg string) (any, error) {
				return map[string]any{"__typename": "WebhookSubscriptionCreatePayload", "webhookSubscription": nil,
					"userErrors": []map[string]any{{"__typename": "UserError", "field": []string{"webhookSubscription", field}, "message": msg}}}, nil
			}
			if !strings.HasPrefix(uri, "https://") && !strings.HasPrefix(uri, "http://") {
				return refuse("uri", "Address is invalid")
			}
			rest := strings.ToLower(strings.Replace(topic, "_", "/", 1))
			for _, h := range s.webhooks {
				if h.Topic == rest && h.Address == uri {
					return refuse("uri", "Address for this topic has already been taken")
				}
			}
			now := s.opts.Now().UTC()
			h := goshopify.Webhook{Id: s.newID(), Topic: rest, Address: uri, Format: "json", CreatedAt: &now, UpdatedAt: &now}
			s.webhooks = append(s.webhooks, h)
			return map[string]any{"__typename": "WebhookSubscriptionCreatePayload", "webhookSubscription": gqlWebhook(h), "userErrors": []map[string]any{}}, nil
		}),
	}
}

// Webhooks are the shop's webhook subscriptions (topics in REST spelling).
func (s *Sandbox) Webhooks() []goshopify.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.webhooks)
}

func gqlWebhook(h goshopify.Webhook) map[string]any {
	return map[string]any{
		"__typename": "WebhookSubscription", "id": gqlID("WebhookSubscription", h.Id),
		"topic": strings.ToUpper(strings.ReplaceAll(h.Topic, "/", "_")), "uri": h.Address, "format": "JSON",
		"createdAt": gqlTime(h.CreatedAt), "updatedAt": gqlTime(h.UpdatedAt),
	}
}

// orderConnectionLocked sorts orders by the field's sortKey (ID,
// UPDATED_AT, CREATED_AT, PROCESSED_AT; ID by default) and reverse, keeps
// those match accepts, and makes them a connection.
func (s *Sandbox) orderConnectionLocked(list []*goshopify.Order, args map[string]any, match func(*goshopify.Order) bool) (lazyConnection, error) {
	key, _ := args["sortKey"].(string)
	at := func(o *goshopify.Order) time.Time { return time.Time{} }
	switch key {
	case "", "ID":
	case "UPDATED_AT":
		at = func(o *goshopify.Order) time.Time { return timeOr(o.UpdatedAt) }
	case "CREATED_AT":
		at = func(o *goshopify.Order) time.Time { return timeOr(o.CreatedAt) }
	case "PROCESSED_AT":
		at = func(o *goshopify.Order) time.Time { return timeOr(cmp.Or(o.ProcessedAt, o.CreatedAt)) }
	default:
		return lazyConnection{}, fmt.Errorf("sandbox: sortKey %s is not served", key)
	}
	sorted := slices.Clone(list)
	slices.SortFunc(sorted, func(a, b *goshopify.Order) int {
		return cmp.Or(at(a).Compare(at(b)), cmp.Compare(a.Id, b.Id))
	})
	if rev, _ := args["reverse"].(bool); rev {
		slices.Reverse(sorted)
	}
	var kept []*goshopify.Order
	out := lazyConnection{render: func(i int) map[string]any { return s.gqlOrderLocked(kept[i]) }}
	for _, o := range sorted {
		if match == nil || match(o) {
			kept = append(kept, o)
			out.ids = append(out.ids, gqlID("Order", o.Id))
		}
	}
	return out, nil
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

var updatedAtTerm = regexp.MustCompile(`^updated_at:(>=|>|<=|<)?['"]?([^'"]+)['"]?$`)

// searchOrders reads the search syntax orderdesk sends: updated_at with a
// comparison (updated_at:>='2026-11-01T00:00:00Z'), terms joined by spaces
// (AND). Anything else is refused, so a query the sandbox cannot honour
// never silently lists every order.
func searchOrders(q any) (func(*goshopify.Order) bool, error) {
	query, _ := q.(string)
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	var tests []func(*goshopify.Order) bool
	for _, term := range strings.Fields(query) {
		if strings.EqualFold(term, "AND") {
			continue
		}
		m := updatedAtTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, fmt.Errorf("sandbox: search term %q is not served (only updated_at comparisons)", term)
		}
		t, err := time.Parse(time.RFC3339, m[2])
		if err != nil {
			return nil, fmt.Errorf("sandbox: search term %q: %w", term, err)
		}
		op := m[1]
		tests = append(tests, func(o *goshopify.Order) bool {
			u := timeOr(o.UpdatedAt)
			switch op {
			case ">=":
				return !u.Before(t)
			case ">":
				return u.After(t)
			case "<=":
				return !u.After(t)
			case "<":
				return u.Before(t)
			}
			return u.Equal(t)
		})
	}
	return func(o *goshopify.Order) bool {
		for _, t := range tests {
			if !t(o) {
				return false
			}
		}
		return true
	}, nil
}

func gqlID(kind string, id uint64) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }

func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// gqlTime is a DateTime. Shopify's are whole seconds; the sandbox keeps
// the fraction its REST answers and webhooks carry, so both APIs tell the
// same times.
func gqlTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func gqlTimeString(s string) any {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// moneyBag is a MoneyBag: the sandbox has no exchange rates, so the
// presentment amount is the shop amount in the presentment currency.
func moneyBag(amount *decimal.Decimal, shop, presentment string) map[string]any {
	a := decimal.Zero
	if amount != nil {
		a = *amount
	}
	return map[string]any{
		"__typename":       "MoneyBag",
		"shopMoney":        map[string]any{"__typename": "MoneyV2", "amount": a.String(), "currencyCode": shop},
		"presentmentMoney": map[string]any{"__typename": "MoneyV2", "amount": a.String(), "currencyCode": presentment},
	}
}

func gqlCustomer(c *goshopify.Customer) map[string]any {
	out := map[string]any{
		"__typename": "Customer", "id": gqlID("Customer", c.Id), "legacyResourceId": strconv.FormatUint(c.Id, 10),
		"firstName": nullable(c.FirstName), "lastName": nullable(c.LastName),
		"defaultEmailAddress": nil, "defaultPhoneNumber": nil,
	}
	if c.Email != "" {
		out["defaultEmailAddress"] = map[string]any{"__typename": "CustomerEmailAddress", "emailAddress": c.Email}
	}
	if c.Phone != "" {
		out["defaultPhoneNumber"] = map[string]any{"__typename": "CustomerPhoneNumber", "phoneNumber": c.Phone}
	}
	return out
}

var displayFulfillment = map[string]string{"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED", "restocked": "RESTOCKED"}

// carrierStatuses are the REST shipment_status values that are also a
// FulfillmentDisplayStatus.
var carrierStatuses = map[string]bool{
	"label_printed": true, "label_purchased": true, "carrier_picked_up": true, "in_transit": true, "delayed": true,
	"out_for_delivery": true, "attempted_delivery": true, "ready_for_pickup": true, "picked_up": true,
	"delivered": true, "failure": true, "confirmed": true,
}

// gqlOrderLocked renders an order as the Admin API's Order; callers hold mu.
func (s *Sandbox) gqlOrderLocked(o *goshopify.Order) map[string]any {
	cur, pres := o.Currency, presentment(o)
	money := func(d *decimal.Decimal) map[string]any { return moneyBag(d, cur, pres) }
	// The money bags and lists are rendered only when a query selects
	// them (a bulk export's refunds document reads little else of an
	// order); later runs under the lock the executor holds.
	later := func(render func() any) lazy { return func(map[string]any) (any, error) { return render(), nil } }
	laterMoney := func(d *decimal.Decimal) lazy { return later(func() any { return money(d) }) }
	out := map[string]any{
		"__typename": "Order", "id": gqlID("Order", o.Id), "legacyResourceId": strconv.FormatUint(o.Id, 10),
		"name": o.Name, "number": o.OrderNumber, "email": nullable(o.Email), "phone": nullable(o.Phone),
		"createdAt": gqlTime(o.CreatedAt), "updatedAt": gqlTime(o.UpdatedAt), "processedAt": gqlTime(cmp.Or(o.ProcessedAt, o.CreatedAt)),
		"cancelledAt": gqlTime(o.CancelledAt), "cancelReason": nullable(strings.ToUpper(string(o.CancelReason))),
		"closedAt": gqlTime(o.ClosedAt), "closed": o.ClosedAt != nil,
		"currencyCode": cur, "presentmentCurrencyCode": pres,
		"displayFinancialStatus":   nullable(strings.ToUpper(string(o.FinancialStatus))),
		"displayFulfillmentStatus": cmp.Or(displayFulfillment[string(o.FulfillmentStatus)], "UNFULFILLED"),
		"taxesIncluded":            o.TaxesIncluded,
		"totalPriceSet":            laterMoney(o.TotalPrice),
		"subtotalPriceSet":         laterMoney(o.SubtotalPrice),
		"totalTaxSet":              laterMoney(o.TotalTax),
		"totalDiscountsSet":        laterMoney(o.TotalDiscounts),
		"customer":                 nil,
	}
	out["totalShippingPriceSet"] = later(func() any {
		shipping := decimal.Zero
		for _, sl := range o.ShippingLines {
			if sl.Price != nil {
				shipping = shipping.Add(*sl.Price)
			}
		}
		if o.TotalShippingPriceSet != nil && o.TotalShippingPriceSet.ShopMoney.Amount != nil {
			shipping = *o.TotalShippingPriceSet.ShopMoney.Amount
		}
		return money(&shipping)
	})
	shippingLines := func() connection {
		var shippingLines connection
		for _, sl := range o.ShippingLines {
			paid := sl.DiscountedPrice
			if paid == nil {
				paid = sl.Price
			}
			shippingLines = append(shippingLines, map[string]any{
				"__typename": "ShippingLine", "id": gqlID("ShippingLine", sl.Id), "title": sl.Title, "code": nullable(sl.Code),
				"originalPriceSet": money(sl.Price), "discountedPriceSet": money(paid),
			})
		}
		return shippingLines
	}
	out["shippingLines"] = later(func() any { return shippingLines() })
	if o.Customer != nil {
		out["customer"] = gqlCustomer(o.Customer)
	}
	out["lineItems"] = later(func() any {
		var lines connection
		for _, li := range o.LineItems {
			lines = append(lines, map[string]any{
				"__typename": "LineItem", "id": gqlID("LineItem", li.Id), "title": li.Title,
				"variantTitle": nullable(li.VariantTitle), "sku": nullable(li.SKU), "quantity": li.Quantity,
				"originalUnitPriceSet": money(li.Price),
			})
		}
		return lines
	})
	out["fulfillments"] = later(func() any {
		fulfillments := []map[string]any{}
		for _, f := range o.Fulfillments {
			fulfillments = append(fulfillments, s.gqlFulfillmentLocked(f))
		}
		return fulfillments
	})
	out["transactions"] = later(func() any {
		txs := []map[string]any{}
		for _, t := range s.transactions[o.Id] {
			txs = append(txs, gqlTransaction(t, cur, pres))
		}
		return txs
	})
	out["refunds"] = later(func() any {
		refunds := []map[string]any{}
		for _, r := range o.Refunds {
			var rlines, rship, rtxs connection
			for _, rl := range r.RefundLineItems {
				rlines = append(rlines, map[string]any{
					"__typename": "RefundLineItem", "id": gqlID("RefundLineItem", rl.Id), "quantity": rl.Quantity,
					"restockType": "NO_RESTOCK", // go-shopify's RefundLineItem keeps none
					"lineItem":    map[string]any{"__typename": "LineItem", "id": gqlID("LineItem", rl.LineItemId)},
				})
			}
			for _, a := range r.OrderAdjustments {
				if a.Kind != "shipping_refund" || a.Amount == nil {
					continue
				}
				amt := a.Amount.Neg()
				line := map[string]any{
					"__typename": "RefundShippingLine", "id": gqlID("RefundShippingLine", a.Id),
					"subtotalAmountSet": money(&amt), "taxAmountSet": money(a.TaxAmount),
				}
				if lines := shippingLines(); len(lines) > 0 {
					// The adjustment names no line: the order's first.
					line["shippingLine"] = lines[0]
				}
				rship = append(rship, line)
			}
			for _, t := range r.Transactions {
				rtxs = append(rtxs, gqlTransaction(t, cur, pres))
			}
			refunds = append(refunds, map[string]any{
				"__typename": "Refund", "id": gqlID("Refund", r.Id), "createdAt": gqlTime(r.CreatedAt), "note": nullable(r.Note),
				"refundLineItems": rlines, "refundShippingLines": rship, "transactions": rtxs,
			})
		}
		return refunds
	})
	out["totalRefundedShippingSet"] = later(func() any {
		refunded := decimal.Zero
		for _, r := range o.Refunds {
			for _, a := range r.OrderAdjustments {
				if a.Kind == "shipping_refund" && a.Amount != nil {
					refunded = refunded.Add(a.Amount.Neg())
				}
			}
		}
		return money(&refunded)
	})
	return out
}

func (s *Sandbox) gqlFulfillmentLocked(f goshopify.Fulfillment) map[string]any {
	display := "FULFILLED"
	switch {
	case f.Status == "cancelled":
		display = "CANCELED"
	case carrierStatuses[f.ShipmentStatus]:
		display = strings.ToUpper(f.ShipmentStatus)
	}
	numbers, urls := f.TrackingNumbers, f.TrackingUrls
	if len(numbers) == 0 && f.TrackingNumber != "" {
		numbers = []string{f.TrackingNumber}
	}
	if len(urls) == 0 && f.TrackingUrl != "" {
		urls = []string{f.TrackingUrl}
	}
	tracking := []map[string]any{}
	for i, n := range numbers {
		t := map[string]any{"__typename": "FulfillmentTrackingInfo", "company": nullable(f.TrackingCompany), "number": n, "url": nil}
		if i < len(urls) {
			t["url"] = urls[i]
		}
		tracking = append(tracking, t)
	}
	if len(numbers) == 0 && f.TrackingCompany != "" {
		tracking = append(tracking, map[string]any{"__typename": "FulfillmentTrackingInfo", "company": f.TrackingCompany, "number": nil, "url": nil})
	}
	var items connection
	for _, li := range f.LineItems {
		items = append(items, map[string]any{
			"__typename": "FulfillmentLineItem", "id": gqlID("FulfillmentLineItem", f.Id*1000+li.Id%1000), "quantity": li.Quantity,
			"lineItem": map[string]any{"__typename": "LineItem", "id": gqlID("LineItem", li.Id)},
		})
	}
	evs := slices.Clone(s.events[f.Id])
	slices.SortStableFunc(evs, func(a, b goshopify.FulfillmentEvent) int {
		ta, _ := time.Parse(time.RFC3339, a.HappenedAt)
		tb, _ := time.Parse(time.RFC3339, b.HappenedAt)
		return cmp.Or(ta.Compare(tb), cmp.Compare(a.Id, b.Id))
	})
	var events connection
	var eta any
	for _, e := range evs {
		happened := gqlTimeString(e.HappenedAt)
		if happened == nil {
			happened = gqlTimeString(e.CreatedAt)
		}
		events = append(events, map[string]any{
			"__typename": "FulfillmentEvent", "id": gqlID("FulfillmentEvent", e.Id), "status": strings.ToUpper(e.Status),
			"happenedAt": happened, "createdAt": cmp.Or(gqlTimeString(e.CreatedAt), happened),
			"estimatedDeliveryAt": gqlTimeString(e.EstimatedDeliveryAt), "message": nullable(e.Message),
		})
		if v := gqlTimeString(e.EstimatedDeliveryAt); v != nil {
			eta = v
		}
	}
	out := map[string]any{
		"__typename": "Fulfillment", "id": gqlID("Fulfillment", f.Id), "legacyResourceId": strconv.FormatUint(f.Id, 10),
		"status": strings.ToUpper(f.Status), "displayStatus": display,
		"createdAt": gqlTime(f.CreatedAt), "updatedAt": gqlTime(f.UpdatedAt), "deliveredAt": nil, "estimatedDeliveryAt": eta,
		"location": nil, "trackingInfo": tracking, "fulfillmentLineItems": items, "events": events,
	}
	if f.LocationId != 0 {
		out["location"] = map[string]any{"__typename": "Location", "id": gqlID("Location", f.LocationId)}
	}
	return out
}

func gqlTransaction(t goshopify.Transaction, cur, pres string) map[string]any {
	out := map[string]any{
		"__typename": "OrderTransaction", "id": gqlID("OrderTransaction", t.Id),
		"kind": strings.ToUpper(t.Kind), "status": strings.ToUpper(t.Status), "gateway": nullable(t.Gateway),
		"createdAt": gqlTime(t.CreatedAt), "amountSet": moneyBag(t.Amount, cur, pres), "parentTransaction": nil,
	}
	if t.ParentId != nil {
		out["parentTransaction"] = map[string]any{"__typename": "OrderTransaction", "id": gqlID("OrderTransaction", uint64(*t.ParentId))}
	}
	return out
}

// serveRead runs a validated query: counted under its operation (readOp),
// subject to the faults injected for it, refused past Shopify's cost limit.
func (s *Sandbox) serveRead(w http.ResponseWriter, r *http.Request, p *parsedRequest) {
	op := readOp(p.rootFields())
	if op == "" {
		s.noteUnserved()
		s.writeGraphQL(w, nil, []gqlError{{Message: fmt.Sprintf("sandbox: query %v is not served", p.rootFields())}})
		return
	}
	s.mu.Lock()
	s.calls[op]++
	fault := s.takeFault(op)
	if fault == nil {
		fault = s.chaosFaultLocked(op)
	}
	if fault != nil {
		s.faultLog = append(s.faultLog, FaultRecord{Op: op, Fault: *fault})
	}
	s.mu.Unlock()
	cost := p.cost()
	if fault != nil && fault.Status == http.StatusTooManyRequests {
		writeJSON(w, http.StatusOK, map[string]any{
			"errors":     []gqlError{{Message: "Throttled", Extensions: map[string]any{"code": "THROTTLED"}}},
			"extensions": costExtension(cost, 0, 0),
		})
		return
	}
	if fault != nil && fault.TopLevel != "" {
		s.writeCosted(w, nil, []gqlError{{Message: "Internal error. Looks like something went wrong on our end.", Extensions: map[string]any{"code": fault.TopLevel}}}, cost)
		return
	}
	if fault != nil && !s.applyFault(w, r, fault) {
		return
	}
	if cost > maxQueryCost {
		s.writeCosted(w, nil, []gqlError{{
			Message:    fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).", cost, maxQueryCost),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": maxQueryCost},
		}}, cost)
		return
	}
	s.mu.Lock()
	root := s.readRootLocked()
	if p.op.Operation == ast.Mutation {
		root = s.mutationRootLocked()
	}
	data, err := p.execute(root)
	s.mu.Unlock()
	if err != nil {
		s.writeCosted(w, nil, []gqlError{{Message: err.Error(), Extensions: map[string]any{"code": "BAD_REQUEST"}}}, cost)
		return
	}
	s.writeCosted(w, data, nil, cost)
}

func costExtension(requested, actual int, available float64) map[string]any {
	return map[string]any{"cost": map[string]any{
		"requestedQueryCost": requested,
		"actualQueryCost":    actual,
		"throttleStatus":     map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0},
	}}
}

// writeCosted answers with the query's cost; the sandbox does not drain
// a points bucket for reads (faults stand in for throttling).
func (s *Sandbox) writeCosted(w http.ResponseWriter, data any, errs []gqlError, cost int) {
	body := map[string]any{"data": data, "extensions": costExtension(cost, cost, 2000.0-float64(min(cost, 2000)))}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, http.StatusOK, body)
}
