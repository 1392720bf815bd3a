package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// gate holds the batcher's first write until released, so that the
// deliveries sent meanwhile queue up and form the next batch. It records
// each batch's size.
type gate struct {
	webhooks.BatchRecorder
	entered chan struct{} // closed when the first write has begun
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	sizes   []int
}

func newGate(rec webhooks.BatchRecorder) *gate {
	return &gate{BatchRecorder: rec, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) RecordDeliveries(ctx context.Context, ds []webhooks.Delivery) ([]bool, error) {
	first := false
	g.once.Do(func() { first = true; close(g.entered) })
	if first {
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	g.mu.Lock()
	g.sizes = append(g.sizes, len(ds))
	g.mu.Unlock()
	return g.BatchRecorder.RecordDeliveries(ctx, ds)
}

func (g *gate) batches() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

// ingestStore is a fresh store with a shop.
func ingestStore(t *testing.T, kind string) (*store.Store, tenant.Shop) {
	t.Helper()
	st := storetest.New(t, kind)
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), batchShop, "batch-key-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	return st, shop
}

func newBatcher(t *testing.T, rec webhooks.BatchRecorder, opts webhooks.BatcherOptions) *webhooks.Batcher {
	t.Helper()
	b, err := webhooks.NewBatcher(rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

func pendingDelivery(shop tenant.Shop, id string) webhooks.Delivery {
	return webhooks.Delivery{ShopID: shop.ID, WebhookID: id, Topic: "orders/updated", ReceivedAt: time.Now().UTC(), Payload: []byte(`{"id":1}`)}
}

type answer struct {
	id    string
	fresh bool
	err   error
}

// sendAll records each delivery from its own goroutine once the gate's
// first write has begun, waits until they are all queued behind it, then
// releases the gate, and returns every answer.
func sendAll(t *testing.T, b *webhooks.Batcher, g *gate, first webhooks.Delivery, ds []webhooks.Delivery, queued func() bool) []answer {
	t.Helper()
	answers := make(chan answer, len(ds)+1)
	go func() {
		fresh, err := b.Record(context.Background(), first)
		answers <- answer{first.WebhookID, fresh, err}
	}()
	<-g.entered
	for _, d := range ds {
		go func() {
			fresh, err := b.Record(context.Background(), d)
			answers <- answer{d.WebhookID, fresh, err}
		}()
	}
	waitFor(t, "deliveries queued", queued)
	close(g.release)
	var out []answer
	for range len(ds) + 1 {
		select {
		case a := <-answers:
			out = append(out, a)
		case <-time.After(30 * time.Second):
			t.Fatal("a delivery was never answered")
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatcherDuplicatesInOneBatch: Shopify's retry racing its first
// attempt, in one batch, is one row; exactly one of them is new and every
// one of them is answered without error.
func TestBatcherDuplicatesInOneBatch(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			st, shop := ingestStore(t, kind)
			g := newGate(st)
			b := newBatcher(t, g, webhooks.BatcherOptions{Writers: 1})
			var ds []webhooks.Delivery
			for range 5 {
				ds = append(ds, pendingDelivery(shop, "same"))
			}
			ds = append(ds, pendingDelivery(shop, "other"))
			answers := sendAll(t, b, g, pendingDelivery(shop, "first"), ds, func() bool { return b.Queued() == len(ds) })
			fresh := map[string]int{}
			for _, a := range answers {
				if a.err != nil {
					t.Errorf("%s: %v", a.id, a.err)
				}
				if a.fresh {
					fresh[a.id]++
				}
			}
			if fresh["same"] != 1 || fresh["other"] != 1 || fresh["first"] != 1 {
				t.Errorf("new deliveries = %v, want each id new once", fresh)
			}
			if got := g.batches(); len(got) != 2 || got[1] != 2 {
				t.Errorf("batches = %v, want [1 2]: the queued deliveries in one batch, the duplicates as one row", got)
			}
			claimed, err := st.ClaimPending(context.Background(), 100, time.Minute)
			if err != nil || len(claimed) != 3 {
				t.Errorf("pending rows = %d, %v; want 3", len(claimed), err)
			}
		})
	}
}

// TestBatcherBadRowFailsAlone: a delivery that cannot be stored (its shop
// was erased meanwhile) fails its batch; the others are recorded one by
// one and answered, and only the bad one gets an error.
func TestBatcherBadRowFailsAlone(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			st, shop := ingestStore(t, kind)
			g := newGate(st)
			b := newBatcher(t, g, webhooks.BatcherOptions{Writers: 1})
			gone := tenant.Shop{ID: shop.ID + 1000}
			ds := []webhooks.Delivery{pendingDelivery(shop, "a"), pendingDelivery(gone, "bad"), pendingDelivery(shop, "b")}
			answers := sendAll(t, b, g, pendingDelivery(shop, "first"), ds, func() bool { return b.Queued() == len(ds) })
			for _, a := range answers {
				switch {
				case a.id == "bad" && (a.err == nil || a.fresh):
					t.Errorf("the bad delivery was answered fresh %t, %v", a.fresh, a.err)
				case a.id != "bad" && (a.err != nil || !a.fresh):
					t.Errorf("%s: fresh %t, %v; want recorded", a.id, a.fresh, a.err)
				}
			}
			claimed, err := st.ClaimPending(context.Background(), 100, time.Minute)
			if err != nil || len(claimed) != 3 {
				t.Errorf("pending rows = %d, %v; want 3 (first, a, b)", len(claimed), err)
			}
		})
	}
}

// fakeRecorder is a map-backed BatchRecorder; block makes every write
// wait for its context to end.
type fakeRecorder struct {
	mu    sync.Mutex
	rows  map[string]bool
	block bool
}

