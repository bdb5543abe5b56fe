package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/civicflow/civicflow/designer"
)

// The designer's sandbox ("Essayer") drives a run by hand: the designer
// gives the answer of a service task (its output variables, or a failure)
// and fires a waiting timer now. Both are workflow updates, recorded in the
// history like any completion, so the run stays deterministic; the answers
// travel to the sandbox stub in ActivityInput.Sandbox. They are refused on
// every run that is not a sandbox run (Input.Sandbox set and the sandbox
// task queue), so real instances are untouched.

// Sandbox update names.
const (
	UpdateSandboxAnswer = "sandbox.answer"
	UpdateSandboxFire   = "sandbox.fire"
)

// Sandbox refusals (ApplicationError types).
const (
	ErrNotSandbox = "NotSandbox"
	ErrNotWaiting = "NotWaiting"
)

// WaitAnswer is the Token.Wait of a service task waiting for the
// designer's answer (SandboxOptions.Pause).
const WaitAnswer = "answer"

// SandboxOptions drive a sandbox run (Input.Sandbox).
type SandboxOptions struct {
	// Pause stops the token at every service task until the designer
	// answers it (UpdateSandboxAnswer).
	Pause bool `json:"pause,omitempty"`
	// Answers are given at start, by service task node id.
	Answers map[string]SandboxAnswer `json:"answers,omitempty"`
}

// SandboxAnswer is what a service task answers in the sandbox: the output
// variables (as the real activity's result) or, when Fail is set, a
// failure with that message (the token then stops on an incident).
type SandboxAnswer struct {
	Variables map[string]any `json:"variables,omitempty"`
	Fail      string         `json:"fail,omitempty"`
}

// SandboxAnswerRequest is the argument of sandbox.answer: the answer of the
// service task Node, for the token waiting there and later arrivals.
type SandboxAnswerRequest struct {
	Node   string        `json:"node"`
	Answer SandboxAnswer `json:"answer"`
}

// SandboxFireRequest is the argument of sandbox.fire: the intermediate
// timer or boundary timer Node fires now.
type SandboxFireRequest struct {
	Node string `json:"node"`
}

// sandbox reports whether this run is a sandbox run: started with
// sandbox options on the sandbox task queue.
func (it *interp) sandbox() bool {
	return it.in.Sandbox != nil && strings.HasSuffix(workflow.GetInfo(it.ctx).TaskQueueName, SandboxTaskQueue(""))
}

func (it *interp) validateSandboxAnswer(ctx workflow.Context, req SandboxAnswerRequest) error {
	if !it.sandbox() {
		return appErr(ErrNotSandbox, "only a sandbox run takes answers")
	}
	if loc, ok := it.idx[req.Node]; !ok || loc.Node.Kind != designer.KindService {
		return appErr(ErrInvalidData, "%q is not a service task of this flow", req.Node)
	}
	return nil
}

// sandboxAnswer records the answer and starts the service task of the
// tokens waiting for it.
func (it *interp) sandboxAnswer(ctx workflow.Context, req SandboxAnswerRequest) error {
	if it.st.Answers == nil {
		it.st.Answers = map[string]SandboxAnswer{}
	}
	it.st.Answers[req.Node] = req.Answer
	n := it.idx[req.Node].Node
	var waiting []int
	for _, t := range it.st.Tokens {
		if t.Node == req.Node && t.Wait == WaitAnswer {
			waiting = append(waiting, t.ID)
		}
	}
	for _, id := range waiting {
		it.callService(id, n)
	}
	it.signal()
	return nil
}

func (it *interp) validateSandboxFire(ctx workflow.Context, req SandboxFireRequest) error {
	if !it.sandbox() {
		return appErr(ErrNotSandbox, "only a sandbox run fires timers by hand")
	}
	for _, t := range it.st.Tokens {
		if t.Node == req.Node && t.Wait == "timer" {
			return nil
		}
	}
	for _, b := range it.st.Boundaries {
		if b.Node == req.Node {
			return nil
		}
	}
	return appErr(ErrNotWaiting, "no timer waits on %q", req.Node)
}

// sandboxFire fires the timers waiting on the node now: the intermediate
// timers' tokens move on, the boundary timers fire as at their deadline.
func (it *interp) sandboxFire(ctx workflow.Context, req SandboxFireRequest) error {
	var tokens []int
	for _, t := range it.st.Tokens {
		if t.Node == req.Node && t.Wait == "timer" {
			tokens = append(tokens, t.ID)
		}
	}
	for _, id := range tokens {
		if c := it.cancels[id]; c != nil {
			c()
			delete(it.cancels, id)
		}
		n := it.idx[req.Node].Node
		it.history(n.ID, n.Kind, "fired", "", "by hand")
		it.move(id, n.Outgoing)
	}
	var tasks []string
	for _, b := range it.st.Boundaries {
		if b.Node == req.Node {
			tasks = append(tasks, b.TaskID)
		}
	}
	for _, taskID := range tasks {
		key := taskID + "|" + req.Node
		if c := it.bcancels[key]; c != nil {
			c()
			delete(it.bcancels, key)
		}
		it.fireBoundary(taskID, req.Node)
	}
	it.signal()
	return nil
}
