// Package store is orderdesk's persistence: GORM over Postgres in production
// or embedded SQLite (pure Go) by default, with versioned goose migrations
// embedded for both dialects. It is the only package that imports GORM; it
// implements the Store interfaces that the domain packages declare.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/XSAM/otelsql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/orders"
)

//go:embed migrations
var migrations embed.FS

// Store is the database behind orderdesk.
type Store struct {
	db    *gorm.DB
	sqlDB *sql.DB
	pool  *pgxpool.Pool // nil on SQLite
	// views is the small pool single-order views read through (nil on
	// SQLite): see defaultViewConns.
	views *pgxpool.Pool
	// viewSQL is views through otelsql when tracing (nil otherwise).
	viewSQL *sql.DB
	dialect string
	hooks   *storeHooks // shared by the copies bound to transactions
	// phoneRegion is the country of stored phone numbers written without
	// a country code (ORDERDESK_PHONE_REGION).
	phoneRegion string
	tracing     trace.TracerProvider
	// sealer seals event endpoints' signing secrets; nil: no key.
	sealer SecretSealer
	// render renders the view document stored with each order written;
	// without one no document is stored and views render from the facts.
	render orders.Renderer
}

// RenderOrdersWith sets the renderer of the documents stored with orders
// (api.OrderRenderer). Set it before the store writes orders.
func (s *Store) RenderOrdersWith(r orders.Renderer) { s.render = r }

// Option adjusts a Store at Open.
type Option func(*Store)

// WithPhoneRegion sets the country (ISO 3166-1 alpha-2) of stored phone
// numbers written without a country code; the default is
// orders.DefaultPhoneRegion.
func WithPhoneRegion(region string) Option {
	return func(s *Store) {
		if region != "" {
			s.phoneRegion = region
		}
	}
}

// WithTracing traces the statements run inside a traced operation (an HTTP
// request, a job, a Shopify sync) as children of its span: GORM's, and on
// SQLite also River's. Statements outside any trace (migrations, River's
// polling) make no spans. The SQL text is recorded, its arguments (which
// hold customers' data) are not.
func WithTracing(tp trace.TracerProvider) Option {
	return func(s *Store) { s.tracing = tp }
}

// Open connects to the database an ORDERDESK_DATABASE_URL names. It does not
// migrate; call Migrate.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	want := &Store{phoneRegion: orders.DefaultPhoneRegion}
	for _, o := range opts {
		o(want)
	}
	s, err := open(ctx, rawURL, want.tracing)
	if err != nil {
		return nil, err
	}
	s.phoneRegion, s.tracing, s.sealer = want.phoneRegion, want.tracing, want.sealer
	return s, nil
}

// sqlTracing is otelsql's configuration: spans only inside a trace, one
// per statement, named after the call and the statement's verb.
func sqlTracing(tp trace.TracerProvider, system string) []otelsql.Option {
	return []otelsql.Option{
		otelsql.WithTracerProvider(tp),
		otelsql.WithAttributes(attribute.String("db.system.name", system)),
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			OmitConnResetSession: true, OmitConnPrepare: true, OmitRows: true, OmitConnectorConnect: true,
			SpanFilter: func(ctx context.Context, _ otelsql.Method, _ string, _ []driver.NamedValue) bool {
				return trace.SpanContextFromContext(ctx).IsValid()
			},
		}),
		otelsql.WithSpanNameFormatter(func(_ context.Context, method otelsql.Method, query string) string {
			verb, _, _ := strings.Cut(strings.TrimSpace(query), " ")
			if verb == "" {
				return string(method)
			}
			return string(method) + " " + strings.ToUpper(verb)
		}),
	}
}

// defaultPoolConns is the Postgres pool's size when the URL does not set
// pool_max_conns: deliveries committing at once need more than pgx's
// default of 4 (32 took 954/s with it on the bench machine before ingest
// was batched, docs/benchmarks.md). With the view pool's 8 a process
// holds at most 32 connections by default, as before there was one.
const defaultPoolConns = 24

// defaultViewConns is the size of the pool that serves single-order views
// when the URL does not set view_pool_max_conns. A view is one short,
// CPU-bound statement by primary key: past the cores that run them, more
// statements in flight only queue in the database's scheduler instead of
// the pool's first-come first-served queue, and every view's latency
// spreads (docs/benchmarks.md: with the 32 connections ingest needs, the
// fresh view's p99 was 1.5–2× a 4-connection reference's at the same
// throughput). Writes keep the large pool: they wait on their commits.
const defaultViewConns = 8

