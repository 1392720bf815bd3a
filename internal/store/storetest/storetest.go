// Package storetest gives tests a fresh, migrated database: a new schema on
// the real Postgres, or a new SQLite file, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection

	"github.com/orderdesk/orderdesk/internal/store"
)

// PostgresURL is the server tests use: ORDERDESK_TEST_POSTGRES_URL, or the
// local one CI starts.
func PostgresURL() string {
	if u := os.Getenv("ORDERDESK_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Kinds are the two databases every store test runs on.
var Kinds = []string{"postgres", "sqlite"}

// New opens a fresh migrated database of the given kind.
func New(t testing.TB, kind string) *store.Store {
	t.Helper()
	if kind == "postgres" {
		return Postgres(t)
	}
	return SQLite(t)
}

// SQLite opens a migrated SQLite database in a temporary file.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "orderdesk.db"))
}

// Postgres creates a schema, opens a migrated store inside it, and drops the
// schema when the test ends.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	u, _ := SchemaURL(t)
	return open(t, u)
}

// SchemaURL creates a fresh schema and returns a URL whose connections use
// it; the schema is dropped when the test ends.
func SchemaURL(t testing.TB) (string, string) {
	t.Helper()
	base := PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("postgres at %s is needed for this test (CI starts it): %v", base, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String(), schema
}

func open(t testing.TB, rawURL string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, rawURL)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// Reopenable makes a fresh database of the given kind and returns what
// opens it: each call is a new Store on the same database (a process
// restarted), closed when the test ends if the test has not closed it.
func Reopenable(t testing.TB, kind string) func() *store.Store {
	t.Helper()
	u := "sqlite:" + filepath.Join(t.TempDir(), "orderdesk.db")
	if kind == "postgres" {
		u, _ = SchemaURL(t)
	}
	return func() *store.Store {
		t.Helper()
		return open(t, u)
	}
}
