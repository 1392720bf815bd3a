-- Outbound event delivery (issue 11): a rotated secret's grace, and the
-- lookups of the delivery jobs.
-- +goose Up
-- After a rotation the older secret keeps signing until secrets_retire_at.
ALTER TABLE event_endpoints ADD COLUMN secrets_retire_at DATETIME;
-- Deliveries due across endpoints (the pump's EndpointsWithDue).
CREATE INDEX event_deliveries_pending ON event_deliveries (next_attempt_at) WHERE state = 'pending';

-- +goose Down
DROP INDEX event_deliveries_pending;
ALTER TABLE event_endpoints DROP COLUMN secrets_retire_at;
