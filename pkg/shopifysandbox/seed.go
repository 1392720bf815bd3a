package shopifysandbox

import (
	"fmt"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/shopspring/decimal"
)

// Seeded customers.
var (
	Bob    = goshopify.Customer{Id: 207119551, Email: "bob@example.com", Phone: "+13125551212", FirstName: "Bob", LastName: "Norman"}
	Alice  = goshopify.Customer{Id: 207119552, Email: "alice@example.com", Phone: "+442071234567", FirstName: "Alice", LastName: "Liddell"}
	Claire = goshopify.Customer{Id: 207119553, Email: "claire@example.fr", Phone: "+33142685300", FirstName: "Claire", LastName: "Dubois"}
	Kenji  = goshopify.Customer{Id: 207119554, Email: "kenji@example.jp", Phone: "+81312345678", FirstName: "Kenji", LastName: "Sato"}
)

// Seeded orders, one per state of DESIGN.md (ids are stable across runs).
const (
	OrderInTransit         uint64 = 450789469 // #1001 paid, partially fulfilled, in transit, arriving 3 December 2026
	OrderPaidUnfulfilled   uint64 = 450789470 // #1002
	OrderPending           uint64 = 450789471 // #1003 payment pending
	OrderAuthorized        uint64 = 450789472 // #1004
	OrderPartiallyPaid     uint64 = 450789473 // #1005
	OrderPartiallyRefunded uint64 = 450789474 // #1006
	OrderRefunded          uint64 = 450789475 // #1007
	OrderCancelledVoided   uint64 = 450789476 // #1008
	OrderArchived          uint64 = 450789477 // #1009 closed, delivered
	OrderOutForDelivery    uint64 = 450789478 // #1010
	OrderReadyForPickup    uint64 = 450789479 // #1011
	OrderAttemptedDelivery uint64 = 450789480 // #1012
	OrderDelivered         uint64 = 450789481 // #1013
	OrderEUR               uint64 = 450789482 // #1014 paid, EUR
	OrderJPY               uint64 = 450789483 // #1015 paid, JPY (no decimals)
)

// InTransitETA is the estimated delivery of the in-transit order.
var InTransitETA = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)

type seedLine struct {
	title, variant, sku string
	qty                 int
	price               string
}

type seedOrder struct {
	id        uint64
	customer  goshopify.Customer
	currency  string
	lines     []seedLine
	shipping  string
	financial string // the payment state to build transactions for
	captured  string // partially_paid: the amount captured
	refunded  string // partially_refunded / refunded: the amount refunded
	shipped   int    // how many lines (from the first) are fulfilled
	shipment  string // shipment_status of the fulfilment
	tax       string // tax on the first line: charged on top, or part of the price when taxIncluded
	vat       bool   // taxIncluded: prices include tax (VAT), as in most of Europe and Japan
	discount  string // an order discount code's amount, taken off the first line
	code      string // the discount code
	freeShip  bool   // a shipping discount makes the shipping line free
	eta       *time.Time
	cancelled bool
	closed    bool
}

