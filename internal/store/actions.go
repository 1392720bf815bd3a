package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/idempotency"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

type actionRow struct {
	ID              string `gorm:"primaryKey"`
	ShopID          int64
	OrderID         int64
	Kind            string
	Status          string
	AgentID         string
	Reason          *string
	Amount          *string
	Currency        *string
	Request         string
	Plan            *string
	CancelInput     *string
	RefundInput     *string
	RefundKey       *string
	CancelAttempts  int
	RefundAttempts  int
	Executions      int
	RefundRequested bool
	CancelDone      bool
	RefundDone      bool
	ShopifyRefundID *int64
	ShopifyJobID    *string
	ErrorCode       *string
	Error           *string
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt       time.Time `gorm:"autoUpdateTime:false"`
	CompletedAt     *time.Time
}

func (actionRow) TableName() string { return "actions" }

func jsonPtr(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

func toActionRow(a orders.Action) (actionRow, error) {
	r := actionRow{
		ID: a.ID, ShopID: a.ShopID, OrderID: a.OrderID, Kind: string(a.Kind), Status: string(a.Status), AgentID: a.AgentID,
		Reason: nonEmpty(a.Reason), Currency: nonEmpty(a.Currency), Request: string(a.Request),
		RefundKey: nonEmpty(a.RefundKey), CancelAttempts: a.CancelAttempts, RefundAttempts: a.RefundAttempts, Executions: a.Executions,
		RefundRequested: a.RefundRequested, CancelDone: a.CancelDone, RefundDone: a.RefundDone, ShopifyRefundID: a.ShopifyRefundID,
		ShopifyJobID: nonEmpty(a.ShopifyJobID), ErrorCode: nonEmpty(a.ErrorCode), Error: nonEmpty(a.Error),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(), CompletedAt: utcPtr(a.CompletedAt),
	}
	if r.Request == "" {
		r.Request = "{}"
	}
	if a.Amount != nil {
		s := a.Amount.String()
		r.Amount = &s
	}
	var err error
	if r.Plan, err = jsonPtr(a.Plan); err != nil {
		return actionRow{}, fmt.Errorf("encode action %s plan: %w", a.ID, err)
	}
	if a.CancelInput != nil {
		if r.CancelInput, err = jsonPtr(a.CancelInput); err != nil {
			return actionRow{}, fmt.Errorf("encode action %s cancel input: %w", a.ID, err)
		}
	}
	if a.RefundInput != nil {
		if r.RefundInput, err = jsonPtr(a.RefundInput); err != nil {
			return actionRow{}, fmt.Errorf("encode action %s refund input: %w", a.ID, err)
		}
	}
	return r, nil
}

func (r actionRow) toDomain() (orders.Action, error) {
	a := orders.Action{
		ID: r.ID, ShopID: r.ShopID, OrderID: r.OrderID, Kind: orders.ActionKind(r.Kind), Status: orders.ActionStatus(r.Status),
		AgentID: r.AgentID, Reason: deref(r.Reason), Currency: deref(r.Currency), Request: []byte(r.Request),
		RefundKey: deref(r.RefundKey), CancelAttempts: r.CancelAttempts, RefundAttempts: r.RefundAttempts, Executions: r.Executions,
		RefundRequested: r.RefundRequested, CancelDone: r.CancelDone, RefundDone: r.RefundDone, ShopifyRefundID: r.ShopifyRefundID,
		ShopifyJobID: deref(r.ShopifyJobID), ErrorCode: deref(r.ErrorCode), Error: deref(r.Error),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), CompletedAt: utcPtr(r.CompletedAt),
	}
	if r.Amount != nil {
		d, err := decimal.NewFromString(*r.Amount)
		if err != nil {
			return orders.Action{}, fmt.Errorf("action %s amount %q: %w", r.ID, *r.Amount, err)
		}
		a.Amount = &d
	}
	if r.Plan != nil {
		if err := json.Unmarshal([]byte(*r.Plan), &a.Plan); err != nil {
			return orders.Action{}, fmt.Errorf("action %s plan: %w", r.ID, err)
		}
	}
	if r.CancelInput != nil {
		a.CancelInput = &orders.CancelCommand{}
		if err := json.Unmarshal([]byte(*r.CancelInput), a.CancelInput); err != nil {
			return orders.Action{}, fmt.Errorf("action %s cancel input: %w", r.ID, err)
		}
	}
	if r.RefundInput != nil {
		a.RefundInput = &orders.RefundCommand{}
		if err := json.Unmarshal([]byte(*r.RefundInput), a.RefundInput); err != nil {
			return orders.Action{}, fmt.Errorf("action %s refund input: %w", r.ID, err)
		}
	}
	return a, nil
}

