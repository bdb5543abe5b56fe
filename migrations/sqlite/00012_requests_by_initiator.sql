-- +goose Up
-- The dashboard lists "my requests": the requests a person started.
CREATE INDEX instances_started_by ON instances (started_by, started_at);

-- +goose Down
DROP INDEX instances_started_by;
