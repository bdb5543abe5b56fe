package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
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
	// Seq is the interpreter's sequence number of the last write applied.
	Seq int64 `db:"seq"`
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
	variables, four_eyes, created_at, updated_at, completed_by, on_behalf_of, completed_at, data, message, seq`

// taskListCols are taskCols without the two large ones: lists leave
// Variables and Data empty ("{}"); Task reads them.
const taskListCols = `id, instance_id, node, name, flow_key, department, role, candidates, candidate_users, assignee, status, due, form,
	'{}' AS variables, four_eyes, created_at, updated_at, completed_by, on_behalf_of, completed_at, '{}' AS data, message, seq`

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

// OpenTask inserts a task and to whom it is offered (candidate groups
// "role@department", a bare role meaning the task's department, and
// candidate users). Opening an existing task id is a no-op (activity
// retries), except that it fills in a row that a newer write (a close that
// overtook the open, see CloseTask) created first; that row keeps its
// status. t.Seq is the interpreter's sequence number of the write.
func (s *Store) OpenTask(ctx context.Context, t Task, candidates, candidateUsers, fourEyes []string, form any, vars map[string]any) error {
	now := time.Now().UTC()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.Status == "" {
		t.Status = "open"
	}
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', NULL, '{}', '', ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, flow_key = excluded.flow_key, department = excluded.department,
			role = excluded.role, candidates = excluded.candidates, candidate_users = excluded.candidate_users, due = excluded.due,
			form = excluded.form, variables = excluded.variables, four_eyes = excluded.four_eyes, created_at = excluded.created_at
		WHERE tasks.seq > excluded.seq`),
			t.ID, t.InstanceID, t.Node, t.Name, t.FlowKey, t.Department, t.Role,
			jsonText(orEmpty(candidates), "[]"), jsonText(orEmpty(candidateUsers), "[]"), t.Assignee, t.Status, utcPtr(t.Due),
			jsonText(form, "null"), jsonText(vars, "{}"), jsonText(orEmpty(fourEyes), "[]"), t.CreatedAt.UTC(), now, t.Seq)
		if err != nil {
			return err
		}
		for _, o := range offersOf(t, candidates, candidateUsers) {
			// open follows the row: a task closed before it was opened is offered, but not open.
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO task_offers (task_id, role, department, username, open)
				SELECT id, ?, ?, ?, status IN ('open', 'claimed') FROM tasks WHERE id = ?
				ON CONFLICT (task_id, role, department, username) DO NOTHING`), o.role, o.department, o.username, t.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("open task %s: %w", t.ID, err)
	}
	return nil
}

type offer struct{ role, department, username string }

// offersOf lists to whom t is offered: its candidate groups (a bare role
// means t's department) and its candidate users, without duplicates.
func offersOf(t Task, candidates, candidateUsers []string) []offer {
	var out []offer
	seen := map[offer]bool{}
	add := func(o offer) {
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	for _, c := range candidates {
		role, dept, fixed := strings.Cut(strings.TrimSpace(c), "@")
		if !fixed {
			dept = t.Department
		}
		if role != "" && dept != "" {
			add(offer{role: role, department: dept})
		}
	}
	for _, u := range candidateUsers {
		if u = strings.TrimSpace(u); u != "" {
			add(offer{username: u})
		}
	}
	return out
}

// TaskClosing closes a task (completed or cancelled).
type TaskClosing struct {
	ID, InstanceID, Node string
	Status               string
	By, OnBehalfOf       string
	Data                 map[string]any
	Message              string
	At                   time.Time
	Seq                  int64 // the interpreter's sequence number of this write
}

// CloseTask marks a task completed or cancelled (idempotent), unless a
// newer write (higher Seq) was applied. A close that overtakes the open of
// its task (both activities run concurrently) records the task, closed, from
// what the instance row knows; the open, arriving later, fills in the rest
// without reopening it.
func (s *Store) CloseTask(ctx context.Context, c TaskClosing) error {
	at, data := c.At.UTC(), jsonText(c.Data, "{}")
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE tasks SET status = ?, completed_by = ?, on_behalf_of = ?, completed_at = ?, data = ?, message = ?, updated_at = ?, seq = ?
		WHERE id = ? AND status IN ('open', 'claimed') AND seq <= ?`), c.Status, c.By, c.OnBehalfOf, at, data, c.Message, at, c.Seq, c.ID, c.Seq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE task_offers SET open = ? WHERE task_id = ?`), false, c.ID)
			return err
		}
		if c.Seq == 0 || c.InstanceID == "" {
			return nil
		}
		var exists int
		if err := tx.GetContext(ctx, &exists, s.q(`SELECT COUNT(*) FROM tasks WHERE id = ?`), c.ID); err != nil || exists > 0 {
			return err
		}
		var in struct {
			Flow       string `db:"flow_key"`
			Department string `db:"department"`
		}
		if err := tx.GetContext(ctx, &in, s.q(`SELECT flow_key, department FROM instances WHERE id = ?`), c.InstanceID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil // an instance started outside the API: nothing to record
			}
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO tasks (`+taskCols+`)
			VALUES (?, ?, ?, '', ?, ?, '', '[]', '[]', '', ?, NULL, 'null', '{}', '[]', ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ID, c.InstanceID, c.Node, in.Flow, in.Department, c.Status, at, at, c.By, c.OnBehalfOf, at, data, c.Message, c.Seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("close task %s: %w", c.ID, err)
	}
	return nil
}

// AssignTask records a claim (assignee set) or an unclaim (empty assignee),
// unless a newer write (higher seq) was applied.
func (s *Store) AssignTask(ctx context.Context, id, assignee string, at time.Time, seq int64) error {
	status := "claimed"
	if assignee == "" {
		status = "open"
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET assignee = ?, status = ?, updated_at = ?, seq = ? WHERE id = ? AND status IN ('open', 'claimed') AND seq <= ?`),
		assignee, status, at.UTC(), seq, id, seq)
	if err != nil {
		return fmt.Errorf("assign task %s: %w", id, err)
	}
	return nil
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, id string) (Task, error) {
	return getOne[Task](ctx, s, "task "+id, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id)
}

