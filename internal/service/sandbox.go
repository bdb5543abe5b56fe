package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/workflows"
)

// The designer's sandbox ("Essayer"): a draft runs on the real interpreter,
// on the sandbox task queue whose worker answers every activity with a stub
// (activities.Sandbox): nothing is written to the store, no inbox row, no
// request, no audit entry of a request. Its runs are driven only by the
// person who started them (memo SandboxStarterMemo) and end by themselves
// after SandboxTimeout.

// SandboxTimeout bounds a sandbox run, so that nothing lingers.
const SandboxTimeout = 30 * time.Minute

// SandboxStarterMemo is the memo key holding the starter's username.
const SandboxStarterMemo = "sandboxStarter"

// SandboxInitiator is the fictitious requester of a sandbox run: the
// designer then plays every candidate, and four-eyes rules between tasks
// still apply as they would.
const SandboxInitiator = "demandeur.essai"

// SandboxDepartment is the department of sandbox runs.
const SandboxDepartment = "essai"

// SandboxTask is an open user task of a sandbox run, with its form.
type SandboxTask struct {
	ID         string          `json:"id"`
	Node       string          `json:"node"`
	Name       string          `json:"name,omitempty"`
	Role       string          `json:"role,omitempty"`
	Candidates []string        `json:"candidates,omitempty"`
	FourEyes   []string        `json:"fourEyes,omitempty"`
	Form       json.RawMessage `json:"form,omitempty"` // form-js schema
}

// SandboxState is what the modeler page shows of a sandbox run.
type SandboxState struct {
	ID        string                   `json:"id"`
	Status    string                   `json:"status"`
	Current   []string                 `json:"current"`
	Done      []string                 `json:"done"`
	Failed    []string                 `json:"failed"`
	Tasks     []SandboxTask            `json:"tasks"`
	Incidents []workflows.Incident     `json:"incidents,omitempty"`
	History   []workflows.HistoryEntry `json:"history"`
	Variables map[string]any           `json:"variables,omitempty"`
	// Services are the service tasks waiting for the designer's answer
	// (pause) or stopped on an incident, with the answer to prefill.
	Services []SandboxService `json:"services"`
	// Timers are the timers waiting, which the designer may fire now.
	Timers []SandboxTimer `json:"timers"`
}

func (s *Service) sandboxReady() error {
	if s.temporal == nil {
		return &Error{Kind: Unavailable, Msg: "the workflow engine is not configured",
			Fr: "Le moteur de processus n'est pas disponible : l'essai ne peut pas démarrer."}
	}
	return nil
}

// SandboxStart is how a sandbox run starts: its start variables and how
// its service tasks answer.
type SandboxStart struct {
	Variables map[string]any
	// Pause stops the token at every service task until the designer
	// answers it (AnswerSandboxService).
	Pause bool
	// Answers replace the catalogue samples, by service task id.
	Answers map[string]workflows.SandboxAnswer
}

// StartSandbox compiles a draft and runs it in the sandbox; it returns the
// run's id.
func (s *Service) StartSandbox(ctx context.Context, c Caller, xml []byte, vars map[string]any) (string, error) {
	return s.StartSandboxWith(ctx, c, xml, SandboxStart{Variables: vars})
}

