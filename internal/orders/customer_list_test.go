package orders_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// pagedShopify is the real adapter against the sandbox, watching a
// customer's page reads: it counts them by cursor, can fail one page once,
// and can hold the background reads past a number of pages until released.
type pagedShopify struct {
	*shopify.Client

	mu         sync.Mutex
	reads      map[string]int // successful page reads, by cursor ("" is the first page)
	attempts   int
	foreground int // page reads for a request (not orders.Background)
	failAt     int // the page (1-based, in order of reading) whose first read fails; 0: none
	holdAfter  int // background reads of pages after this many wait for release; 0: none
	release    chan struct{}
	entered    chan struct{} // closed when a read of the first page begins
	enteredOne sync.Once
	holdFirst  chan struct{} // when set, the first page's read waits for it
}

func (p *pagedShopify) CustomerOrdersPage(ctx context.Context, shop tenant.Shop, customerID int64, after string) (orders.CustomerOrdersPage, error) {
	p.mu.Lock()
	p.attempts++
	if !orders.IsBackground(ctx) {
		p.foreground++
	}
	done := len(p.reads)
	fail := p.failAt > 0 && done+1 == p.failAt
	if fail {
		p.failAt = 0
	}
	hold := p.holdAfter > 0 && done >= p.holdAfter && orders.IsBackground(ctx)
	release, holdFirst := p.release, p.holdFirst
	p.mu.Unlock()
	if after == "" {
		p.enteredOne.Do(func() { close(p.entered) })
		if holdFirst != nil {
			<-holdFirst
		}
	}
	if fail {
		return orders.CustomerOrdersPage{}, fmt.Errorf("page %d: %w", done+1, orders.ErrShopifyUnavailable)
	}
	if hold {
		select {
		case <-release:
		case <-ctx.Done():
			return orders.CustomerOrdersPage{}, ctx.Err()
		}
	}
	page, err := p.Client.CustomerOrdersPage(ctx, shop, customerID, after)
	if err == nil {
		p.mu.Lock()
		p.reads[after]++
		p.mu.Unlock()
	}
	return page, err
}

// pagesReadTwice lists the cursors read more than once.
func (p *pagedShopify) pagesReadTwice() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var twice []string
	for c, n := range p.reads {
		if n > 1 {
			twice = append(twice, c)
		}
	}
	return twice
}

// waitAttempts waits until n page reads have begun.
func (p *pagedShopify) waitAttempts(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p.mu.Lock()
		begun := p.attempts
		p.mu.Unlock()
		if begun >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d page reads began, want %d", begun, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type listEnv struct {
	sb   *shopifysandbox.Sandbox
	sf   *pagedShopify
	st   *store.Store
	shop tenant.Shop
}

const bob = int64(207119551) // shopifysandbox.Bob

// fastBudget lets the background read go as fast as the sandbox answers.
var fastBudget = orders.RefreshBudget{Workers: 1, PerSecond: 1000, Queue: 100, Timeout: 30 * time.Second}

