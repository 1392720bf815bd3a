package store

import (
	"context"
	"fmt"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// sealedColumn is a column holding values sealed by internal/secrets. Each
// value is bound to a context derived from its row (bind), so the rotation
// can open and reseal it without knowing what it is.
type sealedColumn struct {
	table, column string
	key           string // the row's primary key
	bind          string // the column the context is made from
	context       func(bind string) string
}

// sealedColumns is every place orderdesk keeps sealed values: `orderdesk
// keys rotate-encryption` walks them all. A new kind of secret at rest
// adds its column here.
var sealedColumns = []sealedColumn{
	{table: "shops", column: "access_token", key: "id", bind: "domain", context: tenant.TokenContext},
	// Sealed as one value (the JSON list); SealClearSecrets seals the ones
	// still in clear first.
	{table: "event_endpoints", column: "secrets", key: "id", bind: "id", context: EndpointSecretsContext},
}

// Reseal is how a value moves to the current key (secrets.Keyring.Reseal).
type Reseal func(sealed, context string) (string, bool, error)

// ResealAll re-encrypts every sealed value that does not start with
// current (the current key's prefix, "v1:<id>:"), a batch at a time. A
// value is replaced only if it is still the one read, so a token written
// meanwhile (a reinstall) is never overwritten with an older one. It
// returns how many values it re-encrypted.
func (s *Store) ResealAll(ctx context.Context, current string, reseal Reseal) (int, error) {
	total := 0
	for _, c := range sealedColumns {
		n, err := s.resealColumn(ctx, c, current, reseal)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Store) resealColumn(ctx context.Context, c sealedColumn, current string, reseal Reseal) (int, error) {
	selectSQL := fmt.Sprintf("SELECT CAST(%[2]s AS TEXT) AS row_key, %[3]s AS row_bind, %[4]s AS row_value FROM %[1]s WHERE %[4]s IS NOT NULL AND substr(%[4]s, 1, %[5]d) <> ? ORDER BY %[2]s LIMIT 100",
		c.table, c.key, c.bind, c.column, len(current))
	updateSQL := fmt.Sprintf("UPDATE %[1]s SET %[3]s = ? WHERE CAST(%[2]s AS TEXT) = ? AND %[3]s = ?", c.table, c.key, c.column)
	done, stalled := 0, 0
	for {
		var rows []struct {
			RowKey, RowBind, RowValue string
		}
		if err := s.db.WithContext(ctx).Raw(selectSQL, current).Scan(&rows).Error; err != nil {
			return done, fmt.Errorf("reseal %s.%s: %w", c.table, c.column, err)
		}
		if len(rows) == 0 {
			return done, nil
		}
		changed := 0
		for _, r := range rows {
			out, moved, err := reseal(r.RowValue, c.context(r.RowBind))
			if err != nil {
				return done, fmt.Errorf("reseal %s.%s of %s %s: %w", c.table, c.column, c.key, r.RowKey, err)
			}
			if !moved {
				continue
			}
			res := s.db.WithContext(ctx).Exec(updateSQL, out, r.RowKey, r.RowValue)
			if res.Error != nil {
				return done, fmt.Errorf("reseal %s.%s of %s %s: %w", c.table, c.column, c.key, r.RowKey, res.Error)
			}
			if res.RowsAffected > 0 {
				done++
				changed++
			}
		}
		if changed > 0 {
			stalled = 0
			continue
		}
		// Every value of the batch changed under us, perhaps under an old
		// key again (a replica not given the new key yet): read them again,
		// but never report done while one is still under an old key.
		if stalled++; stalled == 3 {
			return done, fmt.Errorf("reseal %s.%s: %d values keep changing while being re-encrypted (is every replica given the new key?); run the rotation again", c.table, c.column, len(rows))
		}
	}
}
