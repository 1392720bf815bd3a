package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// customerListRow is customer_syncs with the progress of a customer's
// first list read (migration 00019).
type customerListRow struct {
	ShopID       int64 `gorm:"primaryKey;autoIncrement:false"`
	CustomerID   int64 `gorm:"primaryKey;autoIncrement:false"`
	SyncedAt     time.Time
	FillCursor   *string
	FillOldest   *time.Time
	FillOldestID *int64 `gorm:"column:fill_oldest_id"`
	FillOrders   int
}

func (customerListRow) TableName() string { return "customer_syncs" }

func (r customerListRow) toDomain() orders.CustomerList {
	l := orders.CustomerList{Started: true, SyncedAt: r.SyncedAt.UTC(), Orders: r.FillOrders}
	if r.FillCursor != nil {
		l.Cursor = *r.FillCursor
	}
	if r.FillOldest != nil && r.FillOldestID != nil {
		l.Oldest = orders.Cursor{CreatedAt: r.FillOldest.UTC(), ID: *r.FillOldestID}
	}
	if l.SyncedAt.Year() <= 1 { // the zero time: not complete yet
		l.SyncedAt = time.Time{}
	}
	return l
}

func toCustomerListRow(shopID, customerID int64, l orders.CustomerList) customerListRow {
	row := customerListRow{ShopID: shopID, CustomerID: customerID, SyncedAt: l.SyncedAt.UTC(), FillOrders: l.Orders}
	if l.Cursor != "" {
		c := l.Cursor
		row.FillCursor = &c
	}
	if !l.Oldest.CreatedAt.IsZero() {
		at, id := l.Oldest.CreatedAt.UTC(), l.Oldest.ID
		row.FillOldest, row.FillOldestID = &at, &id
	}
	return row
}

// CustomerList says where the read of a customer's order list stands.
func (o *Orders) CustomerList(ctx context.Context, shopID, customerID int64) (orders.CustomerList, error) {
	var row customerListRow
	err := o.s.db.WithContext(ctx).Where("shop_id = ? AND customer_id = ?", shopID, customerID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return orders.CustomerList{}, nil
	}
	if err != nil {
		return orders.CustomerList{}, fmt.Errorf("customer %d list: %w", customerID, err)
	}
	return row.toDomain(), nil
}

// SaveCustomerPage stores a page of a customer's orders as history, with
// their timeline, and the read's progress after it, in one transaction,
// provided the stored progress is still `from`: a page another process
// stored first is not stored again (orders.ErrListMoved, nothing written).
func (o *Orders) SaveCustomerPage(ctx context.Context, shopID, customerID int64, list []orders.Order, timeline []orders.TimelineEvent, from, to orders.CustomerList) error {
	row := toCustomerListRow(shopID, customerID, to)
	err := o.saveOrders(ctx, shopID, list, timeline, true, func(tx *gorm.DB) error {
		var res *gorm.DB
		if !from.Started {
			// The first page: no read of this customer may have begun.
			res = tx.Exec("INSERT INTO customer_syncs (shop_id, customer_id, synced_at, fill_cursor, fill_oldest, fill_oldest_id, fill_orders) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shop_id, customer_id) DO NOTHING",
				row.ShopID, row.CustomerID, row.SyncedAt, row.FillCursor, row.FillOldest, row.FillOldestID, row.FillOrders)
		} else {
			res = tx.Model(&customerListRow{}).
				Where("shop_id = ? AND customer_id = ? AND fill_cursor = ?", shopID, customerID, from.Cursor).
				Updates(map[string]any{"synced_at": row.SyncedAt, "fill_cursor": row.FillCursor, "fill_oldest": row.FillOldest, "fill_oldest_id": row.FillOldestID, "fill_orders": row.FillOrders})
		}
		if res.Error != nil {
			return fmt.Errorf("customer %d list progress: %w", customerID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("customer %d: %w", customerID, orders.ErrListMoved)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save customer %d page: %w", customerID, err)
	}
	return nil
}

// UnfinishedCustomerLists lists customers of installed shops whose first
// list read stopped before its last page (a failure, a restart), by shop
// and customer id, after the one named by after (from the first when
// zero).
func (o *Orders) UnfinishedCustomerLists(ctx context.Context, after orders.ShopCustomer, limit int) ([]orders.ShopCustomer, error) {
	var rows []struct {
		ShopID     int64
		Domain     string
		CustomerID int64
	}
	err := o.s.db.WithContext(ctx).Table("customer_syncs").Select("customer_syncs.shop_id, shops.domain, customer_syncs.customer_id").
		Joins("JOIN shops ON shops.id = customer_syncs.shop_id").
		Where("customer_syncs.fill_cursor IS NOT NULL AND shops.state = ?", string(tenant.Installed)).
		Where("(customer_syncs.shop_id > ? OR (customer_syncs.shop_id = ? AND customer_syncs.customer_id > ?))", after.Shop.ID, after.Shop.ID, after.CustomerID).
		Order("customer_syncs.shop_id, customer_syncs.customer_id").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("unfinished customer lists: %w", err)
	}
	out := make([]orders.ShopCustomer, 0, len(rows))
	for _, r := range rows {
		out = append(out, orders.ShopCustomer{Shop: tenant.Shop{ID: r.ShopID, Domain: r.Domain}, CustomerID: r.CustomerID})
	}
	return out, nil
}