// StartSandboxWith is StartSandbox with the designer's answers.
func (s *Service) StartSandboxWith(ctx context.Context, c Caller, xml []byte, opts SandboxStart) (string, error) {
	vars := opts.Variables
	if err := s.sandboxReady(); err != nil {
		return "", err
	}
	g, err := CompileFlow(xml)
	if err != nil {
		return "", err
	}
	if s.store != nil {
		if err := ResolveForms(ctx, s.store, g); err != nil {
			return "", err
		}
	}
	if g.Start == "" {
		return "", Errorf(Invalid, "the flow has no none start event").
			French("Ce processus ne démarre que sur une minuterie : ajoutez un événement de début simple pour l'essayer.")
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := workflows.SandboxPrefix + hex.EncodeToString(b[:])
	if vars == nil {
		vars = map[string]any{}
	}
	// The same bounds as a real start: the variables travel in every
	// history event and activity input.
	if err := checkStartVariables(vars); err != nil {
		return "", err
	}
	services := sandboxServices(g)
	if len(opts.Answers) > maxSandboxAnswers {
		return "", Errorf(Invalid, "at most %d answers", maxSandboxAnswers).
			French("Au plus %d réponses de tâches de service par essai.", maxSandboxAnswers)
	}
	for _, node := range slices.Sorted(maps.Keys(opts.Answers)) {
		if _, ok := services[node]; !ok {
			return "", Errorf(Invalid, "%q is not a service task of the draft", node).
				French("« %s » n'est pas une tâche de service de ce schéma : seule une tâche de service reçoit une réponse.", node)
		}
		a, err := checkSandboxAnswer(opts.Answers[node])
		if err != nil {
			return "", err
		}
		opts.Answers[node] = a
	}
	key := g.ID
	g.Key, g.Version = key, 0
	_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                s.sandboxQueue(),
		WorkflowExecutionTimeout: SandboxTimeout,
		Memo:                     map[string]any{SandboxStarterMemo: c.Principal.Username, SandboxServicesMemo: services},
	}, workflows.InterpreterName, workflows.Input{
		Flow: key, Graph: *g, Department: SandboxDepartment,
		Initiator: workflows.Actor{Username: SandboxInitiator}, Variables: vars, InstanceID: id,
		Sandbox: &workflows.SandboxOptions{Pause: opts.Pause, Answers: opts.Answers},
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// sandboxQueue is the sandbox task queue beside the flows' queue.
func (s *Service) sandboxQueue() string {
	q := s.cfg.WorkerTaskQueue
	if q == "" {
		q = workflows.TaskQueue
	}
	return workflows.SandboxTaskQueue(q)
}

var errNoSandbox = &Error{Kind: NotFound, Msg: "no such sandbox run", Fr: "Cet essai n'existe pas ou n'est plus disponible."}

// sandboxOwned checks that id is a sandbox run started by the caller.
func (s *Service) sandboxOwned(ctx context.Context, c Caller, id string) error {
	_, err := s.sandboxRun(ctx, c, id)
	return err
}

// sandboxRun checks that id is a sandbox run started by the caller and
// returns its service tasks' activities (SandboxServicesMemo).
func (s *Service) sandboxRun(ctx context.Context, c Caller, id string) (map[string]string, error) {
	if !strings.HasPrefix(id, workflows.SandboxPrefix) || len(id) > 80 {
		return nil, errNoSandbox
	}
	if err := s.sandboxReady(); err != nil {
		return nil, err
	}
	d, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, errNoSandbox
	}
	if err != nil {
		return nil, err
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetTaskQueue() != s.sandboxQueue() {
		return nil, errNoSandbox
	}
	var starter string
	if p := info.GetMemo().GetFields()[SandboxStarterMemo]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &starter)
	}
	if starter == "" || starter != c.Principal.Username {
		return nil, &Error{Kind: Forbidden, Msg: "this sandbox run was started by someone else",
			Fr: "Cet essai a été lancé par une autre personne : lancez le vôtre avec « Essayer »."}
	}
	services := map[string]string{}
	if p := info.GetMemo().GetFields()[SandboxServicesMemo]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &services)
	}
	return services, nil
}

// SandboxStateOf answers the interpreter's state of a sandbox run.
func (s *Service) SandboxStateOf(ctx context.Context, c Caller, id string) (SandboxState, error) {
	services, err := s.sandboxRun(ctx, c, id)
	if err != nil {
		return SandboxState{}, err
	}
	st, err := QueryState(ctx, s.temporal, id)
	if err != nil {
		return SandboxState{}, &Error{Kind: Unavailable, Msg: "the sandbox run did not answer", Err: err,
			Fr: "L'essai ne répond pas pour l'instant ; réessayez dans un instant."}
	}
	return sandboxView(id, st, services), nil
}

