-- A customer's first list read, a page at a time: fill_cursor is Shopify's
-- cursor of the next page to read (NULL when no read is under way),
-- fill_oldest and fill_oldest_id the created_at and id of the oldest order
-- read so far (the list is served up to it) and
-- fill_orders how many were read. synced_at stays the zero time until the
-- last page is stored: only then is the list complete.
-- +goose Up
ALTER TABLE customer_syncs ADD COLUMN fill_cursor TEXT;
ALTER TABLE customer_syncs ADD COLUMN fill_oldest DATETIME;
ALTER TABLE customer_syncs ADD COLUMN fill_oldest_id BIGINT;
ALTER TABLE customer_syncs ADD COLUMN fill_orders INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE customer_syncs DROP COLUMN fill_orders;
ALTER TABLE customer_syncs DROP COLUMN fill_oldest_id;
ALTER TABLE customer_syncs DROP COLUMN fill_oldest;
ALTER TABLE customer_syncs DROP COLUMN fill_cursor;
