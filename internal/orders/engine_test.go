package orders

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Interleavings of the action engine with map-backed fakes of the store
// and of Shopify that can fail or pause at each step.

type fakeStore struct {
	mu      sync.Mutex
	orders  map[int64]Order
	actions map[string]Action
	leases  map[int64]fakeLease
	// failUpdate, when it returns an error for an update, fails it (a
	// crash or an outage at that save).
	failUpdate func(before, after Action) error
	// timeline holds the timeline events written; failTimeline, when it
	// returns an error, fails a write.
	timeline     map[string]TimelineEvent
	failTimeline func() error
}

type fakeLease struct {
	holder  string
	expires time.Time
}

func newFakeStore() *fakeStore {
	return &fakeStore{orders: map[int64]Order{}, actions: map[string]Action{}, leases: map[int64]fakeLease{}}
}

func (f *fakeStore) UpsertOrders(_ context.Context, _ int64, list []Order) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range list {
		f.orders[o.ID] = o
	}
	return nil
}

func (f *fakeStore) SaveOrders(ctx context.Context, shopID int64, list []Order, _ []TimelineEvent, _ bool) error {
	return f.UpsertOrders(ctx, shopID, list)
}

func (f *fakeStore) GetOrder(_ context.Context, _ int64, id int64) (Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[id]
	if !ok {
		return Order{}, ErrNotFound
	}
	return o, nil
}

func (f *fakeStore) GetOrders(_ context.Context, _ int64, ids []int64) (map[int64]Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]Order{}
	for _, id := range ids {
		if o, ok := f.orders[id]; ok {
			out[id] = o
		}
	}
	return out, nil
}

func (f *fakeStore) ListOrders(context.Context, int64, ListFilter) ([]Order, error) { return nil, nil }
func (f *fakeStore) OrderView(ctx context.Context, shopID, id int64) (OrderView, error) {
	o, err := f.GetOrder(ctx, shopID, id)
	if err != nil {
		return OrderView{}, err
	}
	return OrderView{ID: o.ID, CreatedAt: o.CreatedAt, SyncedAt: o.SyncedAt, Order: &o}, nil
}
func (f *fakeStore) ListOrderViews(context.Context, int64, ListFilter) ([]OrderView, error) {
	return nil, nil
}
func (f *fakeStore) CustomerSyncedAt(context.Context, int64, int64) (time.Time, error) {
	return time.Time{}, nil
}
func (f *fakeStore) MarkCustomerSynced(context.Context, int64, int64, time.Time) error { return nil }
func (f *fakeStore) CustomerList(context.Context, int64, int64) (CustomerList, error) {
	return CustomerList{}, nil
}
func (f *fakeStore) SaveCustomerPage(context.Context, int64, int64, []Order, []TimelineEvent, CustomerList, CustomerList) error {
	return nil
}
func (f *fakeStore) AddTimelineEvents(_ context.Context, _ int64, evs []TimelineEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failTimeline != nil {
		if err := f.failTimeline(); err != nil {
			return err
		}
	}
	if f.timeline == nil {
		f.timeline = map[string]TimelineEvent{}
	}
	for _, e := range evs {
		f.timeline[e.ID] = e
	}
	return nil
}
func (f *fakeStore) Timeline(context.Context, int64, int64, *TimelineCursor, int) ([]TimelineEvent, error) {
	return nil, nil
}

func (f *fakeStore) SubmitAction(ctx context.Context, sub Submission, enqueue EnqueueFunc) (Submitted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.actions {
		if a.OrderID == sub.Action.OrderID && a.Status == ActionPending {
			return Submitted{}, ErrActionInProgress
		}
	}
	f.actions[sub.Action.ID] = sub.Action
	return Submitted{Action: sub.Action, Created: true}, nil
}

func (f *fakeStore) UpdateAction(_ context.Context, _ int64, id string, change func(*Action) error) (Action, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.actions[id]
	if !ok {
		return Action{}, ErrNotFound
	}
	before := a
	if err := change(&a); err != nil {
		return Action{}, err
	}
	if before.Status.Final() && a.Status != before.Status {
		return Action{}, errors.New("final")
	}
	if f.failUpdate != nil {
		if err := f.failUpdate(before, a); err != nil {
			return Action{}, err
		}
	}
	f.actions[id] = a
	return a, nil
}

