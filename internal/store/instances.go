package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Instance is the read model of a running or finished flow instance.
type Instance struct {
	ID         string     `db:"id" json:"id"`
	FlowKey    string     `db:"flow_key" json:"flow"`
	Version    int        `db:"version" json:"version"`
	Department string     `db:"department" json:"department"`
	Status     string     `db:"status" json:"status"`
	CurrentRaw string     `db:"current" json:"-"`
	Message    string     `db:"message" json:"message,omitempty"`
	StartedBy  string     `db:"started_by" json:"startedBy"`
	VarsRaw    string     `db:"variables" json:"-"`
	StartedAt  time.Time  `db:"started_at" json:"startedAt"`
	UpdatedAt  time.Time  `db:"updated_at" json:"updatedAt"`
	EndedAt    *time.Time `db:"ended_at" json:"endedAt,omitempty"`
}

// Current decodes the active node ids.
func (i Instance) Current() []string {
	var c []string
	_ = json.Unmarshal([]byte(i.CurrentRaw), &c)
	if c == nil {
		c = []string{}
	}
	return c
}

// Variables decodes the start variables.
func (i Instance) Variables() map[string]any {
	v := map[string]any{}
	_ = json.Unmarshal([]byte(i.VarsRaw), &v)
	return v
}

// InstanceFilter narrows ListInstances.
type InstanceFilter struct {
	Status      string
	Flow        string
	Department  string
	Departments []string // restrict to these (nil = all)
	Limit       int
	Offset      int
}

const instanceCols = `id, flow_key, version, department, status, current, message, started_by, variables, started_at, updated_at, ended_at`

// CreateInstance records a new instance as running.
func (s *Store) CreateInstance(ctx context.Context, in Instance, vars map[string]any) error {
	raw, err := json.Marshal(vars)
	if err != nil {
		return fmt.Errorf("instance variables: %w", err)
	}
	now := time.Now().UTC()
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO instances (`+instanceCols+`) VALUES (?, ?, ?, ?, ?, '[]', '', ?, ?, ?, ?, NULL)`),
		in.ID, in.FlowKey, in.Version, in.Department, in.Status, in.StartedBy, string(raw), now, now)
	if err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("instance %s: %w", in.ID, ErrConflict)
		}
		return fmt.Errorf("create instance: %w", err)
	}
	return nil
}

// UpdateInstance records a status change (idempotent: replaying the same
// update leaves the same row). Final statuses set ended_at.
func (s *Store) UpdateInstance(ctx context.Context, id, status string, current []string, message string, at time.Time) error {
	if current == nil {
		current = []string{}
	}
	raw, _ := json.Marshal(current)
	var ended any
	switch status {
	case "completed", "cancelled", "terminated", "failed":
		ended = at.UTC()
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE instances SET status = ?, current = ?, message = ?, updated_at = ?,
		ended_at = COALESCE(ended_at, ?) WHERE id = ?`), status, string(raw), message, at.UTC(), ended, id)
	if err != nil {
		return fmt.Errorf("update instance %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	return nil
}

// Instance returns one instance.
func (s *Store) Instance(ctx context.Context, id string) (Instance, error) {
	return getOne[Instance](ctx, s, "instance "+id, `SELECT `+instanceCols+` FROM instances WHERE id = ?`, id)
}

// ListInstances lists instances, newest first.
func (s *Store) ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error) {
	var w where
	w.eq("status", f.Status)
	w.eq("flow_key", f.Flow)
	w.eq("department", f.Department)
	w.in("department", f.Departments)
	if w.none {
		return []Instance{}, nil
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := `SELECT ` + instanceCols + ` FROM instances` + w.sql() + " ORDER BY started_at DESC, id LIMIT ? OFFSET ?"
	args := append(w.args, f.Limit, max(f.Offset, 0))
	out := []Instance{}
	if err := s.rdb.SelectContext(ctx, &out, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return out, nil
}

// DeleteInstance removes the row of an instance whose start the workflow
// engine refused (it never ran); ErrNotFound if there is none.
func (s *Store) DeleteInstance(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM instances WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete instance %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	return nil
}
