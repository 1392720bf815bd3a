-- The four tables a backfill and every webhook write most (orders, events,
-- event_sequences, timeline_events) no longer carry a foreign key to
-- shops. A foreign key is checked a row at a time: a backfilled order
-- writes six rows, and in a 20,015-order backfill those checks (each a
-- locking read of the shop's row) were about 30% of the saving backend's
-- time. What the key gave is kept instead:
--  - a write of these tables takes the shop's row FOR KEY SHARE once per
--    statement (holdShops in the store), as the key's check did, and fails
--    when the shop is gone;
--  - ForgetShop takes the shop's row FOR UPDATE, which waits for those
--    writers, then deletes the four tables' rows and the shop (the other
--    tables still cascade from shops).
-- The other tables keep their keys: they are written a row at a time.
--
-- DROP CONSTRAINT takes an ACCESS EXCLUSIVE lock on each table: lock_timeout
-- makes the migration fail fast behind a long transaction (see 00020).
-- +goose Up
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_shop_id_fkey;
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_shop_id_fkey;
ALTER TABLE event_sequences DROP CONSTRAINT IF EXISTS event_sequences_shop_id_fkey;
ALTER TABLE timeline_events DROP CONSTRAINT IF EXISTS timeline_events_shop_id_fkey;

-- +goose Down
-- Rows of a shop deleted while the keys were off are dropped first: the
-- keys would refuse them.
SET LOCAL lock_timeout = '5s';
DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = events.shop_id);
DELETE FROM event_sequences WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = event_sequences.shop_id);
DELETE FROM timeline_events WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = timeline_events.shop_id);
DELETE FROM orders WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = orders.shop_id);
ALTER TABLE orders ADD CONSTRAINT orders_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
ALTER TABLE events ADD CONSTRAINT events_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
ALTER TABLE event_sequences ADD CONSTRAINT event_sequences_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
ALTER TABLE timeline_events ADD CONSTRAINT timeline_events_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