func (f *fakeStore) GetAction(_ context.Context, _ int64, id string) (Action, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.actions[id]
	if !ok {
		return Action{}, ErrNotFound
	}
	return a, nil
}

func (f *fakeStore) ListActions(context.Context, int64, int64) ([]Action, error) { return nil, nil }
func (f *fakeStore) PendingActions(context.Context, time.Time, int) ([]ShopAction, error) {
	return nil, nil
}

func (f *fakeStore) AcquireLease(_ context.Context, _, orderID int64, _, holder string, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.leases[orderID]; ok && time.Now().Before(l.expires) {
		return false, nil
	}
	f.leases[orderID] = fakeLease{holder: holder, expires: time.Now().Add(ttl)}
	return true, nil
}

func (f *fakeStore) RenewLease(_ context.Context, _, orderID int64, holder string, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.leases[orderID]; !ok || l.holder != holder {
		return false, nil
	}
	f.leases[orderID] = fakeLease{holder: holder, expires: time.Now().Add(ttl)}
	return true, nil
}

func (f *fakeStore) ReleaseLease(_ context.Context, _, orderID int64, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.leases[orderID]; ok && l.holder == holder {
		delete(f.leases, orderID)
	}
	return nil
}

// fakeShopify is one paid order at Shopify, refunds keyed like
// @idempotent, and hooks that fail or pause each call.
type fakeShopify struct {
	mu        sync.Mutex
	order     ShopifyOrder
	keys      map[string]int64
	nextID    int64
	refunds   int
	cancels   int
	onRefund  func(n int) error // before the refund is made; n counts calls
	afterMade func(n int) error // after it is made: a lost answer
	onCancel  func(n int) error
	calls     int
	jobStatus string
}

func newFakeShopify() *fakeShopify {
	now := time.Now().UTC()
	return &fakeShopify{keys: map[string]int64{}, nextID: 1000, jobStatus: "SUCCEEDED", order: ShopifyOrder{
		ID: 1, Name: "#1", Currency: "USD", TotalPrice: decimal.RequireFromString("50.00"), FinancialStatus: "paid",
		CreatedAt: now, UpdatedAt: now,
		LineItems:    []ShopifyLineItem{{ID: 11, Title: "Mug", Quantity: 1, Price: decimal.RequireFromString("50.00")}},
		Transactions: []ShopifyTransaction{{ID: 5, Kind: "sale", Status: "success", Amount: decimal.RequireFromString("50.00"), Gateway: "bogus", CreatedAt: now}},
	}}
}

func (f *fakeShopify) Order(context.Context, tenant.Shop, int64) (ShopifyOrder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.order
	o.Refunds = append([]ShopifyRefund(nil), f.order.Refunds...)
	o.Transactions = append([]ShopifyTransaction(nil), f.order.Transactions...)
	return o, nil
}

func (f *fakeShopify) CustomerOrders(context.Context, tenant.Shop, int64) ([]ShopifyOrder, error) {
	return nil, nil
}
func (f *fakeShopify) OrdersPage(context.Context, tenant.Shop, PageRequest) (OrdersPage, error) {
	return OrdersPage{}, nil
}
func (f *fakeShopify) CustomerOrdersPage(context.Context, tenant.Shop, int64, string) (CustomerOrdersPage, error) {
	return CustomerOrdersPage{}, nil
}

