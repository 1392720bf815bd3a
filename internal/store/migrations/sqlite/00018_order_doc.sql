-- An order's view document, rendered when the order is written (in the
-- same statement as its facts), so GET /orders/{id} sends stored bytes.
-- doc_version names the document's shape: a document of another version
-- is not served (the order is rendered from its facts instead). doc holds
-- the answer without its trailing synced_at, which is read from the column.
-- doc_written_at is when a writer that knows of the document last wrote it:
-- a write that changes the facts and leaves doc_written_at as it was (any
-- statement that does not know of the document) clears it: a document
-- never shows older facts than the row's.
-- +goose Up
ALTER TABLE orders ADD COLUMN doc TEXT;
ALTER TABLE orders ADD COLUMN doc_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN doc_written_at DATETIME;

-- +goose StatementBegin
CREATE TRIGGER orders_doc_follows_facts AFTER UPDATE OF shopify ON orders
    FOR EACH ROW WHEN NEW.shopify IS NOT OLD.shopify AND NEW.doc_written_at IS OLD.doc_written_at
BEGIN
    UPDATE orders SET doc = NULL WHERE shop_id = NEW.shop_id AND id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER orders_doc_follows_facts;
ALTER TABLE orders DROP COLUMN doc_written_at;
ALTER TABLE orders DROP COLUMN doc_version;
ALTER TABLE orders DROP COLUMN doc;
