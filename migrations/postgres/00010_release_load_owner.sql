-- +goose Up
-- The instance that owns a release load, so that the partial table of a
-- publication that will never finish is dropped: at once when its instance
-- is cancelled or fails for good, and by the periodic sweep for loads that
-- have not moved for hours and whose instance is no longer running (or is
-- unknown: rows written before this column).
ALTER TABLE release_loads ADD COLUMN instance_id TEXT NOT NULL DEFAULT '';
CREATE INDEX release_loads_instance ON release_loads (instance_id);

-- +goose Down
DROP INDEX release_loads_instance;
ALTER TABLE release_loads DROP COLUMN instance_id;
