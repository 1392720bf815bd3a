package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// 00020's ALTERs wait at most lock_timeout (5 s) for orders' lock: behind
// a reader's open transaction the migration fails, and is rolled back,
// instead of queueing every later read of orders behind it.
func TestLZ4MigrationLockTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, _ := storetest.SchemaURL(t)
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.MigrateToForTest(ctx, 20, false); err != nil {
		t.Fatal(err)
	}
	reader, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reader.Close() })
	tx, err := reader.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	if _, err := tx.ExecContext(ctx, "LOCK TABLE orders IN ACCESS SHARE MODE"); err != nil {
		t.Fatal(err)
	}

	// Without the timeout the migration would wait for the reader to end.
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = s.MigrateToForTest(wait, 19, true)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "55P03" { // lock_not_available
		t.Fatalf("down to 19 behind a reader: %v, want lock_not_available", err)
	}
	var v int64
	if err := s.QueryRowForTest("SELECT max(version_id) FROM goose_db_version", nil, &v); err != nil {
		t.Fatal(err)
	}
	if v != 20 {
		t.Errorf("version %d after the failed down, want 20", v)
	}
}
