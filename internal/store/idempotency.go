package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/idempotency"
)

type idempotencyRow struct {
	ShopID         int64
	APIKeyID       int64  `gorm:"primaryKey;autoIncrement:false;column:api_key_id"`
	Key            string `gorm:"primaryKey"`
	RequestHash    string
	ActionID       string
	LockedUntil    *time.Time
	ResponseStatus *int
	ResponseBody   []byte
	CreatedAt      time.Time `gorm:"autoCreateTime:false"`
	ExpiresAt      time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// Idempotency implements idempotency.Store.
type Idempotency struct{ s *Store }

// Idempotency returns the idempotency.Store view of the database.
func (s *Store) Idempotency() *Idempotency { return &Idempotency{s: s} }

// Claim inserts the record or takes over a resumable one, in one atomic
// upsert: of concurrent claims exactly one affects a row.
func (i *Idempotency) Claim(ctx context.Context, k idempotency.Key, rec idempotency.Record, now time.Time) (idempotency.Record, bool, error) {
	db := i.s.db.WithContext(ctx)
	now = now.UTC()
	// Expired keys are forgotten: the same key starts afresh.
	if err := db.Where("api_key_id = ? AND key = ? AND expires_at < ?", k.APIKeyID, k.Key, now).Delete(&idempotencyRow{}).Error; err != nil {
		return idempotency.Record{}, false, fmt.Errorf("expire key: %w", err)
	}
	row := idempotencyRow{
		ShopID: k.ShopID, APIKeyID: k.APIKeyID, Key: k.Key, RequestHash: rec.RequestHash, ActionID: rec.ActionID,
		LockedUntil: utcPtr(rec.LockedUntil), CreatedAt: now, ExpiresAt: rec.ExpiresAt.UTC(),
	}
	res := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "api_key_id"}, {Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"locked_until"}),
		Where: clause.Where{Exprs: []clause.Expression{clause.Expr{
			SQL: "idempotency_keys.request_hash = excluded.request_hash AND idempotency_keys.response_status IS NULL AND " +
				"(idempotency_keys.locked_until IS NULL OR idempotency_keys.locked_until < ?)",
			Vars: []any{now},
		}}},
	}).Create(&row)
	if res.Error != nil {
		return idempotency.Record{}, false, fmt.Errorf("claim key: %w", res.Error)
	}
	var got idempotencyRow
	if err := db.Where("api_key_id = ? AND key = ?", k.APIKeyID, k.Key).Take(&got).Error; err != nil {
		return idempotency.Record{}, false, fmt.Errorf("read key: %w", err)
	}
	out := idempotency.Record{RequestHash: got.RequestHash, ActionID: got.ActionID, LockedUntil: got.LockedUntil, Body: got.ResponseBody, ExpiresAt: got.ExpiresAt}
	if got.ResponseStatus != nil {
		out.Status = *got.ResponseStatus
	}
	return out, res.RowsAffected == 1, nil
}

// Complete stores the final answer and releases the lease.
func (i *Idempotency) Complete(ctx context.Context, k idempotency.Key, status int, body []byte) error {
	err := i.s.db.WithContext(ctx).Model(&idempotencyRow{}).Where("api_key_id = ? AND key = ?", k.APIKeyID, k.Key).
		Updates(map[string]any{"response_status": status, "response_body": body, "locked_until": nil}).Error
	if err != nil {
		return fmt.Errorf("complete key: %w", err)
	}
	return nil
}

// Release drops the lease so a retry can resume.
func (i *Idempotency) Release(ctx context.Context, k idempotency.Key) error {
	err := i.s.db.WithContext(ctx).Model(&idempotencyRow{}).Where("api_key_id = ? AND key = ?", k.APIKeyID, k.Key).
		Update("locked_until", nil).Error
	if err != nil {
		return fmt.Errorf("release key: %w", err)
	}
	return nil
}

// DeleteExpired forgets records that expired before now.
func (i *Idempotency) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res := i.s.db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&idempotencyRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete expired keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
