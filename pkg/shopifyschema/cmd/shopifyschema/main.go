// Command shopifyschema writes a pinned Admin API schema as SDL (for
// genqlient) and checks GraphQL documents against it, refusing errors and
// deprecated fields:
//
//	shopifyschema sdl -version 2026-10 -o admin_2026-10.graphql
//	shopifyschema check -version 2026-10 FILE.graphql...
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orderdesk/orderdesk/pkg/shopifyschema"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shopifyschema:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: shopifyschema sdl|check -version V [files]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	version := fs.String("version", "2026-10", "Admin API version")
	out := fs.String("o", "", "sdl: output file (default stdout)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "sdl":
		sdl, err := shopifyschema.SDL(*version)
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = os.Stdout.WriteString(sdl)
			return err
		}
		return os.WriteFile(*out, []byte(sdl), 0o644)
	case "check":
		schema, err := shopifyschema.Load(*version)
		if err != nil {
			return err
		}
		var sources []*ast.Source
		for _, path := range fs.Args() {
			doc, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sources = append(sources, &ast.Source{Name: path, Input: string(doc)})
		}
		if _, err := shopifyschema.ValidateSources(schema, sources...); err != nil {
			return err
		}
		fmt.Printf("%d documents valid against Admin API %s, no deprecated fields\n", len(fs.Args()), *version)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}
