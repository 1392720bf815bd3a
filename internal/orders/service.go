package orders

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"golang.org/x/sync/singleflight"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Store is the persistence the domain needs. Every call is scoped by shop.
type Store interface {
	// UpsertOrders stores orders; a stored order with a newer Shopify
	// updated_at is kept rather than overwritten.
	UpsertOrders(ctx context.Context, shopID int64, orders []Order) error
	// GetOrder returns one order, or ErrNotFound.
	GetOrder(ctx context.Context, shopID, orderID int64) (Order, error)
	// GetOrders returns those of the orders the shop has, by id (the
	// ones it does not have are absent).
	GetOrders(ctx context.Context, shopID int64, orderIDs []int64) (map[int64]Order, error)
	// ListOrders returns up to f.Limit orders matching f, newest first
	// (created_at, then id), after f.Cursor when set.
	ListOrders(ctx context.Context, shopID int64, f ListFilter) ([]Order, error)
	// CustomerSyncedAt says when a customer's order list was last read from
	// Shopify; the zero time when never.
	CustomerSyncedAt(ctx context.Context, shopID, customerID int64) (time.Time, error)
	// MarkCustomerSynced records that a customer's list was read at t.
	MarkCustomerSynced(ctx context.Context, shopID, customerID int64, t time.Time) error
	// CustomerListStore keeps the progress of a customer's first list read.
	CustomerListStore

	// SaveOrders stores orders as UpsertOrders does, with the timeline
	// events their facts tell and the outbound events of facts not reported
	// before, in one transaction. history: the facts were learned as history
	// (a backfill, a contact's first read), so an order seen for the first
	// time is recorded without announcing its past to the CRM.
	SaveOrders(ctx context.Context, shopID int64, orders []Order, timeline []TimelineEvent, history bool) error
	// ActionStore and LeaseStore keep actions and the order leases.
	ActionStore
	LeaseStore
	// AddTimelineEvents records timeline events, replacing those with the same id.
	AddTimelineEvents(ctx context.Context, shopID int64, events []TimelineEvent) error
	// Timeline returns up to limit of a customer's events, newest first
	// (occurred_at, then id), after the cursor when set.
	Timeline(ctx context.Context, shopID, customerID int64, after *TimelineCursor, limit int) ([]TimelineEvent, error)
	ViewStore
}

// ShopAction is an action and the shop it belongs to.
type ShopAction struct {
	Shop   tenant.Shop
	Action Action
}

// TimelineEvent is one entry on a contact's activity timeline.
type TimelineEvent struct {
	ID         string
	CustomerID int64
	OrderID    int64
	OrderName  string
	Type       string
	OccurredAt time.Time
	Summary    string
	AgentID    string
	Data       map[string]any
}

// Shopify is the shop's Admin API as the domain needs it. Errors wrap
// ErrNotFound, ErrShopifyUnavailable, ErrShopifyTimeout, ErrShopifyAuth or
// ErrShopifyRateLimited.
type Shopify interface {
	// Order reads one order with its transactions and fulfilment events.
	Order(ctx context.Context, shop tenant.Shop, orderID int64) (ShopifyOrder, error)
	// CustomerOrders reads every order of a customer, any status.
	CustomerOrders(ctx context.Context, shop tenant.Shop, customerID int64) ([]ShopifyOrder, error)
	// CustomerOrdersPage reads one page of a customer's orders, any status,
	// newest first (created_at, then id), after Shopify's cursor `after`
	// (from the first when empty).
	CustomerOrdersPage(ctx context.Context, shop tenant.Shop, customerID int64, after string) (CustomerOrdersPage, error)
	// OrdersPage reads one page of the shop's orders for a backfill.
	OrdersPage(ctx context.Context, shop tenant.Shop, req PageRequest) (OrdersPage, error)

	// CancelOrder sends orderCancel once and returns its job id. Shopify's
	// refusals wrap ErrShopifyRejected, ErrRuleViolation or ErrInvalidInput.
	CancelOrder(ctx context.Context, shop tenant.Shop, cmd CancelCommand) (string, error)
	// CancelJob reads a cancel's job once (node(id:) → OrderCancelJobResult);
	// a job Shopify does not know is ErrNotFound.
	CancelJob(ctx context.Context, shop tenant.Shop, jobID string) (CancelJobStatus, error)
	// SuggestRefund asks Shopify what refunding these lines and this
	// shipping comes to, taxes and discounts included, and how it splits
	// across the order's payments.
	SuggestRefund(ctx context.Context, shop tenant.Shop, orderID int64, lines []RefundCommandLine, shipping *decimal.Decimal) (RefundSuggestion, error)
	// CreateRefund makes a refund (refundCreate) with exactly cmd's input
	// under cmd.IdempotencyKey: the same key never refunds twice. It
	// returns the refund id.
	CreateRefund(ctx context.Context, shop tenant.Shop, cmd RefundCommand) (int64, error)
}

