package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/orderdesk/orderdesk/internal/orders"
)

// docVersion is the document version a read may serve: the renderer's,
// or none (-1, never stored) when the store has no renderer.
func (o *Orders) docVersion() int {
	if o.s.render.Render == nil {
		return -1
	}
	return o.s.render.Version
}

// orderView is OrderView's statement; orderViewPostgres the same numbered
// for Postgres once, not per view (dollars: 3% of a view's CPU).
const (
	orderView         = "SELECT created_at, synced_at, CASE WHEN doc_version = ? THEN doc END FROM orders WHERE shop_id = ? AND id = ?"
	orderViewPostgres = "SELECT created_at, synced_at, CASE WHEN doc_version = $1 THEN doc END FROM orders WHERE shop_id = $2 AND id = $3"
)

// OrderView returns the document stored with one of the shop's orders and
// when the copy was read, in one lean statement by primary key; when the
// row holds no document of the current version (written before documents
// were, by a release of another shape, or by a writer that knew nothing of
// them), the order itself, rebuilt from its facts.
func (o *Orders) OrderView(ctx context.Context, shopID, orderID int64) (orders.OrderView, error) {
	v := orders.OrderView{ID: orderID}
	var err error
	switch {
	case o.s.views != nil && o.s.viewSQL == nil:
		// pgx directly: database/sql's conversions cost a view a fifth
		// of its time. The view pool is small (defaultViewConns).
		err = o.s.views.QueryRow(ctx, orderViewPostgres, o.docVersion(), shopID, orderID).Scan(&v.CreatedAt, &v.SyncedAt, &v.Doc)
	case o.s.viewSQL != nil:
		// Traced: through otelsql, over the view pool, for the span.
		err = o.s.viewSQL.QueryRowContext(ctx, orderViewPostgres, o.docVersion(), shopID, orderID).Scan(&v.CreatedAt, &v.SyncedAt, &v.Doc)
	default:
		err = o.s.sqlDB.QueryRowContext(ctx, orderView, o.docVersion(), shopID, orderID).Scan(&v.CreatedAt, &v.SyncedAt, &v.Doc)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.Is(err, sql.ErrNoRows):
		return orders.OrderView{}, fmt.Errorf("order %d: %w", orderID, orders.ErrNotFound)
	case err != nil:
		return orders.OrderView{}, fmt.Errorf("order %d: %w", orderID, err)
	}
	v.CreatedAt, v.SyncedAt = v.CreatedAt.UTC(), v.SyncedAt.UTC()
	if v.Doc != nil {
		return v, nil
	}
	ord, err := o.GetOrder(ctx, shopID, orderID)
	if err != nil {
		return orders.OrderView{}, err
	}
	return viewOf(ord), nil
}

func viewOf(ord orders.Order) orders.OrderView {
	return orders.OrderView{ID: ord.ID, CreatedAt: ord.CreatedAt, SyncedAt: ord.SyncedAt, Order: &ord}
}

// viewRow is a listed order's document and what paging needs.
type viewRow struct {
	ID        int64
	CreatedAt time.Time
	SyncedAt  time.Time
	Doc       *string
}

// ListOrderViews returns the documents of the shop's orders matching f,
// newest first; the orders without a document of the current version are
// rebuilt from their facts.
func (o *Orders) ListOrderViews(ctx context.Context, shopID int64, f orders.ListFilter) ([]orders.OrderView, error) {
	var rows []viewRow
	err := o.listQuery(ctx, shopID, f).Select("id, created_at, synced_at, CASE WHEN doc_version = ? THEN doc END AS doc", o.docVersion()).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	out := make([]orders.OrderView, len(rows))
	var missing []int64
	at := map[int64]int{}
	for i, r := range rows {
		out[i] = orders.OrderView{ID: r.ID, CreatedAt: r.CreatedAt.UTC(), SyncedAt: r.SyncedAt.UTC()}
		if r.Doc != nil {
			out[i].Doc = []byte(*r.Doc)
			continue
		}
		missing = append(missing, r.ID)
		at[r.ID] = i
	}
	if len(missing) == 0 {
		return out, nil
	}
	var full []orderRow
	if err := o.s.db.WithContext(ctx).Omit("doc").Where("shop_id = ? AND id IN ?", shopID, missing).Find(&full).Error; err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	for _, r := range full {
		ord, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out[at[r.ID]] = viewOf(ord)
	}
	// One deleted between the two statements (shop/redact) is not listed.
	return slices.DeleteFunc(out, func(v orders.OrderView) bool { return v.Doc == nil && v.Order == nil }), nil
}

// docBackfillBatch is how many orders RenderMissingDocs renders per
// statement and transaction.
const docBackfillBatch = 200

// RenderMissingDocs stores the document of every order that has none of
// the renderer's version: the orders written before documents were stored
// (migration 00018), by a release of another shape, or by a writer that
// knew nothing of them. Without it such an order is rendered on every view
// until Shopify changes it, which for an archived order is never. It runs
// in batches, by (shop_id, id), and writes a document only while the
// row's facts are still those it rendered (a writer meanwhile wins); once
// done it finds nothing to do. Returns how many it stored.
func (s *Store) RenderMissingDocs(ctx context.Context) (int, error) {
	render := s.render
	if render.Render == nil {
		return 0, nil
	}
	total := 0
	var afterShop, afterID int64
	for {
		var rows []orderRow
		err := s.db.WithContext(ctx).Select("shop_id", "id", "synced_at", "shopify").
			Where("(doc IS NULL OR doc_version <> ?) AND (shop_id > ? OR (shop_id = ? AND id > ?))", render.Version, afterShop, afterShop, afterID).
			Order("shop_id, id").Limit(docBackfillBatch).Find(&rows).Error
		if err != nil {
			return total, fmt.Errorf("render missing documents: %w", err)
		}
		if len(rows) == 0 {
			return total, nil
		}
		last := rows[len(rows)-1]
		afterShop, afterID = last.ShopID, last.ID
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, r := range rows {
				ord, err := r.toDomain()
				if err != nil {
					continue // facts no view can render either: left to the view's error
				}
				doc, err := render.Render(ord)
				if err != nil {
					continue
				}
				res := tx.Model(&orderRow{}).
					Where("shop_id = ? AND id = ? AND shopify = ? AND (doc IS NULL OR doc_version <> ?)", r.ShopID, r.ID, r.Shopify, render.Version).
					Updates(map[string]any{"doc": string(doc), "doc_version": render.Version, "doc_written_at": time.Now().UTC()})
				if res.Error != nil {
					return res.Error
				}
				total += int(res.RowsAffected)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("render missing documents: %w", err)
		}
	}
}
