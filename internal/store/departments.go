package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Department is a service of the collectivité (voirie, finances…); it is
// the domain of roles and permissions.
type Department struct {
	Slug      string    `db:"slug" json:"slug"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// CreateDepartment inserts d; ErrConflict if the slug is taken.
func (s *Store) CreateDepartment(ctx context.Context, d Department) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO departments (slug, name, created_at) VALUES (?, ?, ?)`),
		d.Slug, d.Name, ts(d.CreatedAt))
	if IsUniqueViolation(err) {
		return fmt.Errorf("department %q: %w", d.Slug, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create department %q: %w", d.Slug, err)
	}
	return nil
}

// Department returns the department slug, or ErrNotFound.
func (s *Store) Department(ctx context.Context, slug string) (Department, error) {
	var d Department
	err := s.rdb.GetContext(ctx, &d, s.q(`SELECT slug, name, created_at FROM departments WHERE slug = ?`), slug)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("department %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("read department %q: %w", slug, err)
	}
	return d, nil
}

// Departments lists every department by slug.
func (s *Store) Departments(ctx context.Context) ([]Department, error) {
	ds := []Department{}
	if err := s.rdb.SelectContext(ctx, &ds, `SELECT slug, name, created_at FROM departments ORDER BY slug`); err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	return ds, nil
}
