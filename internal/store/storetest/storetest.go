// Package storetest opens migrated test databases on SQLite and on
// PostgreSQL, one fresh database per test, dropped when the test ends.
//
// PostgreSQL comes from TEST_POSTGRES_URL (set by scripts/test.sh). Without
// it the PostgreSQL half of a test is skipped — except under CI=true, where
// it fails, so that a green CI always means both dialects ran.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/civicflow/civicflow/internal/store"
)

// Dialect is one database flavour a test runs against.
type Dialect struct {
	Name string // "sqlite" or "postgres"
	// URL returns a fresh, empty database URL for t (created now, dropped at cleanup).
	URL func(t testing.TB) string
}

// Dialects returns SQLite and PostgreSQL.
func Dialects() []Dialect {
	return []Dialect{
		{Name: "sqlite", URL: SQLiteURL},
		{Name: "postgres", URL: PostgresURL},
	}
}

// Each runs fn as a subtest per dialect with a migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			fn(t, Open(t, d.URL(t)))
		})
	}
}

// Open opens and migrates the store at url, closed at cleanup.
func Open(t testing.TB, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{URL: url, Migrate: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SQLiteURL returns a new SQLite file in the test's temp dir.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "civicflow.db")
}

// PostgresURL creates an empty database on the server of TEST_POSTGRES_URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_POSTGRES_URL is not set under CI=true: PostgreSQL tests must run (use scripts/test.sh)")
		}
		t.Skip("SKIPPING PostgreSQL: TEST_POSTGRES_URL is not set (scripts/test.sh sets it)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	defer admin.Close()
	name := "cf_test_" + randomHex(6)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("PostgreSQL at TEST_POSTGRES_URL: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
