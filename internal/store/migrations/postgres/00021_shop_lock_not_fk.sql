-- The four tables a backfill and every webhook write most (orders, events,
-- event_sequences, timeline_events) no longer carry a foreign key to
-- shops. A foreign key is checked a row at a time: a backfilled order
-- writes six rows, and in a 20,015-order backfill those checks (each a
-- locking read of the shop's row) were about 30% of the saving backend's
-- time. What the keys gave is kept:
--  - their ON DELETE CASCADE: a trigger on shops deletes the shop's rows of
--    the four tables when the shop is deleted, by any code (a replica of
--    the release before this one deletes the shop alone and relies on it);
--  - their check: a write of these tables takes the shop's row FOR KEY
--    SHARE once per statement (holdShops in the store), as the check did,
--    and fails when the shop is gone; ForgetShop holds the row FOR UPDATE
--    first, which waits for those writers.
-- The trigger runs BEFORE the shop's row is deleted, so the four tables go
-- before every cascade of the other keys, as their own keys' cascades
-- (made first) did: after it, event_endpoints' cascade would lock the
-- shop's endpoints before events were deleted, while the event dispatcher
-- holds events and waits for an endpoint (a deadlock). It deletes orders
-- before the timeline, as customers/redact writes them (it updates a
-- customer's orders, then deletes their timeline).
-- The other tables keep their keys: they are written a row at a time.
--
-- DROP CONSTRAINT takes an ACCESS EXCLUSIVE lock on each table: lock_timeout
-- makes the migration fail fast behind a long transaction (see 00020).
-- +goose Up
SET LOCAL lock_timeout = '5s';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION shops_delete_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM orders WHERE shop_id = OLD.id;
    DELETE FROM timeline_events WHERE shop_id = OLD.id;
    DELETE FROM events WHERE shop_id = OLD.id;
    DELETE FROM event_sequences WHERE shop_id = OLD.id;
    RETURN OLD;
END
$$;
-- +goose StatementEnd
DROP TRIGGER IF EXISTS shops_delete_rows ON shops;
CREATE TRIGGER shops_delete_rows BEFORE DELETE ON shops FOR EACH ROW EXECUTE FUNCTION shops_delete_rows();
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_shop_id_fkey;
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_shop_id_fkey;
ALTER TABLE event_sequences DROP CONSTRAINT IF EXISTS event_sequences_shop_id_fkey;
ALTER TABLE timeline_events DROP CONSTRAINT IF EXISTS timeline_events_shop_id_fkey;

-- +goose Down
-- Rows of a shop that is gone (written without the lock while the keys
-- were off) are dropped first: the keys would refuse them. The trigger
-- stays: the keys added again cascade after every other key's (theirs had
-- come first), and the trigger keeps the four tables' deletion first.
SET LOCAL lock_timeout = '5s';
DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = events.shop_id);
DELETE FROM event_sequences WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = event_sequences.shop_id);
DELETE FROM timeline_events WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = timeline_events.shop_id);
DELETE FROM orders WHERE NOT EXISTS (SELECT 1 FROM shops WHERE shops.id = orders.shop_id);
ALTER TABLE orders ADD CONSTRAINT orders_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
ALTER TABLE events ADD CONSTRAINT events_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
ALTER TABLE event_sequences ADD CONSTRAINT event_sequences_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
ALTER TABLE timeline_events ADD CONSTRAINT timeline_events_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
