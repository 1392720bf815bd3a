-- Actions become durable, write-ahead jobs (issue 8):
-- * plan is the domain request the job carries out (the agent's words,
--   parsed); cancel_input and refund_input are the exact Shopify inputs,
--   stored before each call so a resume re-sends exactly them;
-- * refund_key is the @idempotent key of the refund (derived from the
--   action id); shopify_job_id is the cancel's job;
-- * the attempt counters say whether a part was ever sent to Shopify;
-- * error_code is the stable code of a failure (the API's problem code).
-- 'unknown' is gone: an action without a definite answer is 'pending' and
-- its job settles it. At most one pending action per order.
-- +goose Up
ALTER TABLE actions ADD COLUMN plan TEXT;
ALTER TABLE actions ADD COLUMN cancel_input TEXT;
ALTER TABLE actions ADD COLUMN refund_input TEXT;
ALTER TABLE actions ADD COLUMN refund_key TEXT;
ALTER TABLE actions ADD COLUMN cancel_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE actions ADD COLUMN refund_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE actions ADD COLUMN executions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE actions ADD COLUMN error_code TEXT;
UPDATE actions SET status = 'pending' WHERE status = 'unknown';
DROP INDEX actions_unknown;
CREATE UNIQUE INDEX actions_one_pending ON actions (shop_id, order_id) WHERE status = 'pending';
CREATE INDEX actions_pending ON actions (updated_at) WHERE status = 'pending';

-- The order lease: one executor per order, named by its own holder token,
-- expiring on the database's clock (milliseconds since the epoch).
DROP TABLE order_locks;
CREATE TABLE order_leases (
    shop_id     BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id    BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    action_id   TEXT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);

-- +goose Down
DROP TABLE order_leases;
CREATE TABLE order_locks (
    shop_id       BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id      BIGINT NOT NULL,
    action_id     TEXT NOT NULL,
    locked_until  DATETIME NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);
DROP INDEX actions_pending;
DROP INDEX actions_one_pending;
CREATE INDEX actions_unknown ON actions (status) WHERE status = 'unknown';
ALTER TABLE actions DROP COLUMN error_code;
ALTER TABLE actions DROP COLUMN executions;
ALTER TABLE actions DROP COLUMN refund_attempts;
ALTER TABLE actions DROP COLUMN cancel_attempts;
ALTER TABLE actions DROP COLUMN refund_key;
ALTER TABLE actions DROP COLUMN refund_input;
ALTER TABLE actions DROP COLUMN cancel_input;
ALTER TABLE actions DROP COLUMN plan;
