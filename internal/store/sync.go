package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
// enqueue (nil) and is recorded with its refusal; one that carries its
// order is recorded with its body, pending (ClaimPending), and has none
// either. It returns false, doing nothing, for a delivery already
// recorded. enqueue receives a pgx.Tx on Postgres and a *sql.Tx on
// SQLite, the types River's drivers take.
func (s *Store) RecordDelivery(ctx context.Context, d webhooks.Delivery, enqueue func(ctx context.Context, tx any) error) (bool, error) {
	const insert = "INSERT INTO webhook_deliveries (shop_id, webhook_id, event_id, topic, received_at, refusal, payload, triggered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (webhook_id) DO NOTHING"
	var payload, triggered any
	if d.Payload != nil {
		payload = string(d.Payload)
	}
	if !d.TriggeredAt.IsZero() {
		triggered = d.TriggeredAt.UTC()
	}
	fresh := false
	err := s.rawTx(ctx, func(tx rawTx) error {
		n, err := tx.exec(ctx, insert, d.ShopID, d.WebhookID, nullable(d.EventID), d.Topic, d.ReceivedAt.UTC(), nullable(d.Refusal), payload, triggered)
		if err != nil || n == 0 {
			return err
		}
		fresh = true
		if enqueue == nil {
			return nil
		}
		return enqueue(ctx, tx.tx)
	})
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	return fresh, nil
}

// rawTx is a transaction of the driver River's inserts take: tx is a
// pgx.Tx on Postgres, a *sql.Tx on SQLite.
type rawTx struct {
	tx   any
	exec func(ctx context.Context, query string, args ...any) (int64, error)
}

// rawTx runs f in a transaction on the store's own driver, committed when
// f returns nil. Queries are written with ? placeholders.
func (s *Store) rawTx(ctx context.Context, f func(tx rawTx) error) error {
	if s.pool != nil {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			return f(rawTx{tx: tx, exec: func(ctx context.Context, q string, args ...any) (int64, error) {
				tag, err := tx.Exec(ctx, dollars(q), args...)
				return tag.RowsAffected(), err
			}})
		})
	}
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	err = f(rawTx{tx: tx, exec: func(ctx context.Context, q string, args ...any) (int64, error) {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}})
	if err != nil {
		return err
	}
	return tx.Commit()
}

