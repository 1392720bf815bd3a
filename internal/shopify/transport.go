package shopify

import (
	"context"
	"errors"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// transport is genqlient's graphql.Client over go-shopify: each request
// goes through c.graphql (the library's client.GraphQL.Query, within the
// shop's cost budget, with its retries), so generated operations keep
// go-shopify as the client.
type transport struct {
	c     *Client
	shop  tenant.Shop
	retry bool // reads and keyed mutations: failures without an answer are retried
	// budget, when set, bounds each request with all its retries (reads:
	// Config.ReadBudget, so an agent waits for an answer at most this long).
	budget time.Duration
}

func (c *Client) transport(shop tenant.Shop, retry bool) graphql.Client {
	return transport{c: c, shop: shop, retry: retry}
}

// reader is the transport of reads: retried within Config.ReadBudget.
func (c *Client) reader(shop tenant.Shop) graphql.Client {
	return transport{c: c, shop: shop, retry: true, budget: c.cfg.ReadBudget}
}

// MakeRequest runs one generated operation.
func (t transport) MakeRequest(ctx context.Context, req *graphql.Request, resp *graphql.Response) error {
	if req == nil || resp == nil {
		return errors.New("graphql: nil request or response")
	}
	if t.budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.budget)
		defer cancel()
	}
	what := req.OpName
	if what == "" {
		what = "graphql"
	}
	return t.c.graphql(ctx, t.shop, what, req.Query, req.Variables, resp.Data, t.retry)
}
