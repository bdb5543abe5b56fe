package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// A request is an instance of a deployed flow (the API calls it an
// instance): it belongs to one department.

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
)

// reservedStartVariables are set by the engine or the data activities, not
// by whoever starts an instance.
var reservedStartVariables = map[string]string{
	workflows.InitiatorVar: "the engine sets it to the user who starts the instance",
	"normalized":           "the data activities set it to the files they derive",
	"anonymisation":        "civicflow.anonymise sets it; what is anonymised is the dataset's personalFields, set by its steward",
}

// StartInput is what starts a request.
type StartInput struct {
	Flow       string         `json:"flow"`
	Version    int            `json:"version,omitempty"`
	Department string         `json:"department"`
	Variables  map[string]any `json:"variables,omitempty"`
}

// StartRequest starts a request of a deployed flow in a department the
// caller may start requests in, and returns its id.
func (s *Service) StartRequest(ctx context.Context, c Caller, in StartInput) (string, error) {
	if in.Flow == "" {
		return "", Errorf(Invalid, `"flow" is required`).French("Choisissez une démarche.")
	}
	if in.Department == "" {
		return "", Errorf(Invalid, `"department" is required`).French("Choisissez un service.")
	}
	if in.Version < 0 {
		return "", Errorf(Invalid, `"version" must be positive`)
	}
	if err := checkStartVariables(in.Variables); err != nil {
		return "", err
	}
	if in.Department == store.AllDepartments {
		return "", Errorf(Invalid, `an instance belongs to one department: "*" is not one`)
	}
	if _, err := s.store.Department(ctx, in.Department); errors.Is(err, store.ErrNotFound) {
		return "", Errorf(Invalid, "no department %q", in.Department).French("Le service « %s » n'existe pas.", in.Department)
	} else if err != nil {
		return "", err
	}
	if !s.allowedIn(ctx, c, "instances", "create", in.Department) {
		return "", Errorf(Forbidden, "you may not start instances in department %s", in.Department).
			French("Vous ne pouvez pas lancer de demande pour le service %s.", in.Department)
	}
	if err := s.checkObjects(ctx, c, "instance.start", "variables", in.Department, in.Variables); err != nil {
		return "", err
	}
	id, err := s.launch(ctx, in, actorOf(c.Principal, ""))
	if err != nil {
		return "", err
	}
	s.audit(ctx, c, audit.Entry{Action: "instance.start", ObjectType: "instance", ObjectID: id, Department: in.Department,
		Detail: audit.Detail(map[string]any{"flow": in.Flow, "version": in.Version,
			designer.VarDataset: in.Variables[designer.VarDataset], designer.VarFile: in.Variables[designer.VarFile]})})
	return id, nil
}

