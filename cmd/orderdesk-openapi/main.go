// Command orderdesk-openapi writes the OpenAPI 3.0 document orderdesk serves
// (docs/openapi.json) from swag's Swagger 2.0 output (docs/swagger.json).
// make docs runs it after swag init; CI regenerates and diffs.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/orderdesk/orderdesk/internal/openapiconv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "orderdesk-openapi:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("orderdesk-openapi", flag.ContinueOnError)
	in := fs.String("in", "docs/swagger.json", "swag's Swagger 2.0 document")
	out := fs.String("out", "docs/openapi.json", "where the OpenAPI 3.0 document goes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	v2, err := os.ReadFile(*in)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	v3, err := openapiconv.Convert(v2)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, v3, 0o644); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