func (f *fakeShopify) CancelOrder(context.Context, tenant.Shop, CancelCommand) (string, error) {
	f.mu.Lock()
	f.cancels++
	n := f.cancels
	hook := f.onCancel
	f.mu.Unlock()
	if hook != nil {
		if err := hook(n); err != nil {
			return "", err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.order.CancelledAt != nil {
		return "", &RuleError{Reason: BlockedAlreadyCancelled}
	}
	if f.jobStatus == "SUCCEEDED" {
		now := time.Now().UTC()
		f.order.CancelledAt = &now
	}
	return "job-1", nil
}

func (f *fakeShopify) CancelJob(context.Context, tenant.Shop, string) (CancelJobStatus, error) {
	return CancelJobStatus{Done: true, Status: f.jobStatus}, nil
}

func (f *fakeShopify) SuggestRefund(context.Context, tenant.Shop, int64, []RefundCommandLine, *decimal.Decimal) (RefundSuggestion, error) {
	return RefundSuggestion{}, errors.New("not used")
}

func (f *fakeShopify) CreateRefund(_ context.Context, _ tenant.Shop, cmd RefundCommand) (int64, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	before, after := f.onRefund, f.afterMade
	f.mu.Unlock()
	if before != nil {
		if err := before(n); err != nil {
			return 0, err
		}
	}
	f.mu.Lock()
	id, seen := f.keys[cmd.IdempotencyKey]
	if !seen {
		f.nextID++
		id = f.nextID
		f.keys[cmd.IdempotencyKey] = id
		f.refunds++
		total := decimal.Zero
		for _, t := range cmd.Transactions {
			total = total.Add(t.Amount)
		}
		pid := int64(5)
		f.order.Refunds = append(f.order.Refunds, ShopifyRefund{ID: id, Note: cmd.Note, CreatedAt: time.Now().UTC(),
			Transactions: []ShopifyTransaction{{ID: id + 1, Kind: "refund", Status: "success", Amount: total, ParentID: &pid}}})
		f.order.Transactions = append(f.order.Transactions, ShopifyTransaction{ID: id + 1, Kind: "refund", Status: "success", Amount: total, ParentID: &pid, CreatedAt: time.Now().UTC()})
	}
	f.mu.Unlock()
	if after != nil {
		if err := after(n); err != nil {
			return 0, err
		}
	}
	return id, nil
}

var testShop = tenant.Shop{ID: 1, Domain: "t.myshopify.com"}

func newEngine(t *testing.T, st *fakeStore, sh *fakeShopify, lease time.Duration) *Service {
	t.Helper()
	return NewService(st, sh, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)), WithLeaseTTL(lease), WithJobWait(time.Second))
}

