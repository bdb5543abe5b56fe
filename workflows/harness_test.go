package workflows

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/civicflow/civicflow/designer"
)

const instanceID = "inst-1"

var (
	steward  = Actor{ID: 2, Username: "steward.voirie", Groups: []string{"steward@voirie"}}
	agent    = Actor{ID: 1, Username: "agent.voirie", Groups: []string{"agent@voirie"}}
	dgs      = Actor{ID: 3, Username: "dgs", Groups: []string{"approver@*"}}
	outsider = Actor{ID: 4, Username: "agent.finances", Groups: []string{"agent@finances", "steward@finances"}}
)

// wrap puts process content into a BPMN document.
func wrap(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="defs">
<bpmn:process id="p" isExecutable="true">` + body + `</bpmn:process></bpmn:definitions>`
}

func compileGraph(t testing.TB, xml string) designer.Graph {
	t.Helper()
	g, problems, err := designer.Compile([]byte(xml), designer.Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	return *g
}

type harness struct {
	t   testing.TB
	env *testsuite.TestWorkflowEnvironment
	in  Input

	mu      sync.Mutex
	calls   []string // service activities, in order
	opened  []TaskSpec
	closed  []TaskClose
	assigns []TaskAssign
	updates []InstanceUpdate
	results map[string]error
	done    map[string]bool
}

func newHarness(t testing.TB, xml string, vars map[string]any) *harness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: s.NewTestWorkflowEnvironment(), results: map[string]error{}, done: map[string]bool{}}
	// The default deadlock detection (a workflow task over 1 s) fires on a
	// busy CI machine under the race detector (scripts/test.sh), where the
	// first expression compilation alone can take that long.
	h.env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 20 * time.Second})
	h.in = Input{Flow: "p", Version: 1, Graph: compileGraph(t, xml), Department: "voirie",
		Initiator: agent, Variables: vars, InstanceID: instanceID}
	h.env.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: InterpreterName})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, s TaskSpec) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.opened = append(h.opened, s)
		return nil
	}, activity.RegisterOptions{Name: ActTaskOpen})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, c TaskClose) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.closed = append(h.closed, c)
		return nil
	}, activity.RegisterOptions{Name: ActTaskClose})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, a TaskAssign) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.assigns = append(h.assigns, a)
		return nil
	}, activity.RegisterOptions{Name: ActTaskAssign})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, u InstanceUpdate) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.updates = append(h.updates, u)
		return nil
	}, activity.RegisterOptions{Name: ActInstance})
	return h
}

// service registers a service activity implemented by fn.
func (h *harness) service(name string, fn func(ActivityInput) (ActivityResult, error)) {
	h.env.RegisterActivityWithOptions(func(ctx context.Context, in ActivityInput) (ActivityResult, error) {
		h.mu.Lock()
		h.calls = append(h.calls, in.NodeID)
		h.mu.Unlock()
		if fn == nil {
			return ActivityResult{}, nil
		}
		return fn(in)
	}, activity.RegisterOptions{Name: name})
}

// at runs fn at d of workflow time.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// send sends an update; its outcome is read with outcome(id).
func (h *harness) send(id, name string, arg any) {
	h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.results[id], h.done[id] = err, true
		},
		OnComplete: func(_ any, err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.results[id], h.done[id] = err, true
		},
	}, arg)
}

func (h *harness) complete(at time.Duration, id, taskID string, a Actor, data map[string]any) {
	h.at(at, func() { h.send(id, UpdateComplete, CompleteRequest{TaskID: taskID, Actor: a, Data: data}) })
}

// outcome returns "ok", the ApplicationError type, or "pending".
func (h *harness) outcome(id string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.done[id] {
		return "pending"
	}
	err := h.results[id]
	if err == nil {
		return "ok"
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return err.Error()
}

func (h *harness) run() Output {
	h.env.ExecuteWorkflow(InterpreterName, h.in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	var out Output
	if err := h.env.GetWorkflowError(); err != nil {
		return Output{Status: "error: " + err.Error()}
	}
	require.NoError(h.t, h.env.GetWorkflowResult(&out))
	return out
}

func (h *harness) state() State {
	v, err := h.env.QueryWorkflow(QueryState)
	require.NoError(h.t, err)
	var st State
	require.NoError(h.t, v.Get(&st))
	return st
}

func (h *harness) callList() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.calls, ",")
}

// statuses lists the instance updates in the order the store applies them:
// by sequence number, not by arrival (the bookkeeping activities run
// concurrently, so they may arrive in any order). No two updates share a
// number (the hand-written twin numbers none: all 0, arrival order).
func (h *harness) statuses() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	us := slices.Clone(h.updates)
	slices.SortStableFunc(us, func(a, b InstanceUpdate) int { return cmp.Compare(a.Seq, b.Seq) })
	var s []string
	for i, u := range us {
		if i > 0 && u.Seq != 0 {
			require.NotEqual(h.t, us[i-1].Seq, u.Seq, "two instance updates with the same sequence number")
		}
		s = append(s, u.Status)
	}
	return strings.Join(s, ",")
}

// closedList lists the task closes by sequence number (see statuses).
func (h *harness) closedList() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := slices.Clone(h.closed)
	slices.SortStableFunc(cs, func(a, b TaskClose) int { return cmp.Compare(a.Seq, b.Seq) })
	var s []string
	for _, c := range cs {
		s = append(s, c.Node+":"+c.Status)
	}
	return strings.Join(s, ",")
}