// newListEnv is a store, and a sandbox shop where Bob has n orders, a
// minute apart, read through the real adapter.
func newListEnv(t *testing.T, kind string, n int) *listEnv {
	t.Helper()
	const domain, token = "list.myshopify.com", "shpat_list"
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: domain, Token: token})
	sb.AddGenerated(n, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := shopify.New(shopify.Config{APIVersion: "2026-10", BaseURL: srv.URL, Tokens: shopify.StaticTokens{domain: token},
		Timeout: 5 * time.Second, BaseBackoff: 10 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t, kind)
	shop, err := tenant.NewService(st.Tenants()).Bootstrap(context.Background(), domain, "key-list-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	return &listEnv{sb: sb, st: st, shop: shop, sf: &pagedShopify{Client: c, reads: map[string]int{}, release: make(chan struct{}), entered: make(chan struct{})}}
}

// service starts a Service on the env's store; it is closed at the end.
func (e *listEnv) service(t *testing.T, opts ...orders.Option) *orders.Service {
	t.Helper()
	svc := orders.NewService(e.st.Orders(), e.sf, time.Hour, slog.New(slog.DiscardHandler), append([]orders.Option{orders.WithRefreshBudget(fastBudget)}, opts...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return svc
}

func (e *listEnv) list(t *testing.T, svc *orders.Service, limit int, after *orders.Cursor) orders.Page {
	t.Helper()
	page, err := svc.List(context.Background(), e.shop, orders.ListFilter{CustomerID: bob, Limit: limit, After: after})
	if err != nil {
		t.Fatal(err)
	}
	return page
}

func (e *listEnv) customerList(t *testing.T) orders.CustomerList {
	t.Helper()
	l, err := e.st.Orders().CustomerList(context.Background(), e.shop.ID, bob)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitComplete waits until the customer's list is complete (a long read
// under the race detector takes a while).
func (e *listEnv) waitComplete(t *testing.T) orders.CustomerList {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		l := e.customerList(t)
		if l.Complete() {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("the list was not completed: %+v", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pageAll follows next_cursor to the end and checks that the orders come
// newest first, each once.
func (e *listEnv) pageAll(t *testing.T, svc *orders.Service, limit int) []orders.Order {
	t.Helper()
	var all []orders.Order
	seen := map[int64]bool{}
	var after *orders.Cursor
	for {
		page := e.list(t, svc, limit, after)
		for _, o := range page.Orders {
			if seen[o.ID] {
				t.Fatalf("order %d listed twice", o.ID)
			}
			seen[o.ID] = true
			if n := len(all); n > 0 && !newer(all[n-1], o) {
				t.Fatalf("order %d (%s) listed after %d (%s): not newest first", o.ID, o.CreatedAt, all[n-1].ID, all[n-1].CreatedAt)
			}
			all = append(all, o)
		}
		if page.Next == nil {
			return all
		}
		after = page.Next
	}
}

func newer(a, b orders.Order) bool {
	return a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID)
}

// TestCustomerFirstListAnswersAfterOnePage: a never-listed contact with
// 600 orders gets their first list after one Shopify page (limit 5, what
// a page holds), told it is incomplete; the other 119 pages are read in
// the background, each once, after which the list is complete and pages
// through all 600 orders newest first.
func TestCustomerFirstListAnswersAfterOnePage(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newListEnv(t, kind, 600)
			e.sf.holdAfter = 1 // the background waits: what the answer cost is counted alone
			svc := e.service(t)
			page := e.list(t, svc, 5, nil)
			if n := e.sb.Calls(shopifysandbox.OpCustomerOrders); n != 1 {
				t.Fatalf("the first list made %d customer-orders calls to Shopify, want 1 (attempts %d, foreground %d, reads %v)", n, e.sf.attempts, e.sf.foreground, e.sf.reads)
			}
			if page.Complete || len(page.Orders) != 5 || page.Next == nil {
				t.Fatalf("first list: complete %t, %d orders, next %v; want incomplete, 5 orders and a next page", page.Complete, len(page.Orders), page.Next)
			}
			if page.Orders[0].ID != 600000599 || page.Orders[4].ID != 600000595 {
				t.Fatalf("first list from %d to %d, want the newest (600000599 to 600000595)", page.Orders[0].ID, page.Orders[4].ID)
			}
			// A second list while the background waits answers from the store.
			again := e.list(t, svc, 5, nil)
			if n := e.sb.Calls(shopifysandbox.OpCustomerOrders); n != 1 || again.Complete || len(again.Orders) != 5 {
				t.Fatalf("second list: %d Shopify calls in all, complete %t, %d orders", n, again.Complete, len(again.Orders))
			}
			close(e.sf.release)
			l := e.waitComplete(t)
			if l.Orders != 600 || l.Cursor != "" {
				t.Fatalf("complete list state %+v, want 600 orders read and no cursor", l)
			}
			if n := e.sb.Calls(shopifysandbox.OpCustomerOrders); n != 120 {
				t.Errorf("%d customer-orders calls in all, want 120 (600 orders, 5 a page, each page once)", n)
			}
			if twice := e.sf.pagesReadTwice(); len(twice) > 0 {
				t.Errorf("pages read twice: %q", twice)
			}
			done := e.list(t, svc, 5, nil)
			if !done.Complete {
				t.Error("the list still says incomplete once every page is stored")
			}
			if all := e.pageAll(t, svc, 100); len(all) != 600 {
				t.Errorf("paged through %d orders, want 600", len(all))
			}
		})
	}
}

// TestCustomerFirstListReadsWhatItShows: a first list of 20 reads the four
// pages its answer needs, no more (a page holds 5 orders: Shopify's
// 1,000-point limit), and a customer whose orders fit is complete at once.
func TestCustomerFirstListReadsWhatItShows(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newListEnv(t, kind, 60)
			e.sf.holdAfter = 4
			svc := e.service(t)
			page := e.list(t, svc, 20, nil)
			if n := e.sb.Calls(shopifysandbox.OpCustomerOrders); n != 4 || len(page.Orders) != 20 || page.Complete {
				t.Fatalf("first list of 20: %d Shopify pages, %d orders, complete %t; want 4 pages, 20 orders, incomplete", n, len(page.Orders), page.Complete)
			}
			close(e.sf.release)
			e.waitComplete(t)

			small := newListEnv(t, kind, 3)
			svc = small.service(t)
			page = small.list(t, svc, 20, nil)
			if !page.Complete || len(page.Orders) != 3 || page.Next != nil {
				t.Fatalf("a 3-order customer: complete %t, %d orders, next %v", page.Complete, len(page.Orders), page.Next)
			}
		})
	}
}

// TestCustomerListPagingDuringFill: a client paging while the background
// read is held gets short (even empty) pages rather than a list with holes;
// following next_cursor after the read goes on yields every order once,
// newest first: orders read later are older than every page served.
func TestCustomerListPagingDuringFill(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newListEnv(t, kind, 60)
			// A view of an old order stores it out of turn: it must not
			// show before the read gets there.
			e.sf.holdAfter = 1
			svc := e.service(t, orders.WithListWait(time.Second))
			if _, err := svc.Get(context.Background(), e.shop, 600000003, false); err != nil {
				t.Fatal(err)
			}
			var served []orders.Order
			page := e.list(t, svc, 7, nil)
			served = append(served, page.Orders...)
			for range 3 { // the request itself reads ahead while the background is held, within its wait
				page = e.list(t, svc, 7, page.Next)
				served = append(served, page.Orders...)
				if page.Complete || page.Next == nil {
					t.Fatalf("incomplete list without a next cursor: %+v", page.Next)
				}
			}
			for i, o := range served {
				if o.ID == 600000003 {
					t.Fatalf("the old order viewed alone was listed at %d, before the read reached it", i)
				}
				if i > 0 && !newer(served[i-1], o) {
					t.Fatalf("served out of order at %d", i)
				}
			}
			close(e.sf.release)
			e.waitComplete(t)
			after := page.Next
			for {
				page = e.list(t, svc, 7, after)
				served = append(served, page.Orders...)
				if page.Next == nil {
					break
				}
				after = page.Next
			}
			seen := map[int64]bool{}
			for i, o := range served {
				if seen[o.ID] {
					t.Fatalf("order %d served twice", o.ID)
				}
				seen[o.ID] = true
				if i > 0 && !newer(served[i-1], o) {
					t.Fatalf("served out of order at %d", i)
				}
			}
			if len(served) != 60 {
				t.Fatalf("paged through %d orders, want 60", len(served))
			}
		})
	}
}

