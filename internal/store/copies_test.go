package store

import (
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
)

func TestCopiesOf(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	c := func(id int64, name string, updated time.Duration) orders.Order {
		return orders.Order{ID: id, Name: name, Source: orders.ShopifyOrder{ID: id, UpdatedAt: t0.Add(updated)}}
	}
	names := func(groups [][]orders.Order) [][]string {
		var out [][]string
		for _, g := range groups {
			var n []string
			for _, o := range g {
				n = append(n, o.Name)
			}
			out = append(out, n)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		list []orders.Order
		want [][]string
	}{
		{"no repeat", []orders.Order{c(2, "a", 0), c(1, "b", 0)}, [][]string{{"a"}, {"b"}}},
		{"newer later", []orders.Order{c(1, "old", 0), c(2, "x", 0), c(1, "new", time.Second)}, [][]string{{"new", "old"}, {"x"}}},
		{"newer first", []orders.Order{c(1, "new", time.Second), c(1, "old", 0)}, [][]string{{"new", "old"}}},
		{"tie: the later", []orders.Order{c(1, "first", 0), c(1, "second", 0), c(1, "third", 0)}, [][]string{{"third", "second", "first"}}},
		{"tie behind a newer", []orders.Order{c(1, "a", 0), c(1, "new", time.Second), c(1, "b", 0)}, [][]string{{"new", "b", "a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := names(copiesOf(tc.list))
			if len(got) != len(tc.want) {
				t.Fatalf("copiesOf = %v, want %v", got, tc.want)
			}
			for i := range got {
				if len(got[i]) != len(tc.want[i]) {
					t.Fatalf("copiesOf = %v, want %v", got, tc.want)
				}
				for j := range got[i] {
					if got[i][j] != tc.want[i][j] {
						t.Fatalf("copiesOf = %v, want %v", got, tc.want)
					}
				}
			}
		})
	}
}

func TestLastOfEachID(t *testing.T) {
	t.Parallel()
	tl := []orders.TimelineEvent{{ID: "a", Summary: "1"}, {ID: "b", Summary: "2"}, {ID: "a", Summary: "3"}}
	got := lastOfEachID(tl)
	if len(got) != 2 || got[0].Summary != "2" || got[1].Summary != "3" {
		t.Errorf("lastOfEachID = %+v", got)
	}
}
