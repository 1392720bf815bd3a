package store

import (
	"slices"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// One save can hold the same order twice: a customer's pages shift under
// a paged read, a webhook's list repeats an order. On Postgres one
// statement writes the whole save, and ON CONFLICT DO UPDATE refuses to
// touch a row twice, so each order is written once, as its newest copy:
// by Shopify's updated_at, and of equal ones the later in the list. That
// is the copy the one-row-after-another upsert (SQLite, and main's
// 200-row statements) ended with, the updated_at guard keeping a newer
// copy against an older one.
//
// The events of all the copies are kept, the newest copy's first: an
// event is keyed by its fact, so writeEvents writes each fact once (with
// the newest copy's body), and a fact only an older copy tells is still
// one that happened, as when the copies were saved one after the other.

// copiesOf groups list by order id, in the order of each id's first copy,
// each group newest first (see above). Without a repeated id it is one
// copy an order, in list's order.
func copiesOf(list []orders.Order) [][]orders.Order {
	at := make(map[int64]int, len(list))
	groups := make([][]orders.Order, 0, len(list))
	for _, o := range list {
		if i, ok := at[o.ID]; ok {
			groups[i] = append(groups[i], o)
			continue
		}
		at[o.ID] = len(groups)
		groups = append(groups, []orders.Order{o})
	}
	for _, g := range groups {
		if len(g) > 1 {
			slices.Reverse(g) // of equal updated_at, the later first (a stable sort keeps them so)
			slices.SortStableFunc(g, func(a, b orders.Order) int { return b.Source.UpdatedAt.Compare(a.Source.UpdatedAt) })
		}
	}
	return groups
}

// newestCopies is list with one copy of each order, its newest.
func newestCopies(list []orders.Order) []orders.Order {
	groups := copiesOf(list)
	if len(groups) == len(list) {
		return list
	}
	out := make([]orders.Order, len(groups))
	for i, g := range groups {
		out[i] = g[0]
	}
	return out
}

// lastOfEachID is timeline with one row of each id, the last in the list
// (the row the one-after-another upsert ended with), at its place.
func lastOfEachID(timeline []orders.TimelineEvent) []orders.TimelineEvent {
	last := make(map[string]int, len(timeline))
	for i, e := range timeline {
		last[e.ID] = i
	}
	if len(last) == len(timeline) {
		return timeline
	}
	out := make([]orders.TimelineEvent, 0, len(last))
	for i, e := range timeline {
		if last[e.ID] == i {
			out = append(out, e)
		}
	}
	return out
}
