package webhooks_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
	"github.com/orderdesk/orderdesk/pkg/webhooksig"
)

const (
	batchShop   = "batch.myshopify.com"
	batchSecret = "batch-secret"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// jobQueue records the apply jobs deliveries are handed to.
type jobQueue struct {
	mu   sync.Mutex
	jobs []webhooks.Job
}

func (q *jobQueue) EnqueueWebhook(_ context.Context, _ any, j webhooks.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return nil
}

func (q *jobQueue) KickApply() {}

func (q *jobQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// node is one process: the webhook service over a store, its batch loop
// not running (the test calls ApplyPending).
type node struct {
	t      *testing.T
	st     *store.Store
	shop   tenant.Shop
	sync   *orders.Syncer
	hooks  *webhooks.Service
	queue  *jobQueue
	sample goshopify.Order
}

func newNode(t *testing.T, st *store.Store) *node {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), batchShop, "batch-key-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	// No Shopify: a batch stores bodies, and hands what needs Shopify to
	// a job (the queue records it).
	syncer := orders.NewSyncer(orders.NewService(st.Orders(), nil, time.Hour, log), st.Orders(), time.Hour)
	hooks := webhooks.NewService([]byte(batchSecret), st.Tenants(), st, syncer, shopify.DecodeOrder, log)
	q := &jobQueue{}
	hooks.SetQueue(q)
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: batchShop})
	sb.Seed(t0)
	sample, ok := sb.Order(shopifysandbox.OrderPending)
	if !ok {
		t.Fatal("no sandbox order")
	}
	return &node{t: t, st: st, shop: shop, sync: syncer, hooks: hooks, queue: q, sample: sample}
}

// order is the sandbox order under another id, as of updatedAt.
func (n *node) order(id int64, updatedAt time.Time, note string) goshopify.Order {
	o := n.sample
	o.Id, o.Name, o.UpdatedAt, o.Email = uint64(id), "#B"+uuid.NewString()[:4], &updatedAt, note+"@example.com"
	return o
}

// seed stores orders as a backfill would.
func (n *node) seed(list ...goshopify.Order) {
	n.t.Helper()
	var srcs []orders.ShopifyOrder
	for _, o := range list {
		src, err := shopify.DecodeOrder(n.body(o))
		if err != nil {
			n.t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	if _, err := n.sync.ApplyShopifyOrders(context.Background(), n.shop, srcs, nil); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) body(o goshopify.Order) []byte {
	n.t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

// deliver sends a signed delivery and returns what Receive made of it.
func (n *node) deliver(topic, webhookID, eventID string, o goshopify.Order) webhooks.Outcome {
	n.t.Helper()
	body := n.body(o)
	out, err := n.hooks.Receive(context.Background(), webhooks.Headers{Topic: topic, ShopDomain: batchShop, WebhookID: webhookID,
		EventID: eventID, HMAC: webhooksig.Sign([]byte(batchSecret), body)}, body)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

func (n *node) apply() webhooks.Applied {
	n.t.Helper()
	res, err := n.hooks.ApplyPending(context.Background())
	if err != nil {
		n.t.Fatal(err)
	}
	return res
}

func (n *node) stored(id int64) orders.Order {
	n.t.Helper()
	o, err := n.st.Orders().GetOrder(context.Background(), n.shop.ID, id)
	if err != nil {
		n.t.Fatalf("order %d: %v", id, err)
	}
	return o
}

func (n *node) pending() int {
	n.t.Helper()
	var c int
	q := "SELECT count(*) FROM webhook_deliveries WHERE payload IS NOT NULL AND applied_at IS NULL"
	if err := n.st.SQL().QueryRowContext(context.Background(), q).Scan(&c); err != nil {
		n.t.Fatal(err)
	}
	return c
}

func forEachKind(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, kind)
		})
	}
}

