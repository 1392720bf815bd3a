-- A delivery's claim: ClaimDeliveries writes a new token with each lease,
-- and an attempt's outcome changes the delivery only while it still holds
-- that token (and the delivery is pending). Senders of several processes
-- work one endpoint; one whose lease ran out while it waited for the
-- answer records its attempt but can no longer undo what the sender that
-- took the delivery over did (deliver it, then the order's next event).
-- A redelivery and an endpoint's re-enabling clear it.
-- +goose Up
ALTER TABLE event_deliveries ADD COLUMN claim TEXT;

-- +goose Down
ALTER TABLE event_deliveries DROP COLUMN claim;
