-- Postgres' 00020 sets lz4 compression on its wide columns; SQLite does
-- not compress values, so there is nothing to do here (the number keeps
-- both dialects' migrations in step).
-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
