// Package workflows holds the one generic interpreter workflow that runs every
// deployed flow version (a designer.Graph given as input), its human-task
// update handlers, and the payload types shared with activities and HTTP.
//
// Workflows do no I/O: deps_test.go enforces it. Every side effect is an
// activity named by a string constant below.
//
// Versioning convention: any change to the interpreter's behaviour that alters
// the commands it emits (activities, timers, their order) must be guarded by
// workflow.GetVersion(ctx, "civicflow-<yyyymmdd>-<what>", workflow.DefaultVersion, 1)
// at the place it changes, keeping the old branch until no run started before
// the change is open. Record each change id in this comment:
//   - civicflow-20261130-bound-data: completion data limited to the keys
//     the task declares; dataset, file and initiator fixed at start
//     (interpreter.go changeBoundData).
//   - civicflow-20261130-close-before-move (tasks.go, complete): the task's
//     inbox row is closed before the token moves on.
//
// The sandbox updates (sandbox.go) need no change id: they exist only on
// sandbox runs, which started after them and never outlive SandboxTimeout.
package workflows

import (
	"time"

	"github.com/civicflow/civicflow/designer"
)

// TaskQueue is the task queue of the interpreter and of every activity.
const TaskQueue = "civicflow"

// Sandbox runs ("Essayer" in the designer): the interpreter runs a draft on
// its own task queue, whose worker registers stubs under the same activity
// names (no store, network or mail); their workflow ids start with
// SandboxPrefix.
const SandboxPrefix = "sandbox-"

// SandboxTaskQueue is the sandbox queue beside the flows' queue q.
func SandboxTaskQueue(q string) string { return q + "-sandbox" }

// Workflow and activity names.
const (
	InterpreterName  = "civicflow.Interpreter"
	HandwrittenName  = "civicflow.Handwritten"
	ActTaskOpen      = "civicflow.task.open"
	ActTaskClose     = "civicflow.task.close"
	ActTaskAssign    = "civicflow.task.assign"
	ActInstance      = "civicflow.instance.update"
	UpdateClaim      = "task.claim"
	UpdateUnclaim    = "task.unclaim"
	UpdateComplete   = "task.complete"
	UpdateResolve    = "incident.resolve"
	QueryState       = "state"
	InitiatorVar     = "initiator"
	PartnerInitiator = "initiator"
)

// Stable ApplicationError types returned by update validators (the HTTP
// layer maps them: 404, 409, 403, 403, 409, 422).
const (
	ErrTaskNotFound     = "TaskNotFound"
	ErrTaskClosed       = "TaskClosed"
	ErrForbidden        = "Forbidden"
	ErrFourEyes         = "FourEyes"
	ErrClaimed          = "Claimed"
	ErrInvalidData      = "InvalidData"
	ErrIncidentNotFound = "IncidentNotFound"
)

// Instance statuses.
const (
	StatusRunning    = "running"
	StatusIncident   = "incident"
	StatusCompleted  = "completed"
	StatusCancelled  = "cancelled"
	StatusTerminated = "terminated"
	StatusFailed     = "failed"
)

// Task statuses.
const (
	TaskOpen      = "open"
	TaskClaimed   = "claimed"
	TaskCompleted = "completed"
	TaskCancelled = "cancelled"
)

// Incident actions.
const (
	ResolveRetry  = "retry"
	ResolveSkip   = "skip"
	ResolveCancel = "cancel"
)

// Actor is an authenticated user, as the HTTP layer supplies it.
type Actor struct {
	ID       int64  `json:"id,omitempty"`
	Username string `json:"username"`
	// OnBehalfOf is the delegator's username when acting for someone else.
	OnBehalfOf string `json:"onBehalfOf,omitempty"`
	// Groups are "role@department"; "role@*" means every department.
	Groups []string `json:"groups,omitempty"`
}

