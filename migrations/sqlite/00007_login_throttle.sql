-- +goose Up
-- Sign-in throttling without lockout: the per-account lock (failed_logins,
-- locked_until), which let anyone lock an account out and answered
-- differently for known and unknown users, gives way to a progressive
-- delay counted per username tried, known or not. name_hash is the sha256
-- (hex) of the normalised username, so that the table holds no usernames
-- typed by strangers.
CREATE TABLE login_failures (
    name_hash      TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL,
    last_failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_last ON login_failures (last_failed_at);
ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;

-- +goose Down
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
DROP TABLE login_failures;
