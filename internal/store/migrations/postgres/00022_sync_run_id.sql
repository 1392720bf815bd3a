-- Which run a shop's stored backfill progress belongs to. Before, a batch
-- was taken to follow the stored progress when its page count did: two
-- syncs of one shop whose counts lined up wrote over each other's
-- progress, so the row could end with one run's checkpoint under the
-- other's `since`, and a resume would finish an export of the wrong window.
-- Every write beyond a run's start now names its run; rows from before
-- have '' (the first resume claims them).
-- +goose Up
ALTER TABLE sync_runs ADD COLUMN run_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN run_id;
