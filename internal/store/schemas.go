package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/civicflow/civicflow/internal/tableschema"
)

// CustomSchema is one version of a Table Schema uploaded by users (the
// shipped SCDL schemas live in internal/tableschema, not here).
type CustomSchema struct {
	Name       string    `db:"name" json:"name"`
	Version    int       `db:"version" json:"version"`
	SHA256     string    `db:"sha256" json:"sha256"`
	Title      string    `db:"title" json:"title"`
	Descriptor JSONText  `db:"descriptor" json:"-"`
	CreatedBy  *int64    `db:"created_by" json:"createdBy,omitempty"`
	CreatedAt  time.Time `db:"created_at" json:"createdAt"`
}

const customSchemaColumns = `name, version, sha256, title, descriptor, created_by, created_at`

// PutCustomSchema stores a descriptor under name: if the latest version
// has the same sha256 it is returned unchanged (created false), else
// version latest+1 is created.
func (s *Store) PutCustomSchema(ctx context.Context, cs CustomSchema) (CustomSchema, bool, error) {
	if cs.CreatedAt.IsZero() {
		cs.CreatedAt = time.Now()
	}
	cs.CreatedAt = ts(cs.CreatedAt)
	created := false
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		var latest CustomSchema
		err := tx.GetContext(ctx, &latest, s.q(`SELECT `+customSchemaColumns+` FROM custom_schemas WHERE name = ? ORDER BY version DESC LIMIT 1`), cs.Name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			cs.Version = 1
		case err != nil:
			return fmt.Errorf("read schema %q: %w", cs.Name, err)
		case latest.SHA256 == cs.SHA256:
			cs = latest
			return nil
		default:
			cs.Version = latest.Version + 1
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO custom_schemas (`+customSchemaColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			cs.Name, cs.Version, cs.SHA256, cs.Title, cs.Descriptor, cs.CreatedBy, cs.CreatedAt)
		if IsUniqueViolation(err) {
			return fmt.Errorf("schema %q version %d: %w", cs.Name, cs.Version, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create schema %q: %w", cs.Name, err)
		}
		created = true
		return nil
	})
	return cs, created, err
}

// CustomSchema returns version v of the schema (0: the latest), or
// ErrNotFound.
func (s *Store) CustomSchema(ctx context.Context, name string, v int) (CustomSchema, error) {
	var cs CustomSchema
	var err error
	if v <= 0 {
		err = s.rdb.GetContext(ctx, &cs, s.q(`SELECT `+customSchemaColumns+` FROM custom_schemas WHERE name = ? ORDER BY version DESC LIMIT 1`), name)
	} else {
		err = s.rdb.GetContext(ctx, &cs, s.q(`SELECT `+customSchemaColumns+` FROM custom_schemas WHERE name = ? AND version = ?`), name, v)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return cs, fmt.Errorf("schema %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return cs, fmt.Errorf("read schema %q: %w", name, err)
	}
	return cs, nil
}

// CustomSchemas lists the latest version of every custom schema, by name.
func (s *Store) CustomSchemas(ctx context.Context) ([]CustomSchema, error) {
	out := []CustomSchema{}
	err := s.rdb.SelectContext(ctx, &out, `SELECT `+customSchemaColumns+` FROM custom_schemas c
		WHERE version = (SELECT MAX(version) FROM custom_schemas m WHERE m.name = c.name) ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	return out, nil
}

// LoadSchema resolves a schema name: a shipped schema (version ignored),
// else custom schema version v (0: the latest). It returns the parsed
// schema and the version it resolved to ("1.2.3" for shipped schemas, the
// custom version number otherwise); ErrNotFound when unknown.
func (s *Store) LoadSchema(ctx context.Context, name string, v int) (*tableschema.Schema, string, error) {
	if sch, err := tableschema.LoadShipped(name); err == nil {
		return sch, sch.Version, nil
	}
	cs, err := s.CustomSchema(ctx, name, v)
	if err != nil {
		return nil, "", err
	}
	sch, err := tableschema.Parse(cs.Descriptor)
	if err != nil {
		return nil, "", fmt.Errorf("stored schema %q version %d: %w", name, cs.Version, err)
	}
	return sch, strconv.Itoa(cs.Version), nil
}
