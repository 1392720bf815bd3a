package orders

import "time"

// ShipmentStatusOf maps a carrier event's Shopify status to orderdesk's
// shipment status ("" when orderdesk has none for it), for the outbound
// events that report each status a shipment reaches.
func ShipmentStatusOf(shopifyStatus string) ShipmentStatus { return shipmentStatus(shopifyStatus) }

// PaidAt is when the order's money was last captured, or when it was
// processed: the time its payment event reports.
func PaidAt(o Order) time.Time { return paidAt(o) }
