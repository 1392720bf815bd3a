-- +goose Up
-- Shops installed through OAuth or `orderdesk shops add`: their state, the
-- scopes Shopify granted, and the access token sealed by internal/secrets
-- (never stored in clear; NULL once the shop uninstalls the app).
ALTER TABLE shops ADD COLUMN state TEXT NOT NULL DEFAULT 'installed';
ALTER TABLE shops ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE shops ADD COLUMN access_token TEXT;
-- SQLite cannot add a NOT NULL column without a constant default; the
-- store always writes it.
ALTER TABLE shops ADD COLUMN installed_at DATETIME;
ALTER TABLE shops ADD COLUMN uninstalled_at DATETIME;
UPDATE shops SET installed_at = created_at;

-- Managed API keys: the visible prefix names a key in lists and
-- revocations; the secret part is only ever stored hashed (key_hash).
-- Keys bound through ORDERDESK_API_KEY have no prefix.
ALTER TABLE api_keys ADD COLUMN prefix TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at DATETIME;
ALTER TABLE api_keys ADD COLUMN revoked_at DATETIME;
CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix) WHERE prefix IS NOT NULL;

-- OAuth installs in progress: the state nonce (hashed) handed to Shopify,
-- bound to the shop it was started for; taken once by the callback.
CREATE TABLE oauth_states (
    nonce_hash   TEXT PRIMARY KEY,
    shop_domain  TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);

-- +goose Down
DROP TABLE oauth_states;
DROP INDEX api_keys_prefix;
ALTER TABLE api_keys DROP COLUMN revoked_at;
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN prefix;
ALTER TABLE shops DROP COLUMN uninstalled_at;
ALTER TABLE shops DROP COLUMN installed_at;
ALTER TABLE shops DROP COLUMN access_token;
ALTER TABLE shops DROP COLUMN scopes;
ALTER TABLE shops DROP COLUMN state;
