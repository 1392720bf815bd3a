// Package config owns orderdesk's configuration: the environment variables of
// API.md, their defaults, and the checks that stop start-up with one line
// naming the variable at fault.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/nyaruka/phonenumbers"

	"github.com/orderdesk/orderdesk/internal/events"
)

// Secret is a string that never shows up in logs or formatted output.
type Secret string

// String hides the value from fmt.
func (Secret) String() string { return "[redacted]" }

// LogValue hides the value from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText hides the value from encoders (JSON, YAML, text).
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret value itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Config is every setting orderdesk reads from its environment.
type Config struct {
	HTTPAddr    string `env:"ORDERDESK_HTTP_ADDR" envDefault:":8080"`
	DatabaseURL Secret `env:"ORDERDESK_DATABASE_URL" envDefault:"sqlite:orderdesk.db"`
	APIKey      Secret `env:"ORDERDESK_API_KEY"`
	LogLevel    string `env:"ORDERDESK_LOG_LEVEL" envDefault:"info"`
	// OrderTTL is how long a stored order (or a customer's order list) is
	// served without asking Shopify again.
	OrderTTL time.Duration `env:"ORDERDESK_ORDER_TTL" envDefault:"2m"`
	// StaleAfter is how old an open order's copy may get before the
	// periodic reconciliation re-reads it from Shopify (0 turns that off).
	StaleAfter time.Duration `env:"ORDERDESK_STALE_AFTER" envDefault:"6h"`
	// PhoneRegion is the country (ISO 3166-1 alpha-2) of a phone number
	// written without a country code, in stored orders and in ?phone=
	// searches alike: the shop's country, which orderdesk does not read
	// from Shopify.
	PhoneRegion string `env:"ORDERDESK_PHONE_REGION" envDefault:"US"`
	// ActionWait is how long a cancel/refund request waits for the outcome
	// before answering 202 with the pending action.
	ActionWait time.Duration `env:"ORDERDESK_ACTION_WAIT" envDefault:"15s"`
	// ActionLease is an action executor's hold on its order between
	// renewals: how soon an action whose process died resumes.
	ActionLease time.Duration `env:"ORDERDESK_ACTION_LEASE" envDefault:"20s"`

	Shopify Shopify
	Tenancy

	EventsURL    string `env:"ORDERDESK_EVENTS_URL"`
	EventsSecret Secret `env:"ORDERDESK_EVENTS_SECRET"`
	// EventsTimeout bounds each delivery attempt of an outbound event.
	EventsTimeout time.Duration `env:"ORDERDESK_EVENTS_TIMEOUT" envDefault:"10s"`
	// EventsAllowPrivate lets endpoints be loopback, link-local or private
	// addresses (off: server-side request forgery).
	EventsAllowPrivate bool `env:"ORDERDESK_EVENTS_ALLOW_PRIVATE"`
	// Env is production (event endpoints must be https) or development.
	Env string `env:"ORDERDESK_ENV" envDefault:"production"`

	Telemetry Telemetry
}

// Production reports whether orderdesk runs in production
// (ORDERDESK_ENV), where event endpoints must be https.
func (c Config) Production() bool { return c.Env != "development" }

// Telemetry is the subset of OpenTelemetry's standard environment that
// orderdesk reads itself (the OTLP exporter also reads the rest:
// OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE; the SDK
// reads OTEL_TRACES_SAMPLER, OTEL_BSP_* and OTEL_RESOURCE_ATTRIBUTES).
type Telemetry struct {
	// SDKDisabled turns tracing off entirely (no spans, no trace ids).
	SDKDisabled bool `env:"OTEL_SDK_DISABLED"`
	// TracesExporter is otlp, console (one JSON span per line on stderr)
	// or none; unset means otlp when an OTLP endpoint is set, else none.
	TracesExporter string `env:"OTEL_TRACES_EXPORTER"`
	// Endpoint is the collector's base URL; /v1/traces is appended.
	Endpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// TracesEndpoint is the full traces URL, used as it is; it wins over
	// Endpoint.
	TracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	Protocol       string `env:"OTEL_EXPORTER_OTLP_PROTOCOL"`
	TracesProtocol string `env:"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"`
	ServiceName    string `env:"OTEL_SERVICE_NAME" envDefault:"orderdesk"`
}

