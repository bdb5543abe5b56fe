package web

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

type startRequest struct {
	Flow       string         `json:"flow"`
	Version    int            `json:"version,omitempty"`
	Department string         `json:"department"`
	Variables  map[string]any `json:"variables,omitempty"`
}

func (s *Server) startInstance(c echo.Context) error {
	var req startRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Flow == "" {
		return Errorf(http.StatusUnprocessableEntity, `"flow" is required`)
	}
	if req.Department == "" {
		return Errorf(http.StatusUnprocessableEntity, `"department" is required`)
	}
	if req.Version < 0 {
		return Errorf(http.StatusUnprocessableEntity, `"version" must be positive`)
	}
	if !s.allowedIn(c, "instances", "create", req.Department) {
		return Errorf(http.StatusForbidden, "you may not start instances in department %s", req.Department)
	}
	id, err := launchInstance(c.Request().Context(), s.store, s.temporal, s.cfg.WorkerTaskQueue, req, actorOf(auth.PrincipalFrom(c), ""))
	if err != nil {
		return err
	}
	s.audit(c, audit.Entry{Action: "instance.start", ObjectType: "instance", ObjectID: id, Department: req.Department,
		Detail: audit.Detail(map[string]any{"flow": req.Flow, "version": req.Version})})
	return c.JSON(http.StatusCreated, map[string]any{"id": id})
}

// launchInstance records and starts an instance of a deployed flow version.
func launchInstance(ctx context.Context, st *store.Store, tc client.Client, taskQueue string, req startRequest, initiator workflows.Actor) (string, error) {
	v, err := st.FlowVersion(ctx, req.Flow, req.Version)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", Errorf(http.StatusUnprocessableEntity, "%v", err)
		}
		return "", err
	}
	var g designer.Graph
	if err := json.Unmarshal([]byte(v.Graph), &g); err != nil {
		return "", err
	}
	g.Key, g.Version = v.FlowKey, v.Version
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	vars := req.Variables
	if vars == nil {
		vars = map[string]any{}
	}
	in := store.Instance{ID: id.String(), FlowKey: v.FlowKey, Version: v.Version, Department: req.Department, Status: workflows.StatusRunning, StartedBy: initiator.Username}
	if err := st.CreateInstance(ctx, in, vars); err != nil {
		return "", err
	}
	_, err = tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        in.ID,
		TaskQueue: taskQueue,
	}, workflows.InterpreterName, workflows.Input{
		Flow: v.FlowKey, Version: v.Version, Graph: g, Department: req.Department,
		Initiator: initiator, Variables: vars, InstanceID: in.ID,
	})
	if err != nil {
		_ = st.UpdateInstance(ctx, store.InstanceUpdate{ID: in.ID, Status: workflows.StatusFailed, Message: "could not start: " + err.Error(), At: time.Now()})
		return "", err
	}
	return in.ID, nil
}

// actorOf turns the caller into the workflow's Actor.
func actorOf(p auth.Principal, onBehalfOf string) workflows.Actor {
	return workflows.Actor{ID: p.UserID, Username: p.Username, OnBehalfOf: onBehalfOf, Groups: p.Groups()}
}

func (s *Server) instanceFor(c echo.Context, act string) (store.Instance, error) {
	in, err := s.store.Instance(c.Request().Context(), c.Param("id"))
	if err != nil {
		return in, err
	}
	if !s.allowedIn(c, "instances", act, in.Department) {
		if act == "read" {
			return in, Errorf(http.StatusForbidden, "you may not see instances of department %s", in.Department)
		}
		return in, Errorf(http.StatusForbidden, "you may not %s instances of department %s", act, in.Department)
	}
	return in, nil
}

