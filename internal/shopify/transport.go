package shopify

import (
	"context"
	"errors"

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
}

func (c *Client) transport(shop tenant.Shop, retry bool) graphql.Client {
	return transport{c: c, shop: shop, retry: retry}
}

// MakeRequest runs one generated operation.
func (t transport) MakeRequest(ctx context.Context, req *graphql.Request, resp *graphql.Response) error {
	if req == nil || resp == nil {
		return errors.New("graphql: nil request or response")
	}
	what := req.OpName
	if what == "" {
		what = "graphql"
	}
	return t.c.graphql(ctx, t.shop, what, req.Query, req.Variables, resp.Data, t.retry)
}
