//go:build nodemo

package main

import (
	"context"
	"fmt"
	"io"
)

// The production build (Makefile PROD_TAGS, the Dockerfile) leaves the
// demo and the Shopify sandbox out, with the sandbox's embedded Admin
// schema and GraphQL parser: serve never runs them, and idle memory
// follows the binary's size. The default build (go run, go build) has them.

func demo(context.Context, []string, map[string]string, io.Writer, io.Writer) error {
	return errNotInBuild("demo")
}

func sandbox(context.Context, []string, map[string]string, io.Writer, io.Writer) error {
	return errNotInBuild("sandbox")
}

func errNotInBuild(cmd string) error {
	return fmt.Errorf("%s is not in this build (built with -tags nodemo, as production is): run `go run ./cmd/orderdesk %s` from a checkout", cmd, cmd)
}
