package shopifysandbox

import (
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

// The second shop's customers: Shopify's ids are global, so a second shop
// never shares a customer, order, line item or refund id with the first.
var (
	Dana = goshopify.Customer{Id: 307119551, Email: "dana@example.org", Phone: "+14155550123", FirstName: "Dana", LastName: "Reyes"}
	Erik = goshopify.Customer{Id: 307119552, Email: "erik@example.se", Phone: "+46812345678", FirstName: "Erik", LastName: "Lund"}
)

// The second shop's orders (SeedSecondShop).
const (
	SecondPaidUnfulfilled   uint64 = 550789469 // #1001 paid, nothing shipped: cancellable and refundable
	SecondInTransit         uint64 = 550789470 // #1002 shipped, in transit
	SecondPending           uint64 = 550789471 // #1003 payment pending
	SecondPartiallyRefunded uint64 = 550789472 // #1004
	SecondDelivered         uint64 = 550789473 // #1005
)

// SeedSecondShop fills the sandbox with a second, smaller catalogue whose
// ids differ from Seed's, for a second shop behind the same front.
func (s *Sandbox) SeedSecondShop(now time.Time) {
	now = now.UTC().Truncate(time.Second)
	specs := []seedOrder{
		{id: SecondPaidUnfulfilled, customer: Dana, currency: "USD", lines: []seedLine{{"Trail Socks", "L", "SOCK-L", 2, "12.00"}}, shipping: "4.00", financial: "paid"},
		{id: SecondInTransit, customer: Dana, currency: "USD", lines: []seedLine{{"Rain Jacket", "M", "JKT-M", 1, "140.00"}}, shipping: "8.00", financial: "paid", shipped: 1, shipment: "in_transit", eta: &InTransitETA},
		{id: SecondPending, customer: Erik, currency: "USD", lines: []seedLine{{"Water Filter", "", "FLT-1", 1, "35.00"}}, financial: "pending"},
		{id: SecondPartiallyRefunded, customer: Erik, currency: "USD", lines: []seedLine{{"Camp Mug", "green", "CMUG-G", 3, "15.00"}}, financial: "partially_refunded", refunded: "15.00"},
		{id: SecondDelivered, customer: Dana, currency: "USD", lines: []seedLine{{"Headlamp", "", "LAMP-H", 1, "49.00"}}, financial: "paid", shipped: 1, shipment: "delivered"},
	}
	for i, sp := range specs {
		created := now.Add(-time.Duration(len(specs)-i) * 24 * time.Hour)
		o, txs, events := s.build(i, sp, created)
		s.AddOrder(o, txs, events)
	}
	s.mu.Lock()
	s.nextID = max(s.nextID, 950000000) // ids it creates (refunds) differ from the first shop's
	s.mu.Unlock()
}
