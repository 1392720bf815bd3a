-- An orders/* delivery carries the order: it is recorded with its body and
-- waits here, pending, to be applied in a batch (many deliveries of a shop
-- in one transaction, several of one order coalesced to the newest). The
-- delivery's INSERT is the enqueue: one statement, one commit. claimed_until
-- is a batch's lease (a process that died mid-batch leaves it to expire);
-- applied_at is set, and the body dropped, once the copy is stored (or the
-- delivery handed to an apply job when it needs Shopify). Other topics keep
-- their River job and have no body here.
-- +goose Up
ALTER TABLE webhook_deliveries ADD COLUMN payload TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN triggered_at TIMESTAMPTZ;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until TIMESTAMPTZ;
ALTER TABLE webhook_deliveries ADD COLUMN applied_at TIMESTAMPTZ;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (received_at) WHERE payload IS NOT NULL AND applied_at IS NULL;

-- +goose Down
DROP INDEX webhook_deliveries_pending;
ALTER TABLE webhook_deliveries DROP COLUMN applied_at;
ALTER TABLE webhook_deliveries DROP COLUMN claimed_until;
ALTER TABLE webhook_deliveries DROP COLUMN triggered_at;
ALTER TABLE webhook_deliveries DROP COLUMN payload;