// hookList holds the functions run inside the transaction that makes an
// action final.
type hookList struct {
	mu    sync.RWMutex
	hooks []orders.OutcomeHook
}

// OnActionFinal registers h: UpdateAction calls it inside the transaction
// that moves an action from pending to succeeded or failed, with that
// transaction (a *sql.Tx, on both databases). An error from h rolls the
// change back. Register hooks before serving.
func (s *Store) OnActionFinal(h orders.OutcomeHook) {
	s.hooks.final.mu.Lock()
	defer s.hooks.final.mu.Unlock()
	s.hooks.final.hooks = append(s.hooks.final.hooks, h)
}

func (s *Store) outcomeHooks() []orders.OutcomeHook {
	s.hooks.final.mu.RLock()
	defer s.hooks.final.mu.RUnlock()
	return append([]orders.OutcomeHook(nil), s.hooks.final.hooks...)
}

// sqlTx is the database/sql transaction under a GORM transaction: River's
// database/sql drivers (and the outcome hooks) take it.
func sqlTx(tx *gorm.DB) (*sql.Tx, error) {
	t, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("store: transaction is a %T, not a *sql.Tx", tx.Statement.ConnPool)
	}
	return t, nil
}

// SubmitAction claims the request's Idempotency-Key, records its action
// and lets enqueue insert the action's job, all in one transaction: the key
// names an action if and only if the action and its job exist. A key
// already claimed with the same request returns its action (and its stored
// answer, once there is one) and creates nothing; with another request it
// is idempotency.ErrKeyReused. Another pending action on the order is
// orders.ErrActionInProgress and claims nothing.
func (o *Orders) SubmitAction(ctx context.Context, sub orders.Submission, enqueue orders.EnqueueFunc) (orders.Submitted, error) {
	var out orders.Submitted
	err := o.s.retryBusy(ctx, func() error {
		var err error
		out, err = o.submitAction(ctx, sub, enqueue)
		return err
	})
	return out, err
}

// retryBusy runs a whole transaction again when SQLite refused it as busy,
// which it can under many concurrent writers although its busy timeout is
// set.
func (s *Store) retryBusy(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !isBusy(err) || attempt == 8 || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
	}
}

// isBusy recognises SQLite's "database is locked".
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

func (o *Orders) submitAction(ctx context.Context, sub orders.Submission, enqueue orders.EnqueueFunc) (orders.Submitted, error) {
	var out orders.Submitted
	c := sub.Claim
	now := sub.Action.CreatedAt.UTC()
	err := o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		got, err := readKey(tx, c, now)
		if err != nil {
			return err
		}
		if got != nil {
			if got.ResponseStatus != nil {
				out.Answer = &orders.StoredAnswer{Status: *got.ResponseStatus, Body: got.ResponseBody}
			}
			var ar actionRow
			err := tx.Where("shop_id = ? AND id = ?", c.ShopID, got.ActionID).Take(&ar).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				if out.Answer != nil {
					return nil // a stored answer of a request that made no action
				}
				return idempotency.ErrInFlight
			}
			if err != nil {
				return fmt.Errorf("read action of key: %w", err)
			}
			a, err := ar.toDomain()
			out.Action = a
			return err
		}
		var busy int64
		if err := tx.Model(&actionRow{}).Where("shop_id = ? AND order_id = ? AND status = ?", sub.Action.ShopID, sub.Action.OrderID, string(orders.ActionPending)).
			Count(&busy).Error; err != nil {
			return fmt.Errorf("pending actions: %w", err)
		}
		if busy > 0 {
			return orders.ErrActionInProgress
		}
		if err := claimKey(tx, c, sub.Action.ID, now); err != nil {
			return err
		}
		row, err := toActionRow(sub.Action)
		if err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			if isUniqueViolation(err) {
				return orders.ErrActionInProgress
			}
			return fmt.Errorf("create action %s: %w", sub.Action.ID, err)
		}
		stx, err := sqlTx(tx)
		if err != nil {
			return err
		}
		if err := enqueue(ctx, stx, sub.Action); err != nil {
			return fmt.Errorf("enqueue action %s: %w", sub.Action.ID, err)
		}
		out.Action, out.Created = sub.Action, true
		return nil
	})
	if err != nil {
		return orders.Submitted{}, fmt.Errorf("submit action: %w", err)
	}
	return out, nil
}

