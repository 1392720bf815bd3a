package shopify

import (
	"context"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// TestBackgroundLeavesRoomForAgents: with the shop's points 70% used,
// background work waits for them to restore below its share while an
// agent's call goes out at once.
func TestBackgroundLeavesRoomForAgents(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(2000, 100)
	b.now = func() time.Time { return now }
	b.observe(1400, 2000)
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.take(context.Background(), "graphql", b, 10); err != nil {
		t.Fatalf("agent's call: %v", err)
	}
	ctx, cancel := context.WithTimeout(orders.Background(context.Background()), 50*time.Millisecond)
	defer cancel()
	if err := m.take(ctx, "graphql", b, 10); err == nil {
		t.Fatal("background work took points past its share")
	}
	now = now.Add(3 * time.Second) // 300 points restored: 1110 used, under 60% of 2000
	if err := m.take(orders.Background(context.Background()), "graphql", b, 10); err != nil {
		t.Fatalf("background work after the restore: %v", err)
	}
}
