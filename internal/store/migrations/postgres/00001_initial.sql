-- +goose Up
CREATE TABLE shops (
    id          BIGSERIAL PRIMARY KEY,
    domain      TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    key_hash     TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_shop_id ON api_keys (shop_id);

CREATE TABLE orders (
    shop_id             BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    id                  BIGINT NOT NULL,
    name                TEXT NOT NULL,
    order_number        INTEGER NOT NULL,
    customer_id         BIGINT,
    email               TEXT,
    phone               TEXT,
    status              TEXT NOT NULL,
    financial_status    TEXT NOT NULL,
    fulfillment_status  TEXT NOT NULL,
    currency            TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    synced_at           TIMESTAMPTZ NOT NULL,
    shopify             JSONB NOT NULL,
    PRIMARY KEY (shop_id, id)
);
CREATE INDEX orders_newest ON orders (shop_id, created_at DESC, id DESC);
CREATE INDEX orders_customer ON orders (shop_id, customer_id, created_at DESC, id DESC);
CREATE INDEX orders_email ON orders (shop_id, lower(email));
CREATE INDEX orders_phone ON orders (shop_id, phone);
CREATE INDEX orders_name ON orders (shop_id, name);
CREATE INDEX orders_updated ON orders (shop_id, updated_at);

CREATE TABLE customer_syncs (
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    customer_id  BIGINT NOT NULL,
    synced_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shop_id, customer_id)
);

-- An agent's cancel or refund attempt. cancel_done / refund_done record
-- which parts Shopify has carried out, so a resumed action never repeats one.
CREATE TABLE actions (
    id                 TEXT PRIMARY KEY,
    shop_id            BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id           BIGINT NOT NULL,
    kind               TEXT NOT NULL,
    status             TEXT NOT NULL,
    agent_id           TEXT NOT NULL,
    reason             TEXT,
    amount             TEXT,
    currency           TEXT,
    request            JSONB NOT NULL,
    refund_requested   BOOLEAN NOT NULL DEFAULT FALSE,
    cancel_done        BOOLEAN NOT NULL DEFAULT FALSE,
    refund_done        BOOLEAN NOT NULL DEFAULT FALSE,
    shopify_refund_id  BIGINT,
    shopify_job_id     TEXT,
    error              TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    completed_at       TIMESTAMPTZ
);
CREATE INDEX actions_order ON actions (shop_id, order_id, created_at DESC);
CREATE INDEX actions_unknown ON actions (status) WHERE status = 'unknown';

-- Idempotency-Key records, per API key. locked_until is the lease of the
-- request working on it (in flight while in the future); response_* is set
-- only for final outcomes, which are replayed.
CREATE TABLE idempotency_keys (
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    api_key_id       BIGINT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    action_id        TEXT NOT NULL,
    locked_until     TIMESTAMPTZ,
    response_status  INTEGER,
    response_body    BYTEA,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (api_key_id, key)
);

-- One action at a time per order, across replicas: a lease row per order.
CREATE TABLE order_locks (
    shop_id       BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id      BIGINT NOT NULL,
    action_id     TEXT NOT NULL,
    locked_until  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE webhook_deliveries (
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shop_id, event_id)
);

CREATE TABLE timeline_events (
    id           TEXT PRIMARY KEY,
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    customer_id  BIGINT,
    order_id     BIGINT,
    order_name   TEXT,
    type         TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    summary      TEXT NOT NULL,
    agent_id     TEXT,
    data         JSONB NOT NULL
);
CREATE INDEX timeline_events_customer ON timeline_events (shop_id, customer_id, occurred_at DESC, id DESC);

-- A backfill in progress or done: where it stands, so an interrupted
-- `orderdesk sync` resumes from the page it had reached.
CREATE TABLE sync_runs (
    shop_id     BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    since       TIMESTAMPTZ,
    page_info   TEXT NOT NULL DEFAULT '',
    pages       INTEGER NOT NULL DEFAULT 0,
    orders      INTEGER NOT NULL DEFAULT 0,
    finished    BOOLEAN NOT NULL DEFAULT FALSE,
    started_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shop_id)
);

-- +goose Down
DROP TABLE sync_runs;
DROP TABLE timeline_events;
DROP TABLE webhook_deliveries;
DROP TABLE order_locks;
DROP TABLE idempotency_keys;
DROP TABLE actions;
DROP TABLE customer_syncs;
DROP TABLE orders;
DROP TABLE api_keys;
DROP TABLE shops;
