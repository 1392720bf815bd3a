package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/jobs"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

const adminEnvHelp = `  ORDERDESK_DATABASE_URL     postgres://... or sqlite:PATH (default sqlite:orderdesk.db)
  ORDERDESK_ENCRYPTION_KEY   id:base64key[,id:base64key...]: seals shop tokens (current key first)
  SHOPIFY_API_VERSION        Admin API version (default 2026-10)
  SHOPIFY_BASE_URL           origin to call instead of https://{shop} (sandbox, tests)
`

// group runs one of a command's subcommands: orderdesk shops add ...
func group(name, summary string, subs []command) func(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: orderdesk %s <subcommand> [flags]\n\n%s\n\nSubcommands:\n", name, summary)
		for _, c := range subs {
			fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\nRun 'orderdesk %s <subcommand> --help' for its flags.\n", name)
	}
	return func(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
		if len(args) == 0 {
			usage(stderr)
			return fmt.Errorf("%s: a subcommand is required", name)
		}
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			usage(stderr)
			return flag.ErrHelp
		}
		for _, c := range subs {
			if c.name == args[0] {
				return c.run(ctx, args[1:], env, stdout, stderr)
			}
		}
		usage(stderr)
		return fmt.Errorf("%s: unknown subcommand %q", name, args[0])
	}
}

// adminStore opens the database for the shops and keys commands.
func adminStore(ctx context.Context, env map[string]string, stderr io.Writer) (config.Config, *store.Store, error) {
	cfg, err := config.Load(env, config.ModeMigrate)
	if err != nil {
		return config.Config{}, nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), store.WithPhoneRegion(cfg.PhoneRegion))
	if err != nil {
		return config.Config{}, nil, err
	}
	if err := st.Migrate(ctx, newLogger(stderr, "warn")); err != nil {
		_ = st.Close()
		return config.Config{}, nil, err
	}
	return cfg, st, nil
}

func shopsCmd() command {
	return command{"shops", "install a custom app's shop, list shops and their installation", group("shops",
		"Shops orderdesk serves: installed through Shopify's OAuth (GET /shopify/install) or with a custom app's token.",
		[]command{
			{"add", "install a shop with a custom app's Admin API token read from a file", shopsAdd},
			{"list", "list the shops: domain, state, scopes, installed_at (never the token)", shopsList},
		})}
}

func shopsAdd(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("shops add", "Install a shop with the Admin API access token of a custom app, read from a file (or - for standard input) so it never shows in the shell's history or the process list. "+
		"The token is checked with Shopify (which scopes it carries), stored encrypted under ORDERDESK_ENCRYPTION_KEY, and the shop's webhook registration is queued for a running orderdesk serve. "+
		"Adding a shop again replaces its token.", adminEnvHelp, stderr)
	shop := fs.String("shop", "", "the shop's domain, example.myshopify.com (required)")
	tokenFile := fs.String("token-file", "", "file holding the access token, or - for standard input (required)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *shop == "" || *tokenFile == "" {
		fs.Usage()
		return errors.New("shops add: --shop and --token-file are required")
	}
	domain, err := tenant.ParseDomain(*shop)
	if err != nil {
		return fmt.Errorf("--shop: %w", err)
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		return err
	}
	cfg, st, err := adminStore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	log := newLogger(stderr, "warn")
	keyring, _, err := openKeyring(cfg)
	if err != nil {
		return err
	}
	// An insert-only River client: the serve replicas run the job.
	runner, err := newRunner(st, nil, nil, log, jobs.Options{})
	if err != nil {
		return err
	}
	installer, err := newInstaller(cfg, st, keyring, runner, log)
	if err != nil {
		return err
	}
	info, err := installer.Add(ctx, domain, token)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "installed %s (shop %d) with scopes %s; token stored encrypted under key %s\n",
		info.Domain, info.ID, strings.Join(info.Scopes, ","), keyring.Current())
	fmt.Fprintf(stdout, "next: orderdesk keys create --shop %s --name crm\n", info.Domain)
	return nil
}

func readToken(path string) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("--token-file %s is empty", path)
	}
	return token, nil
}

func shopsList(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("shops list", "List the shops orderdesk serves, with their state (installed, uninstalled), the scopes Shopify granted and when they were installed. Tokens are never shown.", adminEnvHelp, stderr)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	_, st, err := adminStore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	shops, err := st.Tenants().ListShops(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DOMAIN\tSTATE\tSCOPES\tINSTALLED_AT\tUNINSTALLED_AT\tTOKEN")
	for _, s := range shops {
		scopes, token := strings.Join(s.Scopes, ","), "none"
		if scopes == "" {
			scopes = "-"
		}
		if s.HasToken {
			token = "stored, encrypted"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Domain, s.State, scopes, s.InstalledAt.Format(time.RFC3339), timeOrDash(s.UninstalledAt), token)
	}
	return w.Flush()
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
