package storetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/orderdesk/orderdesk/internal/store"
)

// WithDump opens a fresh migrated database like New, and returns with it a
// function that dumps everything the database holds as bytes: pg_dump of
// the test's schema on Postgres, the SQLite file with its WAL and shared
// memory file on SQLite (what a backup or a stolen disk holds).
func WithDump(t testing.TB, kind string) (*store.Store, func() []byte) {
	t.Helper()
	if kind == "postgres" {
		if _, err := exec.LookPath("pg_dump"); err != nil {
			t.Skip("pg_dump is not installed")
		}
		u, schema := SchemaURL(t)
		s := open(t, u)
		return s, func() []byte {
			t.Helper()
			out, err := exec.Command("pg_dump", "--schema="+schema, "--no-owner", PostgresURL()).Output()
			if err != nil {
				t.Fatalf("pg_dump: %v", err)
			}
			return out
		}
	}
	path := filepath.Join(t.TempDir(), "orderdesk.db")
	s := open(t, "sqlite:"+path)
	return s, func() []byte {
		t.Helper()
		var all bytes.Buffer
		for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all.Write(b)
		}
		if all.Len() == 0 {
			t.Fatal("the SQLite database has no file")
		}
		return all.Bytes()
	}
}