// checkStartVariables enforces the limits on start variables and refuses
// names that are not identifiers or that the engine reserves.
func checkStartVariables(vars map[string]any) error {
	if len(vars) == 0 {
		return nil
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return Errorf(Invalid, "the start variables cannot be encoded: %v", err)
	}
	if len(b) > MaxStartVariablesBytes {
		return Errorf(TooLarge, "the start variables take %d bytes of JSON: at most %d KiB are accepted; keep data in datasets and pass their ids",
			len(b), MaxStartVariablesBytes>>10)
	}
	var probs []Problem
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !variableName(k) {
			probs = append(probs, Problem{Field: "variables." + k, Message: "a variable name is a letter or _ followed by letters, digits or _ (at most 64 characters)"})
		} else if why, ok := reservedStartVariables[k]; ok {
			probs = append(probs, Problem{Field: "variables." + k, Message: "reserved: " + why})
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
		probs = append(probs, Problem{Field: "variables", Message: fmt.Sprintf("more than %d values", MaxStartVariablesValues)})
	}
	if depth > MaxStartVariablesDepth {
		probs = append(probs, Problem{Field: "variables", Message: fmt.Sprintf("nested deeper than %d levels", MaxStartVariablesDepth)})
	}
	if len(probs) > 0 {
		return &Error{Kind: Invalid, Msg: "the start variables are invalid", Problems: probs}
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
// completion data, named by where in problems) bind a request of dept to
// (designer.VarDataset, designer.VarFile): they must exist (Invalid) and
// belong to the department (Forbidden, audited as action), the file to the
// dataset. The data activities check the same again when they run.
func (s *Service) checkObjects(ctx context.Context, c Caller, action, where, dept string, vars map[string]any) error {
	invalid := func(name, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return &Error{Kind: Invalid, Msg: "the " + where + " are invalid",
			Problems: []Problem{{Field: where + "." + name, Message: msg}}}
	}
	idOf := func(name string) (string, bool, error) {
		v, ok := vars[name]
		if !ok || v == nil {
			return "", false, nil
		}
		id, isText := v.(string)
		if !isText || strings.TrimSpace(id) == "" {
			return "", false, invalid(name, "an id (text) is expected")
		}
		return strings.TrimSpace(id), true, nil
	}
	foreign := func(objType, id, owner string) error {
		msg := fmt.Sprintf("%s %q belongs to department %s: an instance of department %s cannot use it", objType, id, owner, dept)
		s.audit(ctx, c, audit.Entry{Action: action, ObjectType: objType, ObjectID: id, Department: dept, Outcome: audit.Denied,
			Detail: audit.Detail(map[string]any{"reason": msg, "owner": owner})})
		return Errorf(Forbidden, "%s", msg).French("« %s » appartient au service %s : une demande du service %s ne peut pas l'utiliser.", id, owner, dept)
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
			return invalid(designer.VarDataset, "no dataset %q", dsID)
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
		return invalid(designer.VarFile, "no staged file %q", fileID)
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
		return invalid(designer.VarFile, "file %q is a file of dataset %q, not of %q", f.ID, f.DatasetID, ds.ID)
	}
	return nil
}

// checkCompletionFile checks the file that completion data name (a form's
// "file" field, as the correction task of the default flow has): a staged
// file of the request's dataset. The dataset itself is fixed at start.
func (s *Service) checkCompletionFile(ctx context.Context, c Caller, t store.Task, data map[string]any) error {
	if v, ok := data[designer.VarFile]; !ok || v == nil {
		return nil
	}
	in, err := s.store.Instance(ctx, t.InstanceID)
	if err != nil {
		return err
	}
	vars := map[string]any{designer.VarFile: data[designer.VarFile]}
	if ds, ok := in.Variables()[designer.VarDataset]; ok {
		vars[designer.VarDataset] = ds
	}
	return s.checkObjects(ctx, c, "task.complete", "data", in.Department, vars)
}

// launch records and starts a request of a deployed flow version. A start
// that Temporal refuses leaves no row.
func (s *Service) launch(ctx context.Context, req StartInput, initiator workflows.Actor) (string, error) {
	st, tc := s.store, s.temporal
	v, err := st.FlowVersion(ctx, req.Flow, req.Version)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", &Error{Kind: Invalid, Msg: err.Error(), Fr: "Cette démarche n'est pas déployée.", Err: err}
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
		TaskQueue: s.cfg.WorkerTaskQueue,
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
		return &Error{Kind: Invalid, Msg: "the workflow engine refused the start: " + invalid.Message,
			Fr: "Le moteur de processus a refusé le lancement de la demande.", Err: err}
	}
	return &Error{Kind: Unavailable, Msg: "the workflow engine did not start the instance; nothing was recorded, try again in a moment",
		Fr: "Le moteur de processus n'a pas lancé la demande ; rien n'a été enregistré, réessayez dans un instant.", Err: err}
}

// requestFor loads a request on which the caller may do act.
func (s *Service) requestFor(ctx context.Context, c Caller, id, act string) (store.Instance, error) {
	in, err := s.store.Instance(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return in, &Error{Kind: NotFound, Msg: err.Error(), Fr: "Cette demande n'existe pas.", Err: err}
		}
		return in, err
	}
	if !s.allowedIn(ctx, c, "instances", act, in.Department) {
		if act == "read" {
			return in, Errorf(Forbidden, "you may not see instances of department %s", in.Department).
				French("Les demandes du service %s ne vous sont pas accessibles.", in.Department)
		}
		return in, Errorf(Forbidden, "you may not %s instances of department %s", act, in.Department).
			French("Vous ne pouvez pas agir sur les demandes du service %s.", in.Department)
	}
	return in, nil
}

