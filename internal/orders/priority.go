package orders

import "context"

type backgroundKey struct{}

// Background marks ctx as background work (backfills, refreshes of stale
// copies): the Shopify adapter gives it only part of the shop's API budget,
// keeping the rest for agents' reads and actions.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}
