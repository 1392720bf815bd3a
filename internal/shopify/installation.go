package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// Installed reports whether the app is still installed on the shop, asked
// through the shop's own stored token. Shopify revokes an installation's
// token the moment the merchant uninstalls, so an answer of 401 or 403
// ("Invalid API key or access token") means uninstalled, and an answer
// naming the installation means the token, and so the app, still works.
// A shop orderdesk holds no token for has nothing that could prove it is
// installed: false. Anything else (Shopify unreachable, throttled, a
// database error reading the token) is an error, to be tried again later.
func (c *Client) Installed(ctx context.Context, shop tenant.Shop) (bool, error) {
	if c.cfg.Tokens == nil {
		return false, errors.New("installation probe: no access token source")
	}
	if _, err := c.cfg.Tokens.Token(ctx, shop); err != nil {
		if errors.Is(err, tenant.ErrNoAccessToken) || errors.Is(err, tenant.ErrShopUninstalled) {
			return false, nil
		}
		return false, fmt.Errorf("installation probe: %w", err)
	}
	// installationProbe (graphql/installation.graphql), counted as
	// "installation probe".
	out, err := installationProbe(ctx, transport{c: c, shop: shop, retry: true, op: "installation probe"})
	switch {
	case err == nil:
		if out.CurrentAppInstallation.Id == "" {
			return false, fmt.Errorf("installation probe: Shopify answered without the installation: %w", orders.ErrShopifyUnavailable)
		}
		return true, nil
	case errors.Is(err, orders.ErrShopifyAuth):
		return false, nil
	case errors.Is(err, orders.ErrShopifyRejected) && strings.Contains(strings.ToLower(err.Error()), "invalid api key or access token"):
		// The same refusal, as a top-level GraphQL error.
		return false, nil
	}
	return false, err
}