// readKey forgets the key if it expired, and returns its record, or nil
// when it has none; a record of another request (or shop) is
// idempotency.ErrKeyReused.
func readKey(tx *gorm.DB, c orders.IdempotencyClaim, now time.Time) (*idempotencyRow, error) {
	if err := tx.Where("api_key_id = ? AND key = ? AND expires_at < ?", c.APIKeyID, c.Key, now).Delete(&idempotencyRow{}).Error; err != nil {
		return nil, fmt.Errorf("expire key: %w", err)
	}
	var rows []idempotencyRow
	if err := tx.Where("api_key_id = ? AND key = ?", c.APIKeyID, c.Key).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	if rows[0].RequestHash != c.RequestHash || rows[0].ShopID != c.ShopID {
		return nil, idempotency.ErrKeyReused
	}
	return &rows[0], nil
}

// claimKey records the key for what it makes (an action, an endpoint),
// in the caller's transaction; a concurrent request claiming it first is
// idempotency.ErrInFlight.
func claimKey(tx *gorm.DB, c orders.IdempotencyClaim, madeID string, now time.Time) error {
	claim := idempotencyRow{ShopID: c.ShopID, APIKeyID: c.APIKeyID, Key: c.Key, RequestHash: c.RequestHash, ActionID: madeID,
		CreatedAt: now, ExpiresAt: c.ExpiresAt.UTC()}
	if err := tx.Create(&claim).Error; err != nil {
		if isUniqueViolation(err) {
			return idempotency.ErrInFlight
		}
		return fmt.Errorf("claim key: %w", err)
	}
	return nil
}

// isUniqueViolation recognises a unique-constraint failure on both databases.
func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value")
}

// CreateAction records an action outside a submission (tests, imports).
func (o *Orders) CreateAction(ctx context.Context, a orders.Action) error {
	row, err := toActionRow(a)
	if err != nil {
		return err
	}
	if err := o.s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create action %s: %w", a.ID, err)
	}
	return nil
}

// errFinal refuses to change the outcome of a final action.
var errFinal = errors.New("the action is final")

// UpdateAction changes an action in one transaction: it reads the row
// (locked on Postgres; SQLite transactions take the write lock up front),
// lets change edit it, and writes it back. An error from change leaves the
// row as it was and is returned as it is. A final action's outcome never
// changes. When the change makes the action final, the outcome hooks run in
// the same transaction.
func (o *Orders) UpdateAction(ctx context.Context, shopID int64, id string, change func(*orders.Action) error) (orders.Action, error) {
	var out orders.Action
	var changeErr error
	var written []events.Event
	err := o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		written = nil
		q := tx
		if o.s.dialect == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var row actionRow
		err := q.Where("shop_id = ? AND id = ?", shopID, id).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("action %s: %w", id, orders.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read action %s: %w", id, err)
		}
		a, err := row.toDomain()
		if err != nil {
			return err
		}
		before := a.Status
		if err := change(&a); err != nil {
			changeErr = err
			return err
		}
		if before.Final() && a.Status != before {
			return fmt.Errorf("update action %s from %s to %s: %w", id, before, a.Status, errFinal)
		}
		a.ID, a.ShopID = id, shopID
		next, err := toActionRow(a)
		if err != nil {
			return err
		}
		if err := tx.Select("*").Where("shop_id = ? AND id = ?", shopID, id).Updates(&next).Error; err != nil {
			return fmt.Errorf("update action %s: %w", id, err)
		}
		if !before.Final() && a.Status.Final() {
			hooks := o.s.outcomeHooks()
			if len(hooks) > 0 {
				stx, err := sqlTx(tx)
				if err != nil {
					return err
				}
				for _, h := range hooks {
					if err := h(ctx, stx, a); err != nil {
						return fmt.Errorf("outcome hook for action %s: %w", id, err)
					}
				}
			}
			// The action.* event is written with the outcome it reports.
			w, err := writeActionEvent(tx, a)
			if err != nil {
				return err
			}
			written = w
			if f := o.s.hooks.beforeCommit; f != nil {
				return f()
			}
		}
		out = a
		return nil
	})
	if changeErr != nil && errors.Is(err, changeErr) {
		return orders.Action{}, changeErr
	}
	if err != nil {
		return orders.Action{}, err
	}
	o.s.written(written)
	return out, nil
}

