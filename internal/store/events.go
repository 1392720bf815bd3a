package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
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
	return o.saveOrders(ctx, shopID, list, timeline, history, nil)
}

// saveOrders is SaveOrders; also, when set, writes more in the same
// transaction (a backfill's checkpoint), after the orders and their events.
func (o *Orders) saveOrders(ctx context.Context, shopID int64, list []orders.Order, timeline []orders.TimelineEvent, history bool, also func(tx *gorm.DB) error) error {
	if len(list) == 0 && also == nil {
		return nil
	}
	return o.saveEncoded(ctx, shopID, func(tx *gorm.DB) (encodedOrders, error) {
		if len(list) == 0 {
			return encodedOrders{}, nil
		}
		shop, err := shopOf(tx, shopID)
		if err != nil {
			return encodedOrders{}, err
		}
		return o.encodeOrders(shop, list, timeline, time.Now().UTC())
	}, history, also)
}

// saveEncoded is saveOrders with the orders encoded by encode (in the
// transaction, or before it: a backfill encodes a batch while the last
// one is saved).
func (o *Orders) saveEncoded(ctx context.Context, shopID int64, encode func(tx *gorm.DB) (encodedOrders, error), history bool, also func(tx *gorm.DB) error) error {
	var written []events.Event
	err := o.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		enc, err := encode(tx)
		if err != nil {
			return err
		}
		if len(enc.rows) > 0 {
			w, err := writeOrders(tx, shopID, enc, history)
			if err != nil {
				return err
			}
			written = w
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
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

// encodedOrders are orders ready to write: their rows (toOrderRow), their
// timeline's rows, and the events their facts tell (not yet silenced or
// numbered: that takes the transaction).
type encodedOrders struct {
	rows     []orderRow
	timeline []timelineRow
	events   []orderEvents
}

// encodeOrders is the part of saving orders that needs no database. An
// order listed twice is written once, as its newest copy, with the events
// of all its copies (see copiesOf); a timeline id listed twice, once.
func (o *Orders) encodeOrders(shop events.Shop, list []orders.Order, timeline []orders.TimelineEvent, now time.Time) (encodedOrders, error) {
	groups := copiesOf(list)
	newest := make([]orders.Order, len(groups))
	evs := make([]orderEvents, 0, len(groups))
	for i, g := range groups {
		newest[i] = g[0]
		all := events.ForOrder(shop, g[0], now)
		for _, ord := range g[1:] {
			all = append(all, events.ForOrder(shop, ord, now)...)
		}
		evs = append(evs, orderEvents{orderID: g[0].ID, events: all})
	}
	rows, err := o.toOrderRows(shop.ID, newest)
	if err != nil {
		return encodedOrders{}, err
	}
	tl, err := toTimelineRows(shop.ID, lastOfEachID(timeline))
	if err != nil {
		return encodedOrders{}, fmt.Errorf("timeline: %w", err)
	}
	return encodedOrders{rows: rows, timeline: tl, events: evs}, nil
}

// writeOrders is saveOrders' work inside its transaction: the orders, their
// timeline, and the events of their facts not written before (silent for
// an order first seen in a save of history).
func writeOrders(tx *gorm.DB, shopID int64, enc encodedOrders, history bool) ([]events.Event, error) {
	var known map[int64]bool
	if history {
		ids := make([]int64, 0, len(enc.rows))
		for _, r := range enc.rows {
			ids = append(ids, r.ID)
		}
		var err error
		if known, err = knownOrders(tx, shopID, ids); err != nil {
			return nil, err
		}
	}
	if err := upsertOrderRows(tx, enc.rows); err != nil {
		return nil, err
	}
	if err := addTimelineRows(tx, enc.timeline); err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	batch := make([]orderEvents, 0, len(enc.events))
	for _, oe := range enc.events {
		if history && !known[oe.orderID] {
			evs := slices.Clone(oe.events) // enc stays as encoded: a failed save may be retried with it
			for i := range evs {
				evs[i].Silent = true
			}
			oe.events = evs
		}
		batch = append(batch, oe)
	}
	return writeEvents(tx, shopID, batch...)
}

// knownOrders is which of ids the shop has stored.
func knownOrders(tx *gorm.DB, shopID int64, ids []int64) (map[int64]bool, error) {
	if isPostgres(tx) {
		return pgKnownOrders(tx, shopID, ids)
	}
	known := make(map[int64]bool, len(ids))
	for chunk := range slices.Chunk(ids, idChunk) {
		var have []int64
		if err := tx.Table("orders").Where("shop_id = ? AND id IN ?", shopID, chunk).Pluck("id", &have).Error; err != nil {
			return nil, fmt.Errorf("known orders: %w", err)
		}
		for _, id := range have {
			known[id] = true
		}
	}
	return known, nil
}

func shopOf(tx *gorm.DB, shopID int64) (events.Shop, error) {
	var row shopRow
	err := tx.Select("id, domain").Where("id = ?", shopID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		err = tenant.ErrNotFound
	}
	if err != nil {
		return events.Shop{}, fmt.Errorf("shop %d: %w", shopID, err)
	}
	return events.Shop{ID: shopID, Domain: row.Domain}, nil
}

// idChunk bounds the ids of one IN list, and eventChunk the rows of one
// multi-row INSERT (11 parameters a row), well under SQLite's 32,766 and
// Postgres' 65,535 parameters.
const (
	idChunk    = 1000
	eventChunk = 500
)

// orderEvents are the events of one order's facts.
type orderEvents struct {
	orderID int64
	events  []events.Event
}

// writeEvents writes the events of orders whose facts were not written
// before, numbering them in each order's sequence: one read of the orders'
// known facts, one sequence upsert for the orders with new ones, and
// multi-row inserts, whatever the number of orders. The sequence rows are
// taken with an upsert, in order id order, which holds their locks to the
// end of the transaction: concurrent writers for one order number one
// after the other. A writer that loses a race for a fact leaves a gap in
// the sequence, never a repeat. It returns the events written, silent ones
// excluded.
func writeEvents(tx *gorm.DB, shopID int64, batch ...orderEvents) ([]events.Event, error) {
	ids := make([]int64, 0, len(batch))
	for _, b := range batch {
		if len(b.events) > 0 {
			ids = append(ids, b.orderID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := holdShops(tx, shopID); err != nil {
		return nil, fmt.Errorf("write events: %w", err)
	}
	seen := map[int64]map[string]bool{}
	err := eventKeys(tx, shopID, ids, func(orderID int64, key string) {
		if seen[orderID] == nil {
			seen[orderID] = map[string]bool{}
		}
		seen[orderID][key] = true
	})
	if err != nil {
		return nil, err
	}
	fresh := map[int64][]events.Event{}
	for _, b := range batch {
		keys := seen[b.orderID]
		if keys == nil {
			keys = map[string]bool{}
			seen[b.orderID] = keys
		}
		for _, e := range b.events {
			if !keys[e.Key] {
				keys[e.Key] = true
				fresh[b.orderID] = append(fresh[b.orderID], e)
			}
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	orderIDs := slices.Sorted(maps.Keys(fresh)) // one lock order for every writer
	counts := make([]int64, len(orderIDs))
	for i, id := range orderIDs {
		counts[i] = int64(len(fresh[id]))
	}
	last := make(map[int64]int64, len(orderIDs))
	if err := takeSequences(tx, shopID, orderIDs, counts, func(id, l int64) { last[id] = l }); err != nil {
		return nil, err
	}
	var rows []eventOf
	for _, id := range orderIDs {
		evs := fresh[id]
		n := int64(len(evs))
		l, ok := last[id]
		if !ok {
			return nil, fmt.Errorf("sequence of order %d: not returned", id)
		}
		for i, e := range evs {
			e.Sequence = l - n + int64(i) + 1
			rows = append(rows, eventOf{orderID: id, Event: e})
		}
	}
	bodies := make([]string, len(rows))
	for i, e := range rows {
		if e.Silent {
			// Never delivered nor listed: the row only keeps its fact
			// known (its key). A body would be the order's contact and
			// money again, ~550 bytes an event, and a backfill's history
			// is two events an order: 22 MB of a 20,015-order backfill,
			// whose encoding took 0.24 s of the saver's 0.57 s of CPU.
			bodies[i] = silentBody
			continue
		}
		body, err := json.Marshal(e.Event)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.Key, err)
		}
		bodies[i] = string(body)
	}
	ok, err := insertEvents(tx, shopID, rows, bodies)
	if err != nil {
		return nil, err
	}
	var out []events.Event
	for _, e := range rows {
		if ok[e.ID] && !e.Silent {
			out = append(out, e.Event)
		}
	}
	return out, nil
}

// silentBody is the stored body of a silent event.
const silentBody = "{}"

// eventOf is an event of an order, numbered, to insert.
type eventOf struct {
	orderID int64
	events.Event
}

// eventKeys hands each event key written for the shop's orders ids to have.
func eventKeys(tx *gorm.DB, shopID int64, ids []int64, have func(orderID int64, key string)) error {
	if isPostgres(tx) {
		return pgEventKeys(tx, shopID, ids, have)
	}
	for chunk := range slices.Chunk(ids, idChunk) {
		var rows []struct {
			OrderID int64
			Key     string
		}
		if err := tx.Table("events").Select("order_id, key").Where("shop_id = ? AND order_id IN ?", shopID, chunk).Scan(&rows).Error; err != nil {
			return fmt.Errorf("events of %d orders: %w", len(chunk), err)
		}
		for _, r := range rows {
			have(r.OrderID, r.Key)
		}
	}
	return nil
}

// takeSequences adds counts[i] to the sequence of order ids[i], in the
// order of ids, handing each order's new last number to last. The upsert
// holds the sequence rows' locks to the end of the transaction.
//
// The numbers taken start above the order's stored events too, not only
// above the sequence row: a row behind its events (restored from an older
// backup than events, edited by hand, deleted) would hand out numbers
// already used, and the events insert, which skips only a fact already
// written, would fail the whole transaction on (order, sequence) — an
// action's final save among them, after Shopify moved the money. The
// events' highest sequence is a backward probe of their unique index on
// (shop_id, order_id, sequence), inside the same statement: one for a new
// sequence row, two for one that exists (see sequenceConflict).
func takeSequences(tx *gorm.DB, shopID int64, ids, counts []int64, last func(orderID, last int64)) error {
	if isPostgres(tx) {
		return pgTakeSequences(tx, shopID, ids, counts, last)
	}
	// The orders and counts go in as one JSON array of [order_id, n]
	// pairs, so the statement is small and the same whatever the number
	// of orders: written as VALUES rows, each with its own max() subquery,
	// SQLite parsed a statement of 250 subqueries for every batch, 14% of
	// a 20,015-order backfill's CPU.
	pairs := make([]byte, 0, 24*len(ids)+2)
	pairs = append(pairs, '[')
	for i, id := range ids {
		if i > 0 {
			pairs = append(pairs, ',')
		}
		pairs = append(pairs, '[')
		pairs = strconv.AppendInt(pairs, id, 10)
		pairs = append(pairs, ',')
		pairs = strconv.AppendInt(pairs, counts[i], 10)
		pairs = append(pairs, ']')
	}
	pairs = append(pairs, ']')
	// WHERE true: SQLite's parser needs it between a SELECT and an upsert's ON.
	err := queryRows(tx, `INSERT INTO event_sequences (shop_id, order_id, last)
		SELECT ?, u.order_id, `+eventsMaxSequence("?", "u.order_id")+` + u.n
		FROM (SELECT json_extract(j.value, '$[0]') AS order_id, json_extract(j.value, '$[1]') AS n FROM json_each(?) AS j ORDER BY j.key) AS u
		WHERE true`+sequenceConflict("max"),
		[]any{shopID, shopID, string(pairs)}, scanSequences(last))
	if err != nil {
		return fmt.Errorf("sequences of %d orders: %w", len(ids), err)
	}
	return nil
}

// eventsMaxSequence is the SQL of the highest sequence number among the
// stored events of the order (0 when it has none), shop and order being
// SQL expressions.
func eventsMaxSequence(shop, order string) string {
	return "COALESCE((SELECT max(e.sequence) FROM events e WHERE e.shop_id = " + shop + " AND e.order_id = " + order + "), 0)"
}

// sequenceConflict ends a sequence upsert whose inserted last is the
// order's events' highest sequence m plus the count n to take (a new row
// starts above them), greatest being the dialect's two-argument maximum.
// A row that exists becomes max(last, m) + n, written as max(last - m, 0)
// + excluded.last since excluded.last is m + n. Both m's are read in one
// statement, with its one snapshot, before any of its events is written,
// so they are the same. A concurrent writer's events, committed after the
// snapshot, are not in m, but that writer raised last, which the upsert
// reads as committed after waiting for its lock.
func sequenceConflict(greatest string) string {
	return " ON CONFLICT (shop_id, order_id) DO UPDATE SET last = " + greatest + "(event_sequences.last - " +
		eventsMaxSequence("excluded.shop_id", "excluded.order_id") + ", 0) + excluded.last RETURNING order_id, last"
}

// scanSequences hands the rows of a sequence upsert (order_id, last) to last.
func scanSequences(last func(orderID, last int64)) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		var id, l int64
		if err := rows.Scan(&id, &l); err != nil {
			return err
		}
		last(id, l)
		return nil
	}
}

// scanInserted notes in ok the ids an events insert returned.
func scanInserted(ok map[string]bool) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ok[id] = true
		return nil
	}
}

// insertEvents inserts numbered events with their encoded bodies,
// skipping those whose fact another writer stored first (its sequence
// number is then a gap), and returns the ids it inserted. Only the fact is
// a conflict to skip: an id or a sequence number taken twice is an error,
// not an event to drop silently (and Postgres checks one index before the
// insert, not all four).
func insertEvents(tx *gorm.DB, shopID int64, evs []eventOf, bodies []string) (map[string]bool, error) {
	if isPostgres(tx) {
		return pgInsertEvents(tx, shopID, evs, bodies)
	}
	ok := make(map[string]bool, len(evs))
	for start := 0; start < len(evs); start += eventChunk {
		chunk := evs[start:min(start+eventChunk, len(evs))]
		values := make([]string, 0, len(chunk))
		args := make([]any, 0, 11*len(chunk))
		for i, e := range chunk {
			values = append(values, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.ID, shopID, e.Key, e.orderID, e.Sequence, e.Type, e.OccurredAt.UTC(), e.CreatedAt.UTC(), e.Silent, e.Silent, bodies[start+i])
		}
		err := queryRows(tx, "INSERT INTO events (id, shop_id, key, order_id, sequence, type, occurred_at, created_at, silent, dispatched, payload) VALUES "+
			strings.Join(values, ", ")+" ON CONFLICT (shop_id, key) DO NOTHING RETURNING id", args, scanInserted(ok))
		if err != nil {
			return nil, fmt.Errorf("write %d events: %w", len(chunk), err)
		}
	}
	return ok, nil
}

// queryRows runs a query in tx and hands each row to scan. It is
// tx.Raw(...).Scan without Scan's recorder, which renders every statement
// with its arguments inlined (gorm's Explain) even when nothing logs it:
// for the backfill's multi-row inserts of event payloads that rendering
// cost more CPU than the inserts (a second of a 20,015-order sync).
func queryRows(tx *gorm.DB, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := tx.Raw(query, args...).Rows()
	return eachRow(rows, err, scan)
}

// eachRow hands each of a query's rows to scan (none when err is set).
func eachRow(rows *sql.Rows, err error, scan func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
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
	return writeEvents(tx, a.ShopID, orderEvents{orderID: a.OrderID, events: []events.Event{ev}})
}