// Exporter is the traces exporter in effect: "otlp", "console" or "none".
func (t Telemetry) Exporter() string {
	switch {
	case t.SDKDisabled:
		return "none"
	case t.TracesExporter != "":
		return t.TracesExporter
	case t.Endpoint != "" || t.TracesEndpoint != "":
		return "otlp"
	}
	return "none"
}

// TracesURL is where OTLP spans go: the traces endpoint as it is, or the
// base endpoint with /v1/traces (the OTLP specification's rule), or ""
// for the exporter's own default (http://localhost:4318/v1/traces).
func (t Telemetry) TracesURL() string {
	if t.TracesEndpoint != "" {
		return t.TracesEndpoint
	}
	if t.Endpoint != "" {
		return strings.TrimSuffix(t.Endpoint, "/") + "/v1/traces"
	}
	return ""
}

func (t Telemetry) validate() error {
	switch t.TracesExporter {
	case "", "otlp", "console", "none":
	default:
		return &Error{"OTEL_TRACES_EXPORTER", fmt.Sprintf("%q is not one of otlp, console, none", t.TracesExporter)}
	}
	for _, v := range []struct{ name, val string }{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", t.Endpoint}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", t.TracesEndpoint},
	} {
		if v.val == "" {
			continue
		}
		u, err := checkURL(v.val)
		if err != nil {
			return &Error{v.name, err.Error()}
		}
		if u.RawQuery != "" {
			return &Error{v.name, fmt.Sprintf("%q must not carry a query", v.val)}
		}
	}
	for _, v := range []struct{ name, val string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", t.Protocol}, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", t.TracesProtocol},
	} {
		switch v.val {
		case "", "http/protobuf":
		case "grpc", "http/json":
			return &Error{v.name, fmt.Sprintf("%q is not built into orderdesk: use http/protobuf (a collector's port 4318)", v.val)}
		default:
			return &Error{v.name, fmt.Sprintf("%q is not an OTLP protocol; orderdesk speaks http/protobuf", v.val)}
		}
	}
	if strings.TrimSpace(t.ServiceName) == "" {
		return &Error{"OTEL_SERVICE_NAME", "must not be empty"}
	}
	return nil
}

// Shopify is the store orderdesk is bound to at bootstrap, and how to reach it.
type Shopify struct {
	Shop        string        `env:"SHOPIFY_SHOP"`
	AccessToken Secret        `env:"SHOPIFY_ACCESS_TOKEN"`
	APISecret   Secret        `env:"SHOPIFY_API_SECRET"`
	APIVersion  string        `env:"SHOPIFY_API_VERSION" envDefault:"2026-10"`
	BaseURL     string        `env:"SHOPIFY_BASE_URL"`
	Timeout     time.Duration `env:"SHOPIFY_TIMEOUT" envDefault:"10s"`
}

// LogValue logs the settings an operator needs to see, with the database
// password masked and secrets left out.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("http_addr", c.HTTPAddr),
		slog.String("database", RedactURL(c.DatabaseURL.Reveal())),
		slog.String("shop", c.Shopify.Shop),
		slog.String("shopify_api_version", c.Shopify.APIVersion),
		slog.String("shopify_base_url", c.Shopify.BaseURL),
		slog.Duration("order_ttl", c.OrderTTL),
		slog.String("phone_region", c.PhoneRegion),
		slog.Bool("events", c.EventsURL != ""),
		slog.String("traces_exporter", c.Telemetry.Exporter()),
		slog.String("traces_url", c.Telemetry.TracesURL()),
		slog.Bool("multi_shop", c.MultiShop()),
		slog.Bool("oauth_install", c.OAuth()),
		slog.String("public_url", c.PublicURL),
		slog.Duration("api_key_cache_ttl", c.KeyCacheTTL),
		slog.Float64("rate_limit", c.RateLimit),
		slog.Int("rate_burst", c.RateBurst),
	)
}

// RedactURL masks the password of a URL; other strings come back unchanged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// Error is a configuration problem tied to one variable.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// Mode says which settings a command needs.
type Mode int

const (
	// ModeServe needs everything production needs: a key and a Shopify shop.
	ModeServe Mode = iota
	// ModeDemo fills the Shopify settings itself (the in-process sandbox).
	ModeDemo
	// ModeMigrate needs only the database.
	ModeMigrate
	// ModeShopify needs the database and the Shopify shop, but no API key
	// (sync, webhooks register).
	ModeShopify
)

var (
	shopDomainRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)
	apiVersionRe = regexp.MustCompile(`^(\d{4}-(01|04|07|10)|unstable)$`)
)