// dollars numbers a query's ? placeholders for Postgres ($1, $2, ...).
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ClaimPending leases up to limit pending deliveries (recorded with their
// body, not yet applied, no live lease), oldest first, for lease. On
// Postgres, concurrent claimers skip each other's rows.
func (s *Store) ClaimPending(ctx context.Context, limit int, lease time.Duration) ([]webhooks.PendingDelivery, error) {
	now := time.Now().UTC()
	skip := ""
	if s.pool != nil {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	q := "UPDATE webhook_deliveries SET claimed_until = ? WHERE webhook_id IN (SELECT webhook_id FROM webhook_deliveries " +
		"WHERE payload IS NOT NULL AND applied_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY received_at LIMIT ?" + skip + ") " +
		"RETURNING shop_id, webhook_id, COALESCE(event_id, '') AS event_id, topic, received_at, triggered_at, payload"
	var rows []struct {
		ShopID      int64
		WebhookID   string
		EventID     string
		Topic       string
		ReceivedAt  time.Time
		TriggeredAt *time.Time
		Payload     string
	}
	if err := s.db.WithContext(ctx).Raw(q, now.Add(lease), now, limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("claim pending deliveries: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	shopIDs := map[int64]bool{}
	for _, r := range rows {
		shopIDs[r.ShopID] = true
	}
	var shops []shopRow
	if err := s.db.WithContext(ctx).Select("id, domain").Where("id IN ?", slices.Collect(maps.Keys(shopIDs))).Find(&shops).Error; err != nil {
		return nil, fmt.Errorf("claim pending deliveries: shops: %w", err)
	}
	domains := make(map[int64]string, len(shops))
	for _, sh := range shops {
		domains[sh.ID] = sh.Domain
	}
	out := make([]webhooks.PendingDelivery, 0, len(rows))
	for _, r := range rows {
		d := webhooks.PendingDelivery{ShopDomain: domains[r.ShopID], Delivery: webhooks.Delivery{ShopID: r.ShopID, WebhookID: r.WebhookID, EventID: r.EventID,
			Topic: r.Topic, ReceivedAt: r.ReceivedAt.UTC(), Payload: []byte(r.Payload)}}
		if r.TriggeredAt != nil {
			d.TriggeredAt = r.TriggeredAt.UTC()
		}
		out = append(out, d)
	}
	// RETURNING's order is not the subquery's.
	slices.SortStableFunc(out, func(a, b webhooks.PendingDelivery) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return out, nil
}

// FinishPending marks deliveries applied at `at` and drops their bodies.
func (s *Store) FinishPending(ctx context.Context, webhookIDs []string, at time.Time) error {
	if len(webhookIDs) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Exec("UPDATE webhook_deliveries SET applied_at = ?, payload = NULL, claimed_until = NULL WHERE webhook_id IN ?", at.UTC(), webhookIDs).Error
	if err != nil {
		return fmt.Errorf("finish %d deliveries: %w", len(webhookIDs), err)
	}
	return nil
}

// HandOverPending marks a pending delivery handed to a job at `at` and, in
// the same transaction, runs enqueue, which inserts that job.
func (s *Store) HandOverPending(ctx context.Context, webhookID string, at time.Time, enqueue func(ctx context.Context, tx any) error) error {
	err := s.rawTx(ctx, func(tx rawTx) error {
		n, err := tx.exec(ctx, "UPDATE webhook_deliveries SET applied_at = ?, payload = NULL, claimed_until = NULL WHERE webhook_id = ? AND applied_at IS NULL", at.UTC(), webhookID)
		if err != nil || n == 0 {
			return err // n == 0: another claimer finished it after our lease ran out
		}
		return enqueue(ctx, tx.tx)
	})
	if err != nil {
		return fmt.Errorf("hand over delivery %s: %w", webhookID, err)
	}
	return nil
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
			// The stored document shows the contact too: rendered again
			// from the redacted facts (none without a renderer).
			cols := map[string]any{"email": nil, "phone": nil, "phone_e164": nil, "shopify": string(raw), "doc": nil, "doc_version": 0}
			if render := o.s.render; render.Render != nil {
				doc, err := render.Render(orders.Build(src, r.SyncedAt.UTC()))
				if err != nil {
					return fmt.Errorf("redact order %d: %w", r.ID, err)
				}
				cols["doc"], cols["doc_version"], cols["doc_written_at"] = string(doc), render.Version, time.Now().UTC()
			}
			if err := tx.Model(&orderRow{}).Where("shop_id = ? AND id = ?", shopID, r.ID).Updates(cols).Error; err != nil {
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
// app (every table's rows go with the shop: forgetShop); false, and
// nothing deleted, while the shop is installed. Shopify sends shop/redact
// 48 hours after an uninstall; one arriving for an installed shop (the
// shop installed again, or an old delivery resent under a fresh, unsigned
// webhook id) must not erase the installation.
func (o *Orders) ForgetShop(ctx context.Context, shopID int64) (bool, error) {
	var forgotten bool
	err := o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		forgotten, err = forgetShop(tx, shopID, string(tenant.Uninstalled))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("forget shop %d: %w", shopID, err)
	}
	return forgotten, nil
}

type syncRunRow struct {
	ShopID     int64 `gorm:"primaryKey;autoIncrement:false"`
	RunID      string
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
	run := orders.SyncRun{ID: r.RunID, PageInfo: r.PageInfo, Checkpoint: r.Checkpoint, Pages: r.Pages, Orders: r.Orders, Finished: r.Finished, StartedAt: r.StartedAt.UTC()}
	if r.Since != nil {
		run.Since = r.Since.UTC()
	}
	return run, true, nil
}

// syncBatch is a backfill's batch encoded by PrepareSyncBatch.
type syncBatch struct {
	shopID int64
	enc    encodedOrders
}

func (b *syncBatch) Len() int { return len(b.enc.rows) }

// PrepareSyncBatch encodes a backfill's batch for SaveSyncBatch: the
// rows, the timeline and the events, the work that needs no transaction,
// which the backfill does while the batch before is saved.
func (o *Orders) PrepareSyncBatch(ctx context.Context, shopID int64, list []orders.Order, timeline []orders.TimelineEvent) (orders.PreparedBatch, error) {
	b := &syncBatch{shopID: shopID}
	if len(list) == 0 {
		return b, nil
	}
	shop, err := shopOf(o.s.db.WithContext(ctx), shopID)
	if err != nil {
		return nil, fmt.Errorf("prepare sync batch: %w", err)
	}
	if b.enc, err = o.encodeOrders(shop, list, timeline, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("prepare sync batch: %w", err)
	}
	return b, nil
}

// SaveSyncBatch stores a prepared batch of orders as history, as
// SaveOrders does, and the run's progress after it, in one transaction: a
// crash leaves both or neither, so a resumed run neither skips the batch
// nor saves it twice.
func (o *Orders) SaveSyncBatch(ctx context.Context, shopID int64, prepared orders.PreparedBatch, run orders.SyncRun) error {
	b, ok := prepared.(*syncBatch)
	if !ok || b.shopID != shopID {
		return fmt.Errorf("save sync batch: a batch not prepared by this store for shop %d: %w", shopID, orders.ErrInvalidInput)
	}
	return o.saveEncoded(ctx, shopID, func(*gorm.DB) (encodedOrders, error) { return b.enc, nil }, true, func(tx *gorm.DB) error {
		return o.s.within(tx).Orders().advanceSyncRun(ctx, shopID, run)
	})
}

// advanceSyncRun saves the progress after a backfill's batch: it only
// moves on the progress its own run (run.ID) stored after the batch before
// it (a run's start, SaveSyncRun, stores 0 pages). A batch whose stored
// progress another sync of the shop took over saves nothing: without the
// check it could store a checkpoint beyond orders nobody stored, or one
// run's checkpoint under the other's `since` (before run ids, two runs
// whose page counts lined up did). The batches commit synchronously: an
// asynchronous commit, 7-8% faster, could lose the last batches in a
// Postgres restart under a running backfill, and the run's end could then
// be stored over them.
func (o *Orders) advanceSyncRun(ctx context.Context, shopID int64, run orders.SyncRun) error {
	return o.moveSyncRun(ctx, shopID, run, run.Pages-1, fmt.Sprintf("batch %d", run.Pages))
}

// moveSyncRun stores run over the shop's progress if that is still run's
// own (run.ID) at `pages` pages, not finished; otherwise notMoved's error.
func (o *Orders) moveSyncRun(ctx context.Context, shopID int64, run orders.SyncRun, pages int, what string) error {
	cols := map[string]any{"page_info": run.PageInfo, "checkpoint": run.Checkpoint, "pages": run.Pages, "orders": run.Orders,
		"finished": run.Finished, "updated_at": time.Now().UTC()}
	res := o.s.db.WithContext(ctx).Model(&syncRunRow{}).
		Where("shop_id = ? AND run_id = ? AND pages = ? AND NOT finished", shopID, run.ID, pages).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("save sync run: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return o.notMoved(ctx, shopID, "save sync run: "+what)
	}
	return nil
}

// notMoved is the error of a conditional write to the shop's progress that
// changed nothing: ErrSyncRunMoved (another sync took it over), or
// tenant.ErrNotFound when the shop itself is gone (shop/redact), which no
// other sync did.
func (o *Orders) notMoved(ctx context.Context, shopID int64, what string) error {
	if _, err := shopOf(o.s.db.WithContext(ctx), shopID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, orders.ErrSyncRunMoved)
}

// FinishSyncRun stores the end of a backfill (run.Finished, its last
// progress) if the shop's progress is still run's own at run.Pages pages;
// storing nothing, ErrSyncRunMoved if another sync took it over, or
// tenant.ErrNotFound if the shop is gone.
func (o *Orders) FinishSyncRun(ctx context.Context, shopID int64, run orders.SyncRun) error {
	run.Finished = true
	return o.moveSyncRun(ctx, shopID, run, run.Pages, "end")
}

// ClaimSyncRun has the run named id take over the shop's stored progress
// to resume it, if that is still `stored` (the same run, at the same page,
// not finished); ErrSyncRunMoved otherwise (tenant.ErrNotFound if the shop
// is gone): of two syncs resuming one run, one goes on and the other stops
// before it reads anything.
func (o *Orders) ClaimSyncRun(ctx context.Context, shopID int64, stored orders.SyncRun, id string) error {
	if id == "" || id == stored.ID {
		return fmt.Errorf("claim sync run: a new run id is needed: %w", orders.ErrInvalidInput)
	}
	res := o.s.db.WithContext(ctx).Model(&syncRunRow{}).
		Where("shop_id = ? AND run_id = ? AND pages = ? AND checkpoint = ? AND page_info = ? AND NOT finished",
			shopID, stored.ID, stored.Pages, stored.Checkpoint, stored.PageInfo).
		Updates(map[string]any{"run_id": id, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("claim sync run: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return o.notMoved(ctx, shopID, "claim sync run")
	}
	return nil
}

// RefreshPlannerStats analyzes, on Postgres, the tables a backfill grows
// (nothing on SQLite). A backfill fills them from nothing in seconds, long
// before autovacuum would analyze them, and pgx's prepared statements keep
// the generic plans made while they were empty: a batch's lookups of known
// orders and written events then scan the whole table, every batch slower
// than the last (20,015 orders: 7.6 s of a 13.8 s sync went to those two
// statements). ANALYZE replaces the statistics and with them those plans.
// It waits at most a second for its lock (a VACUUM or an index build holds
// it); a role that does not own the tables is skipped by Postgres with a
// warning, and nothing is analyzed.
func (o *Orders) RefreshPlannerStats(ctx context.Context) error {
	if o.s.dialect != "postgres" {
		return nil
	}
	err := o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL lock_timeout = '1s'").Error; err != nil {
			return err
		}
		if err := tx.Exec("SET LOCAL statement_timeout = '30s'").Error; err != nil {
			return err
		}
		// The columns the backfill's lookups and the lists filter and sort
		// on; the wide ones (facts, documents, payloads) cost most of a
		// whole-table ANALYZE (0.6 s against 0.24 s at 20,000 orders) and
		// no plan of these statements reads their statistics. Row counts
		// and pages are refreshed either way.
		return tx.Exec(`ANALYZE orders (shop_id, id, customer_id, created_at, updated_at, email, phone_e164, name),
			events (shop_id, order_id, key, sequence, dispatched),
			timeline_events (shop_id, id, customer_id, order_id, occurred_at)`).Error
	})
	if err != nil {
		return fmt.Errorf("analyze the backfill's tables: %w", err)
	}
	return nil
}

// SaveSyncRun starts a backfill: run (named by run.ID) becomes the shop's
// progress whatever was stored, and another run's next write stops it.
// tenant.ErrNotFound when the shop is gone (shop/redact).
func (o *Orders) SaveSyncRun(ctx context.Context, shopID int64, run orders.SyncRun) error {
	r := syncRunRow{ShopID: shopID, RunID: run.ID, PageInfo: run.PageInfo, Checkpoint: run.Checkpoint, Pages: run.Pages, Orders: run.Orders, Finished: run.Finished,
		StartedAt: run.StartedAt.UTC(), UpdatedAt: time.Now().UTC()}
	if !run.Since.IsZero() {
		since := run.Since.UTC()
		r.Since = &since
	}
	err := o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The shop's row, held (Postgres) until the row is written: a
		// shop/redact under way finishes first, and a start after it is
		// refused as the shop's other writes are.
		if err := holdShops(tx, shopID); err != nil {
			return err
		}
		if !isPostgres(tx) { // where the shop's key would refuse the row with an error of its own
			if _, err := shopOf(tx, shopID); err != nil {
				return err
			}
		}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "shop_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"run_id", "since", "page_info", "checkpoint", "pages", "orders", "finished", "started_at", "updated_at"}),
		}).Create(&r).Error
	})
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
