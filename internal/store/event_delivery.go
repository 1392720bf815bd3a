package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
)

type endpointRow struct {
	ID              string `gorm:"primaryKey"`
	ShopID          int64
	URL             string
	Types           string
	Secrets         string
	SecretsRetireAt *time.Time
	Source          string
	State           string
	DisabledReason  *string
	DisabledAt      *time.Time
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt       time.Time `gorm:"autoUpdateTime:false"`
}

func (endpointRow) TableName() string { return "event_endpoints" }

func toEndpointRow(e events.Endpoint) (endpointRow, error) {
	types, err := json.Marshal(orEmpty(e.Types))
	if err != nil {
		return endpointRow{}, fmt.Errorf("encode endpoint types: %w", err)
	}
	secrets, err := json.Marshal(orEmpty(e.Secrets))
	if err != nil {
		return endpointRow{}, fmt.Errorf("encode endpoint secrets: %w", err)
	}
	return endpointRow{ID: e.ID, ShopID: e.ShopID, URL: e.URL, Types: string(types), Secrets: string(secrets), SecretsRetireAt: utcPtr(e.SecretsRetireAt), Source: e.Source,
		State: e.State, DisabledReason: nonEmpty(e.DisabledReason), DisabledAt: utcPtr(e.DisabledAt),
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}, nil
}

func (r endpointRow) toDomain() (events.Endpoint, error) {
	e := events.Endpoint{ID: r.ID, ShopID: r.ShopID, URL: r.URL, SecretsRetireAt: utcPtr(r.SecretsRetireAt), Source: r.Source, State: r.State,
		DisabledReason: deref(r.DisabledReason), DisabledAt: utcPtr(r.DisabledAt), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Types), &e.Types); err != nil {
		return events.Endpoint{}, fmt.Errorf("endpoint %s types: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Secrets), &e.Secrets); err != nil {
		return events.Endpoint{}, fmt.Errorf("endpoint %s secrets: %w", r.ID, err)
	}
	return e, nil
}

// toRow is an endpoint's row, its secrets sealed.
func (e *Events) toRow(ep events.Endpoint) (endpointRow, error) {
	row, err := toEndpointRow(ep)
	if err != nil {
		return endpointRow{}, err
	}
	row.Secrets, err = e.sealSecrets(row.ID, row.Secrets)
	return row, err
}

// toDomain is an endpoint from its row, its secrets opened.
func (e *Events) toDomain(r endpointRow) (events.Endpoint, error) {
	list, err := e.openSecrets(r.ID, r.Secrets)
	if err != nil {
		return events.Endpoint{}, err
	}
	r.Secrets = list
	return r.toDomain()
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type deliveryRow struct {
	EndpointID    string `gorm:"primaryKey"`
	EventPos      int64  `gorm:"primaryKey;autoIncrement:false"`
	ShopID        int64
	OrderID       int64
	Sequence      int64
	State         string
	Attempts      int
	NextAttemptAt time.Time
	FirstFailedAt *time.Time
	LastStatus    *int
	LastError     *string
	DeliveredAt   *time.Time
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	// Claim is the token of the delivery's latest claim.
	Claim *string
}

func (deliveryRow) TableName() string { return "event_deliveries" }

type attemptRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	EndpointID  string
	EventPos    int64
	AttemptedAt time.Time
	Status      *int
	LatencyMs   int64
	Error       *string
}

func (attemptRow) TableName() string { return "event_attempts" }

// unblocked is the condition that no earlier event of the same order is
// still undelivered at the endpoint, nor still undispatched (its delivery
// may not exist yet: on Postgres another replica may be dispatching it,
// its rows locked, while this one dispatched a later event of the order):
// each order's events leave in sequence.
const unblocked = `NOT EXISTS (SELECT 1 FROM event_deliveries p WHERE p.endpoint_id = d.endpoint_id
	AND p.shop_id = d.shop_id AND p.order_id = d.order_id AND p.sequence < d.sequence AND p.state <> 'delivered')
	AND NOT EXISTS (SELECT 1 FROM events pe WHERE pe.shop_id = d.shop_id AND pe.order_id = d.order_id
	AND pe.sequence < d.sequence AND NOT pe.dispatched)`

