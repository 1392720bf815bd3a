package shopify

import (
	"context"
	"errors"
	"time"

	"github.com/Khan/genqlient/graphql"
	goshopify "github.com/bold-commerce/go-shopify/v4"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// transport is genqlient's graphql.Client over go-shopify: each request
// goes through c.graphql (the library's client.GraphQL.Query, within the
// shop's cost budget, with its retries) or, for the action engine's calls,
// c.mutate (the library's client.Post, reading top-level errors by code),
// so generated operations keep go-shopify as the client.
type transport struct {
	c     *Client
	shop  tenant.Shop
	retry bool // reads and keyed mutations: failures without an answer are retried
	// budget, when set, bounds each request with all its retries (reads:
	// Config.ReadBudget, so an agent waits for an answer at most this long).
	budget time.Duration
	// mutation sends through c.mutate: top-level THROTTLED is always
	// retried (nothing ran), INTERNAL_SERVER_ERROR and failures without an
	// answer only when retry is set (an @idempotent mutation, or a read).
	mutation bool
	// op names the call in metrics and errors; the operation's name when empty.
	op string
}

func (c *Client) transport(shop tenant.Shop, retry bool) graphql.Client {
	return transport{c: c, shop: shop, retry: retry}
}

// mutator is the transport of the action engine's calls (orderCancel,
// its job, refundCreate): keyed says a failure without an answer may be
// sent again (a keyed mutation or a read), never for orderCancel.
func (c *Client) mutator(shop tenant.Shop, keyed bool) graphql.Client {
	return transport{c: c, shop: shop, retry: keyed, mutation: true}
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
	what := t.op
	if what == "" {
		what = req.OpName
	}
	if what == "" {
		what = "graphql"
	}
	if t.mutation {
		return t.c.mutate(ctx, t.shop, what, req.Query, req.Variables, resp.Data, t.retry)
	}
	return t.c.graphql(ctx, t.shop, what, req.Query, req.Variables, resp.Data, t.retry)
}

// libraryClient is genqlient's graphql.Client over one go-shopify client, for
// the calls made before a shop's token is stored (OAuth's scope check):
// one attempt, with go-shopify's own error for a top-level error.
type libraryClient struct{ lib *goshopify.Client }

// MakeRequest runs one generated operation through client.GraphQL.Query.
func (l libraryClient) MakeRequest(ctx context.Context, req *graphql.Request, resp *graphql.Response) error {
	if req == nil || resp == nil {
		return errors.New("graphql: nil request or response")
	}
	return l.lib.GraphQL.Query(ctx, req.Query, req.Variables, resp.Data)
}
