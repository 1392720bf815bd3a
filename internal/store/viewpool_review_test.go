package store

import (
	"context"
	"os"
	"strings"
	"testing"
)

// A URL's other run-time parameters reach both pools unchanged when
// view_pool_max_conns is taken out of it (options with a space in it was
// rewritten to "-c+statement_timeout=…", which Postgres refuses).
func TestViewPoolKeepsOtherParams(t *testing.T) {
	base := os.Getenv("ORDERDESK_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("ORDERDESK_TEST_POSTGRES_URL not set")
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	ctx := context.Background()
	s, err := Open(ctx, base+sep+"options=-c%20statement_timeout%3D4321&application_name=order%20desk&view_pool_max_conns=3")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var timeout, app string
	if err := s.views.QueryRow(ctx, "SELECT current_setting('statement_timeout'), current_setting('application_name')").Scan(&timeout, &app); err != nil {
		t.Fatal(err)
	}
	if timeout != "4321ms" || app != "order desk" {
		t.Errorf("view pool: statement_timeout %q, application_name %q", timeout, app)
	}
	if err := s.pool.QueryRow(ctx, "SELECT current_setting('statement_timeout'), current_setting('application_name')").Scan(&timeout, &app); err != nil {
		t.Fatal(err)
	}
	if timeout != "4321ms" || app != "order desk" {
		t.Errorf("main pool: statement_timeout %q, application_name %q", timeout, app)
	}
}
