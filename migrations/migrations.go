// Package migrations holds civicflow's SQL schema as numbered goose
// migrations, one folder per dialect, embedded in the binary, and applies
// them. Several processes may start at once on PostgreSQL: a session lock
// serialises them.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialect names accepted by Up.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Up applies every pending migration and returns the schema version reached.
func Up(ctx context.Context, db *sql.DB, dialect string) (int64, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// UpTo applies the pending migrations up to version only (tests of data
// migrations fill a database at an older version first).
func UpTo(ctx context.Context, db *sql.DB, dialect string, version int64) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("apply migrations up to %d: %w", version, err)
	}
	return nil
}

// Latest is the highest migration version shipped for dialect.
func Latest(dialect string) (int64, error) {
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return 0, err
	}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return 0, err
	}
	var max int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil && v > max {
			max = v
		}
	}
	return max, nil
}

func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	var d goose.Dialect
	switch dialect {
	case SQLite:
		d = goose.DialectSQLite3
	case Postgres:
		d = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return nil, fmt.Errorf("unknown SQL dialect %q", dialect)
	}
	return goose.NewProvider(d, db, sub, opts...)
}