// Seed fills the sandbox with the catalogue, timed relative to now.
func (s *Sandbox) Seed(now time.Time) {
	now = now.UTC().Truncate(time.Second)
	mug := seedLine{"Orderdesk Mug", "white", "MUG-WHT", 1, "19.90"}
	tee := seedLine{"Logo T-Shirt", "M", "TEE-M", 2, "20.00"}
	specs := []seedOrder{
		{id: OrderInTransit, customer: Bob, currency: "USD", lines: []seedLine{{"IPod Nano - 8gb", "green", "IPOD2008GREEN", 1, "199.00"}, {"IPod Case", "black", "CASE-BLK", 1, "19.00"}}, shipping: "10.00", financial: "paid", shipped: 1, shipment: "in_transit", eta: &InTransitETA},
		{id: OrderPaidUnfulfilled, customer: Bob, currency: "USD", lines: []seedLine{mug, tee}, shipping: "5.00", financial: "paid"},
		{id: OrderPending, customer: Bob, currency: "USD", lines: []seedLine{{"Gift Card", "", "GIFT-25", 1, "25.00"}}, financial: "pending"},
		{id: OrderAuthorized, customer: Alice, currency: "USD", lines: []seedLine{{"Desk Lamp", "brass", "LAMP-BR", 1, "120.00"}}, financial: "authorized"},
		{id: OrderPartiallyPaid, customer: Alice, currency: "USD", lines: []seedLine{{"Office Chair", "grey", "CHAIR-GR", 1, "120.00"}}, financial: "partially_paid", captured: "50.00"},
		{id: OrderPartiallyRefunded, customer: Bob, currency: "USD", lines: []seedLine{{"Notebook Set", "A5", "NB-A5", 4, "20.00"}}, financial: "partially_refunded", refunded: "20.00"},
		{id: OrderRefunded, customer: Alice, currency: "USD", lines: []seedLine{{"Water Bottle", "blue", "BTL-BLU", 1, "45.00"}}, financial: "refunded", refunded: "45.00"},
		{id: OrderCancelledVoided, customer: Bob, currency: "USD", lines: []seedLine{{"Sticker Pack", "", "STK-10", 3, "10.00"}}, financial: "voided", cancelled: true, closed: true},
		{id: OrderArchived, customer: Alice, currency: "USD", lines: []seedLine{{"Wall Clock", "oak", "CLK-OAK", 1, "75.00"}}, shipping: "8.00", discount: "7.50", code: "CLOCK10", tax: "5.40", financial: "paid", shipped: 1, shipment: "delivered", closed: true},
		{id: OrderOutForDelivery, customer: Bob, currency: "USD", lines: []seedLine{{"Headphones", "black", "HP-BLK", 1, "42.00"}}, tax: "4.20", financial: "paid", shipped: 1, shipment: "out_for_delivery"},
		{id: OrderReadyForPickup, customer: Alice, currency: "USD", lines: []seedLine{{"Tote Bag", "natural", "TOTE-NAT", 1, "18.50"}}, shipping: "4.90", code: "FREESHIP", freeShip: true, financial: "paid", shipped: 1, shipment: "ready_for_pickup"},
		{id: OrderAttemptedDelivery, customer: Bob, currency: "USD", lines: []seedLine{{"Bluetooth Speaker", "red", "SPK-RED", 1, "64.00"}}, financial: "paid", shipped: 1, shipment: "attempted_delivery"},
		{id: OrderDelivered, customer: Bob, currency: "USD", lines: []seedLine{{"Coffee Grinder", "steel", "GRND-ST", 1, "99.95"}}, financial: "paid", shipped: 1, shipment: "delivered"},
		{id: OrderEUR, customer: Claire, currency: "EUR", lines: []seedLine{{"Carafe", "glass", "CRF-GL", 1, "89.00"}}, tax: "14.83", vat: true, financial: "paid"},
		{id: OrderJPY, customer: Kenji, currency: "JPY", lines: []seedLine{{"Matcha Tin", "", "MTC-40", 1, "3500"}}, tax: "318", vat: true, financial: "paid"},
	}
	for i, sp := range specs {
		created := now.Add(-time.Duration(len(specs)-i) * 24 * time.Hour)
		o, txs, events := s.build(i, sp, created)
		s.AddOrder(o, txs, events)
	}
}

// AddGenerated adds n simple paid orders (ids from 600000000), for
// backfill and paging tests.
func (s *Sandbox) AddGenerated(n int, now time.Time) {
	for i := range n {
		sp := seedOrder{id: 600000000 + uint64(i), customer: Bob, currency: "USD", lines: []seedLine{{"Mug", "", "MUG", 1, "10.00"}}, financial: "paid"}
		o, txs, events := s.build(1000+i, sp, now.Add(-time.Duration(n-i)*time.Minute))
		s.AddOrder(o, txs, events)
	}
}

