package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Flow is a deployed flow and its latest version.
type Flow struct {
	Key           string    `db:"key" json:"key"`
	Name          string    `db:"name" json:"name"`
	LatestVersion int       `db:"latest_version" json:"latestVersion"`
	CreatedAt     time.Time `db:"created_at" json:"createdAt"`
	UpdatedAt     time.Time `db:"updated_at" json:"updatedAt"`
}

// FlowVersion is one immutable deployment of a flow.
type FlowVersion struct {
	FlowKey    string    `db:"flow_key" json:"key"`
	Version    int       `db:"version" json:"version"`
	Checksum   string    `db:"checksum" json:"checksum"`
	BPMN       string    `db:"bpmn" json:"-"`
	Graph      string    `db:"graph" json:"-"`
	DeployedBy string    `db:"deployed_by" json:"deployedBy"`
	DeployedAt time.Time `db:"deployed_at" json:"deployedAt"`
}

// DeployFlow stores a new version of the flow, unless a version with the
// same checksum exists, in which case that version is returned and created
// is false.
func (s *Store) DeployFlow(ctx context.Context, key, name string, v FlowVersion) (out FlowVersion, created bool, err error) {
	err = s.Tx(ctx, func(tx *sqlx.Tx) error {
		var existing FlowVersion
		err := tx.GetContext(ctx, &existing, s.q(`SELECT flow_key, version, checksum, bpmn, graph, deployed_by, deployed_at
			FROM flow_versions WHERE flow_key = ? AND checksum = ?`), key, v.Checksum)
		if err == nil {
			out = existing
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := time.Now().UTC()
		var latest int
		err = tx.GetContext(ctx, &latest, s.q(`SELECT latest_version FROM flows WHERE key = ?`), key)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO flows (key, name, latest_version, created_at, updated_at) VALUES (?, ?, 0, ?, ?)`), key, name, now, now); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		v.FlowKey, v.Version, v.DeployedAt = key, latest+1, now
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO flow_versions (flow_key, version, checksum, bpmn, graph, deployed_by, deployed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), v.FlowKey, v.Version, v.Checksum, v.BPMN, v.Graph, v.DeployedBy, v.DeployedAt); err != nil {
			if IsUniqueViolation(err) {
				return fmt.Errorf("flow %q was deployed concurrently: %w", key, ErrConflict)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE flows SET latest_version = ?, name = ?, updated_at = ? WHERE key = ?`), v.Version, name, now, key); err != nil {
			return err
		}
		out, created = v, true
		return nil
	})
	if err != nil {
		return FlowVersion{}, false, fmt.Errorf("deploy flow %q: %w", key, err)
	}
	return out, created, nil
}

// Flows lists deployed flows.
func (s *Store) Flows(ctx context.Context) ([]Flow, error) {
	var fs []Flow
	if err := s.rdb.SelectContext(ctx, &fs, `SELECT key, name, latest_version, created_at, updated_at FROM flows ORDER BY key`); err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	return fs, nil
}

// Flow returns one flow.
func (s *Store) Flow(ctx context.Context, key string) (Flow, error) {
	return getOne[Flow](ctx, s, fmt.Sprintf("flow %q", key), `SELECT key, name, latest_version, created_at, updated_at FROM flows WHERE key = ?`, key)
}

// FlowVersions lists the versions of a flow, newest first (without XML).
func (s *Store) FlowVersions(ctx context.Context, key string) ([]FlowVersion, error) {
	var vs []FlowVersion
	err := s.rdb.SelectContext(ctx, &vs, s.q(`SELECT flow_key, version, checksum, '' AS bpmn, '' AS graph, deployed_by, deployed_at
		FROM flow_versions WHERE flow_key = ? ORDER BY version DESC`), key)
	if err != nil {
		return nil, fmt.Errorf("versions of flow %q: %w", key, err)
	}
	return vs, nil
}

// FlowVersion returns one version with its XML and graph; version 0 means the latest.
func (s *Store) FlowVersion(ctx context.Context, key string, version int) (FlowVersion, error) {
	var v FlowVersion
	var err error
	if version <= 0 {
		err = s.rdb.GetContext(ctx, &v, s.q(`SELECT flow_key, version, checksum, bpmn, graph, deployed_by, deployed_at
			FROM flow_versions WHERE flow_key = ? ORDER BY version DESC LIMIT 1`), key)
	} else {
		err = s.rdb.GetContext(ctx, &v, s.q(`SELECT flow_key, version, checksum, bpmn, graph, deployed_by, deployed_at
			FROM flow_versions WHERE flow_key = ? AND version = ?`), key, version)
	}
	if errors.Is(err, sql.ErrNoRows) {
		if version > 0 {
			return v, fmt.Errorf("flow %q has no version %d: %w", key, version, ErrNotFound)
		}
		return v, fmt.Errorf("flow %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("flow %q version %d: %w", key, version, err)
	}
	return v, nil
}
