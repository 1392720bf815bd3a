-- Which run a shop's stored backfill progress belongs to. Before, a batch
-- was taken to follow the stored progress when its page count did: two
-- syncs of one shop whose counts lined up wrote over each other's
-- progress, so the row could end with one run's checkpoint under the
-- other's `since`, and a resume would finish an export of the wrong window.
-- Every write beyond a run's start now names its run; rows from before
-- have '' (the first resume claims them).
--
-- Adding a column with a constant default changes only the catalogue, but
-- takes an ACCESS EXCLUSIVE lock on sync_runs: behind a running backfill's
-- transaction it would queue the table's every use. lock_timeout makes the
-- migration fail fast instead, as 00020 does (goose runs it in a
-- transaction; the deploy can be retried).
-- +goose Up
SET LOCAL lock_timeout = '5s';
ALTER TABLE sync_runs ADD COLUMN run_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN run_id;