func open(ctx context.Context, rawURL string, tp trace.TracerProvider) (*Store, error) {
	dbc, err := config.ParseDatabaseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	gcfg := &gorm.Config{Logger: logger.Discard, NowFunc: func() time.Time { return time.Now().UTC() }}
	switch dbc.Driver {
	case "postgres":
		pcfg, err := pgxpool.ParseConfig(dbc.DSN)
		if err != nil {
			return nil, fmt.Errorf("open store: parse postgres url: %w", err)
		}
		if !strings.Contains(dbc.DSN, "pool_max_conns") {
			// pgx's default (the CPU count, at least 4) caps the
			// transactions in flight: webhook ingest is one short
			// transaction per delivery, bound by its commit, and
			// Postgres commits concurrent transactions together.
			pcfg.MaxConns = defaultPoolConns
		}
		vcfg := pcfg.Copy()
		vcfg.MaxConns = defaultViewConns
		if dbc.ViewConns > 0 {
			vcfg.MaxConns = int32(min(dbc.ViewConns, math.MaxInt32))
		}
		// pool_min_conns and pool_min_idle_conns are the main pool's; the
		// view pool holds at most its own size.
		vcfg.MinConns = min(pcfg.MinConns, vcfg.MaxConns)
		vcfg.MinIdleConns = min(pcfg.MinIdleConns, vcfg.MaxConns)
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("open store: postgres pool: %w", err)
		}
		views, err := pgxpool.NewWithConfig(ctx, vcfg)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("open store: postgres view pool: %w", err)
		}
		// One pool serves GORM (through database/sql) and, later, River.
		// Traced, views read through otelsql over their own pool.
		var sqlDB, viewSQL *sql.DB
		if tp != nil {
			sqlDB = otelsql.OpenDB(stdlib.GetPoolConnector(pool), sqlTracing(tp, "postgresql")...)
			viewSQL = otelsql.OpenDB(stdlib.GetPoolConnector(views), sqlTracing(tp, "postgresql")...)
		} else {
			sqlDB = stdlib.OpenDBFromPool(pool)
		}
		db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gcfg)
		if err != nil {
			_ = sqlDB.Close()
			if viewSQL != nil {
				_ = viewSQL.Close()
			}
			pool.Close()
			views.Close()
			return nil, fmt.Errorf("open store: gorm postgres: %w", err)
		}
		return &Store{db: db, sqlDB: sqlDB, pool: pool, views: views, viewSQL: viewSQL, dialect: "postgres", hooks: &storeHooks{}}, nil
	default:
		var sqlDB *sql.DB
		if tp != nil {
			sqlDB, err = otelsql.Open("sqlite", sqliteDSN(dbc.DSN), sqlTracing(tp, "sqlite")...)
		} else {
			sqlDB, err = sql.Open("sqlite", sqliteDSN(dbc.DSN))
		}
		if err != nil {
			return nil, fmt.Errorf("open store: sqlite: %w", err)
		}
		if dbc.DSN == ":memory:" {
			// Every connection to :memory: is a new empty database: keep one.
			sqlDB.SetMaxOpenConns(1)
		}
		db, err := gorm.Open(sqlite.Dialector{Conn: sqlDB}, gcfg)
		if err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("open store: gorm sqlite: %w", err)
		}
		return &Store{db: db, sqlDB: sqlDB, dialect: "sqlite", hooks: &storeHooks{}}, nil
	}
}

// sqliteDSN adds the pragmas orderdesk relies on: WAL for concurrent readers,
// a busy timeout instead of immediate SQLITE_BUSY, foreign keys, and
// transactions that take the write lock up front (no upgrade deadlocks).
func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "file:" + path + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// Pool is the pgx pool on Postgres (nil on SQLite), for sharing with River.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// SQL is the database/sql handle, for sharing with River on SQLite.
func (s *Store) SQL() *sql.DB { return s.sqlDB }

// Ping checks the database answers; readiness uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	// The view pool opens its connections on demand: a database that
	// refuses more (max_connections) fails views, not the main pool.
	if s.views != nil {
		if err := s.views.Ping(ctx); err != nil {
			return fmt.Errorf("ping database (view pool): %w", err)
		}
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	err := s.sqlDB.Close()
	if s.viewSQL != nil {
		err = errors.Join(err, s.viewSQL.Close())
	}
	if s.pool != nil {
		s.pool.Close()
		s.views.Close()
	}
	return err
}

// Migrate applies pending migrations. On Postgres a session advisory lock
// makes replicas that start together take turns; the later ones find
// nothing left to do.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	p, err := s.migrator(ctx, log)
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	for _, r := range results {
		log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	if err := s.backfillPhones(ctx, log); err != nil {
		return err
	}
	return s.migrateRiver(ctx)
}

// MigrationVersion is the newest applied migration.
func (s *Store) MigrationVersion(ctx context.Context) (int64, error) {
	p, err := s.migrator(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migration version: %w", err)
	}
	return v, nil
}

func (s *Store) migrator(ctx context.Context, log *slog.Logger) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+s.dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	dialect := goose.DialectSQLite3
	// Migrations are numbered per feature and may land on main in a
	// different order than their numbers: a database that already has a
	// higher version still gets a lower, newly added one applied rather
	// than refusing to start. Every migration is independent of the
	// others' order within a release.
	opts := []goose.ProviderOption{goose.WithSlog(log), goose.WithAllowOutofOrder(true)}
	if s.dialect == "postgres" {
		dialect = goose.DialectPostgres
		// The lock is per schema: orderdesk deployments sharing a database
		// in different schemas do not wait for each other.
		var schema string
		if err := s.sqlDB.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte("orderdesk-migrate:" + schema))
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(int64(h.Sum64()>>1)),
			lock.WithLockTimeout(1, 300), // retry each second, up to 5 minutes
		)
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.sqlDB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}
