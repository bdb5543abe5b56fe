-- +goose Up
-- Deployed forms (form-js JSON, immutable versions like flows), the
-- parameters of scheduled flows (department and start variables of the
-- instances a timer start event launches), and the e-mail outbox: one row
-- per notification to deliver, whose status records how far the SMTP
-- transaction went so that a restart never sends it twice.
CREATE TABLE forms (
    form_id     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    checksum    TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    version_tag TEXT NOT NULL DEFAULT '',
    schema      TEXT NOT NULL,
    deployed_by TEXT NOT NULL,
    deployed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (form_id, version),
    UNIQUE (form_id, checksum)
);

CREATE TABLE flow_schedules (
    flow_key   TEXT PRIMARY KEY REFERENCES flows (key),
    department TEXT NOT NULL,
    variables  TEXT NOT NULL DEFAULT '{}',
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- status: pending → sending (claimed by an attempt) → committing (the end of
-- the message is being written: the server may have it) → sent; failed (may
-- be retried), unconfirmed (a crash in the committing step: never resent),
-- skipped (no recipient with an address).
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key        TEXT NOT NULL UNIQUE,
    notification_id INTEGER REFERENCES notifications (id),
    message_id      TEXT NOT NULL,
    recipients      TEXT NOT NULL DEFAULT '[]',
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    claim           TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    reply           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX mail_outbox_status ON mail_outbox (status, updated_at);

-- +goose Down
DROP TABLE mail_outbox;
DROP TABLE flow_schedules;
DROP TABLE forms;
