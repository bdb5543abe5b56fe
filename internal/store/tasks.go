package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Task is a human task in the inbox read model.
type Task struct {
	ID            string     `db:"id"`
	InstanceID    string     `db:"instance_id"`
	Node          string     `db:"node"`
	Name          string     `db:"name"`
	FlowKey       string     `db:"flow_key"`
	Department    string     `db:"department"`
	Role          string     `db:"role"`
	CandidatesRaw string     `db:"candidates"`
	CandUsersRaw  string     `db:"candidate_users"`
	Assignee      string     `db:"assignee"`
	Status        string     `db:"status"`
	Due           *time.Time `db:"due"`
	FormRaw       string     `db:"form"`
	VarsRaw       string     `db:"variables"`
	FourEyesRaw   string     `db:"four_eyes"`
	CreatedAt     time.Time  `db:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at"`
	CompletedBy   string     `db:"completed_by"`
	OnBehalfOf    string     `db:"on_behalf_of"`
	CompletedAt   *time.Time `db:"completed_at"`
	DataRaw       string     `db:"data"`
	Message       string     `db:"message"`
}

// Candidates decodes the candidate groups ("role@department").
func (t Task) Candidates() []string { return decodeStrings(t.CandidatesRaw) }

// CandidateUsers decodes the candidate usernames.
func (t Task) CandidateUsers() []string { return decodeStrings(t.CandUsersRaw) }

func decodeStrings(raw string) []string {
	var s []string
	_ = json.Unmarshal([]byte(raw), &s)
	return s
}

const taskCols = `id, instance_id, node, name, flow_key, department, role, candidates, candidate_users, assignee, status, due, form,
	variables, four_eyes, created_at, updated_at, completed_by, on_behalf_of, completed_at, data, message`

func jsonText(v any, empty string) string {
	if v == nil {
		return empty
	}
	b, err := json.Marshal(v)
	if err != nil {
		return empty
	}
	return string(b)
}

// OpenTask inserts a task; opening an existing task id is a no-op (activity retries).
func (s *Store) OpenTask(ctx context.Context, t Task, candidates, candidateUsers, fourEyes []string, form any, vars map[string]any) error {
	now := time.Now().UTC()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.Status == "" {
		t.Status = "open"
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', NULL, '{}', '')
		ON CONFLICT (id) DO NOTHING`),
		t.ID, t.InstanceID, t.Node, t.Name, t.FlowKey, t.Department, t.Role,
		jsonText(orEmpty(candidates), "[]"), jsonText(orEmpty(candidateUsers), "[]"), t.Assignee, t.Status, utcPtr(t.Due),
		jsonText(form, "null"), jsonText(vars, "{}"), jsonText(orEmpty(fourEyes), "[]"), t.CreatedAt.UTC(), now)
	if err != nil {
		return fmt.Errorf("open task %s: %w", t.ID, err)
	}
	return nil
}

// CloseTask marks a task completed or cancelled (idempotent).
func (s *Store) CloseTask(ctx context.Context, id, status, by, onBehalfOf string, data map[string]any, message string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET status = ?, completed_by = ?, on_behalf_of = ?, completed_at = ?, data = ?, message = ?, updated_at = ?
		WHERE id = ? AND status IN ('open', 'claimed')`), status, by, onBehalfOf, at.UTC(), jsonText(data, "{}"), message, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("close task %s: %w", id, err)
	}
	return nil
}

// AssignTask records a claim (assignee set) or an unclaim (empty assignee).
func (s *Store) AssignTask(ctx context.Context, id, assignee string, at time.Time) error {
	status := "claimed"
	if assignee == "" {
		status = "open"
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET assignee = ?, status = ?, updated_at = ? WHERE id = ? AND status IN ('open', 'claimed')`),
		assignee, status, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("assign task %s: %w", id, err)
	}
	return nil
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, id string) (Task, error) {
	return getOne[Task](ctx, s, "task "+id, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id)
}

// TaskFilter narrows Tasks.
type TaskFilter struct {
	Open        bool // open or claimed only
	Instance    string
	Departments []string // nil = all
	Limit       int
}

// Tasks lists tasks, most urgent first.
func (s *Store) Tasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	var w where
	if f.Open {
		w.raw("status IN ('open', 'claimed')")
	}
	w.eq("instance_id", f.Instance)
	w.in("department", f.Departments)
	if w.none {
		return []Task{}, nil
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 500
	}
	q := `SELECT ` + taskCols + ` FROM tasks` + w.sql() + " ORDER BY CASE WHEN due IS NULL THEN 1 ELSE 0 END, due, created_at, id LIMIT ?"
	args := append(w.args, f.Limit)
	out := []Task{}
	if err := s.rdb.SelectContext(ctx, &out, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return out, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