// TestPendingBurstAppliedInBatches: a burst of deliveries, several per
// order, is recorded without a job each and applied by one batch: every
// order ends at its newest body, nothing is left pending, nothing calls
// Shopify.
func TestPendingBurstAppliedInBatches(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, kind string) {
		n := newNode(t, storetest.New(t, kind))
		const orderCount, burst = 40, 300
		var seeds []goshopify.Order
		for i := range orderCount {
			seeds = append(seeds, n.order(int64(9100000+i), t0, "seed"))
		}
		n.seed(seeds...)
		newest := map[int64]time.Time{}
		for k := range burst {
			id := int64(9100000 + k%orderCount)
			at := t0.Add(time.Duration(k+1) * time.Second)
			newest[id] = at
			if out := n.deliver("orders/updated", uuid.NewString(), uuid.NewString(), n.order(id, at, "burst")); out != webhooks.Accepted {
				t.Fatalf("delivery %d: %s", k, out)
			}
		}
		if got := n.pending(); got != burst {
			t.Fatalf("pending after the burst = %d, want %d", got, burst)
		}
		res := n.apply()
		if res.Claimed != burst || len(res.ReceivedAt) != burst {
			t.Fatalf("one batch claimed %d and finished %d, want %d", res.Claimed, len(res.ReceivedAt), burst)
		}
		for id, at := range newest {
			if got := n.stored(id).Source.UpdatedAt; !got.Equal(at) {
				t.Errorf("order %d at %s, want its newest body's %s", id, got, at)
			}
		}
		if left := n.pending(); left != 0 {
			t.Errorf("%d deliveries still pending", left)
		}
		if again := n.apply(); again.Claimed != 0 {
			t.Errorf("a second batch claimed %d", again.Claimed)
		}
		if c := n.queue.count(); c != 0 {
			t.Errorf("%d deliveries handed to jobs, want none (every order is known)", c)
		}
	})
}

// TestPendingOlderNeverOverwrites: an older body never overwrites a newer
// copy, whether it comes later in the same batch, earlier in it, or in a
// later batch.
func TestPendingOlderNeverOverwrites(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, kind string) {
		n := newNode(t, storetest.New(t, kind))
		const a, b = 9200001, 9200002
		n.seed(n.order(a, t0, "seed"), n.order(b, t0, "seed"))
		t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
		n.deliver("orders/updated", uuid.NewString(), "", n.order(a, t2, "newer"))
		n.deliver("orders/updated", uuid.NewString(), "", n.order(a, t1, "older"))
		n.deliver("orders/updated", uuid.NewString(), "", n.order(b, t1, "older"))
		n.deliver("orders/paid", uuid.NewString(), "", n.order(b, t2, "newer"))
		n.apply()
		for _, id := range []int64{a, b} {
			if s := n.stored(id); !s.Source.UpdatedAt.Equal(t2) || s.Source.Email != "newer@example.com" {
				t.Errorf("order %d: %s %q, want the newer body", id, s.Source.UpdatedAt, s.Source.Email)
			}
		}
		n.deliver("orders/updated", uuid.NewString(), "", n.order(a, t1, "late"))
		if res := n.apply(); res.Claimed != 1 {
			t.Fatalf("claimed %d, want the late delivery", res.Claimed)
		}
		if s := n.stored(a); !s.Source.UpdatedAt.Equal(t2) || s.Source.Email != "newer@example.com" {
			t.Errorf("a late older body overwrote the copy: %s %q", s.Source.UpdatedAt, s.Source.Email)
		}
	})
}