// Input starts an interpreter run.
type Input struct {
	Flow       string         `json:"flow"`
	Version    int            `json:"version"`
	Graph      designer.Graph `json:"graph"`
	Department string         `json:"department"`
	Initiator  Actor          `json:"initiator"`
	Variables  map[string]any `json:"variables,omitempty"`
	InstanceID string         `json:"instanceId"`
	// StartEvent picks a start event (a timer start when a schedule started
	// the instance); empty means the none start event.
	StartEvent string `json:"startEvent,omitempty"`
	// State is set by continue-as-new.
	State *State `json:"state,omitempty"`
	// Sandbox is set on the designer's sandbox runs only (sandbox.go).
	Sandbox *SandboxOptions `json:"sandbox,omitempty"`
}

// Output is the result of a finished run.
type Output struct {
	Status    string         `json:"status"`
	Variables map[string]any `json:"variables,omitempty"`
	Message   string         `json:"message,omitempty"`
}

// ActivityInput is what every service-task activity receives.
type ActivityInput struct {
	InstanceID string            `json:"instanceId"`
	Flow       string            `json:"flow"`
	Version    int               `json:"version"`
	Department string            `json:"department"`
	NodeID     string            `json:"nodeId"`
	Params     map[string]string `json:"params,omitempty"`
	Variables  map[string]any    `json:"variables,omitempty"`
	// Sandbox is the designer's answer, on sandbox runs only: the sandbox
	// stub returns it instead of the catalogue sample.
	Sandbox *SandboxAnswer `json:"sandbox,omitempty"`
}

// ActivityResult is what a service-task activity returns: Variables are
// merged into the instance (or picked by output mappings).
type ActivityResult struct {
	Variables map[string]any `json:"variables,omitempty"`
	Message   string         `json:"message,omitempty"`
}

// TaskSpec opens a user task (activity civicflow.task.open).
type TaskSpec struct {
	TaskID     string `json:"taskId"` // InstanceID/nodeID/counter
	InstanceID string `json:"instanceId"`
	Flow       string `json:"flow"`
	Version    int    `json:"version"`
	Node       string `json:"node"`
	Name       string `json:"name,omitempty"`
	Department string `json:"department"`
	Role       string `json:"role,omitempty"`
	// Candidate is the first candidate group, "role@department".
	Candidate      string         `json:"candidate,omitempty"`
	Candidates     []string       `json:"candidates,omitempty"`
	CandidateUsers []string       `json:"candidateUsers,omitempty"`
	Assignee       string         `json:"assignee,omitempty"`
	Form           *designer.Form `json:"form,omitempty"`
	Due            *time.Time     `json:"due,omitempty"`
	FollowUp       *time.Time     `json:"followUp,omitempty"`
	FourEyes       []string       `json:"fourEyes,omitempty"`
	Variables      map[string]any `json:"variables,omitempty"`
	Created        time.Time      `json:"created"`
	// Seq orders the read-model writes of an instance (State.Seq).
	Seq int64 `json:"seq,omitempty"`
}

// OpenTask is a task in the workflow state.
type OpenTask struct {
	TaskSpec
	Status    string `json:"status"` // open or claimed
	ClaimedBy *Actor `json:"claimedBy,omitempty"`
	Token     int    `json:"token"`
}