// Load reads the environment (lookup returns a variable's value and whether
// it is set) and checks it for the given mode.
func Load(environ map[string]string, mode Mode) (Config, error) {
	var cfg Config
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: environ}); err != nil {
		return Config{}, firstEnvError(err)
	}
	if err := cfg.validate(mode); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c Config) validate(mode Mode) error {
	if err := CheckAddr(c.HTTPAddr); err != nil {
		return &Error{"ORDERDESK_HTTP_ADDR", err.Error()}
	}
	if _, err := ParseDatabaseURL(c.DatabaseURL.Reveal()); err != nil {
		return &Error{"ORDERDESK_DATABASE_URL", err.Error()}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return &Error{"ORDERDESK_LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel)}
	}
	if c.OrderTTL < 0 {
		return &Error{"ORDERDESK_ORDER_TTL", "must not be negative"}
	}
	if c.StaleAfter < 0 {
		return &Error{"ORDERDESK_STALE_AFTER", "must not be negative"}
	}
	if _, ok := phonenumbers.GetSupportedRegions()[c.PhoneRegion]; !ok {
		return &Error{"ORDERDESK_PHONE_REGION", fmt.Sprintf("%q is not a country code like US or GB (ISO 3166-1 alpha-2, upper case)", c.PhoneRegion)}
	}
	if c.ActionWait <= 0 || c.ActionWait > 50*time.Second {
		return &Error{"ORDERDESK_ACTION_WAIT", "must be more than 0 and at most 50s (the server's write timeout is 60s)"}
	}
	if c.ActionLease < time.Second {
		return &Error{"ORDERDESK_ACTION_LEASE", "must be at least 1s"}
	}
	if c.Shopify.Timeout <= 0 {
		return &Error{"SHOPIFY_TIMEOUT", "must be positive"}
	}
	if !apiVersionRe.MatchString(c.Shopify.APIVersion) {
		return &Error{"SHOPIFY_API_VERSION", fmt.Sprintf("%q is not a Shopify API version like 2026-10", c.Shopify.APIVersion)}
	}
	if c.Shopify.BaseURL != "" {
		if err := checkOrigin(c.Shopify.BaseURL); err != nil {
			return &Error{"SHOPIFY_BASE_URL", err.Error()}
		}
	}
	switch c.Env {
	case "production", "development":
	default:
		return &Error{"ORDERDESK_ENV", fmt.Sprintf("%q is not one of production, development", c.Env)}
	}
	if c.EventsTimeout < time.Second || c.EventsTimeout > time.Minute {
		return &Error{"ORDERDESK_EVENTS_TIMEOUT", "must be from 1s to 1m"}
	}
	if c.EventsURL != "" {
		u, err := checkURL(c.EventsURL)
		if err != nil {
			return &Error{"ORDERDESK_EVENTS_URL", err.Error()}
		}
		if u.Scheme != "https" && c.Production() {
			return &Error{"ORDERDESK_EVENTS_URL", "must be https in production (ORDERDESK_ENV=development allows http)"}
		}
		if c.EventsSecret == "" {
			return &Error{"ORDERDESK_EVENTS_SECRET", "required when ORDERDESK_EVENTS_URL is set"}
		}
		if err := events.CheckSecret(c.EventsSecret.Reveal()); err != nil {
			return &Error{"ORDERDESK_EVENTS_SECRET", err.Error() + " (make one with: echo whsec_$(openssl rand -base64 32))"}
		}
	}
	if err := c.Telemetry.validate(); err != nil {
		return err
	}
	if err := c.validateTenancy(mode); err != nil {
		return err
	}
	if mode != ModeServe && mode != ModeShopify {
		return nil
	}
	if mode == ModeServe && c.MultiShop() {
		if c.APIKey != "" {
			return &Error{"ORDERDESK_API_KEY", "binds a key to SHOPIFY_SHOP, which is not set; with many shops create keys with `orderdesk keys create`"}
		}
		if c.Shopify.AccessToken != "" {
			return &Error{"SHOPIFY_ACCESS_TOKEN", "is the token of SHOPIFY_SHOP, which is not set; add a shop's token with `orderdesk shops add`"}
		}
		return nil
	}
	if mode == ModeServe && c.APIKey == "" {
		return &Error{"ORDERDESK_API_KEY", "required: the key the CRM sends as Authorization: Bearer (or, for many shops, set ORDERDESK_ENCRYPTION_KEY and leave SHOPIFY_SHOP unset)"}
	}
	if mode == ModeServe && len(c.APIKey) < 16 {
		return &Error{"ORDERDESK_API_KEY", "too short: use at least 16 characters"}
	}
	if c.Shopify.Shop == "" {
		return &Error{"SHOPIFY_SHOP", "required: the shop domain, e.g. example.myshopify.com"}
	}
	if !shopDomainRe.MatchString(c.Shopify.Shop) {
		return &Error{"SHOPIFY_SHOP", fmt.Sprintf("%q is not a shop domain like example.myshopify.com", c.Shopify.Shop)}
	}
	if c.Shopify.AccessToken == "" {
		return &Error{"SHOPIFY_ACCESS_TOKEN", "required: the shop's Admin API access token"}
	}
	return nil
}

// CheckAddr checks a listen address: host:port with a port from 0 (any
// free port) to 65535 and a host that is empty (every interface), an IP
// or a host name.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port, e.g. :8080 or 127.0.0.1:8080", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	if host != "" && net.ParseIP(host) == nil && !hostNameRe.MatchString(host) {
		return fmt.Errorf("%q: %q is not an IP address or a host name", addr, host)
	}
	return nil
}

var hostNameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// checkURL accepts an http(s) URL with a host, an optional port from 1 to
// 65535, and no user or fragment.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not carry a user or a fragment", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%q: the port must be a number from 1 to 65535", raw)
		}
	}
	return u, nil
}

// checkOrigin accepts an http(s) origin: scheme, host and port only.
func checkOrigin(raw string) error {
	u, err := checkURL(raw)
	if err != nil {
		return err
	}
	if u.RawQuery != "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("%q must be an origin (scheme, host, port) without a path or query", raw)
	}
	return nil
}

// Database is a parsed ORDERDESK_DATABASE_URL.
type Database struct {
	// Driver is "postgres" or "sqlite".
	Driver string
	// DSN is what the driver opens: the URL for Postgres, the path for SQLite.
	DSN string
	// ViewConns is the size of the Postgres pool that serves single-order
	// views (the URL's view_pool_max_conns, taken out of DSN); 0: the
	// store's default.
	ViewConns int
}

// ParseDatabaseURL accepts postgres://…, postgresql://… and sqlite:PATH.
func ParseDatabaseURL(raw string) (Database, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Database{}, errors.New("not a valid postgres:// URL")
		}
		db := Database{Driver: "postgres", DSN: raw}
		if u.RawQuery == "" {
			return db, nil
		}
		// view_pool_max_conns is cut out of the query as written: pgx
		// parses URLs as libpq does ('+' is a plus, the last ssl or
		// sslmode wins), so re-encoding the rest (url.Values.Encode:
		// spaces as '+', keys sorted) would change what it means.
		// Postgres would refuse the parameter as an unknown run-time one.
		before, query, _ := strings.Cut(raw, "?")
		var kept []string
		seen := false
		for _, pair := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if key, err := url.PathUnescape(k); err != nil || key != "view_pool_max_conns" {
				kept = append(kept, pair)
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 || seen {
				return Database{}, errors.New("view_pool_max_conns: want one whole number of connections, 1 to 10000")
			}
			seen, db.ViewConns = true, n
		}
		if seen {
			db.DSN = before
			if len(kept) > 0 {
				db.DSN += "?" + strings.Join(kept, "&")
			}
		}
		return db, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(raw, "sqlite:")
		if path == "" {
			return Database{}, errors.New("sqlite: needs a path (sqlite:orderdesk.db, or sqlite::memory: for a throwaway database)")
		}
		return Database{Driver: "sqlite", DSN: path}, nil
	default:
		return Database{}, errors.New("want postgres://… or sqlite:PATH")
	}
}

// firstEnvError turns caarlos0/env's errors into an *Error naming the variable.
func firstEnvError(err error) error {
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		err = agg.Errors[0]
	}
	var pe env.ParseError
	if errors.As(err, &pe) {
		return &Error{Var: envName(reflect.TypeFor[Config](), pe.Name), Msg: fmt.Sprintf("not a valid %s: %v", pe.Type, pe.Err)}
	}
	return err
}

// envName finds the variable behind a struct field name, searching nested structs.
func envName(t reflect.Type, field string) string {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == field {
			if tag := f.Tag.Get("env"); tag != "" {
				return strings.Split(tag, ",")[0]
			}
		}
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			if name := envName(f.Type, field); name != field {
				return name
			}
		}
	}
	return field
}
