package webhooks

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// TestShopCache: a shop is looked up once per TTL; an unknown domain is
// looked up every time; a dropped shop and an expired entry are looked up
// again; a full cache starts over rather than grow.
func TestShopCache(t *testing.T) {
	t.Parallel()
	type step struct {
		domain  string
		advance time.Duration
		drop    int64 // drop this shop id before the lookup
		lookups int   // lookups so far, after this step
		wantErr bool
	}
	shops := map[string]tenant.Shop{"a.myshopify.com": {ID: 1, Domain: "a.myshopify.com"}, "b.myshopify.com": {ID: 2, Domain: "b.myshopify.com"}, "c.myshopify.com": {ID: 3, Domain: "c.myshopify.com"}}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"hit within the TTL", 10, []step{{domain: "a.myshopify.com", lookups: 1}, {domain: "a.myshopify.com", advance: 29 * time.Second, lookups: 1}}},
		{"expired", 10, []step{{domain: "a.myshopify.com", lookups: 1}, {domain: "a.myshopify.com", advance: 30 * time.Second, lookups: 2}, {domain: "a.myshopify.com", lookups: 2}}},
		{"unknown not remembered", 10, []step{{domain: "x.myshopify.com", lookups: 1, wantErr: true}, {domain: "x.myshopify.com", lookups: 2, wantErr: true}}},
		{"dropped", 10, []step{{domain: "a.myshopify.com", lookups: 1}, {domain: "b.myshopify.com", lookups: 2}, {domain: "a.myshopify.com", drop: 1, lookups: 3}, {domain: "b.myshopify.com", lookups: 3}}},
		{"bounded", 2, []step{{domain: "a.myshopify.com", lookups: 1}, {domain: "b.myshopify.com", lookups: 2}, {domain: "c.myshopify.com", lookups: 3}, {domain: "a.myshopify.com", lookups: 4}, {domain: "c.myshopify.com", lookups: 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			c := newShopCache(30*time.Second, tc.max)
			c.now = func() time.Time { return now }
			lookups := 0
			lookup := func(_ context.Context, d string) (tenant.Shop, error) {
				lookups++
				if s, ok := shops[d]; ok {
					return s, nil
				}
				return tenant.Shop{}, fmt.Errorf("shop %s: %w", d, tenant.ErrNotFound)
			}
			for i, st := range tc.steps {
				now = now.Add(st.advance)
				if st.drop != 0 {
					c.drop(st.drop)
				}
				got, err := c.get(context.Background(), st.domain, lookup)
				switch {
				case st.wantErr && !errors.Is(err, tenant.ErrNotFound):
					t.Fatalf("step %d: err = %v, want not found", i, err)
				case !st.wantErr && (err != nil || got != shops[st.domain]):
					t.Fatalf("step %d: %+v, %v", i, got, err)
				}
				if lookups != st.lookups {
					t.Fatalf("step %d (%s): %d lookups, want %d", i, st.domain, lookups, st.lookups)
				}
			}
		})
	}
}
