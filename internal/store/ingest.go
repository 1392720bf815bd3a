package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// RecordDeliveries records deliveries that have no job (pending ones, with
// their body, and refused ones) in one INSERT and one commit, and says of
// each, in order, whether it is new: false for a webhook id recorded
// before. It is webhook ingest's group commit (webhooks.Batcher): on
// Postgres one statement of arrays (unnest), whatever the batch's size, so
// it is prepared once per connection; on SQLite a multi-row VALUES. Both
// return the rows inserted (ON CONFLICT DO NOTHING ... RETURNING). A
// webhook id given twice is recorded once, and new only the first time.
func (s *Store) RecordDeliveries(ctx context.Context, ds []webhooks.Delivery) ([]bool, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	var (
		inserted map[string]bool
		err      error
	)
	if s.pool != nil {
		inserted, err = s.recordDeliveriesPostgres(ctx, ds)
	} else {
		inserted, err = s.recordDeliveriesSQLite(ctx, ds)
	}
	if err != nil {
		return nil, fmt.Errorf("record %d deliveries: %w", len(ds), err)
	}
	fresh := make([]bool, len(ds))
	for i, d := range ds {
		fresh[i] = inserted[d.WebhookID]
		delete(inserted, d.WebhookID) // a second of one id is not new
	}
	return fresh, nil
}

const recordDeliveriesPostgres = `INSERT INTO webhook_deliveries (shop_id, webhook_id, event_id, topic, received_at, refusal, payload, triggered_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::timestamptz[])
ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id`

func (s *Store) recordDeliveriesPostgres(ctx context.Context, ds []webhooks.Delivery) (map[string]bool, error) {
	n := len(ds)
	var (
		shops     = make([]int64, n)
		ids       = make([]string, n)
		events    = make([]*string, n)
		topics    = make([]string, n)
		received  = make([]time.Time, n)
		refusals  = make([]*string, n)
		payloads  = make([]*string, n)
		triggered = make([]*time.Time, n)
	)
	for i, d := range ds {
		shops[i], ids[i], topics[i], received[i] = d.ShopID, d.WebhookID, d.Topic, d.ReceivedAt.UTC()
		events[i], refusals[i] = optional(d.EventID), optional(d.Refusal)
		if d.Payload != nil {
			p := string(d.Payload)
			payloads[i] = &p
		}
		if !d.TriggeredAt.IsZero() {
			t := d.TriggeredAt.UTC()
			triggered[i] = &t
		}
	}
	rows, err := s.pool.Query(ctx, recordDeliveriesPostgres, shops, ids, events, topics, received, refusals, payloads, triggered)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	inserted := make(map[string]bool, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		inserted[id] = true
	}
	return inserted, rows.Err()
}

func (s *Store) recordDeliveriesSQLite(ctx context.Context, ds []webhooks.Delivery) (map[string]bool, error) {
	var q strings.Builder
	q.WriteString("INSERT INTO webhook_deliveries (shop_id, webhook_id, event_id, topic, received_at, refusal, payload, triggered_at) VALUES ")
	args := make([]any, 0, 8*len(ds))
	for i, d := range ds {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		var payload, triggered any
		if d.Payload != nil {
			payload = string(d.Payload)
		}
		if !d.TriggeredAt.IsZero() {
			triggered = d.TriggeredAt.UTC()
		}
		args = append(args, d.ShopID, d.WebhookID, nullable(d.EventID), d.Topic, d.ReceivedAt.UTC(), nullable(d.Refusal), payload, triggered)
	}
	q.WriteString(" ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id")
	// In a transaction of its own, so that the commit's outcome is the
	// answer (not the statement's reset, after the rows were read).
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	inserted := make(map[string]bool, len(ds))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return nil, err
		}
		inserted[id] = true
	}
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return inserted, tx.Commit()
}

// optional is nil for "", for a nullable text column.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
