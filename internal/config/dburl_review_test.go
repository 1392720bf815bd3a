package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Taking view_pool_max_conns out of the URL must leave what pgx (a
// libpq-compatible parser: '+' is a literal plus, last occurrence wins,
// ssl=true counts only after the last sslmode) reads from the rest
// unchanged.
func TestViewPoolParamStrippedWithoutRewriting(t *testing.T) {
	t.Parallel()
	for _, rest := range []string{
		"postgres://u:p%40ss%2Fw%3Ard%20x@h:5432/db?sslmode=disable",
		"postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write",
		"postgres:///db?host=%2Fvar%2Frun%2Fpostgresql",
		"postgres://u@h/db?options=-c%20statement_timeout%3D5s",
		"postgres://u@h/db?application_name=order%20desk",
		"postgres://u@h/db?sslmode=disable&ssl=true",
	} {
		with := rest + "&view_pool_max_conns=4"
		if !strings.Contains(rest, "?") {
			with = rest + "?view_pool_max_conns=4"
		}
		got, err := ParseDatabaseURL(with)
		if err != nil || got.ViewConns != 4 {
			t.Fatalf("ParseDatabaseURL(%q) = %+v, %v", with, got, err)
		}
		a, errA := pgconn.ParseConfig(got.DSN)
		b, errB := pgconn.ParseConfig(rest)
		if errA != nil || errB != nil {
			t.Fatalf("%q: %v / %v", rest, errA, errB)
		}
		if a.Host != b.Host || a.User != b.User || a.Password != b.Password || a.Database != b.Database ||
			!reflect.DeepEqual(a.RuntimeParams, b.RuntimeParams) || (a.TLSConfig == nil) != (b.TLSConfig == nil) || len(a.Fallbacks) != len(b.Fallbacks) {
			t.Errorf("%q: stripped to %q, which pgx reads as params %v tls %v; the URL without it as %v tls %v",
				with, got.DSN, a.RuntimeParams, a.TLSConfig != nil, b.RuntimeParams, b.TLSConfig != nil)
		}
	}
}