// CancelCommand is an orderCancel call. It never refunds: refunds go
// through CreateRefund, whose idempotency key makes them safe to retry.
type CancelCommand struct {
	OrderID        int64  `json:"order_id"`
	Reason         string `json:"reason"`
	Restock        bool   `json:"restock"`
	NotifyCustomer bool   `json:"notify_customer"`
	StaffNote      string `json:"staff_note"`
}

// RefundCommand is a refundCreate call: its input and its key.
type RefundCommand struct {
	OrderID        int64  `json:"order_id"`
	IdempotencyKey string `json:"idempotency_key"`
	Note           string `json:"note"`
	NotifyCustomer bool   `json:"notify"`
	// Currency is set when the order's presentment currency differs from
	// the shop's; the amounts are then in it.
	Currency     string              `json:"currency,omitempty"`
	Lines        []RefundCommandLine `json:"lines,omitempty"`
	Shipping     *decimal.Decimal    `json:"shipping,omitempty"`
	Transactions []RefundTransaction `json:"transactions"`
}

// RefundSuggestion is Shopify's reckoning of a line-item refund.
type RefundSuggestion struct {
	Amount       decimal.Decimal
	Transactions []RefundTransaction
}

// RefundCommandLine refunds a quantity of a line item with a restock type:
// "cancel" (never shipped), "return" (came back) or "no_restock".
type RefundCommandLine struct {
	LineItemID  int64  `json:"line_item_id"`
	Quantity    int    `json:"quantity"`
	RestockType string `json:"restock_type"`
	// LocationID is where a returned item goes back to stock: the location
	// that shipped it. Zero lets Shopify choose (unshipped items).
	LocationID int64 `json:"location_id,omitempty"`
}

// PageRequest asks for one page of orders. PageInfo, once set, carries the
// query; Shopify rejects other filters alongside it.
type PageRequest struct {
	UpdatedAtMin time.Time
	Limit        int
	PageInfo     string
}

// OrdersPage is one page of orders and the token of the next, if any.
type OrdersPage struct {
	Orders       []ShopifyOrder
	NextPageInfo string
}

// ListFilter selects orders. Zero values do not filter.
type ListFilter struct {
	CustomerID        int64
	Email             string
	Phone             string
	Name              string
	Status            Status
	FinancialStatus   FinancialStatus
	FulfillmentStatus FulfillmentStatus
	UpdatedSince      time.Time
	// Through, set by the service (not by clients), keeps only the orders
	// up to this position, it included: a customer's list is cut at the
	// edge of what has been read of it.
	Through *Cursor
	Limit   int
	After   *Cursor
}

// Cursor is a position in the newest-first order list.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// Encode makes the opaque string handed to clients.
func (c Cursor) Encode() string { return encodeCursor(c.CreatedAt, strconv.FormatInt(c.ID, 10)) }

// DecodeCursor parses a client's cursor; a malformed one is a ValidationError.
func DecodeCursor(s string) (Cursor, error) {
	at, key, err := decodeCursor(s)
	if err != nil {
		return Cursor{}, err
	}
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil || strconv.FormatInt(id, 10) != key {
		return Cursor{}, errBadCursor
	}
	return Cursor{CreatedAt: at, ID: id}, nil
}

var errBadCursor = &ValidationError{Code: "invalid_cursor", Fields: []FieldError{{Field: "cursor", Message: "is not a cursor this API returned"}}}

// encodeCursor and decodeCursor carry a keyset position (a time and a key)
// as an opaque string: base64 of "RFC3339Nano|key".
func encodeCursor(at time.Time, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + key))
}

// A cursor is taken only in the form encodeCursor writes, with a key of
// printable UTF-8: what reaches a query is what the API handed out.
func decodeCursor(s string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return time.Time{}, "", errBadCursor
	}
	ts, key, ok := strings.Cut(string(raw), "|")
	at, terr := time.Parse(time.RFC3339Nano, ts)
	if !ok || terr != nil || key == "" || !utf8.ValidString(key) || strings.ContainsFunc(key, unicode.IsControl) ||
		encodeCursor(at, key) != s {
		return time.Time{}, "", errBadCursor
	}
	return at, key, nil
}

