-- ?phone= compares phone numbers in E.164 ("+13125551212"), so that
-- "3125551212", "+1 312 555 1212" and "(312) 555-1212" find the same
-- contact. phone_e164 is the stored phone's E.164 form, "" when the phone
-- is not a phone number, NULL when there is no phone. libphonenumber's
-- rules are not SQL: the rows stored before this migration are filled in
-- by the store right after migrating (Store.backfillPhones), and every
-- write sets the column.
-- +goose Up
ALTER TABLE orders ADD COLUMN phone_e164 TEXT;
CREATE INDEX orders_phone_e164 ON orders (shop_id, phone_e164);
DROP INDEX orders_phone;

-- +goose Down
CREATE INDEX orders_phone ON orders (shop_id, phone);
DROP INDEX orders_phone_e164;
ALTER TABLE orders DROP COLUMN phone_e164;
