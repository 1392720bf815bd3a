package shopify

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracedTransport gives each HTTP attempt to Shopify a client span
// ("shopify POST /admin/api/2026-10/graphql.json"): retries show as
// siblings. No trace headers go to Shopify: its side is not ours to trace.
func tracedTransport(next http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	return otelhttp.NewTransport(next,
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "shopify " + r.Method + " " + r.URL.Path
		}),
	)
}
