package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/store"
)

// TestRotationRetriedKeepsTheReceiversSecret (review-11 finding 2): the new
// secret is shown once, in the rotation's answer. When that answer is lost
// and the CRM rotates again, the receiver still holds only the secret it
// had before both: it must keep verifying for the grace, not find every
// delivery signed by two secrets it never saw.
func TestRotationRetriedKeepsTheReceiversSecret(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "rotate-twice.myshopify.com")
		r := newReceiver(t, true)
		ep := endpoint(t, s, shopID, r)
		old := ep.Secrets[0]
		svc := events.NewService(s.Events(), devPolicy, nil)
		if _, err := svc.RotateSecret(ctx, shopID, ep.ID); err != nil { // the answer is lost
			t.Fatal(err)
		}
		rot, err := svc.RotateSecret(ctx, shopID, ep.ID) // the CRM's retry
		if err != nil {
			t.Fatal(err)
		}
		if got := rot.SigningSecrets(time.Now()); !contains(got, old) || !contains(got, rot.Secrets[0]) {
			t.Fatalf("after a retried rotation %d secrets sign, the receiver's own not among them: %t", len(got), contains(got, old))
		}
		r.trust(old)
		c := &clock{t: time.Now()}
		save(t, s, shopID, paidOrder(1))
		pumpAndRun(t, s, deliverer(s, c), c.Now(), ep.ID)
		if n := len(r.receipts()); n != 2 {
			t.Fatalf("%d receipts verified with the receiver's secret, want 2", n)
		}
		if got := rot.SigningSecrets(rot.SecretsRetireAt.Add(time.Second)); len(got) != 1 || got[0] != rot.Secrets[0] {
			t.Errorf("after the grace %d secrets sign, want only the newest", len(got))
		}
		// Rotating on and on never makes a header of unbounded signatures.
		for range 10 {
			if rot, err = svc.RotateSecret(ctx, shopID, ep.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(rot.Secrets); n > events.MaxSigningSecrets {
			t.Errorf("%d secrets after 12 rotations, want at most %d", n, events.MaxSigningSecrets)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
