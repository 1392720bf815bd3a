package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// review12OldTakeSequences is takeSequences' SQLite branch before 40a8773.
func review12OldTakeSequences(tx *gorm.DB, shopID int64, ids, counts []int64, last func(orderID, last int64)) error {
	for start := 0; start < len(ids); start += idChunk {
		chunk := ids[start:min(start+idChunk, len(ids))]
		values := make([]string, 0, len(chunk))
		args := make([]any, 0, 5*len(chunk))
		for i, id := range chunk {
			values = append(values, "(?, ?, "+eventsMaxSequence("?", "?")+" + ?)")
			args = append(args, shopID, id, shopID, id, counts[start+i])
		}
		err := queryRows(tx, "INSERT INTO event_sequences (shop_id, order_id, last) VALUES "+strings.Join(values, ", ")+
			sequenceConflict("max"), args, scanSequences(last))
		if err != nil {
			return fmt.Errorf("sequences of %d orders: %w", len(chunk), err)
		}
	}
	return nil
}

func review12SQLite(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "r12.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReview12SequenceUpsertMatchesOldStatement: on random states (sequence
// row missing, behind, equal to or ahead of the events' max; events with
// gaps; another shop's events and rows for the same order ids), edge ids
// (min/max int64, 0, negatives, 2^53+1) and 2,500 orders (past the old
// 1,000-id chunk), the json_each upsert returns the same (order, last) rows
// and leaves the same event_sequences as the VALUES upsert it replaced.
func TestReview12SequenceUpsertMatchesOldStatement(t *testing.T) {
	s := review12SQLite(t)
	for _, shop := range []int64{1, 2} {
		if err := s.db.Exec("INSERT INTO shops (id, domain) VALUES (?, ?)", shop, fmt.Sprintf("s%d.myshopify.com", shop)).Error; err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(12, 12))
	idSet := map[int64]bool{math.MinInt64: true, math.MinInt64 + 1: true, -1: true, 0: true, 1: true, 1<<53 + 1: true, 1<<32 + 7: true, math.MaxInt64 - 1: true, math.MaxInt64: true}
	for len(idSet) < 2500 {
		idSet[r.Int64()-r.Int64()] = true
	}
	ids := slices.Sorted(maps.Keys(idSet))
	now := time.Now().UTC()
	tx := s.db.Begin()
	for i, id := range ids {
		for _, shop := range []int64{1, 2} {
			var maxSeq int64
			if r.IntN(3) > 0 { // some events, sometimes with gaps
				for seq := int64(1); seq <= int64(1+r.IntN(6)); seq++ {
					if r.IntN(4) == 0 {
						continue
					}
					maxSeq = seq
					if err := tx.Exec(`INSERT INTO events (id, shop_id, key, order_id, sequence, type, occurred_at, created_at, silent, dispatched, payload)
						VALUES (?, ?, ?, ?, ?, 't', ?, ?, false, false, '{}')`, fmt.Sprintf("e-%d-%d-%d", shop, i, seq), shop, fmt.Sprintf("k-%d-%d", i, seq), id, seq, now, now).Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			switch r.IntN(4) {
			case 0: // no sequence row
			case 1:
				tx.Exec("INSERT INTO event_sequences (shop_id, order_id, last) VALUES (?, ?, ?)", shop, id, max(maxSeq-int64(r.IntN(3)), 0)) // behind or equal
			case 2:
				tx.Exec("INSERT INTO event_sequences (shop_id, order_id, last) VALUES (?, ?, ?)", shop, id, maxSeq+int64(r.IntN(5))) // ahead or equal
			case 3:
				tx.Exec("INSERT INTO event_sequences (shop_id, order_id, last) VALUES (?, ?, ?)", shop, id, maxSeq)
			}
		}
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	counts := make([]int64, len(ids))
	for i := range counts {
		counts[i] = int64(1 + r.IntN(4))
	}
	run := func(take func(*gorm.DB, int64, []int64, []int64, func(int64, int64)) error) (map[int64]int64, int, string) {
		t.Helper()
		tx := s.db.Begin()
		defer tx.Rollback()
		got := map[int64]int64{}
		rows := 0
		if err := take(tx, 1, ids, counts, func(id, l int64) { got[id] = l; rows++ }); err != nil {
			t.Fatal(err)
		}
		var dump []string
		rs, err := tx.Raw("SELECT shop_id, order_id, typeof(order_id), last, typeof(last) FROM event_sequences ORDER BY shop_id, order_id").Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for rs.Next() {
			var a, b, c, d, e sql.RawBytes
			rs.Scan(&a, &b, &c, &d, &e)
			dump = append(dump, fmt.Sprintf("%s/%s(%s)=%s(%s)", a, b, c, d, e))
		}
		return got, rows, strings.Join(dump, "\n")
	}
	oldGot, oldRows, oldTable := run(review12OldTakeSequences)
	newGot, newRows, newTable := run(takeSequences)
	if oldRows != len(ids) || newRows != len(ids) {
		t.Errorf("RETURNING rows: old %d, new %d, want %d", oldRows, newRows, len(ids))
	}
	if !maps.Equal(oldGot, newGot) {
		for _, id := range ids {
			if oldGot[id] != newGot[id] {
				t.Errorf("order %d: old last %d, new %d", id, oldGot[id], newGot[id])
			}
		}
	}
	if oldTable != newTable {
		t.Errorf("event_sequences differ after the upsert")
	}
	// Empty input: no statement before; one returning nothing now.
	tx = s.db.Begin()
	defer tx.Rollback()
	if err := takeSequences(tx, 1, nil, nil, func(id, l int64) { t.Errorf("empty input returned %d/%d", id, l) }); err != nil {
		t.Errorf("empty input: %v", err)
	}
}

// TestReview12SequenceUpsertUsesIndex: both max() probes of the json_each
// statement are index searches on events (shop_id, order_id), not scans,
// with order_id coming out of json_extract.
func TestReview12SequenceUpsertUsesIndex(t *testing.T) {
	s := review12SQLite(t)
	q := `INSERT INTO event_sequences (shop_id, order_id, last)
		SELECT ?, u.order_id, ` + eventsMaxSequence("?", "u.order_id") + ` + u.n
		FROM (SELECT json_extract(j.value, '$[0]') AS order_id, json_extract(j.value, '$[1]') AS n FROM json_each(?) AS j ORDER BY j.key) AS u
		WHERE true` + sequenceConflict("max")
	rows, err := s.db.Raw("EXPLAIN QUERY PLAN "+q, 1, 1, "[[1,2]]").Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	t.Logf("plan:\n%s", strings.Join(plan, "\n"))
	searches := 0
	for _, p := range plan {
		if strings.HasPrefix(p, "SCAN e") {
			t.Errorf("events scanned: %s", p)
		}
		if strings.HasPrefix(p, "SEARCH e USING COVERING INDEX") && strings.Contains(p, "shop_id=? AND order_id=?") {
			searches++
		}
	}
	if searches != 2 {
		t.Errorf("%d index searches of events, want 2", searches)
	}
}
