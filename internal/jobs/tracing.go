package jobs

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracingMiddleware traces job inserts and work with otelriver: an insert
// records the inserting span's traceparent in the job's metadata, and the
// work span ("river.work/action") links back to it. A first attempt, which
// runs right after the request or delivery that inserted it, is also made
// that span's child, so one trace shows HTTP → job → Shopify → database;
// a retry, possibly hours later, starts its own trace with only the link.
func tracingMiddleware(tp trace.TracerProvider) []rivertype.Middleware {
	return []rivertype.Middleware{
		&parentFromMetadata{},
		otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			TracerProvider:              tp,
			EnableTracePropagation:      true,
			EnableWorkSpanJobKindSuffix: true,
		}),
	}
}

// parentFromMetadata puts a first attempt's traceparent (written by
// otelriver on insert) into the work context as the remote parent.
type parentFromMetadata struct{ river.MiddlewareDefaults }

func (parentFromMetadata) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if job.Attempt <= 1 && len(job.Metadata) > 0 {
		var meta map[string]any
		if json.Unmarshal(job.Metadata, &meta) == nil {
			carrier := propagation.MapCarrier{}
			for _, k := range []string{"traceparent", "tracestate"} {
				if v, ok := meta[k].(string); ok {
					carrier[k] = v
				}
			}
			if len(carrier) > 0 {
				ctx = propagation.TraceContext{}.Extract(ctx, carrier)
			}
		}
	}
	return doInner(ctx)
}
