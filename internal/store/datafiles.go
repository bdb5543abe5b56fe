package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Kinds of staged files.
const (
	FileUpload = "upload" // bytes uploaded by a user, in the blob store
	FileURL    = "url"    // a remote source fetched by the ingest activity
)

// DataFile is a file staged for a dataset: an upload (its bytes are the
// blob SHA256) or a URL source (SHA256 is the last fetched content, with
// the validators used for the next conditional fetch).
type DataFile struct {
	ID           string     `db:"id" json:"id"`
	DatasetID    string     `db:"dataset_id" json:"dataset"`
	Kind         string     `db:"kind" json:"kind"`
	Name         string     `db:"name" json:"name"`
	Format       string     `db:"format" json:"format"`
	SHA256       string     `db:"sha256" json:"sha256"`
	Size         int64      `db:"size" json:"size"`
	URL          string     `db:"url" json:"url,omitempty"`
	ETag         string     `db:"etag" json:"etag,omitempty"`
	LastModified string     `db:"last_modified" json:"lastModified,omitempty"`
	FetchedAt    *time.Time `db:"fetched_at" json:"fetchedAt,omitempty"`
	CreatedBy    *int64     `db:"created_by" json:"createdBy,omitempty"`
	CreatedAt    time.Time  `db:"created_at" json:"createdAt"`
}

const dataFileColumns = `id, dataset_id, kind, name, format, sha256, size, url, etag, last_modified, fetched_at, created_by, created_at`

// CreateDataFile inserts f; ErrNotFound if its dataset does not exist,
// ErrConflict if the id is taken.
func (s *Store) CreateDataFile(ctx context.Context, f *DataFile) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = time.Now()
	}
	f.CreatedAt = ts(f.CreatedAt)
	if _, err := s.Dataset(ctx, f.DatasetID); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO dataset_files (`+dataFileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		f.ID, f.DatasetID, f.Kind, f.Name, f.Format, f.SHA256, f.Size, f.URL, f.ETag, f.LastModified, f.FetchedAt, f.CreatedBy, f.CreatedAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("file %q: %w", f.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create file %q: %w", f.ID, err)
	}
	return nil
}

// DataFile returns the staged file id, or ErrNotFound.
func (s *Store) DataFile(ctx context.Context, id string) (DataFile, error) {
	var f DataFile
	err := s.rdb.GetContext(ctx, &f, s.q(`SELECT `+dataFileColumns+` FROM dataset_files WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("file %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("read file %q: %w", id, err)
	}
	return f, nil
}

// DataFiles lists the staged files of a dataset, newest first.
func (s *Store) DataFiles(ctx context.Context, datasetID string) ([]DataFile, error) {
	fs := []DataFile{}
	if err := s.rdb.SelectContext(ctx, &fs, s.q(`SELECT `+dataFileColumns+` FROM dataset_files WHERE dataset_id = ? ORDER BY created_at DESC, id`), datasetID); err != nil {
		return nil, fmt.Errorf("list files of %q: %w", datasetID, err)
	}
	return fs, nil
}

// RecordFetch stores the outcome of fetching a URL source: the content
// (sha256, size, format) and the validators for the next fetch.
func (s *Store) RecordFetch(ctx context.Context, id, sha string, size int64, format, etag, lastModified string, at time.Time) error {
	at = ts(at)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE dataset_files SET sha256 = ?, size = ?, format = ?, etag = ?, last_modified = ?, fetched_at = ? WHERE id = ?`),
		sha, size, format, etag, lastModified, at, id)
	if err != nil {
		return fmt.Errorf("record fetch of %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("file %q: %w", id, ErrNotFound)
	}
	return nil
}

// DataRun records what a data activity did, keyed by an idempotency key
// (instance, node and input): a retried or replayed activity returns the
// recorded result instead of doing the work twice.
type DataRun struct {
	Key        string    `db:"idem_key" json:"key"`
	Activity   string    `db:"activity" json:"activity"`
	InstanceID string    `db:"instance_id" json:"instance"`
	NodeID     string    `db:"node_id" json:"node"`
	DatasetID  string    `db:"dataset_id" json:"dataset"`
	InputSHA   string    `db:"input_sha" json:"inputSha256"`
	OutputSHA  string    `db:"output_sha" json:"outputSha256"`
	Result     JSONText  `db:"result" json:"result"`
	CreatedAt  time.Time `db:"created_at" json:"createdAt"`
}

const dataRunColumns = `idem_key, activity, instance_id, node_id, dataset_id, input_sha, output_sha, result, created_at`

// DataRun returns the run recorded under key, or ErrNotFound.
func (s *Store) DataRun(ctx context.Context, key string) (DataRun, error) {
	var r DataRun
	err := s.db.GetContext(ctx, &r, s.q(`SELECT `+dataRunColumns+` FROM data_runs WHERE idem_key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("data run %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read data run %q: %w", key, err)
	}
	return r, nil
}

// RecordDataRun stores r unless a run with the same key exists; it returns
// the stored run (the first one wins).
func (s *Store) RecordDataRun(ctx context.Context, r DataRun) (DataRun, error) {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	r.CreatedAt = ts(r.CreatedAt)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO data_runs (`+dataRunColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (idem_key) DO NOTHING`),
		r.Key, r.Activity, r.InstanceID, r.NodeID, r.DatasetID, r.InputSHA, r.OutputSHA, r.Result, r.CreatedAt)
	if err != nil {
		return r, fmt.Errorf("record data run %q: %w", r.Key, err)
	}
	return s.DataRun(ctx, r.Key)
}

// DataRuns lists the runs of a workflow instance, oldest first.
func (s *Store) DataRuns(ctx context.Context, instanceID string) ([]DataRun, error) {
	rs := []DataRun{}
	if err := s.rdb.SelectContext(ctx, &rs, s.q(`SELECT `+dataRunColumns+` FROM data_runs WHERE instance_id = ? ORDER BY created_at, idem_key`), instanceID); err != nil {
		return nil, fmt.Errorf("list data runs of %q: %w", instanceID, err)
	}
	return rs, nil
}

// DataRunsProducing lists the runs on a dataset whose output is the blob
// sha, oldest first: where a derived file of the dataset comes from.
func (s *Store) DataRunsProducing(ctx context.Context, datasetID, sha string) ([]DataRun, error) {
	rs := []DataRun{}
	if err := s.db.SelectContext(ctx, &rs, s.q(`SELECT `+dataRunColumns+` FROM data_runs WHERE dataset_id = ? AND output_sha = ?
		ORDER BY created_at, idem_key`), datasetID, sha); err != nil {
		return nil, fmt.Errorf("list data runs producing %s: %w", sha, err)
	}
	return rs, nil
}