func (s *Server) getInstance(c echo.Context) error {
	in, err := s.instanceFor(c, "read")
	if err != nil {
		return err
	}
	out := map[string]any{
		"id": in.ID, "flow": in.FlowKey, "version": in.Version, "department": in.Department,
		"status": in.Status, "current": in.Current(), "variables": in.Variables(), "history": []any{},
		"startedBy": in.StartedBy, "startedAt": in.StartedAt, "updatedAt": in.UpdatedAt, "endedAt": in.EndedAt,
		"message": in.Message,
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	if st, err := QueryState(ctx, s.temporal, in.ID); err == nil {
		if in.Status == workflows.StatusRunning || in.Status == workflows.StatusIncident {
			if st.Status != "" {
				out["status"] = st.Status
				if st.Status != in.Status && st.Status == workflows.StatusIncident && len(st.Incidents) > 0 {
					// The read model lags behind: the message goes with the status.
					out["message"] = st.Incidents[len(st.Incidents)-1].Message
				}
			}
		}
		out["current"] = orEmptyStrings(st.Current)
		if st.Variables != nil {
			out["variables"] = st.Variables
		}
		out["history"] = st.History
		out["openTasks"] = st.OpenTasks
		out["incidents"] = st.Incidents
	} else {
		s.log.Debug("instance state query failed; answering from the read model", "instance", in.ID, "err", err)
	}
	return c.JSON(http.StatusOK, out)
}

// QueryState asks the interpreter for an instance's live state.
func QueryState(ctx context.Context, tc client.Client, id string) (workflows.State, error) {
	var st workflows.State
	v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return st, err
	}
	err = v.Get(&st)
	return st, err
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) listInstances(c echo.Context) error {
	p := auth.PrincipalFrom(c)
	f := store.InstanceFilter{Status: c.QueryParam("status"), Flow: c.QueryParam("flow"), Department: c.QueryParam("department")}
	switch f.Status {
	case "", workflows.StatusRunning, workflows.StatusIncident, workflows.StatusCompleted, workflows.StatusCancelled, workflows.StatusTerminated, workflows.StatusFailed:
	default:
		return Errorf(http.StatusBadRequest, "status %q is not one of running, incident, completed, cancelled, terminated, failed", f.Status)
	}
	var err error
	if f.Limit, err = intParam(c, "limit", 100, 0, math.MaxInt); err != nil {
		return err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, math.MaxInt); err != nil {
		return err
	}
	if svc := s.Auth(); svc != nil {
		depts := svc.Departments(c.Request().Context(), p, "instances", "read")
		if !(len(depts) == 1 && depts[0] == auth.AllDepartments) {
			f.Departments = depts
			if f.Departments == nil {
				f.Departments = []string{}
			}
		}
	}
	list, err := s.store.ListInstances(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, in := range list {
		out = append(out, map[string]any{
			"id": in.ID, "flow": in.FlowKey, "version": in.Version, "department": in.Department, "status": in.Status,
			"current": in.Current(), "startedBy": in.StartedBy, "startedAt": in.StartedAt, "endedAt": in.EndedAt, "message": in.Message,
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"instances": out})
}

// intParam reads an optional integer query parameter within [min, max];
// absent, it is def; out of range or not a number, a 400 naming it.
func intParam(c echo.Context, name string, def, min, max int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		if max == math.MaxInt {
			return 0, Errorf(http.StatusBadRequest, "%s %q is not an integer of at least %d", name, v, min)
		}
		return 0, Errorf(http.StatusBadRequest, "%s %q is not an integer from %d to %d", name, v, min, max)
	}
	return n, nil
}

func (s *Server) cancelInstance(c echo.Context) error {
	in, err := s.instanceFor(c, "cancel")
	if err != nil {
		return err
	}
	status := in.Status
	if status == workflows.StatusRunning || status == workflows.StatusIncident {
		// The read model may lag behind a cancellation in progress.
		qctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
		if st, err := QueryState(qctx, s.temporal, in.ID); err == nil && st.Status != "" {
			status = st.Status
		}
		cancel()
	}
	switch status {
	case workflows.StatusRunning, workflows.StatusIncident:
	default:
		return Errorf(http.StatusConflict, "instance %s is %s and cannot be cancelled", in.ID, status)
	}
	if err := s.temporal.CancelWorkflow(c.Request().Context(), in.ID, ""); err != nil {
		return err
	}
	s.audit(c, audit.Entry{Action: "instance.cancel", ObjectType: "instance", ObjectID: in.ID, Department: in.Department})
	return c.JSON(http.StatusAccepted, map[string]any{"id": in.ID, "status": "cancelling"})
}

type resolveRequest struct {
	Node      string         `json:"node,omitempty"`
	Action    string         `json:"action"`
	Variables map[string]any `json:"variables,omitempty"`
}

func (s *Server) resolveIncident(c echo.Context) error {
	in, err := s.instanceFor(c, "cancel")
	if err != nil {
		return err
	}
	var req resolveRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	switch req.Action {
	case workflows.ResolveRetry, workflows.ResolveSkip, workflows.ResolveCancel:
	default:
		return Errorf(http.StatusUnprocessableEntity, `"action" must be retry, skip or cancel`)
	}
	p := auth.PrincipalFrom(c)
	if _, err := s.update(c.Request().Context(), in.ID, workflows.UpdateResolve, workflows.ResolveRequest{
		Node: req.Node, Action: req.Action, Variables: req.Variables, Actor: actorOf(p, ""),
	}); err != nil {
		return err
	}
	s.audit(c, audit.Entry{Action: "incident." + req.Action, ObjectType: "instance", ObjectID: in.ID, Department: in.Department,
		Detail: audit.Detail(map[string]any{"node": req.Node})})
	return c.JSON(http.StatusOK, map[string]any{"id": in.ID, "action": req.Action})
}

// update sends a workflow update and waits for its result, so that the
// caller gets the validator's verdict synchronously. A task that the
// workflow is still opening (its inbox row written, the workflow not yet
// told) is retried for a few seconds: that happens right after a restart.
func (s *Server) update(ctx context.Context, workflowID, name string, arg any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	giveUp := time.Now().Add(25 * time.Second)
	for {
		out, err := s.updateOnce(ctx, workflowID, name, arg)
		var appErr *temporal.ApplicationError
		if err != nil && errors.As(err, &appErr) && appErr.Type() == workflows.ErrTaskNotFound && strings.Contains(appErr.Message(), "being opened") {
			if time.Now().After(giveUp) {
				return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "the task is still being opened; try again in a moment", Err: err}
			}
			select {
			case <-ctx.Done():
				return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "the task is still being opened; try again in a moment", Err: err}
			case <-time.After(250 * time.Millisecond):
				continue
			}
		}
		return out, err
	}
}

func (s *Server) updateOnce(ctx context.Context, workflowID, name string, arg any) (any, error) {
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, mapUpdateErr(err)
	}
	var out any
	if err := h.Get(ctx, &out); err != nil {
		return nil, mapUpdateErr(err)
	}
	return out, nil
}
