package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// TaskFilter selects tasks in an inbox.
type TaskFilter struct {
	// Status is "open" (the default: open or claimed tasks offered to the
	// caller) or "all" (also closed ones, and every task of the departments
	// whose requests the caller may read).
	Status     string
	Instance   string
	Department string
	Role       string
	Flow       string
	// DueBefore keeps tasks due before it (zero: no bound).
	DueBefore time.Time
	// Overdue keeps the open tasks whose due date has passed.
	Overdue bool
	Limit   int // 0: store.DefaultTaskLimit
	Offset  int
}

// TaskPage is a page of tasks and the number of tasks the filter matches.
type TaskPage struct {
	Tasks  []TaskView
	Total  int
	Limit  int
	Offset int
}

// TaskView is a task as its reader sees it: whether they may act on it,
// and for whom (the delegator's username when through a delegation).
type TaskView struct {
	store.Task
	MayAct     bool
	OnBehalfOf string
}

// Overdue reports whether an open task's due date has passed at now.
func Overdue(t store.Task, now time.Time) bool {
	return t.Due != nil && (t.Status == workflows.TaskOpen || t.Status == workflows.TaskClaimed) && now.After(*t.Due)
}

// mayActOnTask is who may act on t (claim, complete), and for whom: auth's
// rule, which the inbox query applies in SQL. It is the one decision on
// tasks; the workflow's validator checks it again.
func mayActOnTask(p auth.Principal, t store.Task) (onBehalfOf string, ok bool) {
	return auth.MayActOnTask(p, t.Assignee, t.CandidateUsers(), t.Candidates(), t.Department)
}

// errNotOffered is the refusal to act on a task offered to others.
func errNotOffered(t store.Task) *Error {
	who := strings.Join(t.Candidates(), ", ")
	e := Errorf(Forbidden, "task %s is offered to %s, not to you", t.ID, who)
	if who == "" {
		return e.French("Cette tâche ne vous est pas proposée.")
	}
	return e.French("Cette tâche est proposée à %s et non à vous.", who)
}

// ListTasks is the inbox: the tasks offered to the caller (with status
// "all", also closed ones and every task of the departments whose requests
// the caller may read), filtered and paged in SQL.
func (s *Service) ListTasks(ctx context.Context, c Caller, f TaskFilter) (TaskPage, error) {
	offeree := auth.OfferedTo(c.Principal)
	sf := store.TaskFilter{Open: true, OfferedTo: &offeree, Instance: f.Instance, Department: f.Department,
		Role: f.Role, Flow: f.Flow, DueBefore: f.DueBefore, Limit: f.Limit, Offset: f.Offset}
	switch f.Status {
	case "", "open":
	case "all":
		sf.Open = false
		if s.auth != nil && !c.Principal.Anonymous() {
			sf.AlsoDepartments = s.auth.Departments(ctx, c.Principal, "instances", "read")
		}
	default:
		return TaskPage{}, Errorf(BadRequest, "status %q is not open or all", f.Status).French("Le statut « %s » n'est ni « ouvertes » ni « toutes ».", f.Status)
	}
	if sf.Limit == 0 {
		sf.Limit = store.DefaultTaskLimit
	}
	if sf.Limit < 1 || sf.Limit > store.MaxTaskLimit || sf.Offset < 0 {
		return TaskPage{}, Errorf(BadRequest, "limit is from 1 to %d and offset at least 0", store.MaxTaskLimit)
	}
	if f.Overdue {
		now := time.Now()
		if sf.DueBefore.IsZero() || now.Before(sf.DueBefore) {
			sf.DueBefore = now
		}
		sf.Open = true // overdue is said of open tasks only
	}
	page, err := s.store.Tasks(ctx, sf)
	if err != nil {
		return TaskPage{}, err
	}
	out := TaskPage{Tasks: make([]TaskView, 0, len(page.Tasks)), Total: page.Total, Limit: sf.Limit, Offset: sf.Offset}
	for _, t := range page.Tasks {
		obo, ok := mayActOnTask(c.Principal, t)
		out.Tasks = append(out.Tasks, TaskView{Task: t, MayAct: ok, OnBehalfOf: obo})
	}
	return out, nil
}

// Task is a task the caller may see: one offered to them, or any task of
// a department whose requests they may read.
func (s *Service) Task(ctx context.Context, c Caller, id string) (TaskView, error) {
	t, err := s.store.Task(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return TaskView{}, &Error{Kind: NotFound, Msg: err.Error(), Fr: "Cette tâche n'existe pas.", Err: err}
		}
		return TaskView{}, err
	}
	obo, ok := mayActOnTask(c.Principal, t)
	if !ok && !s.allowedIn(ctx, c, "instances", "read", t.Department) {
		return TaskView{}, Errorf(Forbidden, "task %s is not offered to you", t.ID).
			French("Cette tâche relève d'un autre service : elle ne vous est pas proposée.")
	}
	return TaskView{Task: t, MayAct: ok, OnBehalfOf: obo}, nil
}

