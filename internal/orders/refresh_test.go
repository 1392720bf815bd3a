package orders_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// fakeShopify serves orders from a map. Reads of held orders wait until
// release; every read takes one of `capacity` slots, as Shopify's per-shop
// budget does, so calls beyond it queue behind the ones in flight.
type fakeShopify struct {
	mu        sync.Mutex
	orders    map[int64]orders.ShopifyOrder
	customers map[int64][]int64
	fail      error
	held      map[int64]bool
	calls     map[int64]int
	custCalls int
	inFlight  int
	maxFlight int
	release   chan struct{}
	slots     chan struct{}
}

func newFakeShopify(capacity int) *fakeShopify {
	return &fakeShopify{
		orders: map[int64]orders.ShopifyOrder{}, customers: map[int64][]int64{}, held: map[int64]bool{},
		calls: map[int64]int{}, release: make(chan struct{}), slots: make(chan struct{}, capacity),
	}
}

func (f *fakeShopify) Order(ctx context.Context, _ tenant.Shop, id int64) (orders.ShopifyOrder, error) {
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return orders.ShopifyOrder{}, ctx.Err()
	}
	defer func() { <-f.slots }()
	f.mu.Lock()
	f.calls[id]++
	f.inFlight++
	f.maxFlight = max(f.maxFlight, f.inFlight)
	held, fail := f.held[id], f.fail
	src, ok := f.orders[id]
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	if held {
		select {
		case <-f.release:
		case <-ctx.Done():
			return orders.ShopifyOrder{}, ctx.Err()
		}
	}
	switch {
	case fail != nil:
		return orders.ShopifyOrder{}, fail
	case !ok:
		return orders.ShopifyOrder{}, orders.ErrNotFound
	}
	return src, nil
}

func (f *fakeShopify) CustomerOrders(_ context.Context, _ tenant.Shop, customerID int64) ([]orders.ShopifyOrder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.custCalls++
	var out []orders.ShopifyOrder
	for _, id := range f.customers[customerID] {
		out = append(out, f.orders[id])
	}
	return out, nil
}

// CustomerOrdersPage serves the customer's orders five at a time; the
// cursor is the index of the page's first order.
func (f *fakeShopify) CustomerOrdersPage(_ context.Context, _ tenant.Shop, customerID int64, after string) (orders.CustomerOrdersPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.custCalls++
	from := 0
	if after != "" {
		if _, err := fmt.Sscan(after, &from); err != nil {
			return orders.CustomerOrdersPage{}, err
		}
	}
	ids := f.customers[customerID]
	var page orders.CustomerOrdersPage
	for i := from; i < len(ids) && i < from+5; i++ {
		page.Orders = append(page.Orders, f.orders[ids[i]])
	}
	if from+5 < len(ids) {
		page.Next = fmt.Sprint(from + 5)
	}
	return page, nil
}

var errUnused = errors.New("not used by these tests")

func (f *fakeShopify) OrdersPage(context.Context, tenant.Shop, orders.PageRequest) (orders.OrdersPage, error) {
	return orders.OrdersPage{}, errUnused
}

func (f *fakeShopify) CancelOrder(context.Context, tenant.Shop, orders.CancelCommand) (string, error) {
	return "", errUnused
}

func (f *fakeShopify) SuggestRefund(context.Context, tenant.Shop, int64, []orders.RefundCommandLine, *decimal.Decimal) (orders.RefundSuggestion, error) {
	return orders.RefundSuggestion{}, errUnused
}

func (f *fakeShopify) CreateRefund(context.Context, tenant.Shop, orders.RefundCommand) (int64, error) {
	return 0, errUnused
}

func (f *fakeShopify) CancelJob(context.Context, tenant.Shop, string) (orders.CancelJobStatus, error) {
	return orders.CancelJobStatus{}, errUnused
}

func (f *fakeShopify) set(src orders.ShopifyOrder) {
	f.mu.Lock()
	f.orders[src.ID] = src
	f.mu.Unlock()
}