// TestCustomerListFailedPageResumes: a later page that fails keeps the
// pages stored before it and leaves the list incomplete; the retry goes
// on from the recorded cursor: no page read twice, nothing missing.
func TestCustomerListFailedPageResumes(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newListEnv(t, kind, 60)
			e.sf.failAt = 4
			svc := e.service(t)
			e.list(t, svc, 5, nil)
			e.sf.waitAttempts(t, 4)                                 // the failing read of page 4 has begun
			if err := svc.Close(context.Background()); err != nil { // the failed read has ended
				t.Fatal(err)
			}
			l := e.customerList(t)
			if l.Complete() || l.Orders != 15 || l.Cursor == "" {
				t.Fatalf("after the failure: %+v, want 15 orders stored, a cursor, incomplete", l)
			}
			stored, err := e.st.Orders().ListOrders(context.Background(), e.shop.ID, orders.ListFilter{CustomerID: bob, Limit: 100})
			if err != nil || len(stored) != 15 {
				t.Fatalf("%d orders stored after the failure (%v), want the 15 of the pages read", len(stored), err)
			}
			// The retry: the next list of the contact.
			svc2 := e.service(t)
			if page := e.list(t, svc2, 5, nil); page.Complete {
				t.Fatal("complete before the retry read the rest")
			}
			e.waitComplete(t)
			if twice := e.sf.pagesReadTwice(); len(twice) > 0 {
				t.Errorf("pages read twice: %q", twice)
			}
			if n := e.sb.Calls(shopifysandbox.OpCustomerOrders); n != 12 {
				t.Errorf("%d pages read from Shopify, want 12", n)
			}
			if all := e.pageAll(t, svc2, 50); len(all) != 60 {
				t.Errorf("%d orders listed, want 60", len(all))
			}
		})
	}
}