// TaskClose closes a task (activity civicflow.task.close).
type TaskClose struct {
	TaskID     string         `json:"taskId"`
	InstanceID string         `json:"instanceId"`
	Node       string         `json:"node"`
	Status     string         `json:"status"` // completed or cancelled
	Actor      *Actor         `json:"actor,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	At         time.Time      `json:"at"`
	Message    string         `json:"message,omitempty"`
	Seq        int64          `json:"seq,omitempty"` // see State.Seq
}

// TaskAssign records a claim (Actor set) or an unclaim (Actor nil)
// (activity civicflow.task.assign).
type TaskAssign struct {
	TaskID     string    `json:"taskId"`
	InstanceID string    `json:"instanceId"`
	Actor      *Actor    `json:"actor,omitempty"`
	At         time.Time `json:"at"`
	Seq        int64     `json:"seq,omitempty"` // see State.Seq
}

// InstanceUpdate records a status change (activity civicflow.instance.update).
type InstanceUpdate struct {
	InstanceID string    `json:"instanceId"`
	Flow       string    `json:"flow"`
	Version    int       `json:"version"`
	Department string    `json:"department"`
	Status     string    `json:"status"`
	Current    []string  `json:"current"`
	Message    string    `json:"message,omitempty"`
	Node       string    `json:"node,omitempty"`
	At         time.Time `json:"at"`
	Seq        int64     `json:"seq,omitempty"` // see State.Seq
}

// ClaimRequest is the argument of task.claim and task.unclaim.
type ClaimRequest struct {
	TaskID string `json:"taskId"`
	Actor  Actor  `json:"actor"`
}

// CompleteRequest is the argument of task.complete.
type CompleteRequest struct {
	TaskID string         `json:"taskId"`
	Actor  Actor          `json:"actor"`
	Data   map[string]any `json:"data,omitempty"`
}

// ResolveRequest is the argument of incident.resolve. Node may be empty when
// a single incident is open. Variables are merged before a retry.
type ResolveRequest struct {
	Node      string         `json:"node,omitempty"`
	Action    string         `json:"action"`
	Variables map[string]any `json:"variables,omitempty"`
	Actor     Actor          `json:"actor"`
}

// HistoryEntry is one line of the instance history (bounded).
type HistoryEntry struct {
	Node    string    `json:"node,omitempty"`
	Kind    string    `json:"kind,omitempty"`
	Event   string    `json:"event"`
	Actor   string    `json:"actor,omitempty"`
	At      time.Time `json:"at"`
	Message string    `json:"message,omitempty"`
}

// Incident is a token stopped by an error, waiting for an operator.
type Incident struct {
	Node    string    `json:"node"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
	Token   int       `json:"token"`
}

// Completion records who completed a task node last.
type Completion struct {
	TaskID string    `json:"taskId"`
	Actor  Actor     `json:"actor"`
	At     time.Time `json:"at"`
}

// Token is a position in the graph.
type Token struct {
	ID    int    `json:"id"`
	Node  string `json:"node"`
	Scope int    `json:"scope,omitempty"` // id of the sub-process token, 0 = top level
	// Wait is "" when ready, else activity, task, timer, incident, sub or
	// answer (sandbox: a service task waiting for the designer).
	Wait   string `json:"wait,omitempty"`
	TaskID string `json:"taskId,omitempty"`
	// Timer: when it fires; for boundaries, the firings so far.
	Deadline *time.Time `json:"deadline,omitempty"`
}

// Boundary is an armed boundary timer of an open task.
type Boundary struct {
	Node      string    `json:"node"`
	TaskID    string    `json:"taskId"`
	Activated time.Time `json:"activated"`
	Deadline  time.Time `json:"deadline"`
	Fired     int       `json:"fired"`
}

// State is the whole interpreter state: the query answer, and what
// continue-as-new carries.
type State struct {
	Status      string                `json:"status"`
	Current     []string              `json:"current"`
	Variables   map[string]any        `json:"variables"`
	OpenTasks   []OpenTask            `json:"openTasks"`
	Incidents   []Incident            `json:"incidents,omitempty"`
	History     []HistoryEntry        `json:"history"`
	Tokens      []Token               `json:"tokens,omitempty"`
	Boundaries  []Boundary            `json:"boundaries,omitempty"`
	Joins       map[string]int        `json:"joins,omitempty"`
	Counters    map[string]int        `json:"counters,omitempty"`
	Completions map[string]Completion `json:"completions,omitempty"`
	Closed      []string              `json:"closed,omitempty"` // recently closed task ids
	NextToken   int                   `json:"nextToken"`
	Runs        int                   `json:"runs"` // continue-as-new count
	// Seq numbers the read-model writes (instance and task bookkeeping
	// activities) in the order the interpreter issues them; it is carried
	// across continue-as-new. The activities run concurrently and are
	// retried, so they may land out of order: the store ignores a write
	// older than the last one it applied.
	Seq int64 `json:"seq,omitempty"`
	// Answers are the designer's answers of service tasks (sandbox runs).
	Answers map[string]SandboxAnswer `json:"answers,omitempty"`
}
