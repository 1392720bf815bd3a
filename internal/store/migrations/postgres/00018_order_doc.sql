-- An order's view document, rendered when the order is written (in the
-- same statement as its facts), so GET /orders/{id} sends stored bytes.
-- doc_version names the document's shape: a document of another version
-- is not served (the order is rendered from its facts instead). doc holds
-- the answer without its trailing synced_at, which is read from the column.
-- doc_written_at is when a writer that knows of the document last wrote it:
-- a write that changes the facts and leaves doc_written_at as it was (a
-- replica of an older release during a rolling deploy, or any statement
-- that does not know of the document) clears it: a document never shows
-- older facts than the row's.
-- +goose Up
ALTER TABLE orders ADD COLUMN doc TEXT;
ALTER TABLE orders ADD COLUMN doc_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN doc_written_at TIMESTAMPTZ;

-- +goose StatementBegin
CREATE FUNCTION orders_doc_follows_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.doc_written_at IS NOT DISTINCT FROM OLD.doc_written_at THEN
        NEW.doc := NULL;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER orders_doc_follows_facts BEFORE UPDATE OF shopify ON orders
    FOR EACH ROW WHEN (NEW.shopify IS DISTINCT FROM OLD.shopify)
    EXECUTE FUNCTION orders_doc_follows_facts();

-- +goose Down
DROP TRIGGER orders_doc_follows_facts ON orders;
DROP FUNCTION orders_doc_follows_facts();
ALTER TABLE orders DROP COLUMN doc_written_at;
ALTER TABLE orders DROP COLUMN doc_version;
ALTER TABLE orders DROP COLUMN doc;
