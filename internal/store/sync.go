package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// migrateRiver brings River's own tables up to date. River's migrator takes
// no lock, and its migrations cannot share one transaction, so on Postgres
// replicas take turns on a session advisory lock held on its own
// connection. An embedded SQLite belongs to one process and needs none.
func (s *Store) migrateRiver(ctx context.Context) error {
	if s.pool != nil {
		m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
		if err != nil {
			return fmt.Errorf("river migrator: %w", err)
		}
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("river migration lock: %w", err)
		}
		defer conn.Release()
		const key = "hashtext('orderdesk-river-migrate:' || current_schema())"
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
			return fmt.Errorf("river migration lock: %w", err)
		}
		defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")") }()
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrate: %w", err)
		}
		return nil
	}
	// The embedded database belongs to one process: no lock needed.
	m, err := rivermigrate.New(riversqlite.New(s.sqlDB), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

// RecordDelivery records a delivery under its webhook id and, in the same
// transaction, lets enqueue insert the job that applies it: the job exists
// if and only if the delivery record does. A refused delivery has no
// enqueue (nil) and is recorded with its refusal. It returns false, doing
// nothing, for a delivery already recorded. enqueue receives a pgx.Tx on
// Postgres and a *sql.Tx on SQLite, the types River's drivers take.
func (s *Store) RecordDelivery(ctx context.Context, d webhooks.Delivery, enqueue func(ctx context.Context, tx any) error) (bool, error) {
	const insert = "INSERT INTO webhook_deliveries (shop_id, webhook_id, event_id, topic, received_at, refusal) VALUES (%s) ON CONFLICT (webhook_id) DO NOTHING"
	args := []any{d.ShopID, d.WebhookID, nullable(d.EventID), d.Topic, d.ReceivedAt.UTC(), nullable(d.Refusal)}
	if enqueue == nil {
		enqueue = func(context.Context, any) error { return nil }
	}
	if s.pool != nil {
		fresh := false
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, fmt.Sprintf(insert, "$1, $2, $3, $4, $5, $6"), args...)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			fresh = true
			return enqueue(ctx, tx)
		})
		if err != nil {
			return false, fmt.Errorf("record delivery: %w", err)
		}
		return fresh, nil
	}
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, fmt.Sprintf(insert, "?, ?, ?, ?, ?, ?"), args...)
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if err := enqueue(ctx, tx); err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	return true, nil
}

// RefuseDelivery records why a recorded delivery's job applied nothing
// (an app/uninstalled Shopify does not confirm).
func (s *Store) RefuseDelivery(ctx context.Context, webhookID, refusal string) error {
	res := s.db.WithContext(ctx).Table("webhook_deliveries").Where("webhook_id = ?", webhookID).Update("refusal", refusal)
	if res.Error != nil {
		return fmt.Errorf("refuse delivery %s: %w", webhookID, res.Error)
	}
	return nil
}

// nullable stores "" as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RedactCustomer erases a customer's personal data: contact details in the
// stored orders (the columns and the Shopify JSON) and their timeline.
func (o *Orders) RedactCustomer(ctx context.Context, shopID, customerID int64, orderIDs []int64) error {
	return o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []orderRow
		q := tx.Where("shop_id = ? AND customer_id = ?", shopID, customerID)
		if len(orderIDs) > 0 {
			q = tx.Where("shop_id = ? AND (customer_id = ? OR id IN ?)", shopID, customerID, orderIDs)
		}
		if err := q.Find(&rows).Error; err != nil {
			return fmt.Errorf("redact: %w", err)
		}
		for _, r := range rows {
			var src orders.ShopifyOrder
			if err := json.Unmarshal([]byte(r.Shopify), &src); err != nil {
				return fmt.Errorf("redact order %d: %w", r.ID, err)
			}
			src.Email, src.Phone = "", ""
			if src.Customer != nil {
				src.Customer = &orders.ShopifyCustomer{ID: src.Customer.ID}
			}
			raw, err := json.Marshal(src)
			if err != nil {
				return fmt.Errorf("redact order %d: %w", r.ID, err)
			}
			if err := tx.Model(&orderRow{}).Where("shop_id = ? AND id = ?", shopID, r.ID).
				Updates(map[string]any{"email": nil, "phone": nil, "phone_e164": nil, "shopify": string(raw)}).Error; err != nil {
				return fmt.Errorf("redact order %d: %w", r.ID, err)
			}
		}
		if err := tx.Where("shop_id = ? AND customer_id = ?", shopID, customerID).Delete(&timelineRow{}).Error; err != nil {
			return fmt.Errorf("redact timeline: %w", err)
		}
		return nil
	})
}