func sandboxView(id string, st workflows.State, services map[string]string) SandboxState {
	v := SandboxState{ID: id, Status: st.Status, Current: st.Current, Done: []string{}, Failed: []string{},
		Tasks: []SandboxTask{}, Incidents: st.Incidents, History: st.History, Variables: st.Variables,
		Services: []SandboxService{}, Timers: []SandboxTimer{}}
	v.Services = sandboxWaitingServices(st, services)
	v.Timers = sandboxTimers(st)
	if v.Current == nil {
		v.Current = []string{}
	}
	for _, h := range st.History {
		switch h.Event {
		case "completed", "reached", "fired", "resolved":
			if h.Node != "" && !slices.Contains(v.Done, h.Node) {
				v.Done = append(v.Done, h.Node)
			}
		}
	}
	for _, inc := range st.Incidents {
		v.Failed = append(v.Failed, inc.Node)
	}
	for _, t := range st.OpenTasks {
		v.Tasks = append(v.Tasks, SandboxTask{ID: t.TaskID, Node: t.Node, Name: t.Name, Role: t.Role,
			Candidates: t.Candidates, FourEyes: t.FourEyes, Form: formSchema(t.Form)})
	}
	return v
}

// formSchema is the form-js schema of a task form: its own, or one made
// of its fields.
func formSchema(f *designer.Form) json.RawMessage {
	if f == nil {
		return nil
	}
	if len(f.Schema) > 0 {
		return f.Schema
	}
	type value struct {
		Value string `json:"value"`
		Label string `json:"label"`
	}
	type comp struct {
		Key      string          `json:"key"`
		Type     string          `json:"type"`
		Label    string          `json:"label"`
		Values   []value         `json:"values,omitempty"`
		Validate map[string]bool `json:"validate,omitempty"`
		Disabled bool            `json:"disabled,omitempty"`
	}
	var comps []comp
	for _, fd := range f.Fields {
		cp := comp{Key: fd.Key, Type: fd.Type, Label: fd.Label, Disabled: fd.ReadOnly}
		if cp.Label == "" {
			cp.Label = fd.Key
		}
		if fd.Required {
			cp.Validate = map[string]bool{"required": true}
		}
		for _, e := range fd.Enum {
			cp.Values = append(cp.Values, value{Value: e, Label: e})
		}
		comps = append(comps, cp)
	}
	b, _ := json.Marshal(map[string]any{"type": "default", "components": comps})
	return b
}

// CompleteSandboxTask completes a user task of a sandbox run through the
// interpreter's update, as a real completion: the designer plays the
// task's candidates; the four-eyes rules and the form's checks apply.
func (s *Service) CompleteSandboxTask(ctx context.Context, c Caller, id, taskID string, data map[string]any) error {
	if err := s.sandboxOwned(ctx, c, id); err != nil {
		return err
	}
	st, err := QueryState(ctx, s.temporal, id)
	if err != nil {
		return &Error{Kind: Unavailable, Msg: "the sandbox run did not answer", Err: err,
			Fr: "L'essai ne répond pas pour l'instant ; réessayez dans un instant."}
	}
	actor := workflows.Actor{ID: c.Principal.UserID, Username: c.Principal.Username}
	for _, t := range st.OpenTasks {
		if t.TaskID == taskID {
			actor.Groups = append(actor.Groups, t.Candidates...)
		}
	}
	if data == nil {
		data = map[string]any{}
	}
	_, err = s.update(ctx, id, workflows.UpdateComplete, workflows.CompleteRequest{TaskID: taskID, Actor: actor, Data: data})
	return err
}

// CancelSandbox ends a sandbox run.
func (s *Service) CancelSandbox(ctx context.Context, c Caller, id string) error {
	if err := s.sandboxOwned(ctx, c, id); err != nil {
		return err
	}
	err := s.temporal.CancelWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil // already over
	}
	return err
}
