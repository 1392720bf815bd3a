package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// orderRow is an order as stored: indexed columns for filtering and paging,
// and the Shopify facts as JSON, from which the domain rebuilds the rest.
type orderRow struct {
	ShopID      int64 `gorm:"primaryKey;autoIncrement:false"`
	ID          int64 `gorm:"primaryKey;autoIncrement:false"`
	Name        string
	OrderNumber int
	CustomerID  *int64
	Email       *string
	Phone       *string
	// PhoneE164 is Phone in E.164, what ?phone= compares; "" when Phone
	// is not a phone number, NULL when there is no phone.
	PhoneE164         *string `gorm:"column:phone_e164"`
	Status            string
	FinancialStatus   string
	FulfillmentStatus string
	Currency          string
	CreatedAt         time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt         time.Time `gorm:"autoUpdateTime:false"`
	SyncedAt          time.Time
	Shopify           string
	// Doc is the view's document rendered from this row's order (without
	// its synced_at), of DocVersion's shape; NULL when the store has no
	// renderer.
	Doc        *string
	DocVersion int
	// DocWrittenAt is when Doc was written (NULL with no renderer): a
	// write of the facts that leaves it as it was clears Doc (a trigger).
	DocWrittenAt *time.Time
}

func (orderRow) TableName() string { return "orders" }

type customerSyncRow struct {
	ShopID     int64 `gorm:"primaryKey;autoIncrement:false"`
	CustomerID int64 `gorm:"primaryKey;autoIncrement:false"`
	SyncedAt   time.Time
}

func (customerSyncRow) TableName() string { return "customer_syncs" }

// toOrderRow is the one builder of stored orders: every write of an order
// (webhook, refresh, read-through, action outcome, backfill) stores its
// rendered document with its facts.
func toOrderRow(shopID int64, o orders.Order, phoneRegion string, render orders.Renderer) (orderRow, error) {
	raw, err := json.Marshal(o.Source)
	if err != nil {
		return orderRow{}, fmt.Errorf("encode order %d: %w", o.ID, err)
	}
	row := orderRow{
		ShopID:            shopID,
		ID:                o.ID,
		Name:              o.Name,
		OrderNumber:       o.Number,
		Status:            string(o.Status),
		FinancialStatus:   string(o.FinancialStatus),
		FulfillmentStatus: string(o.FulfillmentStatus),
		Currency:          o.Currency,
		CreatedAt:         o.CreatedAt.UTC(),
		UpdatedAt:         o.UpdatedAt.UTC(),
		SyncedAt:          o.SyncedAt.UTC(),
		Shopify:           string(raw),
	}
	if r := render; r.Render != nil {
		doc, err := r.Render(o)
		if err != nil {
			return orderRow{}, fmt.Errorf("render order %d: %w", o.ID, err)
		}
		d, at := string(doc), time.Now().UTC()
		row.Doc, row.DocVersion, row.DocWrittenAt = &d, r.Version, &at
	}
	if c := o.Customer; c != nil {
		row.CustomerID = &c.ID
		row.Email = nonEmpty(c.Email)
		row.Phone = nonEmpty(c.Phone)
	}
	if row.Email == nil {
		row.Email = nonEmpty(o.Source.Email)
	}
	if row.Phone == nil {
		row.Phone = nonEmpty(o.Source.Phone)
	}
	if row.Phone != nil {
		e164 := normalizePhone(*row.Phone, phoneRegion)
		row.PhoneE164 = &e164
	}
	return row, nil
}

func (r orderRow) toDomain() (orders.Order, error) {
	var src orders.ShopifyOrder
	if err := json.Unmarshal([]byte(r.Shopify), &src); err != nil {
		return orders.Order{}, fmt.Errorf("decode stored order %d: %w", r.ID, err)
	}
	return orders.Build(src, r.SyncedAt.UTC()), nil
}

// Orders implements orders.Store.
type Orders struct{ s *Store }

// Orders returns the orders.Store view of the database.
func (s *Store) Orders() *Orders { return &Orders{s: s} }

