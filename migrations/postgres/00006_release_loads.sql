-- +goose Up
-- A release table being loaded: rows go in by chunks, each chunk in its own
-- transaction with the update of rows_loaded, so that a crashed publication
-- resumes after its last committed chunk and two attempts of the same
-- activity cannot both write (each chunk moves rows_loaded from the value it
-- read). The row is deleted when the release is recorded.
CREATE TABLE release_loads (
    idem_key    TEXT PRIMARY KEY,
    dataset_id  TEXT NOT NULL,
    table_name  TEXT NOT NULL UNIQUE,
    rows_loaded BIGINT NOT NULL DEFAULT 0,
    started_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE release_loads;