func (f *fakeRecorder) RecordDeliveries(ctx context.Context, ds []webhooks.Delivery) ([]bool, error) {
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rows == nil {
		f.rows = map[string]bool{}
	}
	out := make([]bool, len(ds))
	for i, d := range ds {
		out[i] = !f.rows[d.WebhookID]
		f.rows[d.WebhookID] = true
	}
	return out, nil
}

func (f *fakeRecorder) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows[id]
}

// TestBatcherCloseDrains: Close writes the deliveries already queued
// before it returns, and refuses new ones.
func TestBatcherCloseDrains(t *testing.T) {
	t.Parallel()
	rec := &fakeRecorder{}
	g := newGate(rec)
	b := newBatcher(t, g, webhooks.BatcherOptions{Writers: 1})
	answers := make(chan answer, 10)
	go func() {
		fresh, err := b.Record(context.Background(), webhooks.Delivery{WebhookID: "first"})
		answers <- answer{"first", fresh, err}
	}()
	<-g.entered
	for i := range 5 {
		go func() {
			fresh, err := b.Record(context.Background(), webhooks.Delivery{WebhookID: fmt.Sprint(i)})
			answers <- answer{fmt.Sprint(i), fresh, err}
		}()
	}
	waitFor(t, "deliveries queued", func() bool { return b.Queued() == 5 })
	closed := make(chan error, 1)
	go func() { closed <- b.Close(context.Background()) }()
	gone, cancel := context.WithCancel(context.Background())
	cancel() // queued before Close takes effect, it is left out of its batch
	waitFor(t, "new deliveries refused", func() bool {
		_, err := b.Record(gone, webhooks.Delivery{WebhookID: "late"})
		return errors.Is(err, webhooks.ErrStopping)
	})
	close(g.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if a := <-answers; a.err != nil || !a.fresh || !rec.has(a.id) {
			t.Errorf("%s: fresh %t, %v, stored %t; want drained and recorded", a.id, a.fresh, a.err, rec.has(a.id))
		}
	}
	if rec.has("late") {
		t.Error("a delivery refused while stopping was recorded")
	}
}

// TestBatcherCloseGivesUp: when the database does not answer, Close
// returns at its deadline, and the waiting deliveries get an error, never
// an answer that they were recorded.
func TestBatcherCloseGivesUp(t *testing.T) {
	t.Parallel()
	g := newGate(&fakeRecorder{block: true}) // never released
	b := newBatcher(t, g, webhooks.BatcherOptions{Writers: 1, Timeout: time.Hour})
	answers := make(chan error, 3)
	for i := range 3 {
		if i == 1 {
			<-g.entered
		}
		go func() {
			_, err := b.Record(context.Background(), webhooks.Delivery{WebhookID: fmt.Sprint(i)})
			answers <- err
		}()
	}
	waitFor(t, "deliveries queued", func() bool { return b.Queued() == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want its deadline", err)
	}
	for range 3 {
		select {
		case err := <-answers:
			if err == nil {
				t.Error("a delivery the database never took was answered as recorded")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a waiting delivery hung after Close")
		}
	}
}

// TestBatcherCancelledRequest: a request that ends while its batch is
// being written gets its context's error at once, not an answer.
func TestBatcherCancelledRequest(t *testing.T) {
	t.Parallel()
	rec := &fakeRecorder{}
	g := newGate(rec)
	b := newBatcher(t, g, webhooks.BatcherOptions{Writers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Record(ctx, webhooks.Delivery{WebhookID: "gone"})
		done <- err
	}()
	<-g.entered
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want the request's cancellation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled request waited for its batch")
	}
	close(g.release)
	// The batcher goes on: the retry is a duplicate of the row that the
	// cancelled request's batch committed.
	fresh, err := b.Record(context.Background(), webhooks.Delivery{WebhookID: "gone"})
	if err != nil || fresh {
		t.Errorf("retry: fresh %t, %v; want a duplicate", fresh, err)
	}
}

// TestBatcherBackpressure: beyond its queue the batcher refuses at once
// (503 upstream), it does not wait.
func TestBatcherBackpressure(t *testing.T) {
	t.Parallel()
	g := newGate(&fakeRecorder{})
	b := newBatcher(t, g, webhooks.BatcherOptions{Writers: 1, Queue: 2})
	go func() { _, _ = b.Record(context.Background(), webhooks.Delivery{WebhookID: "first"}) }()
	<-g.entered
	for i := range 2 {
		go func() { _, _ = b.Record(context.Background(), webhooks.Delivery{WebhookID: fmt.Sprint(i)}) }()
	}
	waitFor(t, "queue full", func() bool { return b.Queued() == 2 })
	if _, err := b.Record(context.Background(), webhooks.Delivery{WebhookID: "over"}); !errors.Is(err, webhooks.ErrBusy) {
		t.Errorf("err = %v, want ErrBusy", err)
	}
	close(g.release)
}

// TestBatcherIdleWritesAtOnce: a lone delivery is not held back for a
// batch to form.
func TestBatcherIdleWritesAtOnce(t *testing.T) {
	t.Parallel()
	b := newBatcher(t, &fakeRecorder{}, webhooks.BatcherOptions{})
	start := time.Now()
	for i := range 200 {
		if fresh, err := b.Record(context.Background(), webhooks.Delivery{WebhookID: fmt.Sprint(i)}); err != nil || !fresh {
			t.Fatalf("fresh %t, %v", fresh, err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("200 lone deliveries took %s: a delivery waits for company", took)
	}
}