func (f *fakeShopify) hold(ids ...int64) {
	f.mu.Lock()
	for _, id := range ids {
		f.held[id] = true
	}
	f.mu.Unlock()
}

func (f *fakeShopify) callsOf(id int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

func (f *fakeShopify) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

const ttl = time.Minute

var updated = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func src(id int64, updatedAt time.Time, note string) orders.ShopifyOrder {
	return orders.ShopifyOrder{
		ID: id, Name: fmt.Sprintf("#%d", id), OrderNumber: int(id), CreatedAt: updated.Add(-time.Hour), UpdatedAt: updatedAt,
		Currency: "USD", TotalPrice: decimal.NewFromInt(10), Email: note, // the email marks which state a copy holds
		Customer: &orders.ShopifyCustomer{ID: 42, Email: "alice@example.com"},
	}
}

type refreshEnv struct {
	st   *store.Store
	shop tenant.Shop
	sf   *fakeShopify
	svc  *orders.Service
}

func newRefreshEnv(t *testing.T, kind string, capacity int, budget orders.RefreshBudget) *refreshEnv {
	t.Helper()
	st := storetest.New(t, kind)
	st.RenderOrdersWith(noteRenderer)
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), "refresh.myshopify.com", "key-refresh-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	sf := newFakeShopify(capacity)
	svc := orders.NewService(st.Orders(), sf, ttl, slog.New(slog.DiscardHandler), orders.WithRefreshBudget(budget))
	e := &refreshEnv{st: st, shop: shop, sf: sf, svc: svc}
	t.Cleanup(func() {
		// Release what is held first: Close waits for running refreshes.
		sf.mu.Lock()
		select {
		case <-sf.release:
		default:
			close(sf.release)
		}
		sf.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

// stale stores a copy read from Shopify an hour ago.
func (e *refreshEnv) stale(t *testing.T, s orders.ShopifyOrder) {
	t.Helper()
	if err := e.st.Orders().UpsertOrders(context.Background(), e.shop.ID, []orders.Order{orders.Build(s, time.Now().Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
}

// noteRenderer's documents show which state a copy holds (its note).
var noteRenderer = orders.Renderer{Version: 1, Render: func(o orders.Order) ([]byte, error) {
	return []byte(`{"note":` + strconv.Quote(o.Source.Email) + `,`), nil
}}

// view is a view of the order as GET /orders/{id} answers it: the note of
// the stored document it sends. A view that would render instead (no
// document stored) fails the test.
func (e *refreshEnv) view(t *testing.T, id int64) string {
	t.Helper()
	v, err := e.svc.View(context.Background(), e.shop, id, false)
	if err != nil {
		t.Errorf("view %d: %v", id, err)
		return ""
	}
	note, ok := strings.CutPrefix(string(v.Doc), `{"note":`)
	if v.Doc == nil || !ok {
		t.Errorf("view %d answered without its stored document: %q", id, v.Doc)
		return ""
	}
	note, err = strconv.Unquote(strings.TrimSuffix(note, ","))
	if err != nil {
		t.Errorf("view %d: document %q: %v", id, v.Doc, err)
	}
	return note
}

func (e *refreshEnv) stored(t *testing.T, id int64) orders.Order {
	t.Helper()
	o, err := e.st.Orders().GetOrder(context.Background(), e.shop.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *refreshEnv) releaseHeld() {
	e.sf.mu.Lock()
	close(e.sf.release)
	e.sf.mu.Unlock()
}

// settle waits for the background refreshes to finish.
func (e *refreshEnv) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.svc.Close(ctx); err != nil {
		t.Fatalf("refreshes did not finish: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A stale copy answers at once, from the store, while its refresh is still
// waiting on Shopify; twenty concurrent views make one refresh, and once it
// is stored later views make none.
func TestStaleViewAnswersFromStoreAndRefreshesOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newRefreshEnv(t, kind, 10, orders.DefaultRefreshBudget)
			e.stale(t, src(1, updated, "old"))
			e.sf.set(src(1, updated.Add(time.Minute), "new"))
			e.sf.hold(1)
			ctx := context.Background()
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if note := e.view(t, 1); note != "old" {
						t.Errorf("stale view: note %q; want the stored copy", note)
					}
				})
			}
			wg.Wait() // every view answered while Shopify's answer is held
			waitFor(t, "the refresh to reach Shopify", func() bool { return e.sf.callsOf(1) == 1 })
			e.releaseHeld()
			waitFor(t, "the refreshed copy", func() bool { return e.stored(t, 1).Source.Email == "new" })
			if got := e.stored(t, 1).SyncedAt; time.Since(got) > ttl {
				t.Errorf("refreshed copy synced_at = %v, want now", got)
			}
			for range 20 {
				if note := e.view(t, 1); note != "new" {
					t.Fatalf("fresh view: %q", note)
				}
			}
			// The domain's Get (previews, actions) sees the same copy.
			if o, err := e.svc.Get(ctx, e.shop, 1, false); err != nil || o.Source.Email != "new" {
				t.Fatalf("fresh get: %q %v", o.Source.Email, err)
			}
			e.settle(t)
			if n := e.sf.callsOf(1); n != 1 {
				t.Errorf("40 views of a stale copy made %d Shopify reads, want exactly 1", n)
			}
		})
	}
}

// A refresh that read Shopify before a webhook stored a newer state does
// not overwrite it.
func TestRefreshNeverOverwritesANewerCopy(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newRefreshEnv(t, kind, 10, orders.DefaultRefreshBudget)
			e.stale(t, src(1, updated, "first"))
			e.sf.set(src(1, updated.Add(time.Minute), "read by the refresh"))
			e.sf.hold(1)
			if note := e.view(t, 1); note != "first" {
				t.Fatalf("stale view: %q", note)
			}
			waitFor(t, "the refresh to reach Shopify", func() bool { return e.sf.callsOf(1) == 1 })
			// Meanwhile a webhook stores a newer state (still older than the
			// TTL on its synced_at, so nothing else would skip the refresh).
			webhook := orders.Build(src(1, updated.Add(2*time.Minute), "from the webhook"), time.Now().Add(-time.Hour))
			if err := e.st.Orders().UpsertOrders(context.Background(), e.shop.ID, []orders.Order{webhook}); err != nil {
				t.Fatal(err)
			}
			e.releaseHeld()
			e.settle(t)
			if got := e.stored(t, 1); got.Source.Email != "from the webhook" || !got.UpdatedAt.Equal(updated.Add(2*time.Minute)) {
				t.Errorf("stored copy = %q updated %v; the older refresh overwrote the webhook's state", got.Source.Email, got.UpdatedAt)
			}
			// Nor its document: views send the webhook's state (the
			// service is closed: this view schedules no refresh).
			if note := e.view(t, 1); note != "from the webhook" {
				t.Errorf("the view answers %q after an older refresh; want the webhook's state", note)
			}
		})
	}
}

