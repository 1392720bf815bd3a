-- shops.webhook_secret (00009) was stored but never read. DESIGN.md has
-- every webhook verified with the app's client secret before it is routed
-- (X-Shopify-Shop-Domain is not signed, so a per-shop secret chosen by the
-- routing header would let the header pick the key that checks it); one
-- app, one secret. Dropped rather than left to suggest otherwise.
-- +goose Up
ALTER TABLE shops DROP COLUMN webhook_secret;

-- +goose Down
ALTER TABLE shops ADD COLUMN webhook_secret TEXT;