// Request is a request as its reader sees it: the read model, overlaid
// with the workflow's live state when it answers.
type Request struct {
	store.Instance
	// Status, Message, Current and Variables are the live ones when the
	// workflow answered, else the read model's.
	Status    string
	Message   string
	Current   []string
	Variables map[string]any
	History   []workflows.HistoryEntry
	// Live says the workflow answered: OpenTasks and Incidents are set.
	Live      bool
	OpenTasks []workflows.OpenTask
	Incidents []workflows.Incident
	// Activities are the service tasks in flight (nil unless running).
	Activities []ActivityInFlight
	// IncidentDetails says the caller sees the errors behind incidents;
	// otherwise their messages are IncidentNotice.
	IncidentDetails bool
}

// incidentAction is the permission on "instances" that resolves incidents
// (retry, skip, cancel). Who has it in the request's department sees what
// stopped a step (raw network, Go or SQL errors, internal addresses…);
// the other readers see IncidentNotice instead.
const incidentAction = "cancel"

// IncidentNotice replaces an incident's message for readers.
const IncidentNotice = "an automatic step stopped on an error; its details are shown to those who may resolve incidents in this department"

// Request is a request the caller may read, with its live state, the
// service tasks in flight and, if the caller may resolve incidents, what
// stopped a step.
func (s *Service) Request(ctx context.Context, c Caller, id string) (Request, error) {
	in, err := s.requestFor(ctx, c, id, "read")
	if err != nil {
		return Request{}, err
	}
	r := Request{Instance: in, Status: in.Status, Message: in.Message, Current: in.Current(), Variables: in.Variables(),
		History: []workflows.HistoryEntry{}}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s.temporal == nil {
		s.log.Debug("no workflow engine; answering from the read model", "instance", in.ID)
	} else if st, err := QueryState(qctx, s.temporal, in.ID); err == nil {
		r.Live = true
		if in.Status == workflows.StatusRunning || in.Status == workflows.StatusIncident {
			if st.Status != "" {
				r.Status = st.Status
			}
		}
		r.Current = st.Current
		if r.Current == nil {
			r.Current = []string{}
		}
		if st.Variables != nil {
			r.Variables = st.Variables
		}
		r.History, r.OpenTasks, r.Incidents = st.History, st.OpenTasks, st.Incidents
		if st.Status == workflows.StatusRunning || st.Status == workflows.StatusIncident {
			r.Activities = s.activitiesInFlight(qctx, in.ID)
		}
		if r.Status == workflows.StatusIncident && len(st.Incidents) > 0 {
			// The read model's message may lag behind the live status.
			r.Message = st.Incidents[len(st.Incidents)-1].Message
		}
	} else {
		s.log.Debug("instance state query failed; answering from the read model", "instance", in.ID, "err", err)
	}
	r.IncidentDetails = s.allowedIn(ctx, c, "instances", incidentAction, in.Department)
	if !r.IncidentDetails {
		r.Message = hiddenMessage(r.Status, r.Message)
		if r.Live {
			hidden := make([]workflows.Incident, len(r.Incidents))
			for i, inc := range r.Incidents {
				inc.Message = IncidentNotice
				hidden[i] = inc
			}
			r.Incidents = hidden
		}
		hidden := make([]workflows.HistoryEntry, len(r.History))
		for i, h := range r.History {
			if h.Event == "incident" && h.Message != "" {
				h.Message = IncidentNotice
			}
			hidden[i] = h
		}
		r.History = hidden
	}
	return r, nil
}

// hiddenMessage is what a reader who may not resolve incidents sees of a
// request's message.
func hiddenMessage(status, msg string) string {
	if msg != "" && (status == workflows.StatusIncident || status == workflows.StatusFailed) {
		return IncidentNotice
	}
	return msg
}