func submitRefund(t *testing.T, s *Service, st *fakeStore, amount string) Action {
	t.Helper()
	d := decimal.RequireFromString(amount)
	a := Action{ID: fmt.Sprintf("act-%d", len(st.actions)+1), ShopID: 1, OrderID: 1, Kind: ActionRefund, Status: ActionPending, AgentID: "7",
		RefundRequested: true, Plan: ActionPlan{Refund: &RefundRequest{Amount: &d}}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	a.RefundKey = refundKey(a.ID)
	if _, err := st.SubmitAction(context.Background(), Submission{Action: a}, nil); err != nil {
		t.Fatal(err)
	}
	return a
}

var errCrash = errors.New("crash")

// TestEngineCrashAtEachStep: a crash (or outage) before or after the
// refund call, and at each save, never loses the action, never refunds
// twice, and never records a Shopify success as failed.
func TestEngineCrashAtEachStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	steps := []struct {
		name string
		arm  func(st *fakeStore, sh *fakeShopify)
	}{
		{"before refundCreate", func(_ *fakeStore, sh *fakeShopify) {
			sh.onRefund = func(n int) error {
				if n == 1 {
					return fmt.Errorf("%w: 503", ErrShopifyUnavailable)
				}
				return nil
			}
		}},
		{"refund made, answer lost", func(_ *fakeStore, sh *fakeShopify) {
			sh.afterMade = func(n int) error {
				if n == 1 {
					return fmt.Errorf("%w: answer lost", ErrShopifyTimeout)
				}
				return nil
			}
		}},
		{"refund made, save fails", func(st *fakeStore, _ *fakeShopify) {
			failed := false
			st.failUpdate = func(before, after Action) error {
				if !before.RefundDone && after.RefundDone && !failed {
					failed = true
					return errCrash
				}
				return nil
			}
		}},
		{"write-ahead save fails", func(st *fakeStore, _ *fakeShopify) {
			failed := false
			st.failUpdate = func(before, after Action) error {
				if before.RefundInput == nil && after.RefundInput != nil && !failed {
					failed = true
					return errCrash
				}
				return nil
			}
		}},
		{"outcome save fails", func(st *fakeStore, _ *fakeShopify) {
			failed := false
			st.failUpdate = func(before, after Action) error {
				if after.Status.Final() && !failed {
					failed = true
					return errCrash
				}
				return nil
			}
		}},
		{"refund refused on the re-send after a lost answer", func(_ *fakeStore, sh *fakeShopify) {
			sh.afterMade = func(n int) error {
				if n == 1 {
					return fmt.Errorf("%w: answer lost", ErrShopifyTimeout)
				}
				return nil
			}
			sh.onRefund = func(n int) error {
				if n == 2 {
					return fmt.Errorf("%w: exceeds", ErrShopifyRejected)
				}
				return nil
			}
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			t.Parallel()
			st, sh := newFakeStore(), newFakeShopify()
			s := newEngine(t, st, sh, time.Minute)
			step.arm(st, sh)
			a := submitRefund(t, s, st, "10.00")
			got, err := s.Execute(ctx, testShop, a.ID)
			if err == nil && got.Status.Final() && got.Status != ActionSucceeded {
				t.Fatalf("first run ended %s (%s): a Shopify success or a retryable failure recorded as final", got.Status, got.Error)
			}
			for i := 0; i < 3 && !got.Status.Final(); i++ { // the job's next runs
				got, _ = s.Execute(ctx, testShop, a.ID)
			}
			if got.Status != ActionSucceeded || got.ShopifyRefundID == nil {
				t.Fatalf("after resuming: %+v", got)
			}
			if sh.refunds != 1 {
				t.Errorf("Shopify made %d refunds", sh.refunds)
			}
			if !strings.Contains(sh.order.Refunds[0].Note, marker(a.ID)) {
				t.Errorf("refund note %q lacks the action's marker", sh.order.Refunds[0].Note)
			}
		})
	}
}

// TestEngineTwoAgentsEqualAmounts: equal amounts, one after the other:
// two refunds, each action naming its own.
func TestEngineTwoAgentsEqualAmounts(t *testing.T) {
	t.Parallel()
	st, sh := newFakeStore(), newFakeShopify()
	s := newEngine(t, st, sh, time.Minute)
	a := submitRefund(t, s, st, "1.00")
	ga, _ := s.Execute(context.Background(), testShop, a.ID)
	b := submitRefund(t, s, st, "1.00")
	gb, _ := s.Execute(context.Background(), testShop, b.ID)
	if ga.Status != ActionSucceeded || gb.Status != ActionSucceeded || *ga.ShopifyRefundID == *gb.ShopifyRefundID || sh.refunds != 2 {
		t.Fatalf("a = %+v, b = %+v, refunds %d", ga, gb, sh.refunds)
	}
}

// TestEngineReconcilerVersusRequest: while one executor works (Shopify
// slow), another (the sweep) is refused the order and changes nothing; it
// neither shares nor releases the lease.
func TestEngineReconcilerVersusRequest(t *testing.T) {
	t.Parallel()
	st, sh := newFakeStore(), newFakeShopify()
	s := newEngine(t, st, sh, time.Minute)
	entered, release := make(chan struct{}), make(chan struct{})
	sh.onRefund = func(int) error { close(entered); <-release; return nil }
	a := submitRefund(t, s, st, "5.00")
	done := make(chan Action)
	go func() { got, _ := s.Execute(context.Background(), testShop, a.ID); done <- got }()
	<-entered
	if _, err := s.Execute(context.Background(), testShop, a.ID); !errors.Is(err, errLeaseBusy) {
		t.Errorf("second executor: %v, want busy", err)
	}
	if ok, _ := st.AcquireLease(context.Background(), 1, 1, "other", "third", time.Minute); ok {
		t.Error("the busy executor released the worker's lease")
	}
	close(release)
	if got := <-done; got.Status != ActionSucceeded || sh.refunds != 1 {
		t.Errorf("worker = %+v, refunds %d", got, sh.refunds)
	}
}

