package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func serveEnv() map[string]string {
	return map[string]string{
		"ORDERDESK_API_KEY":    "0123456789abcdef0123",
		"SHOPIFY_SHOP":         "example.myshopify.com",
		"SHOPIFY_ACCESS_TOKEN": "shpat_test",
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Load(serveEnv(), ModeServe)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.HTTPAddr != ":8080" || cfg.DatabaseURL.Reveal() != "sqlite:orderdesk.db" || cfg.Shopify.APIVersion != "2026-10" {
		t.Errorf("defaults = %+v", cfg)
	}
	if cfg.OrderTTL != 2*time.Minute || cfg.Shopify.Timeout != 10*time.Second {
		t.Errorf("durations = %v, %v", cfg.OrderTTL, cfg.Shopify.Timeout)
	}
}

func TestTelemetryExporter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env           map[string]string
		exporter, url string
	}{
		{map[string]string{}, "none", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp", "http://collector:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/base/"}, "otlp", "http://collector:4318/base/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/traces"}, "otlp", "https://b/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_TRACES_EXPORTER": "none"}, "none", "http://a:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}, "none", "http://a:4318/v1/traces"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, "console", ""},
	}
	for _, tt := range tests {
		environ := serveEnv()
		for k, v := range tt.env {
			environ[k] = v
		}
		cfg, err := Load(environ, ModeServe)
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if got := cfg.Telemetry.Exporter(); got != tt.exporter {
			t.Errorf("%v: exporter %q, want %q", tt.env, got, tt.exporter)
		}
		if got := cfg.Telemetry.TracesURL(); got != tt.url {
			t.Errorf("%v: url %q, want %q", tt.env, got, tt.url)
		}
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mode    Mode
		set     map[string]string
		unset   string
		wantVar string
	}{
		{"missing api key", ModeServe, nil, "ORDERDESK_API_KEY", "ORDERDESK_API_KEY"},
		{"short api key", ModeServe, map[string]string{"ORDERDESK_API_KEY": "short"}, "", "ORDERDESK_API_KEY"},
		{"missing shop", ModeServe, nil, "SHOPIFY_SHOP", "SHOPIFY_SHOP"},
		{"bad shop", ModeServe, map[string]string{"SHOPIFY_SHOP": "https://x.com"}, "", "SHOPIFY_SHOP"},
		{"missing token", ModeServe, nil, "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_ACCESS_TOKEN"},
		{"bad addr", ModeServe, map[string]string{"ORDERDESK_HTTP_ADDR": "8080"}, "", "ORDERDESK_HTTP_ADDR"},
		{"port out of range", ModeServe, map[string]string{"ORDERDESK_HTTP_ADDR": "127.0.0.1:99999"}, "", "ORDERDESK_HTTP_ADDR"},
		{"negative port", ModeServe, map[string]string{"ORDERDESK_HTTP_ADDR": ":-1"}, "", "ORDERDESK_HTTP_ADDR"},
		{"port not a number", ModeServe, map[string]string{"ORDERDESK_HTTP_ADDR": ":http"}, "", "ORDERDESK_HTTP_ADDR"},
		{"bad host", ModeServe, map[string]string{"ORDERDESK_HTTP_ADDR": "exa mple:80"}, "", "ORDERDESK_HTTP_ADDR"},
		{"base url port out of range", ModeDemo, map[string]string{"SHOPIFY_BASE_URL": "http://127.0.0.1:99999"}, "", "SHOPIFY_BASE_URL"},
		{"base url with a path", ModeDemo, map[string]string{"SHOPIFY_BASE_URL": "http://127.0.0.1:8788/admin"}, "", "SHOPIFY_BASE_URL"},
		{"events url port out of range", ModeServe, map[string]string{"ORDERDESK_EVENTS_URL": "https://crm.example:0/events", "ORDERDESK_EVENTS_SECRET": "whsec_x"}, "", "ORDERDESK_EVENTS_URL"},
		{"negative ttl", ModeServe, map[string]string{"ORDERDESK_ORDER_TTL": "-1s"}, "", "ORDERDESK_ORDER_TTL"},
		{"bad stale after", ModeServe, map[string]string{"ORDERDESK_STALE_AFTER": "6 hours"}, "", "ORDERDESK_STALE_AFTER"},
		{"negative stale after", ModeServe, map[string]string{"ORDERDESK_STALE_AFTER": "-6h"}, "", "ORDERDESK_STALE_AFTER"},
		{"timeout not a duration", ModeServe, map[string]string{"SHOPIFY_TIMEOUT": "10"}, "", "SHOPIFY_TIMEOUT"},
		{"bad db scheme", ModeMigrate, map[string]string{"ORDERDESK_DATABASE_URL": "mysql://x"}, "", "ORDERDESK_DATABASE_URL"},
		{"empty sqlite path", ModeMigrate, map[string]string{"ORDERDESK_DATABASE_URL": "sqlite:"}, "", "ORDERDESK_DATABASE_URL"},
		{"bad version", ModeServe, map[string]string{"SHOPIFY_API_VERSION": "latest"}, "", "SHOPIFY_API_VERSION"},
		{"bad base url", ModeDemo, map[string]string{"SHOPIFY_BASE_URL": "localhost:9"}, "", "SHOPIFY_BASE_URL"},
		{"bad ttl", ModeServe, map[string]string{"ORDERDESK_ORDER_TTL": "soon"}, "", "ORDERDESK_ORDER_TTL"},
		{"bad timeout", ModeServe, map[string]string{"SHOPIFY_TIMEOUT": "0s"}, "", "SHOPIFY_TIMEOUT"},
		{"bad phone region", ModeServe, map[string]string{"ORDERDESK_PHONE_REGION": "USA"}, "", "ORDERDESK_PHONE_REGION"},
		{"lower-case phone region", ModeServe, map[string]string{"ORDERDESK_PHONE_REGION": "gb"}, "", "ORDERDESK_PHONE_REGION"},
		{"unknown traces exporter", ModeServe, map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, "", "OTEL_TRACES_EXPORTER"},
		{"otlp endpoint not a url", ModeServe, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "", "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"otlp traces endpoint port out of range", ModeServe, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:99999/v1/traces"}, "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"otlp grpc", ModeServe, map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"otlp traces protocol unknown", ModeDemo, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp"}, "", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{"sdk disabled not a bool", ModeServe, map[string]string{"OTEL_SDK_DISABLED": "yes please"}, "", "OTEL_SDK_DISABLED"},
		{"empty service name", ModeServe, map[string]string{"OTEL_SERVICE_NAME": " "}, "", "OTEL_SERVICE_NAME"},
		{"bad log level", ModeServe, map[string]string{"ORDERDESK_LOG_LEVEL": "loud"}, "", "ORDERDESK_LOG_LEVEL"},
		{"events without secret", ModeServe, map[string]string{"ORDERDESK_EVENTS_URL": "https://crm.example/events"}, "", "ORDERDESK_EVENTS_SECRET"},
		{"events secret not whsec", ModeServe, map[string]string{"ORDERDESK_EVENTS_URL": "https://crm.example/events", "ORDERDESK_EVENTS_SECRET": "hunter2"}, "", "ORDERDESK_EVENTS_SECRET"},
		{"events secret too short", ModeServe, map[string]string{"ORDERDESK_EVENTS_URL": "https://crm.example/events", "ORDERDESK_EVENTS_SECRET": "whsec_c2hvcnQ="}, "", "ORDERDESK_EVENTS_SECRET"},
		{"events over http in production", ModeServe, map[string]string{"ORDERDESK_EVENTS_URL": "http://crm.example/events", "ORDERDESK_EVENTS_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "", "ORDERDESK_EVENTS_URL"},
		{"events timeout zero", ModeServe, map[string]string{"ORDERDESK_EVENTS_TIMEOUT": "0s"}, "", "ORDERDESK_EVENTS_TIMEOUT"},
		{"events timeout too long", ModeServe, map[string]string{"ORDERDESK_EVENTS_TIMEOUT": "5m"}, "", "ORDERDESK_EVENTS_TIMEOUT"},
		{"events allow private not a bool", ModeServe, map[string]string{"ORDERDESK_EVENTS_ALLOW_PRIVATE": "maybe"}, "", "ORDERDESK_EVENTS_ALLOW_PRIVATE"},
		{"unknown env", ModeServe, map[string]string{"ORDERDESK_ENV": "staging"}, "", "ORDERDESK_ENV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			environ := serveEnv()
			for k, v := range tt.set {
				environ[k] = v
			}
			delete(environ, tt.unset)
			_, err := Load(environ, tt.mode)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			if cerr.Var != tt.wantVar {
				t.Errorf("Var = %q, want %q (err: %v)", cerr.Var, tt.wantVar, err)
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), tt.wantVar+": ") {
				t.Errorf("error %q is not one line starting with the variable", err)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		":8080": true, "127.0.0.1:0": true, "[::1]:8080": true, "localhost:65535": true, "orderdesk.internal:80": true,
		"127.0.0.1:99999": false, ":65536": false, ":-1": false, ":08080": false, "8080": false, "": false, ":": false, "a_b:80": false,
	} {
		if err := CheckAddr(addr); (err == nil) != ok {
			t.Errorf("CheckAddr(%q) = %v", addr, err)
		}
	}
}

func TestDemoAndMigrateNeedNoShop(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{ModeDemo, ModeMigrate} {
		if _, err := Load(map[string]string{}, mode); err != nil {
			t.Errorf("mode %d: %v", mode, err)
		}
	}
}

func TestSecretsAreNeverPrinted(t *testing.T) {
	t.Parallel()
	environ := serveEnv()
	environ["ORDERDESK_DATABASE_URL"] = "postgres://app:hunter2@db:5432/orderdesk"
	cfg, err := Load(environ, ModeServe)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "cfg", cfg, "key", cfg.APIKey)
	js, _ := json.Marshal(cfg)
	out := b.String() + fmt.Sprintf("%v %+v", cfg, cfg) + string(js)
	for _, secret := range []string{"0123456789abcdef0123", "shpat_test", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q leaked: %s", secret, out)
		}
	}
}

func TestParseDatabaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, driver, dsn string
		viewConns       int
	}{
		{"postgres://u@h/db", "postgres", "postgres://u@h/db", 0},
		{"postgresql://u@h/db", "postgres", "postgresql://u@h/db", 0},
		{"sqlite:orderdesk.db", "sqlite", "orderdesk.db", 0},
		{"sqlite::memory:", "sqlite", ":memory:", 0},
		// view_pool_max_conns is orderdesk's: taken out of what pgx
		// (and Postgres, as a run-time parameter) would see.
		{"postgres://u@h/db?view_pool_max_conns=4", "postgres", "postgres://u@h/db", 4},
		{"postgres://u@h/db?sslmode=disable&view_pool_max_conns=16&pool_max_conns=64", "postgres", "postgres://u@h/db?sslmode=disable&pool_max_conns=64", 16},
	}
	for _, tt := range tests {
		got, err := ParseDatabaseURL(tt.in)
		if err != nil || got.Driver != tt.driver || got.DSN != tt.dsn || got.ViewConns != tt.viewConns {
			t.Errorf("ParseDatabaseURL(%q) = %+v, %v", tt.in, got, err)
		}
	}
	for _, bad := range []string{"postgres://u@h/db?view_pool_max_conns=0", "postgres://u@h/db?view_pool_max_conns=", "postgres://u@h/db?view_pool_max_conns=x", "postgres://u@h/db?view_pool_max_conns=4&view_pool_max_conns=5"} {
		if _, err := ParseDatabaseURL(bad); err == nil || !strings.Contains(err.Error(), "view_pool_max_conns") {
			t.Errorf("ParseDatabaseURL(%q) = %v, want an error naming view_pool_max_conns", bad, err)
		}
	}
}

// TestReadmeDocumentsEveryVariable: every variable Load reads is in the
// README. Six were not (review-13 finding 2), among them
// ORDERDESK_ACTION_WAIT, which decides when a cancel or refund answers 202.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var walk func(reflect.Type)
	n := 0
	walk = func(typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if name, ok := f.Tag.Lookup("env"); ok {
				n++
				if !strings.Contains(string(readme), "`"+name+"`") {
					t.Errorf("%s (Config.%s) is not in README.md", name, f.Name)
				}
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Config]())
	if n < 30 {
		t.Fatalf("found only %d variables: the walk misses fields", n)
	}
}
