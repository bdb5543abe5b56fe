-- +goose Up
-- What civicflow.datagouv pushed to a data.gouv.fr platform, per dataset:
-- the remote ids (saved as soon as the remote dataset exists, so that a
-- retry after a crash updates it rather than creating another), the last
-- release pushed and the checksum of its file. withdrawn_at is set when
-- civicflow.withdraw made the remote dataset private or archived it.
CREATE TABLE datagouv_pushes (
    dataset_id         TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    target_url         TEXT NOT NULL,
    remote_dataset_id  TEXT NOT NULL DEFAULT '',
    remote_resource_id TEXT NOT NULL DEFAULT '',
    remote_page        TEXT NOT NULL DEFAULT '',
    release_number     INTEGER NOT NULL DEFAULT 0,
    checksum           TEXT NOT NULL DEFAULT '',
    pushed_at          TIMESTAMPTZ,
    withdrawn_at       TIMESTAMPTZ,
    withdrawn_as       TEXT NOT NULL DEFAULT '',
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (dataset_id, target_url)
);

-- +goose Down
DROP TABLE datagouv_pushes;
