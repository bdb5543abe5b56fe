package web

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// taskJSON is the task shape of the external contract.
type taskJSON struct {
	ID          string          `json:"id"`
	Instance    string          `json:"instance"`
	Flow        string          `json:"flow"`
	Node        string          `json:"node"`
	Name        string          `json:"name"`
	Department  string          `json:"department"`
	Role        string          `json:"role"`
	Candidates  []string        `json:"candidates"`
	Assignee    string          `json:"assignee"`
	Status      string          `json:"status"`
	Due         *time.Time      `json:"due"`
	Overdue     bool            `json:"overdue"`
	Form        json.RawMessage `json:"form"`
	Variables   json.RawMessage `json:"variables,omitempty"`
	Created     time.Time       `json:"created"`
	CompletedBy string          `json:"completedBy,omitempty"`
	OnBehalfOf  string          `json:"onBehalfOf,omitempty"`
	CompletedAt *time.Time      `json:"completedAt,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	Message     string          `json:"message,omitempty"`
}

func toTaskJSON(t store.Task, withVars bool) taskJSON {
	out := taskJSON{
		ID: t.ID, Instance: t.InstanceID, Flow: t.FlowKey, Node: t.Node, Name: t.Name, Department: t.Department,
		Role: t.Role, Candidates: t.Candidates(), Assignee: t.Assignee, Status: t.Status, Due: t.Due,
		Form: json.RawMessage(t.FormRaw), Created: t.CreatedAt, CompletedBy: t.CompletedBy, OnBehalfOf: t.OnBehalfOf,
		CompletedAt: t.CompletedAt, Message: t.Message,
	}
	if out.Candidates == nil {
		out.Candidates = []string{}
	}
	if t.Due != nil && (t.Status == workflows.TaskOpen || t.Status == workflows.TaskClaimed) && time.Now().After(*t.Due) {
		out.Overdue = true
	}
	if withVars {
		out.Variables = json.RawMessage(t.VarsRaw)
		if t.DataRaw != "" && t.DataRaw != "{}" {
			out.Data = json.RawMessage(t.DataRaw)
		}
	}
	return out
}

// canAct reports whether p may act on t, and for whom (a delegator's
// username when acting through a delegation): auth's rule, which the inbox
// query applies in SQL.
func canAct(p auth.Principal, t store.Task) (onBehalfOf string, ok bool) {
	return auth.MayActOnTask(p, t.Assignee, t.CandidateUsers(), t.Candidates(), t.Department)
}

// listTasks is the inbox: the tasks offered to the caller (with
// status=all, also closed ones and every task of the departments whose
// instances the caller may read), filtered and paged in SQL.
func (s *Server) listTasks(c echo.Context) error {
	p := auth.PrincipalFrom(c)
	ctx := c.Request().Context()
	offeree := auth.OfferedTo(p)
	f := store.TaskFilter{Open: true, OfferedTo: &offeree, Instance: c.QueryParam("instance"),
		Department: c.QueryParam("department"), Role: c.QueryParam("role"), Flow: c.QueryParam("flow")}
	switch c.QueryParam("status") {
	case "", "open":
	case "all":
		f.Open = false
		if svc := s.Auth(); svc != nil && !p.Anonymous() {
			f.AlsoDepartments = svc.Departments(ctx, p, "instances", "read")
		}
	default:
		return Errorf(http.StatusBadRequest, "status %q is not open or all", c.QueryParam("status"))
	}
	var err error
	if f.Limit, err = intParam(c, "limit", store.DefaultTaskLimit, 1, store.MaxTaskLimit); err != nil {
		return err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, math.MaxInt); err != nil {
		return err
	}
	if v := c.QueryParam("dueBefore"); v != "" {
		if f.DueBefore, err = parseInstant(v); err != nil {
			return Errorf(http.StatusBadRequest, "dueBefore %q is not a date (2026-05-04) or a time (2026-05-04T12:00:00Z)", v)
		}
	}
	switch c.QueryParam("overdue") {
	case "", "false":
	case "true":
		now := time.Now()
		if f.DueBefore.IsZero() || now.Before(f.DueBefore) {
			f.DueBefore = now
		}
		f.Open = true // overdue is said of open tasks only
	default:
		return Errorf(http.StatusBadRequest, "overdue %q is not true or false", c.QueryParam("overdue"))
	}
	page, err := s.store.Tasks(ctx, f)
	if err != nil {
		return err
	}
	out := make([]taskJSON, 0, len(page.Tasks))
	for _, t := range page.Tasks {
		out = append(out, toTaskJSON(t, false))
	}
	return c.JSON(http.StatusOK, map[string]any{"tasks": out, "total": page.Total, "limit": f.Limit, "offset": f.Offset})
}

// parseInstant reads an RFC 3339 time or a date (midnight UTC).
func parseInstant(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}

// taskFor loads a task the caller may see.
func (s *Server) taskFor(c echo.Context) (store.Task, string, error) {
	t, err := s.store.Task(c.Request().Context(), c.Param("id"))
	if err != nil {
		return t, "", err
	}
	p := auth.PrincipalFrom(c)
	obo, ok := canAct(p, t)
	if !ok && !s.allowedIn(c, "instances", "read", t.Department) {
		return t, "", Errorf(http.StatusForbidden, "task %s is not offered to you", t.ID)
	}
	return t, obo, nil
}

func (s *Server) getTask(c echo.Context) error {
	t, _, err := s.taskFor(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTaskJSON(t, true))
}

type completeBody struct {
	Data map[string]any `json:"data"`
}

func (s *Server) claimTask(c echo.Context) error {
	return s.assign(c, workflows.UpdateClaim, "task.claim")
}
func (s *Server) unclaimTask(c echo.Context) error {
	return s.assign(c, workflows.UpdateUnclaim, "task.unclaim")
}

func (s *Server) assign(c echo.Context, update, action string) error {
	t, obo, err := s.taskFor(c)
	if err != nil {
		return err
	}
	if _, ok := canAct(auth.PrincipalFrom(c), t); !ok {
		return Errorf(http.StatusForbidden, "task %s is offered to %s, not to you", t.ID, strings.Join(t.Candidates(), ", "))
	}
	if _, err := s.update(c.Request().Context(), t.InstanceID, update, workflows.ClaimRequest{TaskID: t.ID, Actor: actorOf(auth.PrincipalFrom(c), obo)}); err != nil {
		s.auditRefusal(c, action, t, err)
		return err
	}
	s.audit(c, audit.Entry{Action: action, ObjectType: "task", ObjectID: t.ID, Department: t.Department, OnBehalfOf: obo})
	t, err = s.store.Task(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTaskJSON(t, false))
}

func (s *Server) completeTask(c echo.Context) error {
	t, obo, err := s.taskFor(c)
	if err != nil {
		return err
	}
	var body completeBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Data == nil {
		body.Data = map[string]any{}
	}
	if t.Status == workflows.TaskCompleted || t.Status == workflows.TaskCancelled {
		return Errorf(http.StatusConflict, "task %s is already %s", t.ID, t.Status)
	}
	p := auth.PrincipalFrom(c)
	if _, ok := canAct(p, t); !ok {
		s.auditRefusal(c, "task.complete", t, errors.New("not a candidate"))
		return Errorf(http.StatusForbidden, "task %s is offered to %s, not to you", t.ID, strings.Join(t.Candidates(), ", "))
	}
	if err := s.checkCompletionFile(c, t, body.Data); err != nil {
		return err
	}
	if _, err := s.update(c.Request().Context(), t.InstanceID, workflows.UpdateComplete, workflows.CompleteRequest{
		TaskID: t.ID, Actor: actorOf(p, obo), Data: body.Data,
	}); err != nil {
		s.auditRefusal(c, "task.complete", t, err)
		return err
	}
	s.audit(c, audit.Entry{Action: "task.complete", ObjectType: "task", ObjectID: t.ID, Department: t.Department, OnBehalfOf: obo,
		Detail: audit.Detail(map[string]any{"node": t.Node, "instance": t.InstanceID, "data": body.Data})})
	if t2, err := s.store.Task(c.Request().Context(), t.ID); err == nil {
		t = t2
	}
	return c.JSON(http.StatusOK, toTaskJSON(t, false))
}

func (s *Server) auditRefusal(c echo.Context, action string, t store.Task, cause error) {
	p, _ := toProblem(cause)
	s.audit(c, audit.Entry{Action: action, ObjectType: "task", ObjectID: t.ID, Department: t.Department, Outcome: audit.Denied,
		Detail: audit.Detail(map[string]any{"status": p.Status, "reason": p.Detail})})
}

// mapUpdateErr turns Temporal's answers to an update into user errors.
func mapUpdateErr(err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return Errorf(http.StatusConflict, "the instance has ended; its tasks are closed")
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "context deadline exceeded") {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "the workflow engine did not answer in time; nothing was changed, try again in a moment", Err: err}
	}
	return err
}