func money(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

func (s *Sandbox) build(i int, sp seedOrder, created time.Time) (goshopify.Order, []goshopify.Transaction, map[uint64][]goshopify.FulfillmentEvent) {
	updated := created.Add(2 * time.Hour)
	cust := sp.customer
	o := goshopify.Order{
		Id: sp.id, Name: fmt.Sprintf("#%d", 1001+i), OrderNumber: 1001 + i, Number: 1 + i,
		Email: cust.Email, Phone: cust.Phone, Customer: &cust, Currency: sp.currency,
		CreatedAt: &created, UpdatedAt: &updated, ProcessedAt: &created,
		FinancialStatus: goshopify.OrderFinancialStatus(sp.financial),
	}
	// Shopify's sums: subtotal_price is the lines after discounts, the
	// total adds the shipping paid and (unless included) the tax;
	// total_discounts counts the shipping discount too.
	lines := decimal.Zero
	for j, l := range sp.lines {
		o.LineItems = append(o.LineItems, goshopify.LineItem{
			Id: sp.id*10 + uint64(j), Title: l.title, VariantTitle: l.variant, SKU: l.sku, Quantity: l.qty,
			Price: money(l.price), RequiresShipping: true, FulfillableQuantity: l.qty, TotalDiscount: money("0"),
		})
		lines = lines.Add(decimal.RequireFromString(l.price).Mul(decimal.NewFromInt(int64(l.qty))))
	}
	discounts, subtotal := decimal.Zero, lines
	if sp.discount != "" {
		d := decimal.RequireFromString(sp.discount)
		o.LineItems[0].DiscountAllocations = []goshopify.DiscountAllocations{{Amount: money(sp.discount), DiscountApplicationIndex: 0}}
		discounts, subtotal = discounts.Add(d), subtotal.Sub(d)
	}
	if sp.code != "" {
		kind, amount := "fixed_amount", sp.discount
		if sp.freeShip {
			kind, amount = "shipping", sp.shipping
		}
		o.DiscountCodes = []goshopify.DiscountCode{{Code: sp.code, Amount: money(amount), Type: kind}}
	}
	tax := decimal.Zero
	o.TaxesIncluded = sp.vat
	if sp.tax != "" {
		tax = decimal.RequireFromString(sp.tax)
		o.LineItems[0].TaxLines = []goshopify.TaxLine{{Title: taxTitle(sp), Price: money(sp.tax), Rate: taxRate(sp, subtotal, tax)}}
		o.TaxLines = o.LineItems[0].TaxLines
	}
	shipping := decimal.Zero
	if sp.shipping != "" {
		price := decimal.RequireFromString(sp.shipping)
		paid := price
		if sp.freeShip {
			paid = decimal.Zero
			discounts = discounts.Add(price)
		}
		o.ShippingLines = []goshopify.ShippingLines{{Id: sp.id*10 + 9, Title: "Standard", Code: "Standard", Price: money(sp.shipping), DiscountedPrice: &paid}}
		o.TotalShippingPriceSet = &goshopify.AmountSet{ShopMoney: goshopify.AmountSetEntry{Amount: &price, CurrencyCode: sp.currency}}
		shipping = paid
	}
	total := subtotal.Add(shipping)
	if !sp.vat {
		total = total.Add(tax)
	}
	o.TotalLineItemsPrice, o.SubtotalPrice, o.TotalDiscounts, o.TotalTax, o.TotalPrice = &lines, &subtotal, &discounts, &tax, &total

	gateway := "shopify_payments"
	txID := sp.id * 100
	tx := func(kind, status, amount string, parent *int64) goshopify.Transaction {
		txID++
		at := created.Add(time.Minute)
		return goshopify.Transaction{Id: txID, OrderId: sp.id, Kind: kind, Status: status, Gateway: gateway, Amount: money(amount), Currency: sp.currency, ParentId: parent, CreatedAt: &at}
	}
	var txs []goshopify.Transaction
	full := total.String()
	switch sp.financial {
	case "paid", "partially_refunded", "refunded":
		txs = append(txs, tx("sale", "success", full, nil))
	case "pending":
		txs = append(txs, tx("sale", "pending", full, nil))
	case "authorized":
		txs = append(txs, tx("authorization", "success", full, nil))
	case "partially_paid":
		txs = append(txs, tx("sale", "success", sp.captured, nil))
	case "voided":
		auth := tx("authorization", "success", full, nil)
		pid := int64(auth.Id)
		txs = append(txs, auth, tx("void", "success", full, &pid))
	}
	if sp.refunded != "" {
		pid := int64(txs[0].Id)
		rtx := tx("refund", "success", sp.refunded, &pid)
		txs = append(txs, rtx)
		at := updated
		o.Refunds = []goshopify.Refund{{Id: sp.id + 7000, OrderId: sp.id, CreatedAt: &at, Note: "Damaged item", Transactions: []goshopify.Transaction{rtx}}}
	}
	if sp.cancelled {
		o.CancelledAt, o.CancelReason = &updated, "customer"
	}
	if sp.closed {
		o.ClosedAt = &updated
	}

	events := map[uint64][]goshopify.FulfillmentEvent{}
	if sp.shipped > 0 {
		fid := sp.id + 5000
		shippedAt := created.Add(24 * time.Hour)
		f := goshopify.Fulfillment{
			Id: fid, OrderId: sp.id, LocationId: 655441491, Status: "success", CreatedAt: &shippedAt, UpdatedAt: &shippedAt,
			ShipmentStatus: sp.shipment, TrackingCompany: "UPS",
			TrackingNumbers: []string{fmt.Sprintf("1Z%07d", sp.id%10000000)},
			TrackingUrls:    []string{fmt.Sprintf("https://www.ups.com/track?tracknum=1Z%07d", sp.id%10000000)},
		}
		for _, li := range o.LineItems[:sp.shipped] {
			f.LineItems = append(f.LineItems, goshopify.LineItem{Id: li.Id, Quantity: li.Quantity, Title: li.Title})
		}
		o.Fulfillments = []goshopify.Fulfillment{f}
		if sp.shipped >= len(o.LineItems) {
			o.FulfillmentStatus = "fulfilled"
		} else {
			o.FulfillmentStatus = "partial"
		}
		evs := carrierEvents(sp, fid, shippedAt)
		events[fid] = evs
		// Shopify stamps the fulfilment when its shipment status changes.
		if last, err := time.Parse(time.RFC3339, evs[len(evs)-1].HappenedAt); err == nil {
			o.Fulfillments[0].UpdatedAt = &last
		}
	}
	return o, txs, events
}

// carrierEvents is a parcel's history up to its seeded shipment status, as
// a carrier reports it: a label confirmed, in transit (with the estimated
// delivery), out for delivery, then delivered or a delivery attempted. A
// pickup order is only made ready.
func carrierEvents(sp seedOrder, fid uint64, shippedAt time.Time) []goshopify.FulfillmentEvent {
	steps := []string{"confirmed", "in_transit", "out_for_delivery", sp.shipment}
	switch sp.shipment {
	case "ready_for_pickup":
		steps = []string{"ready_for_pickup"}
	case "in_transit":
		steps = steps[:2]
	case "out_for_delivery":
		steps = steps[:3]
	}
	out := make([]goshopify.FulfillmentEvent, 0, len(steps))
	for i, status := range steps {
		at := shippedAt.Add(time.Duration(i) * 6 * time.Hour).Format(time.RFC3339)
		ev := goshopify.FulfillmentEvent{Id: fid + 1 + uint64(i), FulfillmentId: fid, OrderId: sp.id, Status: status, HappenedAt: at, CreatedAt: at}
		if status == "in_transit" && sp.eta != nil {
			ev.EstimatedDeliveryAt = sp.eta.Format(time.RFC3339)
		}
		out = append(out, ev)
	}
	return out
}

func taxTitle(sp seedOrder) string {
	if sp.vat {
		return "VAT"
	}
	return "Sales tax"
}

// taxRate is the rate the seeded tax amounts to, on top of the subtotal
// or included in it.
func taxRate(sp seedOrder, subtotal, tax decimal.Decimal) *decimal.Decimal {
	base := subtotal
	if sp.vat {
		base = subtotal.Sub(tax)
	}
	r := tax.Div(base).Round(2)
	return &r
}
