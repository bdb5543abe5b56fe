package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
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

// Limits of the start variables, checked before anything is written: they
// travel in the instance row, in every workflow history event that carries
// the state, and in every activity input.
const (
	// MaxStartVariablesBytes bounds the JSON size of the start variables.
	MaxStartVariablesBytes = 256 << 10
	// MaxStartVariablesDepth bounds their nesting (a scalar variable is at depth 1).
	MaxStartVariablesDepth = 16
	// MaxStartVariablesValues bounds the values they hold (scalars, lists and objects).
	MaxStartVariablesValues = 10_000
	// maxStartBody bounds the body of POST /api/v1/instances.
	maxStartBody = MaxStartVariablesBytes + 16<<10
)

// reservedStartVariables are set by the engine or the data activities, not
// by whoever starts an instance.
var reservedStartVariables = map[string]string{
	workflows.InitiatorVar: "the engine sets it to the user who starts the instance",
	"normalized":           "the data activities set it to the files they derive",
	"anonymisation":        "civicflow.anonymise sets it; what is anonymised is the dataset's personalFields, set by its steward",
}

func (s *Server) startInstance(c echo.Context) error {
	r := c.Request()
	if r.ContentLength > maxStartBody {
		return Errorf(http.StatusRequestEntityTooLarge, "the request body (%d bytes) is larger than the %d bytes a start accepts (start variables: at most %d KiB of JSON)",
			r.ContentLength, maxStartBody, MaxStartVariablesBytes>>10)
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxStartBody)
	}
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
	if err := checkStartVariables(req.Variables); err != nil {
		return err
	}
	ctx := r.Context()
	if req.Department == store.AllDepartments {
		return Errorf(http.StatusUnprocessableEntity, `an instance belongs to one department: "*" is not one`)
	}
	if _, err := s.store.Department(ctx, req.Department); errors.Is(err, store.ErrNotFound) {
		return Errorf(http.StatusUnprocessableEntity, "no department %q", req.Department)
	} else if err != nil {
		return err
	}
	if !s.allowedIn(c, "instances", "create", req.Department) {
		return Errorf(http.StatusForbidden, "you may not start instances in department %s", req.Department)
	}
	if err := s.checkObjects(c, "instance.start", "variables", req.Department, req.Variables); err != nil {
		return err
	}
	id, err := launchInstance(ctx, s.store, s.temporal, s.cfg.WorkerTaskQueue, req, actorOf(auth.PrincipalFrom(c), ""))
	if err != nil {
		return err
	}
	s.audit(c, audit.Entry{Action: "instance.start", ObjectType: "instance", ObjectID: id, Department: req.Department,
		Detail: audit.Detail(map[string]any{"flow": req.Flow, "version": req.Version,
			designer.VarDataset: req.Variables[designer.VarDataset], designer.VarFile: req.Variables[designer.VarFile]})})
	return c.JSON(http.StatusCreated, map[string]any{"id": id})
}

// checkStartVariables enforces the limits on start variables and refuses
// names that are not identifiers or that the engine reserves.
func checkStartVariables(vars map[string]any) error {
	if len(vars) == 0 {
		return nil
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return Errorf(http.StatusUnprocessableEntity, "the start variables cannot be encoded: %v", err)
	}
	if len(b) > MaxStartVariablesBytes {
		return Errorf(http.StatusRequestEntityTooLarge, "the start variables take %d bytes of JSON: at most %d KiB are accepted; keep data in datasets and pass their ids",
			len(b), MaxStartVariablesBytes>>10)
	}
	var probs []FieldProblem
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !variableName(k) {
			probs = append(probs, FieldProblem{Field: "variables." + k, Message: "a variable name is a letter or _ followed by letters, digits or _ (at most 64 characters)"})
		} else if why, ok := reservedStartVariables[k]; ok {
			probs = append(probs, FieldProblem{Field: "variables." + k, Message: "reserved: " + why})
		}
	}
	values, depth := 0, 0
	var walk func(v any, d int)
	walk = func(v any, d int) {
		values++
		depth = max(depth, d)
		if values > MaxStartVariablesValues || depth > MaxStartVariablesDepth {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e, d+1)
			}
		case []any:
			for _, e := range x {
				walk(e, d+1)
			}
		}
	}
	for _, k := range names {
		walk(vars[k], 1)
	}
	if values > MaxStartVariablesValues {
		probs = append(probs, FieldProblem{Field: "variables", Message: fmt.Sprintf("more than %d values", MaxStartVariablesValues)})
	}
	if depth > MaxStartVariablesDepth {
		probs = append(probs, FieldProblem{Field: "variables", Message: fmt.Sprintf("nested deeper than %d levels", MaxStartVariablesDepth)})
	}
	if len(probs) > 0 {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "the start variables are invalid", Problems: probs}
	}
	return nil
}