// TestEngineLeaseExpiresWhileShopifySlow: the first executor stalls past
// its lease; a second takes over and re-sends the same input under the
// same key; the stalled one saves nothing; one refund.
func TestEngineLeaseExpiresWhileShopifySlow(t *testing.T) {
	t.Parallel()
	st, sh := newFakeStore(), newFakeShopify()
	s := newEngine(t, st, sh, 150*time.Millisecond)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	sh.onRefund = func(n int) error {
		if n == 1 {
			once.Do(func() { close(entered) })
			<-release
		}
		return nil
	}
	// The stalled executor cannot renew: its keeper is starved (a GC
	// pause, a frozen VM). Simulated by expiring its lease by hand.
	a := submitRefund(t, s, st, "7.00")
	first := make(chan error, 1)
	go func() { _, err := s.Execute(context.Background(), testShop, a.ID); first <- err }()
	<-entered
	st.mu.Lock()
	st.leases[1] = fakeLease{holder: st.leases[1].holder, expires: time.Now().Add(-time.Second)}
	st.mu.Unlock()
	second, err := s.Execute(context.Background(), testShop, a.ID)
	if err != nil || second.Status != ActionSucceeded {
		t.Fatalf("second executor: %+v, %v", second, err)
	}
	close(release)
	if err := <-first; err == nil {
		t.Error("the stalled executor went on saving after losing its lease")
	}
	final, _ := st.GetAction(context.Background(), 1, a.ID)
	if final.Status != ActionSucceeded || sh.refunds != 1 {
		t.Errorf("final = %+v, refunds %d", final, sh.refunds)
	}
}

// TestEngineCancelThenRefund: a cancel+refund that cancelled and then
// crashed finishes its refund once on resume, without cancelling again
// (the old engine answered already_cancelled and never refunded); a FAILED
// cancel job fails the action with no refund.
func TestEngineCancelThenRefund(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newCancel := func(st *fakeStore) Action {
		a := Action{ID: "cancel-1", ShopID: 1, OrderID: 1, Kind: ActionCancel, Status: ActionPending, AgentID: "7", Reason: "customer",
			RefundRequested: true, Plan: ActionPlan{Cancel: &CancelRequest{Reason: "customer", RefundMode: RefundFull, Restock: true}},
			RefundKey: refundKey("cancel-1"), CreatedAt: time.Now(), UpdatedAt: time.Now()}
		_, _ = st.SubmitAction(ctx, Submission{Action: a}, nil)
		return a
	}
	t.Run("crash after the cancel, before the job id is saved", func(t *testing.T) {
		t.Parallel()
		st, sh := newFakeStore(), newFakeShopify()
		s := newEngine(t, st, sh, time.Minute)
		failed := false
		st.failUpdate = func(before, after Action) error {
			if after.ShopifyJobID != "" && before.ShopifyJobID == "" && !failed {
				failed = true
				return errCrash
			}
			return nil
		}
		a := newCancel(st)
		got, _ := s.Execute(ctx, testShop, a.ID)
		if got.Status.Final() {
			t.Fatalf("first run final: %+v", got)
		}
		got, _ = s.Execute(ctx, testShop, a.ID)
		if got.Status != ActionSucceeded || !got.CancelDone || !got.RefundDone || sh.cancels != 1 || sh.refunds != 1 {
			t.Fatalf("resumed = %+v (cancels %d, refunds %d)", got, sh.cancels, sh.refunds)
		}
	})
	t.Run("FAILED cancel job: failed, no refund", func(t *testing.T) {
		t.Parallel()
		st, sh := newFakeStore(), newFakeShopify()
		sh.jobStatus = "FAILED"
		s := newEngine(t, st, sh, time.Minute)
		a := newCancel(st)
		got, _ := s.Execute(ctx, testShop, a.ID)
		if got.Status != ActionFailed || got.ErrorCode != "shopify_rejected" || sh.refunds != 0 {
			t.Fatalf("got %+v, refunds %d", got, sh.refunds)
		}
	})
}