// GetAction returns one of the shop's actions.
func (o *Orders) GetAction(ctx context.Context, shopID int64, id string) (orders.Action, error) {
	var row actionRow
	err := o.s.db.WithContext(ctx).Where("shop_id = ? AND id = ?", shopID, id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return orders.Action{}, fmt.Errorf("action %s: %w", id, orders.ErrNotFound)
	}
	if err != nil {
		return orders.Action{}, fmt.Errorf("action %s: %w", id, err)
	}
	return row.toDomain()
}

// ListActions returns an order's actions, newest first.
func (o *Orders) ListActions(ctx context.Context, shopID, orderID int64) ([]orders.Action, error) {
	var rows []actionRow
	if err := o.s.db.WithContext(ctx).Where("shop_id = ? AND order_id = ?", shopID, orderID).
		Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return actionsToDomain(rows)
}

// PendingActions returns pending actions last touched before `before`
// whose order nobody holds a live lease on, oldest first, across shops:
// the ones the sweep settles.
func (o *Orders) PendingActions(ctx context.Context, before time.Time, limit int) ([]orders.ShopAction, error) {
	var rows []actionRow
	err := o.s.db.WithContext(ctx).
		Where("status = ? AND updated_at < ?", string(orders.ActionPending), before.UTC()).
		Where("NOT EXISTS (SELECT 1 FROM order_leases l WHERE l.shop_id = actions.shop_id AND l.order_id = actions.order_id AND l.expires_ms >= " + o.s.dbNowMillis() + ")").
		Order("updated_at").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("pending actions: %w", err)
	}
	acts, err := actionsToDomain(rows)
	if err != nil {
		return nil, err
	}
	if len(acts) == 0 {
		return nil, nil
	}
	// The shops of the batch, in one query.
	ids := make([]int64, 0, len(acts))
	for _, a := range acts {
		ids = append(ids, a.ShopID)
	}
	var shopRows []shopRow
	if err := o.s.db.WithContext(ctx).Where("id IN ?", ids).Find(&shopRows).Error; err != nil {
		return nil, fmt.Errorf("shops of pending actions: %w", err)
	}
	shops := make(map[int64]tenant.Shop, len(shopRows))
	for _, r := range shopRows {
		shops[r.ID] = r.toDomain()
	}
	out := make([]orders.ShopAction, 0, len(acts))
	for _, a := range acts {
		out = append(out, orders.ShopAction{Shop: shops[a.ShopID], Action: a})
	}
	return out, nil
}

