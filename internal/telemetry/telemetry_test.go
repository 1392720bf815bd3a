package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/telemetry"
)

func TestLogLinesCarryTheTrace(t *testing.T) {
	t.Parallel()
	tr, err := telemetry.New(context.Background(), config.Telemetry{TracesExporter: "console", ServiceName: "orderdesk"}, "test", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
	ctx, sp := tr.Provider().Tracer("t").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside")
	sp.End()
	log.InfoContext(context.Background(), "outside")
	dec := json.NewDecoder(&buf)
	var in, out map[string]any
	if err := dec.Decode(&in); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	sc := sp.SpanContext()
	if in["trace_id"] != sc.TraceID().String() || in["span_id"] != sc.SpanID().String() || in["component"] != "x" {
		t.Errorf("inside a span: %v", in)
	}
	if telemetry.TraceID(ctx) != sc.TraceID().String() || telemetry.TraceID(context.Background()) != "" {
		t.Errorf("TraceID = %q", telemetry.TraceID(ctx))
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("outside a span: %v", out)
	}
}

func TestNoExporterNoTracing(t *testing.T) {
	t.Parallel()
	for _, cfg := range []config.Telemetry{
		{ServiceName: "orderdesk"},
		{SDKDisabled: true, TracesExporter: "console", ServiceName: "orderdesk"},
		{TracesExporter: "none", Endpoint: "http://collector:4318", ServiceName: "orderdesk"},
	} {
		tr, err := telemetry.New(context.Background(), cfg, "test", io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Provider() != nil || tr.Exporter() != "none" {
			t.Errorf("%+v: provider %v, exporter %s", cfg, tr.Provider(), tr.Exporter())
		}
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

func TestOTLPExporterBuilds(t *testing.T) {
	t.Parallel()
	tr, err := telemetry.New(context.Background(), config.Telemetry{Endpoint: "http://127.0.0.1:1", ServiceName: "orderdesk"}, "test", io.Discard)
	if err != nil || tr.Provider() == nil || tr.Exporter() != "otlp" {
		t.Fatalf("otlp: %v %v", tr, err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the exporter's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Review-13 finding: a collector that cannot be reached made the SDK write
// "2026/12/02 05:44:27 traces export: Post ...: connection refused" to
// stderr through the standard library's log, lines that are neither JSON
// nor in the service's log. Not parallel: the SDK's error handler is
// process-wide.
func TestExportErrorsAreLogLines(t *testing.T) {
	var out lockedBuffer
	telemetry.ReportErrorsTo(slog.New(slog.NewJSONHandler(&out, nil)))
	tr, err := telemetry.New(context.Background(), config.Telemetry{Endpoint: "http://127.0.0.1:1", ServiceName: "orderdesk"}, "test", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, sp := tr.Provider().Tracer("t").Start(context.Background(), "op")
	sp.End()
	_ = tr.Shutdown(context.Background()) // drains the queue: the export fails
	found := false
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		if rec["msg"] == "opentelemetry" && strings.Contains(fmt.Sprint(rec["err"]), "127.0.0.1:1") {
			found = true
		}
	}
	if !found {
		t.Errorf("the failed export was not logged: %q", out.String())
	}
}
