-- Outbound events to the CRM (issue 11): a transactional outbox.
-- +goose Up
-- An event is written in the transaction of the change it reports. key is
-- the fact it reports (order:1:refund:7), so re-deriving an order's facts
-- never writes an event twice; sequence counts the order's events. A silent
-- event records a fact learned as history (a backfill, a contact's first
-- read): it is never delivered nor listed, it only keeps the fact known.
CREATE TABLE events (
    pos          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    order_id     BIGINT NOT NULL,
    sequence     BIGINT NOT NULL,
    type         TEXT NOT NULL,
    occurred_at  DATETIME NOT NULL,
    created_at   DATETIME NOT NULL,
    silent       BOOLEAN NOT NULL DEFAULT FALSE,
    dispatched   BOOLEAN NOT NULL DEFAULT FALSE,
    payload      TEXT NOT NULL,
    UNIQUE (shop_id, key),
    UNIQUE (shop_id, order_id, sequence)
);
CREATE INDEX events_shop ON events (shop_id, pos DESC) WHERE NOT silent;
CREATE INDEX events_undispatched ON events (pos) WHERE NOT dispatched;

CREATE TABLE event_sequences (
    shop_id   BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id  BIGINT NOT NULL,
    last      BIGINT NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);

-- Where a shop's events go. secrets is a JSON array of whsec_ secrets,
-- newest first: every one signs during a rotation. types is a JSON array
-- of event types; empty means all.
CREATE TABLE event_endpoints (
    id               TEXT PRIMARY KEY,
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    types            TEXT NOT NULL,
    secrets          TEXT NOT NULL,
    source           TEXT NOT NULL,
    state            TEXT NOT NULL,
    disabled_reason  TEXT,
    disabled_at      DATETIME,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE INDEX event_endpoints_shop ON event_endpoints (shop_id, created_at);

-- One event to one endpoint: pending until a 2xx, failed when retries ran out.
CREATE TABLE event_deliveries (
    endpoint_id       TEXT NOT NULL REFERENCES event_endpoints(id) ON DELETE CASCADE,
    event_pos         BIGINT NOT NULL REFERENCES events(pos) ON DELETE CASCADE,
    shop_id           BIGINT NOT NULL,
    order_id          BIGINT NOT NULL,
    sequence          BIGINT NOT NULL,
    state             TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   DATETIME NOT NULL,
    first_failed_at   DATETIME,
    last_status       INTEGER,
    last_error        TEXT,
    delivered_at      DATETIME,
    created_at        DATETIME NOT NULL,
    PRIMARY KEY (endpoint_id, event_pos)
);
CREATE INDEX event_deliveries_due ON event_deliveries (endpoint_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX event_deliveries_order ON event_deliveries (endpoint_id, order_id, sequence) WHERE state <> 'delivered';

CREATE TABLE event_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id   TEXT NOT NULL REFERENCES event_endpoints(id) ON DELETE CASCADE,
    event_pos     BIGINT NOT NULL REFERENCES events(pos) ON DELETE CASCADE,
    attempted_at  DATETIME NOT NULL,
    status        INTEGER,
    latency_ms    BIGINT NOT NULL,
    error         TEXT
);
CREATE INDEX event_attempts_endpoint ON event_attempts (endpoint_id, id DESC);

-- +goose Down
DROP TABLE event_attempts;
DROP TABLE event_deliveries;
DROP TABLE event_endpoints;
DROP TABLE event_sequences;
DROP TABLE events;
