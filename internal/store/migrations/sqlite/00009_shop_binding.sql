-- Webhooks bound to their shop (issue 12). X-Shopify-Webhook-Id is unique
-- across every shop Shopify delivers to, and X-Shopify-Shop-Domain is not
-- signed: a delivery is deduplicated on its webhook id alone, so shop A's
-- signed delivery resent under shop B's domain is a duplicate, never a
-- second delivery. Deliveries recorded twice under two shops before this
-- migration keep their first record.
-- A custom app's shop may sign its webhooks with its own secret (the app's
-- API secret key), sealed like the access token.
-- +goose Up
DELETE FROM webhook_deliveries WHERE EXISTS (
    SELECT 1 FROM webhook_deliveries AS first
    WHERE first.webhook_id = webhook_deliveries.webhook_id
      AND (first.received_at < webhook_deliveries.received_at
           OR (first.received_at = webhook_deliveries.received_at AND first.shop_id < webhook_deliveries.shop_id)));
CREATE UNIQUE INDEX webhook_deliveries_webhook_id ON webhook_deliveries (webhook_id);
ALTER TABLE shops ADD COLUMN webhook_secret TEXT;

-- +goose Down
ALTER TABLE shops DROP COLUMN webhook_secret;
DROP INDEX webhook_deliveries_webhook_id;
