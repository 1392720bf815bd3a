-- Deliveries are deduplicated on X-Shopify-Webhook-Id, which is unique per
-- delivery and repeated by Shopify's retries. X-Shopify-Event-Id is shared
-- by the deliveries one merchant action produces (orders/updated and
-- refunds/create), so it is kept for correlation only. A refused delivery
-- (a signed body that is not a JSON object for its topic) is recorded with
-- why, and has no job.
-- +goose Up
ALTER TABLE webhook_deliveries RENAME COLUMN event_id TO webhook_id;
ALTER TABLE webhook_deliveries ADD COLUMN event_id TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN refusal TEXT;
-- The old key was the event id, or the webhook id when there was none.
UPDATE webhook_deliveries SET event_id = webhook_id;
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (shop_id, event_id);

-- +goose Down
CREATE TABLE webhook_deliveries_v1 (
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    received_at  DATETIME NOT NULL,
    PRIMARY KEY (shop_id, event_id)
);
INSERT OR IGNORE INTO webhook_deliveries_v1 (shop_id, event_id, topic, received_at)
    SELECT shop_id, COALESCE(event_id, webhook_id), topic, received_at FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_v1 RENAME TO webhook_deliveries;