// Offeree is someone tasks are offered to: a username and the groups
// ("role@department"; a role held in AllDepartments holds in every
// department) held in their own right or through a delegation, as
// auth.Principal.Groups lists them.
type Offeree struct {
	Username string
	Groups   []string
}

// TaskFilter narrows Tasks.
type TaskFilter struct {
	Open     bool // open or claimed only
	Instance string
	// OfferedTo keeps the tasks offered to someone: assigned to them, naming
	// them as a candidate user, or offered to a candidate group they hold.
	// nil: no restriction.
	OfferedTo *Offeree
	// AlsoDepartments widens OfferedTo with every task of these departments
	// (AllDepartments: of every department).
	AlsoDepartments []string
	Department      string
	Role            string // the task's (first candidate group's) role
	Flow            string
	DueBefore       time.Time // zero: no bound; tasks without a due date never match
	Limit           int       // 1–500, default 100
	Offset          int
}

// TaskPage is one page of tasks and how many match the filter in all. The
// tasks of a page come without their Variables and Data (read one Task for
// them).
type TaskPage struct {
	Tasks []Task
	Total int
}

// Task list bounds.
const (
	DefaultTaskLimit = 100
	MaxTaskLimit     = 500
)

// Tasks lists the tasks matching f, most urgent first (due date, tasks
// without one last, then creation), one page at a time. The inbox is an
// indexed filter (task_offers): tasks offered to others cost nothing.
func (s *Store) Tasks(ctx context.Context, f TaskFilter) (TaskPage, error) {
	page := TaskPage{Tasks: []Task{}}
	var w where
	if f.OfferedTo != nil && !slices.Contains(f.AlsoDepartments, AllDepartments) {
		sub, args := offeredTo(*f.OfferedTo, f.Open, f.AlsoDepartments)
		if sub == "" {
			return page, nil
		}
		// The ids drive the query (primary key lookups). No status
		// condition besides: the subquery already keeps open tasks only
		// when asked (task_offers.open changes with the task's status, in
		// the same transaction), and one here would let the planner scan
		// every open task of the organisation instead.
		w.conds = append(w.conds, "id IN ("+sub+")")
		w.args = append(w.args, args...)
	} else if f.Open {
		w.raw("status IN ('open', 'claimed')")
	}
	w.eq("instance_id", f.Instance)
	w.eq("department", f.Department)
	w.eq("role", f.Role)
	w.eq("flow_key", f.Flow)
	if !f.DueBefore.IsZero() {
		w.conds = append(w.conds, "due < ?")
		w.args = append(w.args, f.DueBefore.UTC())
	}
	if f.Limit <= 0 {
		f.Limit = DefaultTaskLimit
	}
	f.Limit = min(f.Limit, MaxTaskLimit)
	if err := s.rdb.GetContext(ctx, &page.Total, s.q(`SELECT COUNT(*) FROM tasks`+w.sql()), w.args...); err != nil {
		return page, fmt.Errorf("count tasks: %w", err)
	}
	if page.Total == 0 || f.Offset >= page.Total {
		return page, nil
	}
	q := `SELECT ` + taskListCols + ` FROM tasks` + w.sql() + " ORDER BY CASE WHEN due IS NULL THEN 1 ELSE 0 END, due, created_at, id LIMIT ? OFFSET ?"
	args := append(w.args, f.Limit, max(f.Offset, 0))
	if err := s.rdb.SelectContext(ctx, &page.Tasks, s.q(q), args...); err != nil {
		return page, fmt.Errorf("list tasks: %w", err)
	}
	return page, nil
}

