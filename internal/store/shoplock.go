package store

import (
	"database/sql"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// The shop's row stands in for the foreign keys Postgres' orders, events,
// event_sequences and timeline_events no longer have (migration 00021):
// every statement that inserts into them runs after holdShops in its
// transaction, and a trigger on shops deletes their rows with the shop.

// holdShops locks each shop's row FOR KEY SHARE until tx ends, as a
// foreign key's check does: ForgetShop, which takes the row FOR UPDATE,
// waits for tx, and deletes what it wrote. It fails, wrapping
// tenant.ErrNotFound, when a shop is gone (forgotten while tx waited, or
// never stored). tx must be a transaction: outside one the lock would end
// with the statement. On SQLite it does nothing: the keys are there.
func holdShops(tx *gorm.DB, shopIDs ...int64) error {
	if !isPostgres(tx) || len(shopIDs) == 0 {
		return nil
	}
	ids := slices.Compact(slices.Sorted(slices.Values(shopIDs)))
	held := 0
	err := pgQuery(tx, `SELECT id FROM shops WHERE id = ANY(?) ORDER BY id FOR KEY SHARE`, []any{ids}, func(*sql.Rows) error {
		held++
		return nil
	})
	if err != nil {
		return fmt.Errorf("hold shops %v: %w", ids, err)
	}
	if held != len(ids) {
		return fmt.Errorf("shops %v: %w", ids, tenant.ErrNotFound)
	}
	return nil
}

// forgetShop deletes the shop when it is in state; the other tables' rows
// go with it (their keys' cascade, or on Postgres 00021's trigger for the
// four without a key). Its row is held FOR UPDATE first: writers holding
// it (holdShops) finish before, and their rows are deleted with the rest;
// writers after it find the shop gone.
func forgetShop(tx *gorm.DB, shopID int64, state string) (bool, error) {
	q := tx.Model(&shopRow{}).Where("id = ? AND state = ?", shopID, state)
	if isPostgres(tx) {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var ids []int64
	if err := q.Pluck("id", &ids).Error; err != nil {
		return false, err
	}
	if len(ids) == 0 {
		return false, nil
	}
	res := tx.Where("id = ?", shopID).Delete(&shopRow{})
	return res.RowsAffected > 0, res.Error
}

// shopsOf is the shops of rows, each once.
func shopsOf[R any](rows []R, shop func(R) int64) []int64 {
	ids := make([]int64, 0, 1)
	for _, r := range rows {
		if id := shop(r); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
