package store

import (
	"context"
	"fmt"
	"time"
)

// DatagouvPush is what civicflow.datagouv pushed of a dataset to a
// data.gouv.fr platform (TargetURL): the remote ids, the last release
// pushed and the checksum of its file.
type DatagouvPush struct {
	DatasetID        string     `db:"dataset_id" json:"dataset"`
	TargetURL        string     `db:"target_url" json:"target"`
	RemoteDatasetID  string     `db:"remote_dataset_id" json:"remoteDataset"`
	RemoteResourceID string     `db:"remote_resource_id" json:"remoteResource,omitempty"`
	RemotePage       string     `db:"remote_page" json:"page,omitempty"`
	ReleaseNumber    int        `db:"release_number" json:"release,omitempty"`
	Checksum         string     `db:"checksum" json:"checksum,omitempty"`
	PushedAt         *time.Time `db:"pushed_at" json:"pushedAt,omitempty"`
	// WithdrawnAt and WithdrawnAs ("private", "archived") say that
	// civicflow.withdraw took the remote dataset down.
	WithdrawnAt *time.Time `db:"withdrawn_at" json:"withdrawnAt,omitempty"`
	WithdrawnAs string     `db:"withdrawn_as" json:"withdrawnAs,omitempty"`
	UpdatedAt   time.Time  `db:"updated_at" json:"updatedAt"`
}

const datagouvPushColumns = `dataset_id, target_url, remote_dataset_id, remote_resource_id, remote_page, release_number,
	checksum, pushed_at, withdrawn_at, withdrawn_as, updated_at`

// DatagouvPush returns what was pushed of a dataset to target, or
// ErrNotFound.
func (s *Store) DatagouvPush(ctx context.Context, datasetID, target string) (DatagouvPush, error) {
	return getOne[DatagouvPush](ctx, s, fmt.Sprintf("data.gouv.fr push of %q to %s", datasetID, target),
		`SELECT `+datagouvPushColumns+` FROM datagouv_pushes WHERE dataset_id = ? AND target_url = ?`, datasetID, target)
}

// DatagouvPushes lists what was pushed of a dataset, by target.
func (s *Store) DatagouvPushes(ctx context.Context, datasetID string) ([]DatagouvPush, error) {
	out := []DatagouvPush{}
	if err := s.rdb.SelectContext(ctx, &out, s.q(`SELECT `+datagouvPushColumns+` FROM datagouv_pushes
		WHERE dataset_id = ? ORDER BY target_url`), datasetID); err != nil {
		return nil, fmt.Errorf("data.gouv.fr pushes of %q: %w", datasetID, err)
	}
	return out, nil
}

// SaveDatagouvPush creates or replaces the record of p's dataset and
// target. ErrNotFound if the dataset does not exist.
func (s *Store) SaveDatagouvPush(ctx context.Context, p *DatagouvPush) error {
	if p.DatasetID == "" || p.TargetURL == "" {
		return fmt.Errorf("data.gouv.fr push: dataset and target are required")
	}
	p.UpdatedAt = ts(time.Now())
	for _, t := range []**time.Time{&p.PushedAt, &p.WithdrawnAt} {
		if *t != nil {
			v := ts(**t)
			*t = &v
		}
	}
	if _, err := s.Dataset(ctx, p.DatasetID); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO datagouv_pushes (`+datagouvPushColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dataset_id, target_url) DO UPDATE SET remote_dataset_id = excluded.remote_dataset_id,
		remote_resource_id = excluded.remote_resource_id, remote_page = excluded.remote_page,
		release_number = excluded.release_number, checksum = excluded.checksum, pushed_at = excluded.pushed_at,
		withdrawn_at = excluded.withdrawn_at, withdrawn_as = excluded.withdrawn_as, updated_at = excluded.updated_at`),
		p.DatasetID, p.TargetURL, p.RemoteDatasetID, p.RemoteResourceID, p.RemotePage, p.ReleaseNumber,
		p.Checksum, p.PushedAt, p.WithdrawnAt, p.WithdrawnAs, p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("save data.gouv.fr push of %q: %w", p.DatasetID, err)
	}
	return nil
}
