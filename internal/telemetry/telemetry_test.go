package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/telemetry"
)

func TestLogLinesCarryTheTrace(t *testing.T) {
	t.Parallel()
	tr, err := telemetry.New(context.Background(), config.Telemetry{ServiceName: "orderdesk"}, "test", io.Discard)
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

func TestDisabledSDKMakesNoTraceIDs(t *testing.T) {
	t.Parallel()
	tr, err := telemetry.New(context.Background(), config.Telemetry{SDKDisabled: true, ServiceName: "orderdesk"}, "test", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, sp := tr.Provider().Tracer("t").Start(context.Background(), "op")
	defer sp.End()
	if id := telemetry.TraceID(ctx); id != "" || tr.Exporter() != "none" {
		t.Errorf("disabled: trace id %q, exporter %s", id, tr.Exporter())
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}