// ClaimTask takes a task for the caller.
func (s *Service) ClaimTask(ctx context.Context, c Caller, id string) (store.Task, error) {
	return s.assign(ctx, c, id, workflows.UpdateClaim, "task.claim")
}

// UnclaimTask gives a claimed task back to its candidates.
func (s *Service) UnclaimTask(ctx context.Context, c Caller, id string) (store.Task, error) {
	return s.assign(ctx, c, id, workflows.UpdateUnclaim, "task.unclaim")
}

func (s *Service) assign(ctx context.Context, c Caller, id, update, action string) (store.Task, error) {
	v, err := s.Task(ctx, c, id)
	if err != nil {
		return store.Task{}, err
	}
	t := v.Task
	if !v.MayAct {
		return t, errNotOffered(t)
	}
	if _, err := s.update(ctx, t.InstanceID, update, workflows.ClaimRequest{TaskID: t.ID, Actor: actorOf(c.Principal, v.OnBehalfOf)}); err != nil {
		s.auditRefusal(ctx, c, action, t, err)
		return t, err
	}
	s.audit(ctx, c, audit.Entry{Action: action, ObjectType: "task", ObjectID: t.ID, Department: t.Department, OnBehalfOf: v.OnBehalfOf})
	return s.store.Task(ctx, t.ID)
}

// CompleteTask completes a task with the data of its form. The workflow
// validates the data against the form and the flow (four-eyes rule,
// claims); a file named in the data must be a staged file of the
// request's dataset.
func (s *Service) CompleteTask(ctx context.Context, c Caller, id string, data map[string]any) (store.Task, error) {
	v, err := s.Task(ctx, c, id)
	if err != nil {
		return store.Task{}, err
	}
	t := v.Task
	if data == nil {
		data = map[string]any{}
	}
	if t.Status == workflows.TaskCompleted || t.Status == workflows.TaskCancelled {
		return t, Errorf(Conflict, "task %s is already %s", t.ID, t.Status).French("Cette tâche est déjà close.")
	}
	if !v.MayAct {
		s.auditRefusal(ctx, c, "task.complete", t, errors.New("not a candidate"))
		return t, errNotOffered(t)
	}
	if err := s.checkCompletionFile(ctx, c, t, data); err != nil {
		return t, err
	}
	if err := checkFormData(t, data); err != nil {
		// The workflow's validator says the same; asking it costs a round trip.
		s.auditRefusal(ctx, c, "task.complete", t, err)
		return t, err
	}
	if _, err := s.update(ctx, t.InstanceID, workflows.UpdateComplete, workflows.CompleteRequest{
		TaskID: t.ID, Actor: actorOf(c.Principal, v.OnBehalfOf), Data: data,
	}); err != nil {
		s.auditRefusal(ctx, c, "task.complete", t, err)
		return t, err
	}
	s.audit(ctx, c, audit.Entry{Action: "task.complete", ObjectType: "task", ObjectID: t.ID, Department: t.Department, OnBehalfOf: v.OnBehalfOf,
		Detail: audit.Detail(map[string]any{"node": t.Node, "instance": t.InstanceID, "data": data})})
	if t2, err := s.store.Task(ctx, t.ID); err == nil {
		t = t2
	}
	return t, nil
}

// auditRefusal records a refused action on a task with its reason.
func (s *Service) auditRefusal(ctx context.Context, c Caller, action string, t store.Task, cause error) {
	kind, reason := "error", cause.Error()
	var e *Error
	if errors.As(cause, &e) {
		kind, reason = e.Kind.String(), e.Msg
	}
	s.audit(ctx, c, audit.Entry{Action: action, ObjectType: "task", ObjectID: t.ID, Department: t.Department, Outcome: audit.Denied,
		Detail: audit.Detail(map[string]any{"kind": kind, "reason": reason})})
}

// checkFormData checks completion data against the task's form (required
// fields, types, choices), with the workflow validator's messages.
func checkFormData(t store.Task, data map[string]any) error {
	if t.FormRaw == "" {
		return nil
	}
	var f designer.Form
	if err := json.Unmarshal([]byte(t.FormRaw), &f); err != nil {
		return nil // the workflow knows its form
	}
	msgs := f.CheckData(data)
	if len(msgs) == 0 {
		return nil
	}
	e := &Error{Kind: Invalid, Msg: "invalid data: " + strings.Join(msgs, "; "), Fr: "Le formulaire contient des erreurs : corrigez les champs signalés."}
	for _, m := range msgs {
		e.Problems = append(e.Problems, frenchCheck(m))
	}
	return e
}
