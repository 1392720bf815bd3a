// Command orderdesk runs the orderdesk service: serve (production), demo
// (embedded SQLite and an in-process Shopify sandbox), migrate, sandbox and
// version. It is the only place that wires concrete types together.
//
//	@title						orderdesk API
//	@version					1.0
//	@description				Headless service that lets a CRM's support agents see a customer's Shopify orders (order, payment and fulfilment status, tracking per line item) and cancel or refund them. Errors are RFC 9457 problem+json with a stable `code`. Money is a decimal string with exactly the currency's decimals, next to a `currency` code.
//	@contact.name				orderdesk team
//	@license.name				Proprietary
//	@BasePath					/
//	@schemes					http https
//	@tag.name					orders
//	@tag.description			A contact's orders and what an agent may do with them
//	@tag.name					actions
//	@tag.description			Cancel and refund, with previews and the audit trail of attempts
//	@tag.name					timeline
//	@tag.description			A contact's activity: order events and agent actions
//	@tag.name					webhooks
//	@tag.description			Shopify's webhooks, signed with the app secret
//	@tag.name					events
//	@tag.description			Signed events to the CRM: endpoints, their secrets and delivery attempts, the event log and redelivery
//	@tag.name					installs
//	@tag.description			Installing a shop through Shopify's OAuth (no API key: Shopify's HMAC and a state nonce)
//	@tag.name					operations
//	@tag.description			Health checks for load balancers and orchestrators
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				Send "Bearer <api key>".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/orderdesk/orderdesk/api"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "orderdesk:", err)
		os.Exit(1)
	}
}

func environ() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the service against Postgres (or SQLite) and the real Shopify", serve},
		{"demo", "run the service on embedded SQLite with a seeded in-process Shopify sandbox", demo},
		{"migrate", "apply database migrations and exit", migrate},
		{"sync", "backfill the shop's orders from Shopify (resumable, with progress)", syncCmd},
		{"webhooks", "register the Shopify webhook subscriptions orderdesk needs", webhooksCmd},
		shopsCmd(),
		keysCmd(),
		{"sandbox", "run only the Shopify sandbox, for other processes to call", sandbox},
		{"openapi", "print the OpenAPI 3.0 document (as served at /openapi.json)", printOpenAPI},
		{"version", "print the version", printVersion},
	}
}

func run(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return errors.New("a command is required")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], env, stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: orderdesk <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'orderdesk <command> --help' for a command's flags and environment.")
}

// newFlags makes a subcommand's flag set whose --help prints the summary,
// the flags, and the environment it reads. Parse it with parseFlags.
func newFlags(name, summary, envHelp string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags reports errors once, through run's caller
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: orderdesk %s [flags]\n\n%s\n", name, summary)
		fmt.Fprintln(out, "\nFlags:")
		fs.SetOutput(out)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		if envHelp != "" {
			fmt.Fprintf(out, "\nEnvironment:\n%s", envHelp)
		}
	}
	return fs
}

// parseFlags parses a subcommand's flags; positional says whether it takes
// arguments after them (most take none). --help prints the usage and
// returns flag.ErrHelp; any other problem is returned as one line, naming
// the command, for main to print once.
func parseFlags(fs *flag.FlagSet, args []string, positional bool) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard) // the flag package would print the error too
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage()
		return err
	case err != nil:
		return fmt.Errorf("%s: %w (see orderdesk %s --help)", fs.Name(), err, fs.Name())
	case fs.NArg() > 0 && !positional:
		return fmt.Errorf("%s takes no arguments, got %q (see orderdesk %s --help)", fs.Name(), fs.Args(), fs.Name())
	}
	return nil
}

func printOpenAPI(_ context.Context, args []string, _ map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("openapi", "Print the OpenAPI 3.0 document, the same as GET /openapi.json.", "", stderr)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	doc, err := api.OpenAPI3()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", doc)
	return err
}

func printVersion(_ context.Context, args []string, _ map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "Print the version.", "", stderr)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "orderdesk", version)
	return nil
}
