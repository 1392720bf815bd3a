-- A backfill through a bulk operation (issue 10): where the export's
-- download stands (the operations, the bytes read, the lines read but not
-- yet saved), so an interrupted `orderdesk sync` resumes without reading
-- an object twice. Opaque to the database: the Shopify adapter's JSON.
-- +goose Up
ALTER TABLE sync_runs ADD COLUMN checkpoint TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN checkpoint;