// TestPendingOneActionTwoTopics: two deliveries of one merchant action
// share the event id but not the webhook id or topic: both are recorded
// and applied (the second not dropped as a duplicate), while Shopify's
// retry of either (same webhook id) is.
func TestPendingOneActionTwoTopics(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, kind string) {
		n := newNode(t, storetest.New(t, kind))
		const id = 9300001
		n.seed(n.order(id, t0, "seed"))
		event := uuid.NewString()
		paid, updated := uuid.NewString(), uuid.NewString()
		if out := n.deliver("orders/paid", paid, event, n.order(id, t0.Add(time.Minute), "paid")); out != webhooks.Accepted {
			t.Fatalf("orders/paid: %s", out)
		}
		if out := n.deliver("orders/updated", updated, event, n.order(id, t0.Add(2*time.Minute), "updated")); out != webhooks.Accepted {
			t.Fatalf("orders/updated of the same event: %s", out)
		}
		if out := n.deliver("orders/updated", updated, event, n.order(id, t0.Add(2*time.Minute), "updated")); out != webhooks.Duplicate {
			t.Fatalf("Shopify's retry: %s, want duplicate", out)
		}
		if res := n.apply(); res.Claimed != 2 || len(res.ReceivedAt) != 2 {
			t.Fatalf("claimed %d, finished %d; want both deliveries", res.Claimed, len(res.ReceivedAt))
		}
		if s := n.stored(id); s.Source.Email != "updated@example.com" {
			t.Errorf("stored %q, want the newest of the action's bodies", s.Source.Email)
		}
	})
}

// TestPendingUnknownOrderGoesToAJob: a body for an order the shop has no
// copy of is not stored from the body: it is handed to an apply job (which
// confirms it through the shop's token), once, and is no longer pending.
func TestPendingUnknownOrderGoesToAJob(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, kind string) {
		n := newNode(t, storetest.New(t, kind))
		hook := uuid.NewString()
		n.deliver("orders/create", hook, "", n.order(9400001, t0, "new"))
		n.deliver("orders/updated", uuid.NewString(), "", n.order(9400001, t0.Add(time.Second), "newer"))
		n.apply()
		if _, err := n.st.Orders().GetOrder(context.Background(), n.shop.ID, 9400001); err == nil {
			t.Error("an unknown order was stored from its body")
		}
		if c := n.queue.count(); c != 1 {
			t.Fatalf("%d jobs, want one (the newest delivery; the older is covered by it)", c)
		}
		if j := n.queue.jobs[0]; j.Topic != "orders/updated" || len(j.Payload) == 0 || j.Shop.Domain != batchShop {
			t.Errorf("job %+v", j)
		}
		if p := n.pending(); p != 0 {
			t.Errorf("%d still pending", p)
		}
	})
}

// TestPendingSurvivesCrash: a process records deliveries, claims them for
// a batch and dies (its store closed) before storing anything; the
// restarted process applies them once the dead one's lease has run out,
// and not before.
func TestPendingSurvivesCrash(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, kind string) {
		open := storetest.Reopenable(t, kind)
		first := newNode(t, open())
		const id = 9500001
		first.seed(first.order(id, t0, "seed"))
		first.deliver("orders/updated", uuid.NewString(), "", first.order(id, t0.Add(time.Hour), "after-the-crash"))
		const lease = time.Second
		// The lease runs from the claim's own clock reading, which lies
		// between before and claimed.
		before := time.Now()
		if got, err := first.st.ClaimPending(context.Background(), 10, lease); err != nil || len(got) != 1 {
			t.Fatalf("the doomed batch claimed %d: %v", len(got), err)
		}
		claimed := time.Now()
		if err := first.st.Close(); err != nil {
			t.Fatal(err)
		}

		again := newNode(t, open())
		res := again.apply()
		// Only an apply that finished before the earliest possible end of
		// the lease proves anything; on a loaded machine it may not.
		if live := time.Since(before) < lease; live && res.Claimed != 0 {
			t.Fatalf("claimed %d under the dead process's lease", res.Claimed)
		} else if !live {
			t.Logf("the restart took longer than the lease (%s); its claim is not checked", time.Since(before))
		}
		if res.Claimed == 0 {
			time.Sleep(time.Until(claimed.Add(lease + 50*time.Millisecond)))
			res = again.apply()
		}
		if res.Claimed != 1 {
			t.Fatalf("after the lease: claimed %d, want the delivery", res.Claimed)
		}
		if s := again.stored(id); s.Source.Email != "after-the-crash@example.com" {
			t.Errorf("stored %q: the delivery was lost", s.Source.Email)
		}
	})
}