// offeredTo is the subquery of the ids of the tasks offered to o (open
// ones only if open), plus those of departments: one indexed lookup per
// group held, one for the username as candidate user, one for the
// assignee. "" when nothing can match.
func offeredTo(o Offeree, open bool, departments []string) (string, []any) {
	var parts []string
	var args []any
	openIn := "open IN (?)"
	openArgs := []any{true}
	// "<> ''": the partial indexes of migration 00011 (any plan, even one
	// made without the values, uses them).
	assignee := "SELECT id FROM tasks WHERE assignee = ? AND assignee <> '' AND status IN ('open', 'claimed')"
	if !open {
		openIn, openArgs = "open IN (?, ?)", []any{true, false}
		assignee = "SELECT id FROM tasks WHERE assignee = ? AND assignee <> ''"
	}
	seen := map[string]bool{}
	for _, g := range o.Groups {
		role, dept, ok := strings.Cut(strings.TrimSpace(g), "@")
		if !ok || role == "" || dept == "" || seen[role+"@"+dept] {
			continue
		}
		seen[role+"@"+dept] = true
		if dept == AllDepartments {
			parts = append(parts, "SELECT task_id FROM task_offers WHERE "+openIn+" AND role = ?")
			args = append(append(args, openArgs...), role)
			continue
		}
		parts = append(parts, "SELECT task_id FROM task_offers WHERE "+openIn+" AND role = ? AND department = ?")
		args = append(append(args, openArgs...), role, dept)
	}
	if o.Username != "" {
		parts = append(parts, "SELECT task_id FROM task_offers WHERE "+openIn+" AND username = ? AND username <> ''", assignee)
		args = append(append(args, openArgs...), o.Username, o.Username)
	}
	if len(departments) > 0 {
		cond := "department IN (?" + strings.Repeat(", ?", len(departments)-1) + ")"
		if open {
			cond = "status IN ('open', 'claimed') AND " + cond
		}
		parts = append(parts, "SELECT id FROM tasks WHERE "+cond)
		for _, d := range departments {
			args = append(args, d)
		}
	}
	return strings.Join(parts, " UNION ALL "), args
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
