package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
)

// eventRow is an outbound event in the outbox.
type eventRow struct {
	Pos        int64 `gorm:"primaryKey;autoIncrement"`
	ID         string
	ShopID     int64
	Key        string
	OrderID    int64
	Sequence   int64
	Type       string
	OccurredAt time.Time
	CreatedAt  time.Time `gorm:"autoCreateTime:false"`
	Silent     bool
	Dispatched bool
	Payload    string
}

func (eventRow) TableName() string { return "events" }

// Events is the events.Store view of the database.
type Events struct{ s *Store }

// Events returns the events.Store view of the database.
func (s *Store) Events() *Events { return &Events{s: s} }

// OnEventsWritten sets what runs after a transaction that wrote events
// commits (metrics, and waking the dispatcher). Set it before serving.
func (s *Store) OnEventsWritten(f func([]events.Event)) { s.hooks.eventsWritten = f }

// storeHooks are callbacks shared by every view of a Store, including the
// copies bound to a transaction.
type storeHooks struct {
	// final runs inside the transaction that makes an action final.
	final         hookList
	eventsWritten func([]events.Event)
	// beforeCommit, set only by tests, fails a transaction that wrote
	// events at its last step, as a crash before the commit would.
	beforeCommit func() error
}

func (s *Store) written(evs []events.Event) {
	if len(evs) > 0 && s.hooks.eventsWritten != nil {
		s.hooks.eventsWritten(evs)
	}
}

// within is the Store bound to a transaction.
func (s *Store) within(tx *gorm.DB) *Store {
	c := *s
	c.db = tx
	return &c
}

// SaveOrders stores orders, the timeline their facts tell and, in the same
// transaction, the outbound events of the facts not reported before: an
// event exists if and only if the change it reports committed. history
// marks a save of facts learned as history (a backfill, a contact's first
// read): an order seen for the first time then gets its facts recorded
// silently, so the CRM is not sent years of old orders as news.
func (o *Orders) SaveOrders(ctx context.Context, shopID int64, list []orders.Order, timeline []orders.TimelineEvent, history bool) error {
	if len(list) == 0 {
		return nil
	}
	var written []events.Event
	err := o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		shop, err := shopOf(tx, shopID)
		if err != nil {
			return err
		}
		known := map[int64]bool{}
		if history {
			ids := make([]int64, 0, len(list))
			for _, ord := range list {
				ids = append(ids, ord.ID)
			}
			var have []int64
			if err := tx.Table("orders").Where("shop_id = ? AND id IN ?", shopID, ids).Pluck("id", &have).Error; err != nil {
				return fmt.Errorf("known orders: %w", err)
			}
			for _, id := range have {
				known[id] = true
			}
		}
		in := o.s.within(tx).Orders()
		if err := in.UpsertOrders(ctx, shopID, list); err != nil {
			return err
		}
		if err := in.AddTimelineEvents(ctx, shopID, timeline); err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		now := time.Now().UTC()
		for _, ord := range list {
			evs := events.ForOrder(shop, ord, now)
			if history && !known[ord.ID] {
				for i := range evs {
					evs[i].Silent = true
				}
			}
			w, err := writeEvents(tx, shopID, ord.ID, evs)
			if err != nil {
				return err
			}
			written = append(written, w...)
		}
		if f := o.s.hooks.beforeCommit; f != nil {
			return f()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save orders: %w", err)
	}
	o.s.written(written)
	return nil
}

func shopOf(tx *gorm.DB, shopID int64) (events.Shop, error) {
	var row shopRow
	if err := tx.Select("id, domain").Where("id = ?", shopID).Take(&row).Error; err != nil {
		return events.Shop{}, fmt.Errorf("shop %d: %w", shopID, err)
	}
	return events.Shop{ID: shopID, Domain: row.Domain}, nil
}

// writeEvents writes the events of one order whose facts were not written
// before, numbering them in the order's sequence. The sequence row is
// taken with an upsert, which holds its lock to the end of the
// transaction: concurrent writers for one order number one after the
// other. A writer that loses a race for a fact leaves a gap in the
// sequence, never a repeat. It returns the events written, silent ones
// excluded.
func writeEvents(tx *gorm.DB, shopID, orderID int64, evs []events.Event) ([]events.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	var have []string
	if err := tx.Table("events").Where("shop_id = ? AND order_id = ?", shopID, orderID).Pluck("key", &have).Error; err != nil {
		return nil, fmt.Errorf("events of order %d: %w", orderID, err)
	}
	seen := make(map[string]bool, len(have))
	for _, k := range have {
		seen[k] = true
	}
	fresh := make([]events.Event, 0, len(evs))
	for _, e := range evs {
		if !seen[e.Key] {
			seen[e.Key] = true
			fresh = append(fresh, e)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	n := int64(len(fresh))
	var last int64
	if err := tx.Raw("INSERT INTO event_sequences (shop_id, order_id, last) VALUES (?, ?, ?) "+
		"ON CONFLICT (shop_id, order_id) DO UPDATE SET last = event_sequences.last + excluded.last RETURNING last",
		shopID, orderID, n).Scan(&last).Error; err != nil {
		return nil, fmt.Errorf("sequence of order %d: %w", orderID, err)
	}
	var out []events.Event
	for i, e := range fresh {
		e.Sequence = last - n + int64(i) + 1
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.Key, err)
		}
		row := eventRow{ID: e.ID, ShopID: shopID, Key: e.Key, OrderID: orderID, Sequence: e.Sequence, Type: e.Type,
			OccurredAt: e.OccurredAt.UTC(), CreatedAt: e.CreatedAt.UTC(), Silent: e.Silent, Dispatched: e.Silent, Payload: string(body)}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return nil, fmt.Errorf("write event %s: %w", e.Key, res.Error)
		}
		if res.RowsAffected == 1 && !e.Silent {
			out = append(out, e)
		}
	}
	return out, nil
}

// writeActionEvent writes the action.succeeded or action.failed event of
// an action that just became final, inside that transaction, with the
// order as stored for its contact and summary.
func writeActionEvent(tx *gorm.DB, a orders.Action) ([]events.Event, error) {
	shop, err := shopOf(tx, a.ShopID)
	if err != nil {
		return nil, err
	}
	var rows []orderRow
	if err := tx.Where("shop_id = ? AND id = ?", a.ShopID, a.OrderID).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("order of action %s: %w", a.ID, err)
	}
	var ord *orders.Order
	if len(rows) == 1 {
		o, err := rows[0].toDomain()
		if err != nil {
			return nil, err
		}
		ord = &o
	}
	ev, ok := events.ForAction(shop, a, ord, time.Now())
	if !ok {
		return nil, nil
	}
	return writeEvents(tx, a.ShopID, a.OrderID, []events.Event{ev})
}
