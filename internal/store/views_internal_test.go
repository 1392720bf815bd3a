package store

import (
	"context"
	"os"
	"strings"

	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"testing"
)

// The two spellings of OrderView's statement are one statement.
func TestOrderViewStatementNumbered(t *testing.T) {
	t.Parallel()
	if got := dollars(orderView); got != orderViewPostgres {
		t.Fatalf("dollars(orderView) = %q, orderViewPostgres = %q", got, orderViewPostgres)
	}
}

// Views read through their own small pool; the URL's view_pool_max_conns
// sizes it and pool_max_conns still sizes the main one.
func TestViewPoolSize(t *testing.T) {
	base := os.Getenv("ORDERDESK_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("ORDERDESK_TEST_POSTGRES_URL not set")
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, tt := range []struct {
		query       string
		views, main int32
	}{
		{"", defaultViewConns, defaultPoolConns},
		{"view_pool_max_conns=3&pool_max_conns=5", 3, 5},
	} {
		u := base
		if tt.query != "" {
			u += sep + tt.query
		}
		s, err := Open(context.Background(), u)
		if err != nil {
			t.Fatalf("Open(%q): %v", tt.query, err)
		}
		if got := s.views.Config().MaxConns; got != tt.views {
			t.Errorf("%q: view pool of %d connections, want %d", tt.query, got, tt.views)
		}
		if got := s.pool.Config().MaxConns; got != tt.main {
			t.Errorf("%q: main pool of %d connections, want %d", tt.query, got, tt.main)
		}
		if err := s.views.Ping(context.Background()); err != nil {
			t.Errorf("%q: view pool: %v", tt.query, err)
		}
		_ = s.Close()
	}
}

// Traced, views still read through the view pool (otelsql over it), and
// readiness pings both pools.
func TestViewPoolTraced(t *testing.T) {
	base := os.Getenv("ORDERDESK_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("ORDERDESK_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	s, err := Open(ctx, base, WithTracing(tracenoop.NewTracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.viewSQL == nil {
		t.Fatal("traced store: views do not read through the view pool")
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.views.Stat().TotalConns(); got == 0 {
		t.Error("Ping opened no connection of the view pool")
	}
}
