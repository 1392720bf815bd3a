// Package telemetry owns orderdesk's OpenTelemetry tracing: the tracer
// provider built from the standard OTEL_* environment (OTLP over
// http/protobuf when an endpoint is set, one JSON span per line for the
// demo, no exporter otherwise), the W3C propagator, and the slog handler
// that writes the trace and span ids into every log line written in a
// traced context. Nothing here is global: the provider is handed to each
// instrumented part (HTTP, Shopify client, River, GORM) by cmd/orderdesk.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderdesk/orderdesk/internal/config"
)

// Tracing is the process's tracer provider and how to flush it.
type Tracing struct {
	sdk      *sdktrace.TracerProvider // nil when nothing is exported
	exporter string
}

// New builds tracing from cfg. With no exporter (none, or
// OTEL_SDK_DISABLED) nothing is traced at all: Provider is nil and the
// instrumentation is left out, so an untraced deployment pays nothing.
// console writes spans to w.
func New(ctx context.Context, cfg config.Telemetry, version string, w io.Writer) (*Tracing, error) {
	exp := cfg.Exporter()
	if exp == "none" {
		return &Tracing{exporter: exp}, nil
	}
	// WithFromEnv reads OTEL_RESOURCE_ATTRIBUTES; the service name is the
	// validated OTEL_SERVICE_NAME (default orderdesk).
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(
			attribute.String("service.name", cfg.ServiceName),
			attribute.String("service.version", version),
		))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch exp {
	case "otlp":
		var eopts []otlptracehttp.Option
		if u := cfg.TracesURL(); u != "" {
			eopts = append(eopts, otlptracehttp.WithEndpointURL(u))
		}
		// The exporter reads the other OTEL_EXPORTER_OTLP_* itself.
		e, err := otlptracehttp.New(ctx, eopts...)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(e))
	case "console":
		e, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=console: %w", err)
		}
		// Synchronous: the demo shows a span as soon as it ends.
		opts = append(opts, sdktrace.WithSyncer(e))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracing{sdk: tp, exporter: exp}, nil
}

// Provider is the tracer provider to hand to instrumentation; nil when
// nothing is exported (leave the instrumentation out).
func (t *Tracing) Provider() trace.TracerProvider {
	if t.sdk == nil {
		return nil
	}
	return t.sdk
}

// Exporter says where spans go: otlp, console or none.
func (t *Tracing) Exporter() string { return t.exporter }

// Shutdown flushes spans still buffered (bounded by ctx).
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// ReportErrorsTo sends OpenTelemetry's own errors (spans the collector
// could not be reached for, or refused) to log, as JSON lines like every
// other line orderdesk writes, instead of the SDK's default: unstructured
// "traces export: ..." lines on stderr through the standard library's log.
// The SDK reports them only through its process-wide handler, so this is
// the one global the package sets; cmd/orderdesk sets it at start-up.
func ReportErrorsTo(log *slog.Logger) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "err", err.Error())
	}))
}

// Propagator carries trace context across HTTP (traceparent, tracestate)
// and baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// TraceID is the trace id of ctx's span, or "" outside a trace.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// LogHandler adds trace_id and span_id to every record logged with a
// context inside a span.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
