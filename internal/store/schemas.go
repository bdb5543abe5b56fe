package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
// custom version number otherwise); ErrNotFound when unknown, a
// *ColumnLimitError (ErrTooManyColumns) when its releases could not be
// stored in this database (a schema stored before that check, or on the
// other database).
func (s *Store) LoadSchema(ctx context.Context, name string, v int) (*tableschema.Schema, string, error) {
	if sch, err := tableschema.LoadShipped(name); err == nil {
		return sch, sch.Version, s.CheckSchemaWidth(name, sch)
	}
	cs, err := s.CustomSchema(ctx, name, v)
	if err != nil {
		return nil, "", err
	}
	sch, err := parsedSchemas.parse(cs)
	if err != nil {
		return nil, "", &UnusableSchemaError{Name: name, Version: cs.Version, Err: err}
	}
	if err := s.CheckSchemaWidth(name, sch); err != nil {
		return nil, "", err
	}
	return sch, strconv.Itoa(cs.Version), nil
}

// ErrUnusableSchema matches an *UnusableSchemaError with errors.Is.
var ErrUnusableSchema = errors.New("stored schema is unusable")

// UnusableSchemaError says that a stored custom schema no longer parses
// (stored by an older, more lenient release): the user must upload a
// corrected version; it is the request's problem, not a server fault.
type UnusableSchemaError struct {
	Name    string
	Version int
	Err     error
}

func (e *UnusableSchemaError) Error() string {
	return fmt.Sprintf("stored schema %q version %d no longer parses (%v); upload a corrected version", e.Name, e.Version, e.Err)
}

func (e *UnusableSchemaError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnusableSchema) true.
func (e *UnusableSchemaError) Is(target error) bool { return target == ErrUnusableSchema }

// schemaCache keeps parsed custom schemas by the SHA-256 of their
// descriptor (computed here: the stored sha256 column is the upload's
// and is not trusted for this): a validation request does not parse its
// schema again. Bounded: emptied when it reaches maxSchemas.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*tableschema.Schema
}

const maxSchemas = 256

var parsedSchemas = &schemaCache{m: map[string]*tableschema.Schema{}}

func (c *schemaCache) parse(cs CustomSchema) (*tableschema.Schema, error) {
	sum := sha256.Sum256(cs.Descriptor)
	key := string(sum[:])
	c.mu.Lock()
	sch, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return sch, nil
	}
	sch, err := tableschema.Parse(cs.Descriptor)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxSchemas {
		clear(c.m)
	}
	c.m[key] = sch
	c.mu.Unlock()
	return sch, nil
}

// Limits of a release table (the typed table of a release's rows): SQLite
// refuses a table of more than 2,000 columns (SQLITE_MAX_COLUMN) and
// PostgreSQL of more than 1,600, which also indexes at most 32 columns
// (INDEX_MAX_KEYS). Every release table has 3 columns of its own (_row,
// _key, _hash).
const (
	sqliteMaxColumns     = 2000
	postgresMaxColumns   = 1600
	postgresMaxIndexKeys = 32
	releaseOwnColumns    = 3
)

// ErrTooManyColumns matches every *ColumnLimitError with errors.Is.
var ErrTooManyColumns = errors.New("more columns than a release table may have")

// ColumnLimitError says that a schema or a file has more columns than a
// release table of this database may hold, or a key more fields than it
// may index: refused when the schema is uploaded or used, rather than
// when a release is made.
type ColumnLimitError struct {
	What     string // `schema "x"` or `the file "y"`
	Key      string // "" for the columns, else "primary key" or "unique key"
	Count    int    // fields (or key fields)
	Max      int
	Database string // "SQLite" or "PostgreSQL"
}

func (e *ColumnLimitError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s: its %s has %d fields, more than the %d columns %s can index; use a shorter key",
			e.What, e.Key, e.Count, e.Max, e.Database)
	}
	return fmt.Sprintf("%s has %d columns, more than a release table can hold on %s (at most %d: the database's limit of %d columns, less %d that civicflow adds); split it into several datasets",
		e.What, e.Count, e.Database, e.Max, e.Max+releaseOwnColumns, releaseOwnColumns)
}

// Is makes errors.Is(err, ErrTooManyColumns) hold.
func (e *ColumnLimitError) Is(target error) bool { return target == ErrTooManyColumns }

// MaxReleaseColumns is the most columns (schema fields, file columns) a
// release table may have on this database.
func (s *Store) MaxReleaseColumns() int {
	if s.dialect == "postgres" {
		return postgresMaxColumns - releaseOwnColumns
	}
	return sqliteMaxColumns - releaseOwnColumns
}

// maxIndexKeys is the most columns an index may have on this database (0:
// no limit below the column limit).
func (s *Store) maxIndexKeys() int {
	if s.dialect == "postgres" {
		return postgresMaxIndexKeys
	}
	return 0
}

func (s *Store) databaseName() string {
	if s.dialect == "postgres" {
		return "PostgreSQL"
	}
	return "SQLite"
}

// CheckSchemaWidth returns a *ColumnLimitError when the schema named name
// has more fields than a release table may hold on this database, or a
// primary or unique key with more fields than it may index.
func (s *Store) CheckSchemaWidth(name string, sch *tableschema.Schema) error {
	what := fmt.Sprintf("schema %q", name)
	if n, max := len(sch.Fields), s.MaxReleaseColumns(); n > max {
		return &ColumnLimitError{What: what, Count: n, Max: max, Database: s.databaseName()}
	}
	if max := s.maxIndexKeys(); max > 0 {
		if len(sch.PrimaryKey) > max {
			return &ColumnLimitError{What: what, Key: "primary key", Count: len(sch.PrimaryKey), Max: max, Database: s.databaseName()}
		}
		for _, u := range sch.UniqueKeys {
			if len(u) > max {
				return &ColumnLimitError{What: what, Key: "unique key", Count: len(u), Max: max, Database: s.databaseName()}
			}
		}
	}
	return nil
}