// upsertColumns are overwritten when a newer copy of an order arrives.
var upsertColumns = []string{
	"name", "order_number", "customer_id", "email", "phone", "phone_e164", "status", "financial_status",
	"fulfillment_status", "currency", "created_at", "updated_at", "synced_at", "shopify", "doc", "doc_version", "doc_written_at",
}

// UpsertOrders stores orders. A stored copy whose Shopify updated_at is newer
// than the incoming one is kept: deliveries and reads arrive out of order.
// An order listed twice is written once, as its newest copy (copiesOf).
func (o *Orders) UpsertOrders(ctx context.Context, shopID int64, list []orders.Order) error {
	rows, err := o.toOrderRows(shopID, newestCopies(list))
	if err != nil {
		return err
	}
	return o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return upsertOrderRows(tx, rows) })
}

// toOrderRows is toOrderRow for each order.
func (o *Orders) toOrderRows(shopID int64, list []orders.Order) ([]orderRow, error) {
	rows := make([]orderRow, 0, len(list))
	for _, ord := range list {
		row, err := toOrderRow(shopID, ord, o.s.phoneRegion, o.s.render)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// upsertOrderRows is UpsertOrders' statement, in db's transaction.
func upsertOrderRows(db *gorm.DB, rows []orderRow) error {
	if len(rows) == 0 {
		return nil
	}
	if err := holdShops(db, shopsOf(rows, func(r orderRow) int64 { return r.ShopID })...); err != nil {
		return fmt.Errorf("upsert %d orders: %w", len(rows), err)
	}
	if isPostgres(db) {
		return pgUpsertOrders(db, rows)
	}
	err := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "shop_id"}, {Name: "id"}},
		DoUpdates: clause.AssignmentColumns(upsertColumns),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "orders.updated_at <= excluded.updated_at"},
		}},
	}).CreateInBatches(rows, 200).Error
	if err != nil {
		return fmt.Errorf("upsert %d orders: %w", len(rows), err)
	}
	return nil
}

// GetOrder returns one of the shop's orders.
func (o *Orders) GetOrder(ctx context.Context, shopID, orderID int64) (orders.Order, error) {
	var row orderRow
	// The document is what views send; the domain order is built from the facts.
	err := o.s.db.WithContext(ctx).Omit("doc").Where("shop_id = ? AND id = ?", shopID, orderID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return orders.Order{}, fmt.Errorf("order %d: %w", orderID, orders.ErrNotFound)
	}
	if err != nil {
		return orders.Order{}, fmt.Errorf("order %d: %w", orderID, err)
	}
	return row.toDomain()
}

// GetOrders returns those of the orders the shop has, by id: GetOrder
// for many, one statement per idChunk ids.
func (o *Orders) GetOrders(ctx context.Context, shopID int64, orderIDs []int64) (map[int64]orders.Order, error) {
	out := make(map[int64]orders.Order, len(orderIDs))
	for chunk := range slices.Chunk(orderIDs, idChunk) {
		var rows []orderRow
		if err := o.s.db.WithContext(ctx).Omit("doc").Where("shop_id = ? AND id IN ?", shopID, chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("read %d orders: %w", len(chunk), err)
		}
		for _, r := range rows {
			ord, err := r.toDomain()
			if err != nil {
				return nil, err
			}
			out[r.ID] = ord
		}
	}
	return out, nil
}

// ListOrders returns the shop's orders matching f, newest first.
func (o *Orders) ListOrders(ctx context.Context, shopID int64, f orders.ListFilter) ([]orders.Order, error) {
	var rows []orderRow
	if err := o.listQuery(ctx, shopID, f).Omit("doc").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	out := make([]orders.Order, 0, len(rows))
	for _, r := range rows {
		ord, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, ord)
	}
	return out, nil
}

