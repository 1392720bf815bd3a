package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

func keysCmd() command {
	return command{"keys", "create, list and revoke the CRM's API keys; re-encrypt stored tokens", group("keys",
		"API keys the CRM sends as Authorization: Bearer, each bound to one shop, and the encryption of stored tokens.",
		[]command{
			{"create", "create an API key for a shop (printed once)", keysCreate},
			{"list", "list API keys (prefix, shop, name, created, last used, revoked; never the secret)", keysList},
			{"revoke", "revoke an API key by id or prefix", keysRevoke},
			{"rotate-encryption", "re-encrypt every stored token and event signing secret under the current ORDERDESK_ENCRYPTION_KEY key", keysRotate},
		})}
}

func keysCreate(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("keys create", "Create an API key for a shop. The key goes to standard output, alone, once: orderdesk keeps only its hash and its prefix (od_live_<prefix>_...), which names it in 'keys list' and 'keys revoke'.", adminEnvHelp, stderr)
	shop := fs.String("shop", "", "the shop the key may see, example.myshopify.com (required)")
	name := fs.String("name", "", "who uses the key, e.g. crm-production (required)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *shop == "" || *name == "" {
		fs.Usage()
		return errors.New("keys create: --shop and --name are required")
	}
	_, st, err := adminStore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	k, secret, err := tenant.NewKeys(st.Tenants()).Create(ctx, *shop, *name)
	if err != nil {
		return fmt.Errorf("keys create: %w", err)
	}
	fmt.Fprintf(stderr, "Created API key %d (%s%s) for %s, named %q. It is shown once; give it to the CRM now.\n", k.ID, tenant.KeyPrefix, k.Prefix, k.Shop.Domain, k.Name)
	fmt.Fprintln(stdout, secret)
	return nil
}

func keysList(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("keys list", "List API keys, oldest first. Keys bound through ORDERDESK_API_KEY show as 'bootstrap' with no prefix. Last use is recorded within about 30 s.", adminEnvHelp, stderr)
	shop := fs.String("shop", "", "only this shop's keys")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	_, st, err := adminStore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := tenant.NewKeys(st.Tenants()).List(ctx, *shop)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPREFIX\tSHOP\tNAME\tCREATED_AT\tLAST_USED_AT\tREVOKED_AT")
	for _, k := range keys {
		prefix := "-"
		if k.Prefix != "" {
			prefix = tenant.KeyPrefix + k.Prefix
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, prefix, k.Shop.Domain, k.Name, k.CreatedAt.Format(time.RFC3339), timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
	}
	return w.Flush()
}

func keysRevoke(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("keys revoke", "Revoke an API key, named by its id or its prefix (od_live_abcd2345): 'orderdesk keys revoke od_live_abcd2345'. "+
		"Every replica refuses it within ORDERDESK_API_KEY_CACHE_TTL (default 5s).", adminEnvHelp, stderr)
	if err := parseFlags(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("keys revoke: name one key, by id or prefix")
	}
	cfg, st, err := adminStore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := tenant.NewKeys(st.Tenants()).Revoke(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("keys revoke: %w", err)
	}
	name := fmt.Sprint(k.ID)
	if k.Prefix != "" {
		name += " (" + tenant.KeyPrefix + k.Prefix + ")"
	}
	fmt.Fprintf(stdout, "revoked key %s of %s, named %q, at %s; replicas refuse it within %s\n", name, k.Shop.Domain, k.Name, k.RevokedAt.Format(time.RFC3339), cfg.KeyCacheTTL)
	return nil
}

func keysRotate(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := newFlags("keys rotate-encryption", "Re-encrypt every stored secret (shop access tokens, event endpoints' signing secrets; ones still in clear are sealed) under the first key of ORDERDESK_ENCRYPTION_KEY. "+
		"Rotate in three steps: put the new key first and keep the old ones after it on every replica; run this; then drop the old keys.", adminEnvHelp, stderr)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	cfg, st, err := adminStore(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	keyring, _, err := openKeyring(cfg)
	if err != nil {
		return err
	}
	if keyring == nil {
		return &config.Error{Var: "ORDERDESK_ENCRYPTION_KEY", Msg: "required by keys rotate-encryption: the new key first, then the old ones"}
	}
	clear, err := st.SealClearSecrets(ctx, keyring)
	if err != nil {
		return fmt.Errorf("keys rotate-encryption: %w", err)
	}
	n, err := st.ResealAll(ctx, keyring.CurrentPrefix(), keyring.Reseal)
	n += clear
	if err != nil {
		return fmt.Errorf("keys rotate-encryption: %d re-encrypted before: %w", n, err)
	}
	fmt.Fprintf(stdout, "re-encrypted %d stored secrets under key %s; every stored secret now uses it\n", n, keyring.Current())
	return nil
}
