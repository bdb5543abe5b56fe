package store

import (
	"context"
	"fmt"
	"time"
)

// DatasetState is what the dashboard needs of a dataset: its schema,
// declared update frequency, visibility, exposed release and when its
// latest release was made (nil: never).
type DatasetState struct {
	ID             string     `db:"id"`
	Title          string     `db:"title"`
	Department     string     `db:"department"`
	SchemaName     string     `db:"schema_name"`
	Frequency      string     `db:"frequency"`
	Visibility     string     `db:"visibility"`
	ExposedRelease *int       `db:"exposed_release"`
	LastRelease    *time.Time `db:"last_release"`
}

// DatasetStates lists the datasets of departments (nil: all) with the
// time of their latest release, in one query.
func (s *Store) DatasetStates(ctx context.Context, departments []string) ([]DatasetState, error) {
	var w where
	w.in("d.department", departments)
	if w.none {
		return []DatasetState{}, nil
	}
	q := `SELECT d.id, d.title, d.department, d.schema_name, d.frequency, d.visibility, d.exposed_release, r.created_at AS last_release
		FROM datasets d LEFT JOIN releases r ON r.dataset_id = d.id
			AND r.number = (SELECT MAX(x.number) FROM releases x WHERE x.dataset_id = d.id)` + w.sql() + ` ORDER BY d.id`
	out := []DatasetState{}
	if err := s.rdb.SelectContext(ctx, &out, s.q(q), w.args...); err != nil {
		return nil, fmt.Errorf("dataset states: %w", err)
	}
	return out, nil
}

// TaskCount is a number of open tasks of a department for a role.
type TaskCount struct {
	Department string `db:"department"`
	Role       string `db:"role"`
	Open       int    `db:"open"`
	Overdue    int    `db:"overdue"`
}

// OpenTaskCounts counts the open (or claimed) tasks of departments
// (AllDepartments: of every department) by department and role, and those
// of them due before now.
func (s *Store) OpenTaskCounts(ctx context.Context, departments []string, now time.Time) ([]TaskCount, error) {
	var w where
	w.raw(`status IN ('open', 'claimed')`)
	if len(departments) != 1 || departments[0] != AllDepartments {
		w.in("department", departments)
	}
	if w.none {
		return []TaskCount{}, nil
	}
	q := `SELECT department, role, COUNT(*) AS open, COALESCE(SUM(CASE WHEN due < ? THEN 1 ELSE 0 END), 0) AS overdue
		FROM tasks` + w.sql() + ` GROUP BY department, role ORDER BY department, role`
	out := []TaskCount{}
	if err := s.rdb.SelectContext(ctx, &out, s.q(q), append([]any{ts(now)}, w.args...)...); err != nil {
		return nil, fmt.Errorf("count open tasks: %w", err)
	}
	return out, nil
}