// DispatchEvents fans up to limit undispatched events out into
// deliveries, in one transaction with marking them dispatched, and returns
// how many it dispatched. On Postgres replicas skip the events another is
// dispatching. A delivery's created_at is its event's: the backlog's age
// and the lag count from the change.
func (e *Events) DispatchEvents(ctx context.Context, now time.Time, limit int) (int, error) {
	// Most rounds find nothing: ask without a transaction (on SQLite every
	// transaction takes the write lock).
	var any []int64
	if err := e.s.db.WithContext(ctx).Model(&eventRow{}).Where("dispatched = ?", false).Limit(1).Pluck("pos", &any).Error; err != nil {
		return 0, fmt.Errorf("dispatch events: %w", err)
	}
	if len(any) == 0 {
		return 0, nil
	}
	n := 0
	err := e.s.retryBusy(ctx, func() error {
		return e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			n = 0
			q := tx.Where("dispatched = ?", false).Order("pos").Limit(limit)
			if e.s.dialect == "postgres" {
				q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
			}
			var rows []eventRow
			if err := q.Find(&rows).Error; err != nil {
				return fmt.Errorf("undispatched events: %w", err)
			}
			if len(rows) == 0 {
				return nil
			}
			n = len(rows)
			shops := map[int64]bool{}
			var shopIDs []int64
			for _, r := range rows {
				if !shops[r.ShopID] {
					shops[r.ShopID] = true
					shopIDs = append(shopIDs, r.ShopID)
				}
			}
			var eps []endpointRow
			if err := tx.Where("shop_id IN ?", shopIDs).Find(&eps).Error; err != nil {
				return fmt.Errorf("endpoints: %w", err)
			}
			byShop := map[int64][]events.Endpoint{}
			for _, r := range eps {
				ep, err := e.toDomain(r)
				if err != nil {
					return err
				}
				byShop[r.ShopID] = append(byShop[r.ShopID], ep)
			}
			var deliveries []deliveryRow
			pos := make([]int64, 0, len(rows))
			for _, r := range rows {
				pos = append(pos, r.Pos)
				for _, ep := range byShop[r.ShopID] {
					if !ep.Wants(r.Type) {
						continue
					}
					deliveries = append(deliveries, deliveryRow{EndpointID: ep.ID, EventPos: r.Pos, ShopID: r.ShopID, OrderID: r.OrderID,
						Sequence: r.Sequence, State: events.DeliveryPending, NextAttemptAt: now.UTC(), CreatedAt: r.CreatedAt.UTC()})
				}
			}
			if len(deliveries) > 0 {
				if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(deliveries, 200).Error; err != nil {
					return fmt.Errorf("create deliveries: %w", err)
				}
			}
			if err := tx.Model(&eventRow{}).Where("pos IN ?", pos).Update("dispatched", true).Error; err != nil {
				return fmt.Errorf("mark dispatched: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("dispatch events: %w", err)
	}
	return n, nil
}

// EndpointsWithDue lists enabled endpoints with a delivery due by now.
func (e *Events) EndpointsWithDue(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	err := e.s.db.WithContext(ctx).Raw(`SELECT DISTINCT d.endpoint_id FROM event_deliveries d
		JOIN event_endpoints ep ON ep.id = d.endpoint_id
		WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND ep.state = 'enabled' AND `+unblocked, now.UTC()).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("endpoints with due deliveries: %w", err)
	}
	return ids, nil
}

// Endpoint returns an endpoint of any shop (for the delivery job).
func (e *Events) Endpoint(ctx context.Context, id string) (events.Endpoint, error) {
	return e.endpoint(ctx, e.s.db.WithContext(ctx).Where("id = ?", id), id)
}

// ShopEndpoint returns one of the shop's endpoints.
func (e *Events) ShopEndpoint(ctx context.Context, shopID int64, id string) (events.Endpoint, error) {
	return e.endpoint(ctx, e.s.db.WithContext(ctx).Where("shop_id = ? AND id = ?", shopID, id), id)
}

func (e *Events) endpoint(_ context.Context, q *gorm.DB, id string) (events.Endpoint, error) {
	var row endpointRow
	err := q.Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return events.Endpoint{}, fmt.Errorf("endpoint %s: %w", id, events.ErrEndpointNotFound)
	}
	if err != nil {
		return events.Endpoint{}, fmt.Errorf("endpoint %s: %w", id, err)
	}
	return e.toDomain(row)
}

// ClaimDeliveries takes the endpoint's deliveries due by now, each the
// earliest undelivered event of its order there, oldest first, and moves
// their next attempt a lease ahead in the same transaction: concurrent
// senders (several jobs, several replicas) never take the same delivery,
// and one whose sender died is due again when the lease runs out. Only an
// enabled endpoint's deliveries are taken.
func (e *Events) ClaimDeliveries(ctx context.Context, endpointID string, now time.Time, lease time.Duration, limit int) ([]events.Due, error) {
	var out []events.Due
	err := e.s.retryBusy(ctx, func() error {
		out = nil
		return e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			lock := ""
			if e.s.dialect == "postgres" {
				lock = " FOR UPDATE OF d SKIP LOCKED"
			}
			var rows []struct {
				EndpointID    string
				EventPos      int64
				Attempts      int
				FirstFailedAt *time.Time
				EventID       string
				EventType     string
				EventCreated  time.Time
				Payload       string
			}
			err := tx.Raw(`SELECT d.endpoint_id, d.event_pos, d.attempts, d.first_failed_at, ev.id AS event_id, ev.type AS event_type,
				d.created_at AS event_created, ev.payload
				FROM event_deliveries d JOIN events ev ON ev.pos = d.event_pos
				WHERE d.endpoint_id = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
				AND EXISTS (SELECT 1 FROM event_endpoints ep WHERE ep.id = d.endpoint_id AND ep.state = 'enabled')
				AND `+unblocked+`
				ORDER BY d.event_pos LIMIT ?`+lock, endpointID, now.UTC(), limit).Scan(&rows).Error
			if err != nil {
				return fmt.Errorf("due deliveries: %w", err)
			}
			if len(rows) == 0 {
				return nil
			}
			pos := make([]int64, 0, len(rows))
			claim := uuid.NewString()
			for _, r := range rows {
				pos = append(pos, r.EventPos)
				out = append(out, events.Due{EndpointID: r.EndpointID, EventPos: r.EventPos, EventID: r.EventID, EventType: r.EventType,
					CreatedAt: r.EventCreated.UTC(), Payload: []byte(r.Payload), Attempts: r.Attempts, FirstFailedAt: utcPtr(r.FirstFailedAt),
					Claim: claim})
			}
			if err := tx.Model(&deliveryRow{}).Where("endpoint_id = ? AND event_pos IN ?", endpointID, pos).
				Updates(map[string]any{"next_attempt_at": now.Add(lease).UTC(), "claim": claim}).Error; err != nil {
				return fmt.Errorf("claim deliveries: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NextDue is when the endpoint's earliest unblocked pending delivery is due.
func (e *Events) NextDue(ctx context.Context, endpointID string) (time.Time, bool, error) {
	var rows []deliveryRow
	err := e.s.db.WithContext(ctx).Raw(`SELECT d.* FROM event_deliveries d
		WHERE d.endpoint_id = ? AND d.state = 'pending' AND `+unblocked+`
		ORDER BY d.next_attempt_at LIMIT 1`, endpointID).Scan(&rows).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due delivery: %w", err)
	}
	if len(rows) == 0 {
		return time.Time{}, false, nil
	}
	return rows[0].NextAttemptAt.UTC(), true, nil
}

// RecordAttempts records attempts, the deliveries' new states and, when
// an outcome says so, the endpoint's disabling, in one transaction. The
// deliveries one batch delivered are updated together (delivered_at is
// then the batch's latest answer).
func (e *Events) RecordAttempts(ctx context.Context, rs []events.Result) error {
	if len(rs) == 0 {
		return nil
	}
	err := e.s.retryBusy(ctx, func() error {
		return e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			rows := make([]attemptRow, 0, len(rs))
			for _, r := range rs {
				at := attemptRow{EndpointID: r.Due.EndpointID, EventPos: r.Due.EventPos, AttemptedAt: r.Attempt.At.UTC(),
					LatencyMs: r.Attempt.Latency.Milliseconds(), Error: nonEmpty(r.Attempt.Error)}
				if r.Attempt.Status != 0 {
					st := r.Attempt.Status
					at.Status = &st
				}
				rows = append(rows, at)
			}
			if err := tx.CreateInBatches(rows, 200).Error; err != nil {
				return fmt.Errorf("record attempts: %w", err)
			}
			// Delivered ones, the usual case, in one statement per status
			// and claim. An outcome changes a delivery only while it is
			// pending under the claim its attempt was made on: a sender
			// whose lease ran out, and whose delivery another sender took
			// over (and perhaps delivered), only records its attempt.
			type group struct {
				status int
				claim  string
			}
			delivered := map[group][]int64{}
			deliveredAt := map[group]time.Time{}
			endpointID := rs[0].Due.EndpointID
			for i, r := range rs {
				o := r.Outcome
				if o.State == events.DeliveryDelivered && o.Disable == "" && r.Due.EndpointID == endpointID && rows[i].Status != nil {
					g := group{*rows[i].Status, r.Due.Claim}
					delivered[g] = append(delivered[g], r.Due.EventPos)
					if r.Attempt.At.After(deliveredAt[g]) {
						deliveredAt[g] = r.Attempt.At
					}
					continue
				}
				upd := map[string]any{
					"state": o.State, "attempts": gorm.Expr("attempts + 1"), "next_attempt_at": o.Next.UTC(),
					"first_failed_at": utcPtr(o.FirstFailedAt), "last_status": rows[i].Status, "last_error": rows[i].Error,
				}
				if o.State == events.DeliveryDelivered {
					upd["delivered_at"] = r.Attempt.At.UTC()
				}
				res := tx.Model(&deliveryRow{}).Where("endpoint_id = ? AND event_pos = ? AND state = ? AND claim = ?",
					r.Due.EndpointID, r.Due.EventPos, events.DeliveryPending, r.Due.Claim).Updates(upd)
				if res.Error != nil {
					return fmt.Errorf("update delivery: %w", res.Error)
				}
				if res.RowsAffected == 0 {
					continue // taken over: the attempt is recorded, nothing else
				}
				if o.Disable != "" {
					if err := tx.Model(&endpointRow{}).Where("id = ? AND state = ?", r.Due.EndpointID, events.EndpointEnabled).Updates(map[string]any{
						"state": events.EndpointDisabled, "disabled_reason": o.Disable, "disabled_at": r.Attempt.At.UTC(), "updated_at": r.Attempt.At.UTC(),
					}).Error; err != nil {
						return fmt.Errorf("disable endpoint: %w", err)
					}
				}
			}
			for g, pos := range delivered {
				at := deliveredAt[g].UTC()
				if err := tx.Model(&deliveryRow{}).Where("endpoint_id = ? AND event_pos IN ? AND state = ? AND claim = ?",
					endpointID, pos, events.DeliveryPending, g.claim).Updates(map[string]any{
					"state": events.DeliveryDelivered, "attempts": gorm.Expr("attempts + 1"), "next_attempt_at": at, "delivered_at": at,
					"last_status": g.status, "last_error": nil,
				}).Error; err != nil {
					return fmt.Errorf("update deliveries: %w", err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("record deliveries to %s: %w", rs[0].Due.EndpointID, err)
	}
	return nil
}

// RotateSecret makes secret the endpoint's newest; the previous newest,
// and older ones still in their grace (up to events.MaxSigningSecrets in
// all), keep signing until retireAt; retired ones are dropped.
func (e *Events) RotateSecret(ctx context.Context, shopID int64, id, secret string, retireAt, now time.Time) (events.Endpoint, error) {
	err := e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("shop_id = ? AND id = ?", shopID, id)
		if e.s.dialect == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var row endpointRow
		err := q.Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("endpoint %s: %w", id, events.ErrEndpointNotFound)
		}
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", id, err)
		}
		ep, err := e.toDomain(row)
		if err != nil {
			return err
		}
		// The previous newest keeps signing; so do the older ones still in
		// their grace: a rotation whose answer (the new secret, shown once)
		// was lost and is retried must not retire the secret the receiver
		// holds.
		keep := []string{secret}
		older := ep.SigningSecrets(now)
		keep = append(keep, older[:min(len(older), events.MaxSigningSecrets-1)]...)
		list, err := json.Marshal(keep)
		if err != nil {
			return fmt.Errorf("encode endpoint secrets: %w", err)
		}
		enc, err := e.sealSecrets(id, string(list))
		if err != nil {
			return err
		}
		return tx.Model(&endpointRow{}).Where("shop_id = ? AND id = ?", shopID, id).Updates(map[string]any{
			"secrets": enc, "secrets_retire_at": retireAt.UTC(), "updated_at": now.UTC(),
		}).Error
	})
	if err != nil {
		return events.Endpoint{}, fmt.Errorf("rotate secret: %w", err)
	}
	return e.ShopEndpoint(ctx, shopID, id)
}

// CreateEndpoint records a new endpoint.
func (e *Events) CreateEndpoint(ctx context.Context, ep events.Endpoint) error {
	row, err := e.toRow(ep)
	if err != nil {
		return err
	}
	if err := e.s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create endpoint: %w", err)
	}
	return nil
}

// UpdateEndpointConfig saves an endpoint's URL, types and secrets.
func (e *Events) UpdateEndpointConfig(ctx context.Context, ep events.Endpoint) error {
	row, err := e.toRow(ep)
	if err != nil {
		return err
	}
	err = e.s.db.WithContext(ctx).Model(&endpointRow{}).Where("shop_id = ? AND id = ?", ep.ShopID, ep.ID).
		Updates(map[string]any{"url": row.URL, "types": row.Types, "secrets": row.Secrets, "secrets_retire_at": row.SecretsRetireAt, "updated_at": row.UpdatedAt}).Error
	if err != nil {
		return fmt.Errorf("update endpoint: %w", err)
	}
	return nil
}

// ListEndpoints returns the shop's endpoints, oldest first.
func (e *Events) ListEndpoints(ctx context.Context, shopID int64) ([]events.Endpoint, error) {
	var rows []endpointRow
	if err := e.s.db.WithContext(ctx).Where("shop_id = ?", shopID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	out := make([]events.Endpoint, 0, len(rows))
	for _, r := range rows {
		ep, err := e.toDomain(r)
		if err != nil {
			return nil, err
		}
		out = append(out, ep)
	}
	return out, nil
}

// EndpointBySource finds the shop's endpoint that came from a source.
func (e *Events) EndpointBySource(ctx context.Context, shopID int64, source string) (events.Endpoint, bool, error) {
	ep, err := e.endpoint(ctx, e.s.db.WithContext(ctx).Where("shop_id = ? AND source = ?", shopID, source).Order("created_at"), source)
	if errors.Is(err, events.ErrNotFound) {
		return events.Endpoint{}, false, nil
	}
	return ep, err == nil, err
}

// DeleteEndpoint deletes one of the shop's endpoints with its deliveries.
func (e *Events) DeleteEndpoint(ctx context.Context, shopID int64, id string) error {
	res := e.s.db.WithContext(ctx).Where("shop_id = ? AND id = ?", shopID, id).Delete(&endpointRow{})
	if res.Error != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("endpoint %s: %w", id, events.ErrEndpointNotFound)
	}
	return nil
}

// EnableEndpoint enables one of the shop's disabled endpoints: everything
// it has not received is tried again from now, with a fresh retry
// schedule. An enabled endpoint is left as it is: its retries keep their
// schedule (and the days after which it is disabled).
func (e *Events) EnableEndpoint(ctx context.Context, shopID int64, id string, now time.Time) (events.Endpoint, error) {
	err := e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&endpointRow{}).Where("shop_id = ? AND id = ? AND state = ?", shopID, id, events.EndpointDisabled).Updates(map[string]any{
			"state": events.EndpointEnabled, "disabled_reason": nil, "disabled_at": nil, "updated_at": now.UTC(),
		})
		if res.Error != nil {
			return fmt.Errorf("enable endpoint %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			// Enabled already, or not this shop's.
			var n int64
			if err := tx.Model(&endpointRow{}).Where("shop_id = ? AND id = ?", shopID, id).Count(&n).Error; err != nil {
				return fmt.Errorf("endpoint %s: %w", id, err)
			}
			if n == 0 {
				return fmt.Errorf("endpoint %s: %w", id, events.ErrEndpointNotFound)
			}
			return nil
		}
		if err := tx.Model(&deliveryRow{}).Where("endpoint_id = ? AND state <> ?", id, events.DeliveryDelivered).Updates(map[string]any{
			"state": events.DeliveryPending, "attempts": 0, "next_attempt_at": now.UTC(), "first_failed_at": nil, "claim": nil,
		}).Error; err != nil {
			return fmt.Errorf("resume deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return events.Endpoint{}, err
	}
	return e.ShopEndpoint(ctx, shopID, id)
}

// RecentAttempts lists an endpoint's latest attempts, newest first.
func (e *Events) RecentAttempts(ctx context.Context, endpointID string, limit int) ([]events.Attempt, error) {
	var rows []struct {
		EndpointID  string
		AttemptedAt time.Time
		Status      *int
		LatencyMs   int64
		Error       *string
		EventID     string
		EventType   string
	}
	err := e.s.db.WithContext(ctx).Raw(`SELECT a.endpoint_id, a.attempted_at, a.status, a.latency_ms, a.error, ev.id AS event_id, ev.type AS event_type
		FROM event_attempts a JOIN events ev ON ev.pos = a.event_pos WHERE a.endpoint_id = ? ORDER BY a.id DESC LIMIT ?`, endpointID, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("recent attempts: %w", err)
	}
	out := make([]events.Attempt, 0, len(rows))
	for _, r := range rows {
		a := events.Attempt{EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType, At: r.AttemptedAt.UTC(),
			Latency: time.Duration(r.LatencyMs) * time.Millisecond, Error: deref(r.Error)}
		if r.Status != nil {
			a.Status = *r.Status
		}
		out = append(out, a)
	}
	return out, nil
}

// EndpointStats is every endpoint's backlog: deliveries not yet made and
// when the oldest of them was created.
func (e *Events) EndpointStats(ctx context.Context) ([]events.EndpointStats, error) {
	var rows []struct {
		EndpointID string
		ShopID     int64
		Pending    int
	}
	err := e.s.db.WithContext(ctx).Raw(`SELECT ep.id AS endpoint_id, ep.shop_id, COUNT(d.event_pos) AS pending
		FROM event_endpoints ep LEFT JOIN event_deliveries d ON d.endpoint_id = ep.id AND d.state <> 'delivered'
		GROUP BY ep.id, ep.shop_id`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("endpoint stats: %w", err)
	}
	out := make([]events.EndpointStats, 0, len(rows))
	for _, r := range rows {
		st := events.EndpointStats{EndpointID: r.EndpointID, ShopID: r.ShopID, Pending: r.Pending}
		if r.Pending > 0 {
			var oldest []deliveryRow
			if err := e.s.db.WithContext(ctx).Where("endpoint_id = ? AND state <> ?", r.EndpointID, events.DeliveryDelivered).
				Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
				return nil, fmt.Errorf("endpoint stats: %w", err)
			}
			if len(oldest) == 1 {
				st.Oldest = utcPtr(&oldest[0].CreatedAt)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// ListEvents returns the shop's events (silent ones excluded), newest first.
func (e *Events) ListEvents(ctx context.Context, shopID int64, f events.Filter) ([]events.Stored, error) {
	q := e.s.db.WithContext(ctx).Where("shop_id = ? AND silent = ?", shopID, false)
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.OrderID != 0 {
		q = q.Where("order_id = ?", f.OrderID)
	}
	if f.Before > 0 {
		q = q.Where("pos < ?", f.Before)
	}
	var rows []eventRow
	if err := q.Order("pos DESC").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := make([]events.Stored, 0, len(rows))
	for _, r := range rows {
		var ev events.Event
		if err := json.Unmarshal([]byte(r.Payload), &ev); err != nil {
			return nil, fmt.Errorf("event %s: %w", r.ID, err)
		}
		ev.Key = r.Key
		out = append(out, events.Stored{Pos: r.Pos, Event: ev, Body: []byte(r.Payload)})
	}
	return out, nil
}

// Redeliver makes one of the shop's events pending again, due now, at
// every endpoint that wants it, and returns them all: an enabled one
// receives it shortly, a disabled one once re-enabled. A delivery
// still pending keeps its first failure and attempts (the 3-day window).
func (e *Events) Redeliver(ctx context.Context, shopID int64, eventID string, now time.Time) ([]string, error) {
	var woken []string
	err := e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ev eventRow
		err := tx.Where("shop_id = ? AND id = ? AND silent = ?", shopID, eventID, false).Take(&ev).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("event %s: %w", eventID, events.ErrEventNotFound)
		}
		if err != nil {
			return fmt.Errorf("event %s: %w", eventID, err)
		}
		var eps []endpointRow
		if err := tx.Where("shop_id = ?", shopID).Find(&eps).Error; err != nil {
			return fmt.Errorf("endpoints: %w", err)
		}
		for _, r := range eps {
			ep, err := e.toDomain(r)
			if err != nil {
				return err
			}
			if !ep.Wants(ev.Type) {
				continue
			}
			d := deliveryRow{EndpointID: ep.ID, EventPos: ev.Pos, ShopID: shopID, OrderID: ev.OrderID, Sequence: ev.Sequence,
				State: events.DeliveryPending, NextAttemptAt: now.UTC(), CreatedAt: now.UTC()}
			if err := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "endpoint_id"}, {Name: "event_pos"}},
				// A delivery still pending (failing) keeps its retry clock:
				// its first failure, and so when its endpoint is given up
				// on, and its age in the backlog. A settled one starts anew.
				DoUpdates: clause.Assignments(map[string]any{"state": events.DeliveryPending, "next_attempt_at": now.UTC(),
					"first_failed_at": gorm.Expr("CASE WHEN event_deliveries.state = ? THEN event_deliveries.first_failed_at END", events.DeliveryPending),
					"attempts":        gorm.Expr("CASE WHEN event_deliveries.state = ? THEN event_deliveries.attempts ELSE 0 END", events.DeliveryPending),
					"created_at":      gorm.Expr("CASE WHEN event_deliveries.state = ? THEN event_deliveries.created_at ELSE ? END", events.DeliveryPending, now.UTC()),
					"delivered_at":    nil, "claim": nil}),
			}).Create(&d).Error; err != nil {
				return fmt.Errorf("redeliver to %s: %w", ep.ID, err)
			}
			woken = append(woken, ep.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return woken, nil
}

// CreateEndpointOnce records a new endpoint under an Idempotency-Key, in
// one transaction with claiming the key (its action_id names the
// endpoint): a crash leaves both or neither. A key that made an endpoint
// already, with the same request, returns that endpoint as it is now (and
// false); with another request, idempotency.ErrKeyReused. A concurrent
// request with the key still claiming it gets idempotency.ErrInFlight.
func (e *Events) CreateEndpointOnce(ctx context.Context, ep events.Endpoint, c orders.IdempotencyClaim) (events.Endpoint, bool, error) {
	row, err := e.toRow(ep)
	if err != nil {
		return events.Endpoint{}, false, err
	}
	var existing string
	err = e.s.retryBusy(ctx, func() error {
		existing = ""
		return e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			now := ep.CreatedAt.UTC()
			got, err := readKey(tx, c, now)
			if err != nil {
				return err
			}
			if got != nil {
				existing = got.ActionID
				return nil
			}
			if err := claimKey(tx, c, ep.ID, now); err != nil {
				return err
			}
			if err := tx.Create(&row).Error; err != nil {
				return fmt.Errorf("create endpoint: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return events.Endpoint{}, false, err
	}
	if existing != "" {
		got, err := e.ShopEndpoint(ctx, ep.ShopID, existing)
		return got, false, err
	}
	return ep, true, nil
}
