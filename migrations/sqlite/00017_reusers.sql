-- +goose Up
-- The reusers' self-service (/developers): what they told at sign-up, the
-- suspension by staff, and their single-use tokens (e-mail verification,
-- sign-in links) and sessions, all stored as SHA-256 hashes.
CREATE TABLE reuser_profiles (
    consumer_id  BIGINT PRIMARY KEY REFERENCES api_consumers (id),
    intended_use TEXT NOT NULL DEFAULT '',
    suspended_at TIMESTAMP
);

CREATE TABLE reuser_tokens (
    hash        TEXT PRIMARY KEY,    -- hex SHA-256 of the token
    consumer_id BIGINT NOT NULL REFERENCES api_consumers (id),
    purpose     TEXT NOT NULL,       -- verify, signin, session
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP            -- verify and signin tokens work once
);
CREATE INDEX reuser_tokens_consumer ON reuser_tokens (consumer_id, purpose);
CREATE INDEX reuser_tokens_expires ON reuser_tokens (expires_at);

-- +goose Down
DROP TABLE reuser_tokens;
DROP TABLE reuser_profiles;
