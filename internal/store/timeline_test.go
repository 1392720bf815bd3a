package store_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestTimelineOrderOfOneInstant: the store sorts events of one timestamp
// as the domain does (orders.CompareTimeline), whatever order they were
// written in, and paging through them one at a time neither repeats nor
// skips one.
func TestTimelineOrderOfOneInstant(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := shop(t, s, "a.myshopify.com")
		st := s.Orders()
		at := base.Add(90 * time.Minute)
		var events []orders.TimelineEvent
		for i, typ := range []string{orders.EventPlaced, orders.EventPaid, orders.EventActionRefund, orders.EventRefunded, orders.EventCancelled,
			orders.EventActionCancel, orders.EventFulfilled, orders.EventShipmentDelivered, orders.EventShipmentFailure, "custom.unknown"} {
			events = append(events, orders.TimelineEvent{ID: string(rune('z'-i)) + ":" + typ, CustomerID: 5, OrderID: 9, Type: typ, OccurredAt: at, Data: map[string]any{}})
		}
		events = append(events,
			orders.TimelineEvent{ID: "a:later", CustomerID: 5, Type: orders.EventPlaced, OccurredAt: at.Add(time.Second), Data: map[string]any{}},
			orders.TimelineEvent{ID: "z:earlier", CustomerID: 5, Type: orders.EventShipmentFailure, OccurredAt: at.Add(-time.Second), Data: map[string]any{}})
		want := slices.Clone(events)
		slices.SortFunc(want, orders.CompareTimeline)
		r := rand.New(rand.NewPCG(3, 4))
		r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		for _, e := range events { // one write each: rows in a shuffled insertion order
			if err := st.AddTimelineEvents(ctx, a.ID, []orders.TimelineEvent{e}); err != nil {
				t.Fatal(err)
			}
		}
		all, err := st.Timeline(ctx, a.ID, 5, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		var paged []orders.TimelineEvent
		var after *orders.TimelineCursor
		for range len(want) + 1 {
			page, err := st.Timeline(ctx, a.ID, 5, after, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page[0])
			after = &orders.TimelineCursor{At: page[0].OccurredAt, Rank: orders.TimelineRank(page[0].Type), ID: page[0].ID}
		}
		for name, got := range map[string][]orders.TimelineEvent{"query": all, "pages": paged} {
			if len(got) != len(want) {
				t.Fatalf("%s: %d events, want %d", name, len(got), len(want))
			}
			for i := range want {
				if got[i].ID != want[i].ID {
					t.Errorf("%s at %d: %s, want %s", name, i, got[i].ID, want[i].ID)
				}
			}
		}
	})
}
