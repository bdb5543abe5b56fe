-- +goose Up
-- Flows designed in the browser, their immutable deployed versions, and the
-- read models of the engine (instances, task inbox) written by activities.
-- Temporal remains the source of truth for process state.
CREATE TABLE flows (
    key            TEXT PRIMARY KEY,
    name           TEXT NOT NULL DEFAULT '',
    latest_version INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE flow_versions (
    flow_key    TEXT NOT NULL REFERENCES flows (key),
    version     INTEGER NOT NULL,
    checksum    TEXT NOT NULL,
    bpmn        TEXT NOT NULL,
    graph       TEXT NOT NULL,
    deployed_by TEXT NOT NULL,
    deployed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (flow_key, version),
    UNIQUE (flow_key, checksum)
);

CREATE TABLE instances (
    id          TEXT PRIMARY KEY,
    flow_key    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    department  TEXT NOT NULL,
    status      TEXT NOT NULL,
    current     TEXT NOT NULL DEFAULT '[]',
    message     TEXT NOT NULL DEFAULT '',
    started_by  TEXT NOT NULL,
    variables   TEXT NOT NULL DEFAULT '{}',
    started_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    ended_at    TIMESTAMP,
    FOREIGN KEY (flow_key, version) REFERENCES flow_versions (flow_key, version)
);
CREATE INDEX instances_status ON instances (status, started_at);
CREATE INDEX instances_flow ON instances (flow_key, started_at);
CREATE INDEX instances_department ON instances (department, started_at);

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances (id),
    node         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    flow_key     TEXT NOT NULL,
    department   TEXT NOT NULL,
    role         TEXT NOT NULL DEFAULT '',
    candidates   TEXT NOT NULL DEFAULT '[]',
    candidate_users TEXT NOT NULL DEFAULT '[]',
    assignee     TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    due          TIMESTAMP,
    form         TEXT NOT NULL DEFAULT 'null',
    variables    TEXT NOT NULL DEFAULT '{}',
    four_eyes    TEXT NOT NULL DEFAULT '[]',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    completed_by TEXT NOT NULL DEFAULT '',
    on_behalf_of TEXT NOT NULL DEFAULT '',
    completed_at TIMESTAMP,
    data         TEXT NOT NULL DEFAULT '{}',
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tasks_open ON tasks (status, department, due);
CREATE INDEX tasks_instance ON tasks (instance_id);

-- +goose Down
DROP TABLE tasks;
DROP TABLE instances;
DROP TABLE flow_versions;
DROP TABLE flows;
