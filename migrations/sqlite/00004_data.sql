-- +goose Up
-- Data lifecycle: datasets and their metadata, staged files (uploads and URL
-- sources, the bytes live in DATA/blobs by SHA-256), custom Table Schemas
-- (versioned), quality reports, immutable numbered releases (the rows of
-- each release live in their own typed table, named in releases.table_name),
-- the record of what each data activity did (idempotency) and notifications.
CREATE TABLE datasets (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    department      TEXT NOT NULL REFERENCES departments (slug),
    schema_name     TEXT NOT NULL DEFAULT '',
    schema_version  INTEGER NOT NULL DEFAULT 0,
    licence         TEXT NOT NULL DEFAULT 'etalab-2.0',
    frequency       TEXT NOT NULL DEFAULT 'unknown',
    keywords        TEXT NOT NULL DEFAULT '[]',
    spatial         TEXT NOT NULL DEFAULT '',
    temporal_start  TEXT NOT NULL DEFAULT '',
    temporal_end    TEXT NOT NULL DEFAULT '',
    personal_fields TEXT NOT NULL DEFAULT '[]',
    visibility      TEXT NOT NULL DEFAULT 'private',
    exposed_release INTEGER,
    created_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX datasets_department ON datasets (department);

CREATE TABLE dataset_files (
    id            TEXT PRIMARY KEY,
    dataset_id    TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    format        TEXT NOT NULL DEFAULT '',
    sha256        TEXT NOT NULL DEFAULT '',
    size          INTEGER NOT NULL DEFAULT 0,
    url           TEXT NOT NULL DEFAULT '',
    etag          TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    fetched_at    TIMESTAMP,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX dataset_files_dataset ON dataset_files (dataset_id);

CREATE TABLE custom_schemas (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    descriptor TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE quality_reports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key       TEXT UNIQUE,
    dataset_id     TEXT REFERENCES datasets (id) ON DELETE CASCADE,
    file_id        TEXT NOT NULL DEFAULT '',
    instance_id    TEXT NOT NULL DEFAULT '',
    node_id        TEXT NOT NULL DEFAULT '',
    blob_sha256    TEXT NOT NULL DEFAULT '',
    schema_name    TEXT NOT NULL DEFAULT '',
    schema_version TEXT NOT NULL DEFAULT '',
    valid          BOOLEAN NOT NULL,
    row_count      INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,
    warnings       INTEGER NOT NULL DEFAULT 0,
    report         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX quality_reports_dataset ON quality_reports (dataset_id, id);

CREATE TABLE releases (
    dataset_id     TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL,
    idem_key       TEXT NOT NULL UNIQUE,
    instance_id    TEXT NOT NULL DEFAULT '',
    file_id        TEXT NOT NULL DEFAULT '',
    original_sha   TEXT NOT NULL DEFAULT '',
    normalized_sha TEXT NOT NULL DEFAULT '',
    schema_name    TEXT NOT NULL DEFAULT '',
    schema_version TEXT NOT NULL DEFAULT '',
    table_name     TEXT NOT NULL UNIQUE,
    columns        TEXT NOT NULL,
    primary_key    TEXT NOT NULL DEFAULT '[]',
    row_count      INTEGER NOT NULL DEFAULT 0,
    report_id      INTEGER REFERENCES quality_reports (id) ON DELETE SET NULL,
    anonymisation  TEXT NOT NULL DEFAULT '[]',
    diff           TEXT NOT NULL DEFAULT '{}',
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (dataset_id, number)
);

CREATE TABLE data_runs (
    idem_key    TEXT PRIMARY KEY,
    activity    TEXT NOT NULL,
    instance_id TEXT NOT NULL DEFAULT '',
    node_id     TEXT NOT NULL DEFAULT '',
    dataset_id  TEXT NOT NULL DEFAULT '',
    input_sha   TEXT NOT NULL DEFAULT '',
    output_sha  TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX data_runs_instance ON data_runs (instance_id);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key    TEXT UNIQUE,
    recipient   TEXT NOT NULL,
    template    TEXT NOT NULL,
    instance_id TEXT NOT NULL DEFAULT '',
    node_id     TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP
);

-- +goose Down
DROP TABLE notifications;
DROP TABLE data_runs;
DROP TABLE releases;
DROP TABLE quality_reports;
DROP TABLE custom_schemas;
DROP TABLE dataset_files;
DROP TABLE datasets;
