package tenant_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// TestReviewSprayedKeysDoNotLockOutRealKeys (review of issue 12): someone
// without a key sprays random ones at a steady ~140 a second; the CRM's real
// key, whose cache entry expires every TTL, must keep working (review-12
// finding 3).
func TestReviewSprayedKeysDoNotLockOutRealKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newKeyStore()
	clk := &clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	svc := tenant.NewService(st, tenant.WithKeyCache(5*time.Second, 100), tenant.WithClock(clk.now))
	const real = "key-0123456789abcdef"
	if _, err := svc.Bootstrap(ctx, "a.myshopify.com", real); err != nil {
		t.Fatal(err)
	}
	// The CRM has been using its key on this replica (a replica that never
	// resolved it is still refused while the spray lasts: see the review).
	if _, err := svc.Authenticate(ctx, real); err != nil {
		t.Fatal(err)
	}
	refused, n, limited := 0, 0, 0
	for sec := range 60 {
		for i := range 137 {
			if _, e := svc.Authenticate(ctx, fmt.Sprintf("sprayed-%d-%d", sec, i)); e != nil && e.Error() != "authenticate: unauthenticated" {
				limited++
			}
			clk.add(7 * time.Millisecond)
		}
		n++
		if _, err := svc.Authenticate(ctx, real); err != nil {
			refused++
		}
	}
	lookups, _ := st.counts()
	t.Logf("sprays limited %d, lookups %d", limited, lookups)
	if refused > 0 {
		t.Errorf("the real key was refused %d of %d times while random keys were sprayed", refused, n)
	}
}