// listQuery selects the shop's orders matching f, newest first, f.Limit of them.
func (o *Orders) listQuery(ctx context.Context, shopID int64, f orders.ListFilter) *gorm.DB {
	q := o.s.db.WithContext(ctx).Model(&orderRow{}).Where("shop_id = ?", shopID)
	if f.CustomerID != 0 {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if f.Email != "" {
		q = q.Where("lower(email) = ?", strings.ToLower(f.Email))
	}
	if f.Phone != "" {
		e164 := normalizePhone(f.Phone, o.s.phoneRegion)
		if e164 == "" {
			// Not a phone number: it matches nothing, not the stored
			// phones that are not numbers either (the API refuses it
			// before it gets here).
			q = q.Where("1 = 0")
		}
		q = q.Where("phone_e164 = ?", e164)
	}
	if f.Name != "" {
		// "1001" finds "#1001" (and an order a shop names "1001"); a name
		// given with its '#' is matched as it is.
		names := []string{f.Name}
		if !strings.HasPrefix(f.Name, "#") {
			names = append(names, "#"+f.Name)
		}
		q = q.Where("name IN ?", names)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.FinancialStatus != "" {
		q = q.Where("financial_status = ?", string(f.FinancialStatus))
	}
	if f.FulfillmentStatus != "" {
		q = q.Where("fulfillment_status = ?", string(f.FulfillmentStatus))
	}
	if !f.UpdatedSince.IsZero() {
		q = q.Where("updated_at >= ?", f.UpdatedSince.UTC())
	}
	if c := f.Through; c != nil {
		at := c.CreatedAt.UTC()
		q = q.Where("(created_at > ? OR (created_at = ? AND id >= ?))", at, at, c.ID)
	}
	if c := f.After; c != nil {
		at := c.CreatedAt.UTC()
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", at, at, c.ID)
	}
	return q.Order("created_at DESC, id DESC").Limit(f.Limit)
}

// CustomerSyncedAt says when a customer's orders were last read from Shopify.
func (o *Orders) CustomerSyncedAt(ctx context.Context, shopID, customerID int64) (time.Time, error) {
	var row customerSyncRow
	err := o.s.db.WithContext(ctx).Where("shop_id = ? AND customer_id = ?", shopID, customerID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("customer sync time: %w", err)
	}
	return row.SyncedAt.UTC(), nil
}

// MarkCustomerSynced records when a customer's orders were read.
func (o *Orders) MarkCustomerSynced(ctx context.Context, shopID, customerID int64, t time.Time) error {
	row := customerSyncRow{ShopID: shopID, CustomerID: customerID, SyncedAt: t.UTC()}
	err := o.s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "shop_id"}, {Name: "customer_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"synced_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("mark customer synced: %w", err)
	}
	return nil
}

// normalizePhone is a phone number's E.164 form, or "" (matched by no
// search) when it is not one.
func normalizePhone(raw, region string) string {
	e164, ok := orders.NormalizePhone(raw, region)
	if !ok {
		return ""
	}
	return e164
}

// backfillPhones fills phone_e164 (migration 00008) for stored orders that
// have a phone but no normalised form yet: the rows written before the
// column existed. libphonenumber's rules are not SQL, so this runs in Go
// after the migrations, in batches, and finds nothing to do once done.
func (s *Store) backfillPhones(ctx context.Context, log *slog.Logger) error {
	total := 0
	for {
		var rows []orderRow
		err := s.db.WithContext(ctx).Select("shop_id", "id", "phone").
			Where("phone IS NOT NULL AND phone_e164 IS NULL").Order("shop_id, id").Limit(500).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("backfill phone_e164: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, r := range rows {
				e164 := normalizePhone(*r.Phone, s.phoneRegion)
				// The phone is part of the condition: a row rewritten
				// meanwhile keeps its writer's value.
				if err := tx.Model(&orderRow{}).Where("shop_id = ? AND id = ? AND phone = ? AND phone_e164 IS NULL", r.ShopID, r.ID, *r.Phone).
					Update("phone_e164", e164).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("backfill phone_e164: %w", err)
		}
		total += len(rows)
	}
	if total > 0 {
		log.InfoContext(ctx, "normalised stored phone numbers", "orders", total, "region", s.phoneRegion)
	}
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
