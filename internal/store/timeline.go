package store

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// timelineRankSQL is orders.TimelineRank as a CASE over the type column;
// the types are the domain's constants, never a caller's input.
func timelineRankSQL() string {
	types := slices.Sorted(maps.Keys(orders.TimelineRanks))
	var b strings.Builder
	b.WriteString("(CASE type")
	for _, t := range types {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", t, orders.TimelineRanks[t])
	}
	fmt.Fprintf(&b, " ELSE %d END)", len(orders.TimelineRanks))
	return b.String()
}