// Page is a page of orders and the cursor of the next one.
type Page struct {
	Orders []Order
	Next   *Cursor
	// Complete is false while the customer's list is still being read from
	// Shopify: orders not read yet will come after this page's (they are
	// older), never within the pages served so far.
	Complete bool
}

// Service serves orders from the store: a missing copy is read through from
// Shopify, a copy older than the TTL is served and refreshed in the background.
type Service struct {
	store   Store
	lists   CustomerListStore
	actions ActionStore
	leases  LeaseStore
	shopify Shopify
	queue   ActionQueue
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger
	flight  singleflight.Group
	refresh *refresher
	budget  RefreshBudget
	// listWait bounds how long a customer's list request reads Shopify.
	listWait time.Duration
	// settleAfter is how long a pending action rests, untouched and
	// unleased, before the sweep carries it on.
	settleAfter time.Duration
	// leaseTTL is an executor's hold on an order between renewals.
	leaseTTL time.Duration
	// runTimeout bounds one run of an action; jobWait one wait for a
	// cancel's job.
	runTimeout time.Duration
	jobWait    time.Duration
}

// Option adjusts a Service.
type Option func(*Service)

// WithRefreshBudget bounds the background refreshes of stale copies per
// shop (default DefaultRefreshBudget).
func WithRefreshBudget(b RefreshBudget) Option { return func(s *Service) { s.budget = b } }

// WithListWait bounds how long a customer's list request reads Shopify
// before it answers with what is stored (default DefaultListWait).
func WithListWait(d time.Duration) Option { return func(s *Service) { s.listWait = d } }

// WithSettleDelay sets how long a pending action rests, untouched and
// unleased, before the sweep carries it on (default 5s).
func WithSettleDelay(d time.Duration) Option { return func(s *Service) { s.settleAfter = d } }

// WithLeaseTTL sets how long an executor's hold on an order lasts between
// renewals (default 20s): how soon a crashed executor's action resumes.
func WithLeaseTTL(d time.Duration) Option { return func(s *Service) { s.leaseTTL = d } }

// WithJobWait bounds one wait for a cancel's job (default 10s).
func WithJobWait(d time.Duration) Option { return func(s *Service) { s.jobWait = d } }

// NewService wires a Service. ttl is how long a stored copy is served
// without asking Shopify again.
func NewService(store Store, shopify Shopify, ttl time.Duration, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, lists: store, actions: store, leases: store, shopify: shopify, ttl: ttl, now: time.Now, log: log, listWait: DefaultListWait,
		settleAfter: 5 * time.Second, leaseTTL: 20 * time.Second, runTimeout: 50 * time.Second, jobWait: 10 * time.Second, budget: DefaultRefreshBudget}
	for _, o := range opts {
		o(s)
	}
	s.refresh = newRefresher(s.budget, log)
	return s
}

// Get returns one order. A stored copy is the answer whenever there is one:
// a copy older than the TTL is refreshed in the background, within the
// shop's budget, and the view does not wait for it. Only a missing order or
// refresh (the agent asked for Shopify's state) waits on Shopify.
func (s *Service) Get(ctx context.Context, shop tenant.Shop, id int64, refresh bool) (Order, error) {
	if !refresh {
		stored, err := s.store.GetOrder(ctx, shop.ID, id)
		switch {
		case err == nil:
			if !s.fresh(stored.SyncedAt) {
				s.refreshOrderLater(shop, id)
			}
			return stored, nil
		case !errors.Is(err, ErrNotFound):
			return Order{}, fmt.Errorf("get order %d: %w", id, err)
		}
	}
	return s.fetchOrder(ctx, shop, id, refresh)
}

// refreshOrderLater schedules a background re-read of a stale copy. A
// refresh that fails keeps the copy; one that read an older state than the
// stored copy is not stored (UpsertOrders keeps the newer updated_at).
func (s *Service) refreshOrderLater(shop tenant.Shop, id int64) {
	key := refreshKey{shopID: shop.ID, id: id}
	if s.refresh.busy(key) {
		return
	}
	s.refresh.schedule(key, func(ctx context.Context) error {
		// Refreshed meanwhile (a webhook, an action, another view's read-through).
		if o, err := s.store.GetOrder(ctx, shop.ID, id); err == nil && s.fresh(o.SyncedAt) {
			return nil
		}
		src, err := s.shopify.Order(ctx, shop, id)
		if err != nil {
			return fmt.Errorf("refresh order %d from shopify: %w", id, err)
		}
		if err := s.save(ctx, shop.ID, Build(src, s.now().UTC())); err != nil {
			return fmt.Errorf("store refreshed order %d: %w", id, err)
		}
		return nil
	})
}

