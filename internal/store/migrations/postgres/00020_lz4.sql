-- Compress the wide columns with lz4 rather than pglz (Postgres' default).
-- An order row with its document is over the 2 KB at which Postgres
-- compresses a row's widest values, and a backfill checkpoint carries the
-- export's received bytes (up to 256 KB a file, base64): in a 20,015-order
-- backfill pglz took 12% of the saving backend's CPU, half of it in the 80
-- checkpoints. lz4 compresses several times faster (and decompresses the
-- documents views read faster). Values written before keep pglz until
-- rewritten; a server built without lz4, or older than 14 (no SET
-- COMPRESSION), keeps pglz.
--
-- SET COMPRESSION takes an ACCESS EXCLUSIVE lock on orders and sync_runs:
-- behind a long transaction it would queue every read of orders behind
-- it. lock_timeout makes the migration fail fast instead (goose runs it in
-- a transaction, which SET LOCAL needs; the deploy can be retried).
--
-- The ALTERs are EXECUTEd so that a server older than 14 never parses
-- them: there they are a syntax error, raised when the DO block is
-- compiled, which no EXCEPTION clause can catch.
-- +goose Up
SET LOCAL lock_timeout = '5s';
-- +goose StatementBegin
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'ALTER TABLE orders ALTER COLUMN doc SET COMPRESSION lz4, ALTER COLUMN shopify SET COMPRESSION lz4';
        EXECUTE 'ALTER TABLE sync_runs ALTER COLUMN checkpoint SET COMPRESSION lz4';
    ELSE
        RAISE NOTICE 'this server has no SET COMPRESSION (before 14): the columns keep pglz';
    END IF;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: the columns keep pglz';
END
$$;
-- +goose StatementEnd

-- +goose Down
SET LOCAL lock_timeout = '5s';
-- +goose StatementBegin
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'ALTER TABLE orders ALTER COLUMN doc SET COMPRESSION default, ALTER COLUMN shopify SET COMPRESSION default';
        EXECUTE 'ALTER TABLE sync_runs ALTER COLUMN checkpoint SET COMPRESSION default';
    END IF;
END
$$;
-- +goose StatementEnd