// variableName reports whether k is a plain identifier (what conditions
// and mappings can name).
func variableName(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i, r := range k {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// checkObjects checks the objects that vars (start variables or
// completion data, named by where in problems) bind an instance of dept to
// (designer.VarDataset, designer.VarFile): they must exist (422) and
// belong to the department (403, audited as action), the file to the
// dataset. The data activities check the same again when they run.
func (s *Server) checkObjects(c echo.Context, action, where, dept string, vars map[string]any) error {
	ctx := c.Request().Context()
	idOf := func(name string) (string, bool, error) {
		v, ok := vars[name]
		if !ok || v == nil {
			return "", false, nil
		}
		id, isText := v.(string)
		if !isText || strings.TrimSpace(id) == "" {
			return "", false, &Error{Status: http.StatusUnprocessableEntity, Msg: "the " + where + " are invalid",
				Problems: []FieldProblem{{Field: where + "." + name, Message: "an id (text) is expected"}}}
		}
		return strings.TrimSpace(id), true, nil
	}
	unknown := func(name, format string, args ...any) error {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "the " + where + " are invalid",
			Problems: []FieldProblem{{Field: where + "." + name, Message: fmt.Sprintf(format, args...)}}}
	}
	foreign := func(objType, id, owner string) error {
		msg := fmt.Sprintf("%s %q belongs to department %s: an instance of department %s cannot use it", objType, id, owner, dept)
		s.audit(c, audit.Entry{Action: action, ObjectType: objType, ObjectID: id, Department: dept, Outcome: audit.Denied,
			Detail: audit.Detail(map[string]any{"reason": msg, "owner": owner})})
		return Errorf(http.StatusForbidden, "%s", msg)
	}
	dsID, hasDS, err := idOf(designer.VarDataset)
	if err != nil {
		return err
	}
	fileID, hasFile, err := idOf(designer.VarFile)
	if err != nil {
		return err
	}
	var ds store.Dataset
	if hasDS {
		if ds, err = s.store.Dataset(ctx, dsID); errors.Is(err, store.ErrNotFound) {
			return unknown(designer.VarDataset, "no dataset %q", dsID)
		} else if err != nil {
			return err
		}
		if ds.Department != dept {
			return foreign("dataset", ds.ID, ds.Department)
		}
	}
	if !hasFile {
		return nil
	}
	f, err := s.store.DataFile(ctx, fileID)
	if errors.Is(err, store.ErrNotFound) {
		return unknown(designer.VarFile, "no staged file %q", fileID)
	} else if err != nil {
		return err
	}
	if hasDS && f.DatasetID == ds.ID {
		return nil
	}
	owner, err := s.store.Dataset(ctx, f.DatasetID)
	if err != nil {
		return err
	}
	if owner.Department != dept {
		return foreign("file", f.ID, owner.Department)
	}
	if hasDS {
		return unknown(designer.VarFile, "file %q is a file of dataset %q, not of %q", f.ID, f.DatasetID, ds.ID)
	}
	return nil
}

// checkCompletionFile checks the file that completion data name (a form's
// "file" field, as the correction task of the default flow has): a staged
// file of the instance's dataset. The dataset itself is fixed at start.
func (s *Server) checkCompletionFile(c echo.Context, t store.Task, data map[string]any) error {
	if v, ok := data[designer.VarFile]; !ok || v == nil {
		return nil
	}
	in, err := s.store.Instance(c.Request().Context(), t.InstanceID)
	if err != nil {
		return err
	}
	vars := map[string]any{designer.VarFile: data[designer.VarFile]}
	if ds, ok := in.Variables()[designer.VarDataset]; ok {
		vars[designer.VarDataset] = ds
	}
	return s.checkObjects(c, "task.complete", "data", in.Department, vars)
}

// launchInstance records and starts an instance of a deployed flow
// version. A start that Temporal refuses leaves no row.
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
	if err == nil {
		return in.ID, nil
	}
	// The answer may have been lost while the run started: keep the row
	// only then.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, derr := tc.DescribeWorkflowExecution(dctx, in.ID, ""); derr == nil {
		return in.ID, nil
	}
	if derr := st.DeleteInstance(dctx, in.ID); derr != nil {
		return "", fmt.Errorf("start refused (%v); removing its row: %w", err, derr)
	}
	return "", startError(err)
}

// startError explains why the workflow engine refused a start.
func startError(err error) error {
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "the workflow engine refused the start: " + invalid.Message, Err: err}
	}
	return &Error{Status: http.StatusServiceUnavailable, Msg: "the workflow engine did not start the instance; nothing was recorded, try again in a moment", Err: err}
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
		if st.Status == workflows.StatusRunning || st.Status == workflows.StatusIncident {
			out["activities"] = s.activitiesInFlight(ctx, in.ID)
		}
		if out["status"] == workflows.StatusIncident && len(st.Incidents) > 0 {
			// The read model's message may lag behind the live status.
			out["message"] = st.Incidents[len(st.Incidents)-1].Message
		}
	} else {
		s.log.Debug("instance state query failed; answering from the read model", "instance", in.ID, "err", err)
	}
	if !s.seesIncidentDetails(c, in.Department) {
		hideIncidentDetails(out)
	}
	return c.JSON(http.StatusOK, out)
}