// A refresh that fails keeps the copy as it was, and views keep answering
// from it.
func TestFailedRefreshKeepsTheCopy(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newRefreshEnv(t, kind, 10, orders.DefaultRefreshBudget)
			e.stale(t, src(1, updated, "kept"))
			before := e.stored(t, 1)
			e.sf.fail = fmt.Errorf("shopify: %w", orders.ErrShopifyUnavailable)
			if note := e.view(t, 1); note != "kept" {
				t.Fatalf("view: %q", note)
			}
			waitFor(t, "the refresh to reach Shopify", func() bool { return e.sf.callsOf(1) == 1 })
			e.settle(t)
			after := e.stored(t, 1)
			if after.Source.Email != "kept" || !after.SyncedAt.Equal(before.SyncedAt) || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("after a failed refresh: %q synced %v (was %v)", after.Source.Email, after.SyncedAt, before.SyncedAt)
			}
			if note := e.view(t, 1); note != "kept" {
				t.Errorf("view after the failed refresh: %q", note)
			}
		})
	}
}

// A storm of stale views queues many refreshes; the shop's budget lets
// only one talk to Shopify at a time, so an agent's action (its fresh read
// before mutating) still gets through. Without the budget the storm takes
// every slot Shopify gives the shop and the action waits behind it.
func TestRefreshBudgetKeepsActionsFlowing(t *testing.T) {
	t.Parallel()
	const storm = 50
	const actionOrder = 999
	cases := []struct {
		name        string
		budget      orders.RefreshBudget
		actionFlows bool
	}{
		{"budget", orders.DefaultRefreshBudget, true},
		{"no budget (proves the test can fail)", orders.RefreshBudget{Workers: storm, PerSecond: 1e6}, false},
	}
	for _, kind := range storetest.Kinds {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				e := newRefreshEnv(t, kind, 4, c.budget) // Shopify serves this shop 4 calls at once
				ctx := context.Background()
				var ids []int64
				for i := int64(1); i <= storm; i++ {
					e.stale(t, src(i, updated, "stale"))
					e.sf.set(src(i, updated.Add(time.Minute), "refreshed"))
					ids = append(ids, i)
				}
				e.sf.hold(ids...)
				e.sf.set(src(actionOrder, updated, "action"))
				for _, id := range ids {
					if _, err := e.svc.Get(ctx, e.shop, id, false); err != nil {
						t.Fatal(err)
					}
				}
				waitFor(t, "the storm to reach Shopify", func() bool { return e.sf.totalCalls() >= 1 })
				// The action reads the order from Shopify, as act.go does before
				// deciding eligibility.
				done := make(chan error, 1)
				go func() {
					_, err := e.svc.Get(ctx, e.shop, actionOrder, true)
					done <- err
				}()
				var flowed bool
				select {
				case err := <-done:
					flowed = err == nil
					if err != nil {
						t.Errorf("action's read: %v", err)
					}
				case <-time.After(time.Second):
				}
				if flowed != c.actionFlows {
					t.Errorf("action's Shopify read got through during the storm: %t, want %t", flowed, c.actionFlows)
				}
				e.sf.mu.Lock()
				maxFlight := e.sf.maxFlight
				e.sf.mu.Unlock()
				if c.actionFlows && maxFlight > orders.DefaultRefreshBudget.Workers+1 {
					t.Errorf("%d Shopify calls in flight at once; the budget allows %d refreshes plus the action", maxFlight, orders.DefaultRefreshBudget.Workers)
				}
			})
		}
	}
}

