-- Postgres' 00021 drops the foreign keys from orders, events,
-- event_sequences and timeline_events to shops (checked a row at a time,
-- they were a third of a backfill's database time) and takes the shop's row
-- once per statement instead. SQLite keeps its keys: it runs one writer at
-- a time and checks a key without a lock, so there is nothing to do here
-- (the number keeps both dialects' migrations in step).
-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