// ForgetShop deletes everything stored for a shop that has uninstalled the
// app (every table references shops with ON DELETE CASCADE); false, and
// nothing deleted, while the shop is installed. Shopify sends shop/redact
// 48 hours after an uninstall; one arriving for an installed shop (the
// shop installed again, or an old delivery resent under a fresh, unsigned
// webhook id) must not erase the installation.
func (o *Orders) ForgetShop(ctx context.Context, shopID int64) (bool, error) {
	res := o.s.db.WithContext(ctx).Where("id = ? AND state = ?", shopID, string(tenant.Uninstalled)).Delete(&shopRow{})
	if res.Error != nil {
		return false, fmt.Errorf("forget shop %d: %w", shopID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

type syncRunRow struct {
	ShopID     int64 `gorm:"primaryKey;autoIncrement:false"`
	Since      *time.Time
	PageInfo   string
	Checkpoint string
	Pages      int
	Orders     int
	Finished   bool
	StartedAt  time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt  time.Time `gorm:"autoUpdateTime:false"`
}

func (syncRunRow) TableName() string { return "sync_runs" }

// SyncRun returns the shop's last backfill; found is false when none ran.
func (o *Orders) SyncRun(ctx context.Context, shopID int64) (orders.SyncRun, bool, error) {
	var r syncRunRow
	err := o.s.db.WithContext(ctx).Where("shop_id = ?", shopID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return orders.SyncRun{}, false, nil
	}
	if err != nil {
		return orders.SyncRun{}, false, fmt.Errorf("sync run: %w", err)
	}
	run := orders.SyncRun{PageInfo: r.PageInfo, Checkpoint: r.Checkpoint, Pages: r.Pages, Orders: r.Orders, Finished: r.Finished, StartedAt: r.StartedAt.UTC()}
	if r.Since != nil {
		run.Since = r.Since.UTC()
	}
	return run, true, nil
}

// SaveSyncRun records a backfill's progress.
func (o *Orders) SaveSyncRun(ctx context.Context, shopID int64, run orders.SyncRun) error {
	r := syncRunRow{ShopID: shopID, PageInfo: run.PageInfo, Checkpoint: run.Checkpoint, Pages: run.Pages, Orders: run.Orders, Finished: run.Finished,
		StartedAt: run.StartedAt.UTC(), UpdatedAt: time.Now().UTC()}
	if !run.Since.IsZero() {
		since := run.Since.UTC()
		r.Since = &since
	}
	err := o.s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "shop_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"since", "page_info", "checkpoint", "pages", "orders", "finished", "started_at", "updated_at"}),
	}).Create(&r).Error
	if err != nil {
		return fmt.Errorf("save sync run: %w", err)
	}
	return nil
}

// StaleOrders lists open orders last read before `before`, oldest first,
// of installed shops (an uninstalled shop's copy is kept as it is).
func (o *Orders) StaleOrders(ctx context.Context, before time.Time, limit int) ([]orders.ShopOrder, error) {
	var rows []struct {
		ShopID int64
		Domain string
		ID     int64
	}
	err := o.s.db.WithContext(ctx).Table("orders").Select("orders.shop_id, shops.domain, orders.id").
		Joins("JOIN shops ON shops.id = orders.shop_id").
		Where("orders.status = ? AND orders.synced_at < ? AND shops.state = ?", string(orders.StatusOpen), before.UTC(), string(tenant.Installed)).
		Order("orders.synced_at").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("stale orders: %w", err)
	}
	out := make([]orders.ShopOrder, 0, len(rows))
	for _, r := range rows {
		out = append(out, orders.ShopOrder{Shop: tenant.Shop{ID: r.ShopID, Domain: r.Domain}, OrderID: r.ID})
	}
	return out, nil
}