func actionsToDomain(rows []actionRow) ([]orders.Action, error) {
	out := make([]orders.Action, 0, len(rows))
	for _, r := range rows {
		a, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// dbNowMillis is the database's clock in milliseconds since the epoch, as
// SQL: leases expire on it, so replicas with skewed clocks agree.
func (s *Store) dbNowMillis() string {
	if s.dialect == "postgres" {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// AcquireLease takes the order's lease for holder (working on actionID)
// for ttl: it inserts the lease, or takes over one that expired. One
// statement, so racing holders cannot both win. A holder already holding
// it is refused too: a token is used once.
func (o *Orders) AcquireLease(ctx context.Context, shopID, orderID int64, actionID, holder string, ttl time.Duration) (bool, error) {
	now := o.s.dbNowMillis()
	res := o.s.db.WithContext(ctx).Exec(
		"INSERT INTO order_leases (shop_id, order_id, holder, action_id, expires_ms) VALUES (?, ?, ?, ?, "+now+" + ?) "+
			"ON CONFLICT (shop_id, order_id) DO UPDATE SET holder = excluded.holder, action_id = excluded.action_id, expires_ms = excluded.expires_ms "+
			"WHERE order_leases.expires_ms < "+now,
		shopID, orderID, holder, actionID, ttl.Milliseconds())
	if res.Error != nil {
		return false, fmt.Errorf("acquire lease on order %d: %w", orderID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RenewLease extends holder's lease by ttl from now; false when holder
// no longer holds it (it expired and another took it, or it was released).
func (o *Orders) RenewLease(ctx context.Context, shopID, orderID int64, holder string, ttl time.Duration) (bool, error) {
	res := o.s.db.WithContext(ctx).Exec("UPDATE order_leases SET expires_ms = "+o.s.dbNowMillis()+" + ? WHERE shop_id = ? AND order_id = ? AND holder = ?",
		ttl.Milliseconds(), shopID, orderID, holder)
	if res.Error != nil {
		return false, fmt.Errorf("renew lease on order %d: %w", orderID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseLease drops the lease if holder holds it; nobody else's.
func (o *Orders) ReleaseLease(ctx context.Context, shopID, orderID int64, holder string) error {
	err := o.s.db.WithContext(ctx).Exec("DELETE FROM order_leases WHERE shop_id = ? AND order_id = ? AND holder = ?", shopID, orderID, holder).Error
	if err != nil {
		return fmt.Errorf("release lease on order %d: %w", orderID, err)
	}
	return nil
}

type timelineRow struct {
	ID         string `gorm:"primaryKey"`
	ShopID     int64
	CustomerID *int64
	OrderID    *int64
	OrderName  *string
	Type       string
	OccurredAt time.Time
	Summary    string
	AgentID    *string
	Data       string
}

func (timelineRow) TableName() string { return "timeline_events" }

// AddTimelineEvents records events, replacing those with the same id.
func (o *Orders) AddTimelineEvents(ctx context.Context, shopID int64, events []orders.TimelineEvent) error {
	rows, err := toTimelineRows(shopID, events)
	if err != nil {
		return err
	}
	return o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return addTimelineRows(tx, rows) })
}

func toTimelineRows(shopID int64, events []orders.TimelineEvent) ([]timelineRow, error) {
	rows := make([]timelineRow, 0, len(events))
	for _, e := range events {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return nil, fmt.Errorf("encode timeline data: %w", err)
		}
		row := timelineRow{
			ID: e.ID, ShopID: shopID, OrderName: nonEmpty(e.OrderName), Type: e.Type, OccurredAt: e.OccurredAt.UTC(),
			Summary: e.Summary, AgentID: nonEmpty(e.AgentID), Data: string(data),
		}
		if e.CustomerID != 0 {
			row.CustomerID = &e.CustomerID
		}
		if e.OrderID != 0 {
			row.OrderID = &e.OrderID
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// addTimelineRows is AddTimelineEvents' statement, in db's transaction.
func addTimelineRows(db *gorm.DB, rows []timelineRow) error {
	if len(rows) == 0 {
		return nil
	}
	if err := holdShops(db, shopsOf(rows, func(r timelineRow) int64 { return r.ShopID })...); err != nil {
		return fmt.Errorf("add timeline events: %w", err)
	}
	if isPostgres(db) {
		return pgAddTimeline(db, rows)
	}
	err := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"type", "summary", "data", "occurred_at", "customer_id", "order_name"}),
		// Event ids are per shop in practice (they name the order); the
		// guard keeps one shop's event from ever overwriting another's.
		Where: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "timeline_events.shop_id = excluded.shop_id"}}},
	}).CreateInBatches(rows, 200).Error
	if err != nil {
		return fmt.Errorf("add timeline events: %w", err)
	}
	return nil
}

// Timeline returns a customer's events, newest first, after the cursor,
// in orders.CompareTimeline's order: time, the type's rank, id.
func (o *Orders) Timeline(ctx context.Context, shopID, customerID int64, after *orders.TimelineCursor, limit int) ([]orders.TimelineEvent, error) {
	rank := timelineRankSQL()
	q := o.s.db.WithContext(ctx).Where("shop_id = ? AND customer_id = ?", shopID, customerID)
	if after != nil {
		at := after.At.UTC()
		q = q.Where("(occurred_at < ? OR (occurred_at = ? AND ("+rank+" < ? OR ("+rank+" = ? AND id < ?))))", at, at, after.Rank, after.Rank, after.ID)
	}
	var rows []timelineRow
	if err := q.Order("occurred_at DESC, " + rank + " DESC, id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	out := make([]orders.TimelineEvent, 0, len(rows))
	for _, r := range rows {
		e := orders.TimelineEvent{ID: r.ID, Type: r.Type, OccurredAt: r.OccurredAt.UTC(), Summary: r.Summary,
			OrderName: deref(r.OrderName), AgentID: deref(r.AgentID)}
		if r.CustomerID != nil {
			e.CustomerID = *r.CustomerID
		}
		if r.OrderID != nil {
			e.OrderID = *r.OrderID
		}
		dec := json.NewDecoder(strings.NewReader(r.Data))
		dec.UseNumber() // Shopify ids stay exact integers
		if err := dec.Decode(&e.Data); err != nil {
			return nil, fmt.Errorf("timeline event %s: %w", r.ID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
