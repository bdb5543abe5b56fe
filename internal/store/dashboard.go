package store

import (
	"context"
	"fmt"
	"time"
)

// LatestReleaseTimes is, for each dataset of ids that has a release, when
// its latest release was made.
func (s *Store) LatestReleaseTimes(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var w where
	w.in("dataset_id", ids)
	var rows []struct {
		ID string    `db:"dataset_id"`
		At time.Time `db:"at"`
	}
	// The column itself, not MAX(created_at): SQLite's driver types a
	// value by its column's declared type, which an aggregate loses.
	w.raw(`number = (SELECT MAX(number) FROM releases x WHERE x.dataset_id = releases.dataset_id)`)
	q := `SELECT dataset_id, created_at AS at FROM releases` + w.sql()
	if err := s.rdb.SelectContext(ctx, &rows, s.q(q), w.args...); err != nil {
		return nil, fmt.Errorf("latest releases: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.At
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
