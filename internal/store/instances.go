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
	// Seq is the interpreter's sequence number of the last update applied.
	Seq int64 `db:"seq" json:"-"`
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
	StartedBy   string   // the username who started them ("" = anyone)
	Limit       int
	Offset      int
}

const instanceCols = `id, flow_key, version, department, status, current, message, started_by, variables, started_at, updated_at, ended_at, seq`

// CreateInstance records a new instance as running.
func (s *Store) CreateInstance(ctx context.Context, in Instance, vars map[string]any) error {
	raw, err := json.Marshal(vars)
	if err != nil {
		return fmt.Errorf("instance variables: %w", err)
	}
	now := time.Now().UTC()
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO instances (`+instanceCols+`) VALUES (?, ?, ?, ?, ?, '[]', '', ?, ?, ?, ?, NULL, ?)`),
		in.ID, in.FlowKey, in.Version, in.Department, in.Status, in.StartedBy, string(raw), now, now, in.Seq)
	if err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("instance %s: %w", in.ID, ErrConflict)
		}
		return fmt.Errorf("create instance: %w", err)
	}
	return nil
}

// InstanceUpdate is a status change of an instance, as the interpreter
// reports it.
type InstanceUpdate struct {
	ID      string
	Status  string
	Current []string
	Message string
	At      time.Time
	// Seq is the interpreter's sequence number of the update: an update
	// older than the one applied last (lower Seq) is ignored, so that the
	// row never goes back in time when the engine's concurrent (and
	// retried) bookkeeping activities land out of order. Replaying the same
	// update leaves the same row.
	Seq int64
}

// UpdateInstance records a status change unless a newer one was applied;
// ErrNotFound if there is no such instance. Final statuses set ended_at.
func (s *Store) UpdateInstance(ctx context.Context, u InstanceUpdate) error {
	if u.Current == nil {
		u.Current = []string{}
	}
	raw, _ := json.Marshal(u.Current)
	var ended any
	switch u.Status {
	case "completed", "cancelled", "terminated", "failed":
		ended = u.At.UTC()
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE instances SET status = ?, current = ?, message = ?, updated_at = ?,
		ended_at = COALESCE(ended_at, ?), seq = ? WHERE id = ? AND seq <= ?`), u.Status, string(raw), u.Message, u.At.UTC(), ended, u.Seq, u.ID, u.Seq)
	if err != nil {
		return fmt.Errorf("update instance %s: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Instance(ctx, u.ID); err != nil {
			return err // ErrNotFound, or why the row could not be read
		}
		// A newer update was applied: this one is stale.
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
	w.eq("started_by", f.StartedBy)
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
