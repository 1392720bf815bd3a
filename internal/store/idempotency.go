package store

import (
	"context"
	"fmt"
	"time"

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

// DeleteExpired forgets records that expired before now.
func (i *Idempotency) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res := i.s.db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&idempotencyRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete expired keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Settle stores the first final answer of a key; a key that has one keeps
// it. It returns the answer the key holds afterwards.
func (i *Idempotency) Settle(ctx context.Context, k idempotency.Key, status int, body []byte) (idempotency.Response, error) {
	db := i.s.db.WithContext(ctx)
	err := db.Model(&idempotencyRow{}).Where("api_key_id = ? AND key = ? AND response_status IS NULL", k.APIKeyID, k.Key).
		Updates(map[string]any{"response_status": status, "response_body": body, "locked_until": nil}).Error
	if err != nil {
		return idempotency.Response{}, fmt.Errorf("settle key: %w", err)
	}
	var got idempotencyRow
	if err := db.Where("api_key_id = ? AND key = ?", k.APIKeyID, k.Key).Take(&got).Error; err != nil {
		return idempotency.Response{}, fmt.Errorf("read key: %w", err)
	}
	if got.ResponseStatus == nil {
		return idempotency.Response{}, fmt.Errorf("settle key: no answer stored")
	}
	return idempotency.Response{Status: *got.ResponseStatus, Body: got.ResponseBody}, nil
}