// ActivityInFlight is a service task being run: its attempt, and the
// progress its last heartbeat reported (workflows.Progress).
type ActivityInFlight struct {
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

// activitiesInFlight lists the service tasks a request is running, from
// Temporal's pending activities (the bookkeeping of the inbox and of the
// request list is left out). Errors give an empty list: the progress is a
// nicety of the answer.
func (s *Service) activitiesInFlight(ctx context.Context, id string) []ActivityInFlight {
	out := []ActivityInFlight{}
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
		a := ActivityInFlight{Activity: name, Attempt: pa.GetAttempt(), State: activityState(pa.GetState())}
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

// RequestFilter selects requests.
type RequestFilter struct {
	Status     string
	Flow       string
	Department string
	Limit      int // 0: all
	Offset     int
}

// RequestRow is a request in a list; Message is hidden as in Request.
type RequestRow struct {
	store.Instance
	IncidentDetails bool
}

// ListRequests lists the requests of the departments whose requests the
// caller may read.
func (s *Service) ListRequests(ctx context.Context, c Caller, f RequestFilter) ([]RequestRow, error) {
	sf := store.InstanceFilter{Status: f.Status, Flow: f.Flow, Department: f.Department, Limit: f.Limit, Offset: f.Offset}
	switch f.Status {
	case "", workflows.StatusRunning, workflows.StatusIncident, workflows.StatusCompleted, workflows.StatusCancelled, workflows.StatusTerminated, workflows.StatusFailed:
	default:
		return nil, Errorf(BadRequest, "status %q is not one of running, incident, completed, cancelled, terminated, failed", f.Status)
	}
	if s.auth != nil {
		depts := s.auth.Departments(ctx, c.Principal, "instances", "read")
		if !(len(depts) == 1 && depts[0] == auth.AllDepartments) {
			sf.Departments = depts
			if sf.Departments == nil {
				sf.Departments = []string{}
			}
		}
	}
	list, err := s.store.ListInstances(ctx, sf)
	if err != nil {
		return nil, err
	}
	out := make([]RequestRow, 0, len(list))
	details := map[string]bool{} // department → the caller sees incident details
	for _, in := range list {
		see, ok := details[in.Department]
		if !ok {
			see = s.allowedIn(ctx, c, "instances", incidentAction, in.Department)
			details[in.Department] = see
		}
		if !see {
			in.Message = hiddenMessage(in.Status, in.Message)
		}
		out = append(out, RequestRow{Instance: in, IncidentDetails: see})
	}
	return out, nil
}

// CancelRequest asks a running request (or one in incident) to stop.
//
// Who may cancel requests in its department may, and so may the person
// who started it (MayCancel).
func (s *Service) CancelRequest(ctx context.Context, c Caller, id string) (store.Instance, error) {
	in, err := s.requestFor(ctx, c, id, "read")
	if err != nil {
		return in, err
	}
	if !s.MayCancel(ctx, c, in) {
		return in, Errorf(Forbidden, "you may not cancel instances of department %s", in.Department).
			French("Seuls la personne qui a lancé la demande et les responsables du service %s peuvent l'annuler.", in.Department)
	}
	status := in.Status
	if status == workflows.StatusRunning || status == workflows.StatusIncident {
		// The read model may lag behind a cancellation in progress.
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if st, err := QueryState(qctx, s.temporal, in.ID); err == nil && st.Status != "" {
			status = st.Status
		}
		cancel()
	}
	switch status {
	case workflows.StatusRunning, workflows.StatusIncident:
	default:
		return in, Errorf(Conflict, "instance %s is %s and cannot be cancelled", in.ID, status).
			French("Cette demande ne peut plus être annulée.")
	}
	if err := s.temporal.CancelWorkflow(ctx, in.ID, ""); err != nil {
		return in, err
	}
	s.audit(ctx, c, audit.Entry{Action: "instance.cancel", ObjectType: "instance", ObjectID: in.ID, Department: in.Department})
	return in, nil
}

// ResolveInput says how to resolve an incident.
type ResolveInput struct {
	Node      string         `json:"node,omitempty"`
	Action    string         `json:"action"`
	Variables map[string]any `json:"variables,omitempty"`
}

// ResolveIncident retries, skips or cancels the step a request stopped on.
func (s *Service) ResolveIncident(ctx context.Context, c Caller, id string, r ResolveInput) (store.Instance, error) {
	in, err := s.requestFor(ctx, c, id, incidentAction)
	if err != nil {
		return in, err
	}
	switch r.Action {
	case workflows.ResolveRetry, workflows.ResolveSkip, workflows.ResolveCancel:
	default:
		return in, Errorf(Invalid, `"action" must be retry, skip or cancel`).French("Choisissez : relancer, passer ou annuler.")
	}
	if _, err := s.update(ctx, in.ID, workflows.UpdateResolve, workflows.ResolveRequest{
		Node: r.Node, Action: r.Action, Variables: r.Variables, Actor: actorOf(c.Principal, ""),
	}); err != nil {
		return in, err
	}
	s.audit(ctx, c, audit.Entry{Action: "incident." + r.Action, ObjectType: "instance", ObjectID: in.ID, Department: in.Department,
		Detail: audit.Detail(map[string]any{"node": r.Node})})
	return in, nil
}
