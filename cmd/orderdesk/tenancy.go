package main

import (
	"context"
	"log/slog"

	"github.com/orderdesk/orderdesk/internal/config"
	"github.com/orderdesk/orderdesk/internal/jobs"
	"github.com/orderdesk/orderdesk/internal/secrets"
	"github.com/orderdesk/orderdesk/internal/shopify"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/tenant"
	"github.com/orderdesk/orderdesk/internal/webhooks"
)

// openKeyring parses ORDERDESK_ENCRYPTION_KEY (validated by config); both
// results are nil without it, the opener as an untyped nil interface.
func openKeyring(cfg config.Config) (*secrets.Keyring, tenant.Opener, error) {
	if cfg.EncryptionKey == "" {
		return nil, nil, nil
	}
	k, err := secrets.ParseKeyring(cfg.EncryptionKey.Reveal())
	if err != nil {
		return nil, nil, &config.Error{Var: "ORDERDESK_ENCRYPTION_KEY", Msg: err.Error()}
	}
	return k, k, nil
}

// newRunner is River on whichever database the store is.
func newRunner(st *store.Store, applier jobs.Applier, reconciler jobs.Reconciler, log *slog.Logger, o jobs.Options) (*jobs.Runner, error) {
	if st.Pool() != nil {
		return jobs.NewPostgres(st.Pool(), applier, reconciler, log, o)
	}
	return jobs.NewSQLite(st.SQL(), applier, reconciler, log, o)
}

// shopifyWebhooks subscribes a shop to every topic orderdesk applies, at
// orderdesk's public address.
type shopifyWebhooks struct {
	shopify *shopify.Client
	address string
}

func (w shopifyWebhooks) RegisterShopWebhooks(ctx context.Context, shop tenant.Shop) error {
	_, _, err := w.shopify.RegisterWebhooks(ctx, shop, w.address, webhooks.APITopics)
	return err
}

// registrar is how newly installed shops get their webhooks: only when
// orderdesk knows its public URL.
func registrar(cfg config.Config, sc *shopify.Client) jobs.WebhookRegistrar {
	if cfg.PublicURL == "" {
		return nil
	}
	return shopifyWebhooks{shopify: sc, address: cfg.PublicURL + "/webhooks/shopify"}
}

// oauthApp is the Shopify side of installs; without OAuth credentials it
// still reads a token's scopes (shops add).
func oauthApp(cfg config.Config) (*shopify.OAuth, error) {
	redirect := ""
	if cfg.PublicURL != "" {
		redirect = cfg.PublicURL + "/shopify/callback"
	}
	return shopify.NewOAuth(shopify.OAuthConfig{
		ClientID: cfg.ClientID, ClientSecret: cfg.Shopify.APISecret.Reveal(), RedirectURL: redirect,
		Scopes: tenant.Scopes, APIVersion: cfg.Shopify.APIVersion, BaseURL: cfg.Shopify.BaseURL, Timeout: cfg.Shopify.Timeout,
	})
}

// newInstaller installs shops into st, sealing tokens with the keyring and
// queueing each shop's webhook registration with its install.
func newInstaller(cfg config.Config, st *store.Store, keyring *secrets.Keyring, runner *jobs.Runner, log *slog.Logger) (*tenant.Installer, error) {
	if keyring == nil {
		return nil, &config.Error{Var: "ORDERDESK_ENCRYPTION_KEY", Msg: "required to install shops: their tokens are stored encrypted"}
	}
	app, err := oauthApp(cfg)
	if err != nil {
		return nil, err
	}
	return tenant.NewInstaller(app, st.Tenants(), keyring, runner.EnqueueRegisterWebhooks, log, tenant.WithStateSecret([]byte(cfg.Shopify.APISecret.Reveal()))), nil
}
