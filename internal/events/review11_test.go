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

// TestEnableAnEnabledEndpointChangesNothing (review-11 finding 3): enabling
// an endpoint that is enabled is documented to change nothing; it restarted
// every undelivered delivery's schedule (attempts, first failure, next
// attempt now), so a CRM calling enable while its receiver is down had the
// failing deliveries retried at once and never reached the 3 days after
// which the endpoint is disabled.
func TestEnableAnEnabledEndpointChangesNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, _ string, s *store.Store) {
		ctx := context.Background()
		shopID := newShop(t, s, "enable-enabled.myshopify.com")
		r := newReceiver(t, false) // the fake clock runs ahead
		r.status.Store(503)
		ep := endpoint(t, s, shopID, r)
		c := &clock{t: time.Now()}
		save(t, s, shopID, paidOrder(1))
		if n := pumpAndRun(t, s, deliverer(s, c), c.Now(), ep.ID); n != 1 {
			t.Fatalf("%d attempts, want 1 (the order's first event; its second waits)", n)
		}
		before, ok, err := s.Events().NextDue(ctx, ep.ID)
		if err != nil || !ok || !before.After(c.Now()) {
			t.Fatalf("next due %v %t %v: want a retry later", before, ok, err)
		}
		svc := events.NewService(s.Events(), devPolicy, nil)
		got, err := svc.EnableEndpoint(ctx, shopID, ep.ID)
		if err != nil || got.State != events.EndpointEnabled {
			t.Fatalf("enable: %+v %v", got, err)
		}
		after, _, err := s.Events().NextDue(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !after.Equal(before) {
			t.Errorf("enabling an enabled endpoint moved its retry from %v to %v", before, after)
		}
		// A disabled endpoint still restarts from now.
		r.status.Store(410)
		c.Add(time.Hour)
		pumpAndRun(t, s, deliverer(s, c), c.Now(), ep.ID)
		if st := getEndpoint(t, s, ep.ID).State; st != events.EndpointDisabled {
			t.Fatalf("after a 410: %s", st)
		}
		if _, err := svc.EnableEndpoint(ctx, shopID, ep.ID); err != nil {
			t.Fatal(err)
		}
		r.status.Store(200)
		if n := pumpAndRun(t, s, deliverer(s, c), c.Now(), ep.ID); n != 2 || len(r.receipts()) != 2 {
			t.Errorf("re-enabled: %d attempts, %d receipts; want both events", n, len(r.receipts()))
		}
	})
}