// TestCustomerListRestartResumes: a process stopped mid-read (Close
// cancels the background read) leaves the progress stored; a new process's
// reconciliation sweep resumes it from the cursor without a list request.
func TestCustomerListRestartResumes(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newListEnv(t, kind, 60)
			e.sf.holdAfter = 5
			svc := e.service(t)
			e.list(t, svc, 5, nil)
			e.sf.waitAttempts(t, 6)                                 // the read of page 6 is held
			if err := svc.Close(context.Background()); err != nil { // the "restart"
				t.Fatal(err)
			}
			if l := e.customerList(t); l.Complete() || l.Orders != 25 {
				t.Fatalf("after the stop: %+v, want 25 orders read, incomplete", l)
			}
			e.sf.mu.Lock()
			e.sf.holdAfter = 0
			e.sf.mu.Unlock()
			svc2 := e.service(t)
			n, err := orders.NewSyncer(svc2, e.st.Orders(), 0).ResumeCustomerLists(context.Background(), 10)
			if err != nil || n != 1 {
				t.Fatalf("resumed %d lists, %v; want 1", n, err)
			}
			e.waitComplete(t)
			if twice := e.sf.pagesReadTwice(); len(twice) > 0 {
				t.Errorf("pages read twice: %q", twice)
			}
			if all := e.pageAll(t, svc2, 100); len(all) != 60 {
				t.Errorf("%d orders listed, want 60", len(all))
			}
		})
	}
}

// TestCustomerFirstListsConcurrent: two agents opening the same contact at
// once read the first page once.
func TestCustomerFirstListsConcurrent(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newListEnv(t, kind, 30)
			e.sf.holdAfter = 1
			e.sf.holdFirst = make(chan struct{})
			svc := e.service(t)
			var wg sync.WaitGroup
			pages := make([]orders.Page, 2)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					pages[i], errs[i] = svc.List(context.Background(), e.shop, orders.ListFilter{CustomerID: bob, Limit: 5})
				}()
			}
			<-e.sf.entered
			time.Sleep(50 * time.Millisecond) // let the second join the read under way
			close(e.sf.holdFirst)
			wg.Wait()
			for i := range 2 {
				if errs[i] != nil || len(pages[i].Orders) != 5 || pages[i].Complete {
					t.Fatalf("list %d: %d orders, complete %t, %v", i, len(pages[i].Orders), pages[i].Complete, errs[i])
				}
			}
			e.sf.mu.Lock()
			first := e.sf.reads[""]
			e.sf.mu.Unlock()
			if n := first; n != 1 {
				t.Errorf("the first page was read %d times, want once", n)
			}
			if n := e.sb.Calls(shopifysandbox.OpCustomerOrders); n != 1 {
				t.Errorf("%d Shopify pages read for two first lists, want 1", n)
			}
			close(e.sf.release)
			e.waitComplete(t)
		})
	}
}
