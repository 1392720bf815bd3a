package shopify

// Documents are checked against the pinned schema (errors and deprecated
// fields fail), then typed Go is generated for them.
//go:generate go run ../../pkg/shopifyschema/cmd/shopifyschema check -version 2026-10 graphql/order_facts.graphql graphql/order.graphql graphql/customer_orders.graphql graphql/orders.graphql graphql/webhooks.graphql graphql/bulk_operation.graphql graphql/actions.graphql graphql/installation.graphql
//go:generate go tool genqlient genqlient.yaml