// A contact's list is served as stored when it is stale and refreshed once
// in the background; a list never read waits on Shopify.
func TestStaleCustomerListServedAndRefreshed(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newRefreshEnv(t, kind, 10, orders.DefaultRefreshBudget)
			ctx := context.Background()
			e.sf.set(src(1, updated, "one"))
			e.sf.customers[42] = []int64{1}
			page, err := e.svc.List(ctx, e.shop, orders.ListFilter{CustomerID: 42, Limit: 10})
			if err != nil || len(page.Orders) != 1 || e.sf.custCalls != 1 {
				t.Fatalf("never-read list: %d orders, %d reads, %v", len(page.Orders), e.sf.custCalls, err)
			}
			// An hour later the list is stale; Shopify has a second order.
			if err := e.st.Orders().MarkCustomerSynced(ctx, e.shop.ID, 42, time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			e.sf.mu.Lock()
			e.sf.orders[2] = src(2, updated, "two")
			e.sf.customers[42] = []int64{1, 2}
			e.sf.mu.Unlock()
			for range 5 {
				if page, err = e.svc.List(ctx, e.shop, orders.ListFilter{CustomerID: 42, Limit: 10}); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "the list refresh", func() bool {
				p, err := e.svc.List(ctx, e.shop, orders.ListFilter{CustomerID: 42, Limit: 10})
				return err == nil && len(p.Orders) == 2
			})
			e.settle(t)
			e.sf.mu.Lock()
			n := e.sf.custCalls
			e.sf.mu.Unlock()
			if n != 2 {
				t.Errorf("customer list reads = %d, want 2 (the first read-through and one refresh)", n)
			}
		})
	}
}
