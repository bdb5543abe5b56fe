-- +goose Up
-- The public API's gateway (internal/apigw): reusers (consumers), their API
-- keys (SHA-256 at rest, a display prefix), plans (rate, burst, daily and
-- monthly quotas), the limiter's shared counters and the usage log.
CREATE TABLE api_plans (
    id              TEXT PRIMARY KEY,
    label           TEXT NOT NULL,
    rate_per_second DOUBLE PRECISION NOT NULL, -- 0 = no rate limit
    burst           INTEGER NOT NULL,
    per_day         BIGINT NOT NULL,           -- 0 = no daily quota
    per_month       BIGINT NOT NULL,           -- 0 = no monthly quota
    updated_at      TIMESTAMPTZ NOT NULL
);
INSERT INTO api_plans (id, label, rate_per_second, burst, per_day, per_month, updated_at) VALUES
    ('anonymous',  'Anonyme (par adresse IP)', 20,  1000, 50000,   1000000,  NOW()),
    ('registered', 'Réutilisateur inscrit',    50,  2000, 500000,  10000000, NOW()),
    ('partner',    'Partenaire',               200, 5000, 5000000, 100000000, NOW()),
    ('internal',   'Interne',                  0,   0,   0,       0,        NOW());

CREATE TABLE api_consumers (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    organisation TEXT NOT NULL DEFAULT '',
    verified     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX api_consumers_email ON api_consumers (LOWER(email));

CREATE TABLE api_keys (
    id          BIGSERIAL PRIMARY KEY,
    family_id   BIGINT,                 -- the first key of a rotation chain (itself for a new key)
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,          -- shown in lists; not secret
    hash        TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the whole key
    plan_id     TEXT NOT NULL REFERENCES api_plans (id),
    consumer_id BIGINT REFERENCES api_consumers (id),
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    replaced_by BIGINT                  -- set by a rotation: the key that replaces this one
);
CREATE INDEX api_keys_consumer ON api_keys (consumer_id);

-- One row per limited subject ("addr:…", "consumer:…", "key:…"): the token
-- bucket and the day and month counters, changed by one conditional upsert.
CREATE TABLE api_limits (
    subject     TEXT PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_ms BIGINT NOT NULL,
    day_start   BIGINT NOT NULL,
    day_used    BIGINT NOT NULL,
    month_start BIGINT NOT NULL,
    month_used  BIGINT NOT NULL
);

CREATE TABLE api_usage (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    key_id      BIGINT,
    consumer_id BIGINT,
    client_addr TEXT NOT NULL DEFAULT '',
    dataset     TEXT NOT NULL DEFAULT '',
    endpoint    TEXT NOT NULL,
    query       TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    bytes       BIGINT NOT NULL,
    latency_us  BIGINT NOT NULL
);
CREATE INDEX api_usage_at ON api_usage (at);
CREATE INDEX api_usage_dataset_at ON api_usage (dataset, at);
CREATE INDEX api_usage_consumer_at ON api_usage (consumer_id, at);
CREATE INDEX api_usage_key_at ON api_usage (key_id, at);

-- +goose Down
DROP TABLE api_usage;
DROP TABLE api_limits;
DROP TABLE api_keys;
DROP TABLE api_consumers;
DROP TABLE api_plans;
