package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Form is one immutable deployed version of a form (a form-js JSON
// document, as Camunda Modeler saves .form files). Flows link it by id
// (zeebe:formDefinition formId); the flow version embeds the schema it was
// deployed with, so running instances keep theirs.
type Form struct {
	ID         string    `db:"form_id" json:"id"`
	Version    int       `db:"version" json:"version"`
	Checksum   string    `db:"checksum" json:"checksum"`
	Name       string    `db:"name" json:"name,omitempty"`
	VersionTag string    `db:"version_tag" json:"versionTag,omitempty"`
	Schema     JSONText  `db:"schema" json:"schema,omitempty"`
	DeployedBy string    `db:"deployed_by" json:"deployedBy"`
	DeployedAt time.Time `db:"deployed_at" json:"deployedAt"`
}

const formColumns = `form_id, version, checksum, name, version_tag, schema, deployed_by, deployed_at`

// DeployForm stores f as the next version of its form, unless a version
// with the same checksum exists: that one is returned and created is false.
// Two concurrent deployments of different content: one gets ErrConflict.
func (s *Store) DeployForm(ctx context.Context, f Form) (out Form, created bool, err error) {
	err = s.Tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &out, s.q(`SELECT `+formColumns+` FROM forms WHERE form_id = ? AND checksum = ?`), f.ID, f.Checksum)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var latest sql.NullInt64
		if err := tx.GetContext(ctx, &latest, s.q(`SELECT MAX(version) FROM forms WHERE form_id = ?`), f.ID); err != nil {
			return err
		}
		f.Version, f.DeployedAt = int(latest.Int64)+1, ts(time.Now())
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO forms (`+formColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			f.ID, f.Version, f.Checksum, f.Name, f.VersionTag, f.Schema, f.DeployedBy, f.DeployedAt); err != nil {
			if IsUniqueViolation(err) {
				return fmt.Errorf("form %q was deployed concurrently: %w", f.ID, ErrConflict)
			}
			return err
		}
		out, created = f, true
		return nil
	})
	if err != nil {
		return Form{}, false, fmt.Errorf("deploy form %q: %w", f.ID, err)
	}
	return out, created, nil
}

// FormVersion returns one version of a form with its schema; version 0
// means the latest. ErrNotFound when there is none.
func (s *Store) FormVersion(ctx context.Context, id string, version int) (Form, error) {
	if version <= 0 {
		return getOne[Form](ctx, s, fmt.Sprintf("form %q", id),
			`SELECT `+formColumns+` FROM forms WHERE form_id = ? ORDER BY version DESC LIMIT 1`, id)
	}
	return getOne[Form](ctx, s, fmt.Sprintf("form %q version %d", id, version),
		`SELECT `+formColumns+` FROM forms WHERE form_id = ? AND version = ?`, id, version)
}

// FormVersions lists the versions of a form, newest first, without schemas.
func (s *Store) FormVersions(ctx context.Context, id string) ([]Form, error) {
	fs := []Form{}
	err := s.rdb.SelectContext(ctx, &fs, s.q(`SELECT form_id, version, checksum, name, version_tag, '' AS schema, deployed_by, deployed_at
		FROM forms WHERE form_id = ? ORDER BY version DESC`), id)
	if err != nil {
		return nil, fmt.Errorf("versions of form %q: %w", id, err)
	}
	return fs, nil
}

// Forms lists the latest version of every form, by id, without schemas.
func (s *Store) Forms(ctx context.Context) ([]Form, error) {
	fs := []Form{}
	err := s.rdb.SelectContext(ctx, &fs, `SELECT f.form_id, f.version, f.checksum, f.name, f.version_tag, '' AS schema, f.deployed_by, f.deployed_at
		FROM forms f JOIN (SELECT form_id, MAX(version) AS version FROM forms GROUP BY form_id) l
		ON l.form_id = f.form_id AND l.version = f.version ORDER BY f.form_id`)
	if err != nil {
		return nil, fmt.Errorf("list forms: %w", err)
	}
	return fs, nil
}