// activityInFlight is a service task being run: its attempt, and the
// progress its last heartbeat reported (workflows.Progress).
type activityInFlight struct {
	Node     string `json:"node,omitempty"`
	Activity string `json:"activity"`
	// State is scheduled (waiting for a worker, or for its next attempt),
	// started or cancel_requested.
	State         string     `json:"state"`
	Attempt       int32      `json:"attempt"`
	Step          string     `json:"step,omitempty"`
	Done          int64      `json:"done"`
	Total         int64      `json:"total,omitempty"`
	Percent       *float64   `json:"percent,omitempty"`
	Resumed       int64      `json:"resumed,omitempty"`
	LastHeartbeat *time.Time `json:"lastHeartbeat,omitempty"`
	LastFailure   string     `json:"lastFailure,omitempty"`
}

// activitiesInFlight lists the service tasks an instance is running, from
// Temporal's pending activities (the bookkeeping of the inbox and of the
// instance list is left out). Errors give an empty list: the progress is
// a nicety of the answer.
func (s *Server) activitiesInFlight(ctx context.Context, id string) []activityInFlight {
	out := []activityInFlight{}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		s.log.Debug("describe instance for its progress", "instance", id, "err", err)
		return out
	}
	for _, pa := range desc.GetPendingActivities() {
		name := pa.GetActivityType().GetName()
		switch name {
		case workflows.ActTaskOpen, workflows.ActTaskClose, workflows.ActTaskAssign, workflows.ActInstance:
			continue
		}
		a := activityInFlight{Activity: name, Attempt: pa.GetAttempt(),
			State: activityState(pa.GetState())}
		if t := pa.GetLastHeartbeatTime(); t != nil {
			at := t.AsTime()
			a.LastHeartbeat = &at
		}
		if f := pa.GetLastFailure(); f != nil {
			a.LastFailure = f.GetMessage()
		}
		if d := pa.GetHeartbeatDetails(); d != nil {
			var p workflows.Progress
			if err := converter.GetDefaultDataConverter().FromPayloads(d, &p); err == nil {
				a.Node, a.Step, a.Done, a.Total, a.Resumed = p.Node, p.Step, p.Done, p.Total, p.Resumed
				if p.Total > 0 {
					pc := math.Round(1000*float64(min(p.Done, p.Total))/float64(p.Total)) / 10
					a.Percent = &pc
				}
			}
		}
		out = append(out, a)
	}
	return out
}

func activityState(st enumspb.PendingActivityState) string {
	switch st {
	case enumspb.PENDING_ACTIVITY_STATE_SCHEDULED:
		return "scheduled"
	case enumspb.PENDING_ACTIVITY_STATE_STARTED:
		return "started"
	case enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED:
		return "cancel_requested"
	case enumspb.PENDING_ACTIVITY_STATE_PAUSED, enumspb.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED:
		return "paused"
	}
	return "unknown"
}

// incidentAction is the permission on "instances" that resolves incidents
// (retry, skip, cancel). Who has it in the instance's department sees what
// stopped a step (raw network, Go or SQL errors, internal addresses…);
// the other readers see incidentNotice instead.
const incidentAction = "cancel"

// incidentNotice replaces an incident's message for readers.
const incidentNotice = "an automatic step stopped on an error; its details are shown to those who may resolve incidents in this department"

func (s *Server) seesIncidentDetails(c echo.Context, dept string) bool {
	return s.allowedIn(c, "instances", incidentAction, dept)
}

// hideIncidentDetails replaces, in an instance document, the messages that
// come from errors: the instance's message when it is in incident or has
// failed, each incident's, and those of the history's incident events.
func hideIncidentDetails(out map[string]any) {
	switch out["status"] {
	case workflows.StatusIncident, workflows.StatusFailed:
		if m, _ := out["message"].(string); m != "" {
			out["message"] = incidentNotice
		}
	}
	if list, ok := out["incidents"].([]workflows.Incident); ok {
		hidden := make([]workflows.Incident, len(list))
		for i, inc := range list {
			inc.Message = incidentNotice
			hidden[i] = inc
		}
		out["incidents"] = hidden
	}
	if list, ok := out["history"].([]workflows.HistoryEntry); ok {
		hidden := make([]workflows.HistoryEntry, len(list))
		for i, h := range list {
			if h.Event == "incident" && h.Message != "" {
				h.Message = incidentNotice
			}
			hidden[i] = h
		}
		out["history"] = hidden
	}
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
	details := map[string]bool{} // department → the caller sees incident details
	for _, in := range list {
		row := map[string]any{
			"id": in.ID, "flow": in.FlowKey, "version": in.Version, "department": in.Department, "status": in.Status,
			"current": in.Current(), "startedBy": in.StartedBy, "startedAt": in.StartedAt, "endedAt": in.EndedAt, "message": in.Message,
		}
		see, ok := details[in.Department]
		if !ok {
			see = s.seesIncidentDetails(c, in.Department)
			details[in.Department] = see
		}
		if !see {
			hideIncidentDetails(row)
		}
		out = append(out, row)
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
	in, err := s.instanceFor(c, incidentAction)
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
