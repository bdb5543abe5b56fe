-- +goose Up
-- The data activities check that a derived file ("normalized") comes from
-- a run on the instance's dataset, and walk its lineage back to the staged
-- file to know which anonymisation it already had.
CREATE INDEX data_runs_output ON data_runs (dataset_id, output_sha);

-- +goose Down
DROP INDEX data_runs_output;