// Close stops the background refreshes (those still queued are dropped:
// the next view or the reconciliation sweep schedules them again) and
// waits for the running ones, bounded by ctx.
func (s *Service) Close(ctx context.Context) error { return s.refresh.close(ctx) }

// fetchOrder reads an order from Shopify and stores it. Concurrent callers
// for the same order share one Shopify call. The shared call does not end
// when the first caller goes away (the adapter bounds it), so one agent
// closing a tab does not fail the others' views.
func (s *Service) fetchOrder(ctx context.Context, shop tenant.Shop, id int64, refresh bool) (Order, error) {
	key := fmt.Sprintf("order:%d:%d:%t", shop.ID, id, refresh)
	caller := ctx
	ctx = context.WithoutCancel(ctx)
	v, err, _ := s.flight.Do(key, func() (any, error) {
		// A caller that lost the race to a finished flight finds the copy here.
		if !refresh {
			if o, err := s.store.GetOrder(ctx, shop.ID, id); err == nil {
				return o, nil
			}
		}
		src, err := s.shopify.Order(ctx, shop, id)
		if err != nil {
			return Order{}, fmt.Errorf("read order %d from shopify: %w", id, err)
		}
		if err := s.save(ctx, shop.ID, Build(src, s.now().UTC())); err != nil {
			return Order{}, fmt.Errorf("store order %d: %w", id, err)
		}
		// Read back: a newer copy stored meanwhile (a webhook) wins.
		return s.store.GetOrder(ctx, shop.ID, id)
	})
	if err != nil {
		return Order{}, err
	}
	if err := caller.Err(); err != nil {
		return Order{}, err
	}
	return v.(Order), nil
}

// List returns a page of orders. A customer's list is read through to
// Shopify only while it was never read whole (listCustomer); a complete list
// read longer ago than the TTL is served as stored and refreshed in the
// background.
func (s *Service) List(ctx context.Context, shop tenant.Shop, f ListFilter) (Page, error) {
	p, err := listOf(ctx, s, shop, f, s.ordersSource())
	return Page{Orders: p.entries, Next: p.next, Complete: p.complete}, err
}

// readCustomer reads every order of a customer from Shopify and stores them
// as news (a stale list's refresh: the first read learned the past).
func (s *Service) readCustomer(ctx context.Context, shop tenant.Shop, customerID int64) error {
	srcs, err := s.shopify.CustomerOrders(ctx, shop, customerID)
	if err != nil {
		return fmt.Errorf("read customer %d orders from shopify: %w", customerID, err)
	}
	now := s.now().UTC()
	if err := s.save(ctx, shop.ID, buildAll(srcs, now)...); err != nil {
		return fmt.Errorf("store customer %d orders: %w", customerID, err)
	}
	return s.store.MarkCustomerSynced(ctx, shop.ID, customerID, now)
}

// save stores orders, the timeline events their facts tell and the
// outbound events of their new facts, in one transaction.
func (s *Service) save(ctx context.Context, shopID int64, list ...Order) error {
	return s.saveAs(ctx, shopID, false, list)
}

func (s *Service) saveAs(ctx context.Context, shopID int64, history bool, list []Order) error {
	return s.store.SaveOrders(ctx, shopID, list, timelineOf(list), history)
}

// timelineOf is the timeline the orders' facts tell.
func timelineOf(list []Order) []TimelineEvent {
	var events []TimelineEvent
	for _, o := range list {
		events = append(events, TimelineFor(o)...)
	}
	return events
}

func (s *Service) fresh(syncedAt time.Time) bool {
	return !syncedAt.IsZero() && s.now().Sub(syncedAt) < s.ttl
}

func buildAll(srcs []ShopifyOrder, now time.Time) []Order {
	out := make([]Order, len(srcs))
	for i, src := range srcs {
		out[i] = Build(src, now)
	}
	return out
}

// SyncRun is a backfill's progress, kept so an interrupted run resumes.
type SyncRun struct {
	// ID names the run that owns the progress: a new one for each run
	// started, and for each resume (which claims the stored progress).
	ID       string
	Since    time.Time
	PageInfo string // the paged read's next page
	// Checkpoint is where a bulk export's download stands (the Exporter's
	// own encoding); empty when the run pages.
	Checkpoint string
	Pages      int
	Orders     int
	Finished   bool
	StartedAt  time.Time
}
