package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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
	RefundRequested bool
	CancelDone      bool
	RefundDone      bool
	ShopifyRefundID *int64
	ShopifyJobID    *string
	Error           *string
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt       time.Time `gorm:"autoUpdateTime:false"`
	CompletedAt     *time.Time
}

func (actionRow) TableName() string { return "actions" }

func toActionRow(a orders.Action) actionRow {
	r := actionRow{
		ID: a.ID, ShopID: a.ShopID, OrderID: a.OrderID, Kind: string(a.Kind), Status: string(a.Status), AgentID: a.AgentID,
		Reason: nonEmpty(a.Reason), Currency: nonEmpty(a.Currency), Request: string(a.Request),
		RefundRequested: a.RefundRequested, CancelDone: a.CancelDone, RefundDone: a.RefundDone, ShopifyRefundID: a.ShopifyRefundID,
		ShopifyJobID: nonEmpty(a.ShopifyJobID), Error: nonEmpty(a.Error),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(), CompletedAt: utcPtr(a.CompletedAt),
	}
	if r.Request == "" {
		r.Request = "{}"
	}
	if a.Amount != nil {
		s := a.Amount.String()
		r.Amount = &s
	}
	return r
}

func (r actionRow) toDomain() (orders.Action, error) {
	a := orders.Action{
		ID: r.ID, ShopID: r.ShopID, OrderID: r.OrderID, Kind: orders.ActionKind(r.Kind), Status: orders.ActionStatus(r.Status),
		AgentID: r.AgentID, Reason: deref(r.Reason), Currency: deref(r.Currency), Request: []byte(r.Request),
		RefundRequested: r.RefundRequested, CancelDone: r.CancelDone, RefundDone: r.RefundDone, ShopifyRefundID: r.ShopifyRefundID,
		ShopifyJobID: deref(r.ShopifyJobID), Error: deref(r.Error),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), CompletedAt: utcPtr(r.CompletedAt),
	}
	if r.Amount != nil {
		d, err := decimal.NewFromString(*r.Amount)
		if err != nil {
			return orders.Action{}, fmt.Errorf("action %s amount %q: %w", r.ID, *r.Amount, err)
		}
		a.Amount = &d
	}
	return a, nil
}

// CreateAction records a new action.
func (o *Orders) CreateAction(ctx context.Context, a orders.Action) error {
	row := toActionRow(a)
	if err := o.s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create action %s: %w", a.ID, err)
	}
	return nil
}

// UpdateAction saves an action's progress.
func (o *Orders) UpdateAction(ctx context.Context, a orders.Action) error {
	row := toActionRow(a)
	if err := o.s.db.WithContext(ctx).Select("*").Where("shop_id = ? AND id = ?", a.ShopID, a.ID).Updates(&row).Error; err != nil {
		return fmt.Errorf("update action %s: %w", a.ID, err)
	}
	return nil
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

// UnknownActions returns unknown-outcome actions last touched before
// `before`, oldest first, across shops.
func (o *Orders) UnknownActions(ctx context.Context, before time.Time, limit int) ([]orders.ShopAction, error) {
	var rows []actionRow
	if err := o.s.db.WithContext(ctx).Where("status = ? AND updated_at < ?", string(orders.ActionUnknown), before.UTC()).
		Order("updated_at").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("unknown actions: %w", err)
	}
	acts, err := actionsToDomain(rows)
	if err != nil {
		return nil, err
	}
	// The shops of the batch, in one query.
	ids := make([]int64, 0, len(acts))
	for _, a := range acts {
		ids = append(ids, a.ShopID)
	}
	var shopRows []shopRow
	if err := o.s.db.WithContext(ctx).Where("id IN ?", ids).Find(&shopRows).Error; err != nil {
		return nil, fmt.Errorf("shops of unknown actions: %w", err)
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

type orderLockRow struct {
	ShopID      int64 `gorm:"primaryKey;autoIncrement:false"`
	OrderID     int64 `gorm:"primaryKey;autoIncrement:false"`
	ActionID    string
	LockedUntil time.Time
}

func (orderLockRow) TableName() string { return "order_locks" }

// LockOrder takes the order's lease for actionID: it inserts the lock row,
// or takes over one whose lease ran out (or that actionID already holds).
// One statement, so replicas racing for it cannot both win.
func (o *Orders) LockOrder(ctx context.Context, shopID, orderID int64, actionID string, until time.Time) (bool, error) {
	row := orderLockRow{ShopID: shopID, OrderID: orderID, ActionID: actionID, LockedUntil: until.UTC()}
	res := o.s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "shop_id"}, {Name: "order_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"action_id", "locked_until"}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "order_locks.locked_until < ? OR order_locks.action_id = ?", Vars: []any{time.Now().UTC(), actionID}},
		}},
	}).Create(&row)
	if res.Error != nil {
		return false, fmt.Errorf("lock order %d: %w", orderID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// UnlockOrder releases the lease if actionID holds it.
func (o *Orders) UnlockOrder(ctx context.Context, shopID, orderID int64, actionID string) error {
	err := o.s.db.WithContext(ctx).Where("shop_id = ? AND order_id = ? AND action_id = ?", shopID, orderID, actionID).
		Delete(&orderLockRow{}).Error
	if err != nil {
		return fmt.Errorf("unlock order %d: %w", orderID, err)
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
	if len(events) == 0 {
		return nil
	}
	rows := make([]timelineRow, 0, len(events))
	for _, e := range events {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("encode timeline data: %w", err)
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
	err := o.s.db.WithContext(ctx).Clauses(clause.OnConflict{
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
