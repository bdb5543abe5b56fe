package workflows

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/civicflow/civicflow/designer"
)

// Tunables of the interpreter.
const (
	// MaxHistoryEvents triggers continue-as-new (besides the server's suggestion).
	MaxHistoryEvents = 4000
	// MaxHistoryEntries bounds State.History.
	MaxHistoryEntries = 200
	// DefaultRetries is the number of attempts of a service task.
	DefaultRetries = 5
	// maxSteps bounds the steps taken without waiting (a loop of gateways).
	maxSteps  = 10_000
	maxClosed = 500
)

// BookkeepingOptions are used for task and instance activities: retried
// until they succeed, since the read models must follow the workflow.
// Activities run on the workflow's own task queue (no TaskQueue here): the
// flows' queue for real instances, the sandbox queue for tries, whose
// worker answers every activity with a stub (SandboxTaskQueue).
var BookkeepingOptions = workflow.ActivityOptions{
	// Short: these are single-row writes; a worker killed mid-activity
	// must not leave a task "being opened" for long.
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
	},
}

// ServiceOptions returns the activity options of a service task.
func ServiceOptions(retries int) workflow.ActivityOptions {
	if retries <= 0 {
		retries = DefaultRetries
	}
	return workflow.ActivityOptions{
		// No TaskQueue: the workflow's own (see BookkeepingOptions).
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    ServiceHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			MaximumAttempts: int32(retries),
		},
	}
}

type pending struct {
	f        workflow.Future
	activity bool
	fn       func(workflow.Future)
}

type interp struct {
	ctx      workflow.Context
	in       Input
	idx      map[string]designer.Located
	st       *State
	pend     []*pending
	wake     workflow.Channel
	progs    map[string]*vm.Program
	cancels  map[int]workflow.CancelFunc    // token → its activity or timer
	bcancels map[string]workflow.CancelFunc // taskID|boundary → timer
	opened   map[string]bool                // task ids whose open activity completed
	done     *Output                        // set when the run must end
}

// Interpreter runs one instance of a compiled flow.
func Interpreter(ctx workflow.Context, in Input) (Output, error) {
	ctx = workflow.WithActivityOptions(ctx, BookkeepingOptions)
	if in.InstanceID == "" {
		// Started by a schedule (timer start event): the workflow id,
		// unique per firing, is the instance id.
		in.InstanceID = workflow.GetInfo(ctx).WorkflowExecution.ID
	}
	it := &interp{ctx: ctx, in: in, idx: in.Graph.Index(), progs: map[string]*vm.Program{},
		cancels: map[int]workflow.CancelFunc{}, bcancels: map[string]workflow.CancelFunc{},
		opened: map[string]bool{}, wake: workflow.NewBufferedChannel(ctx, 1)}
	if err := it.register(); err != nil {
		return Output{Status: StatusFailed}, err
	}
	if in.State != nil {
		it.restore(in.State)
	} else if err := it.init(); err != nil {
		return Output{Status: StatusFailed, Message: err.Error()}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	return it.run()
}

func (it *interp) init() error {
	start := it.in.StartEvent
	if start == "" {
		start = it.in.Graph.Start
	}
	if start == "" && len(it.in.Graph.TimerStarts) > 0 {
		start = it.in.Graph.TimerStarts[0]
	}
	if loc, ok := it.idx[start]; !ok || loc.Node.Kind != designer.KindStart {
		return fmt.Errorf("start event %q not found in graph %q", start, it.in.Graph.ID)
	}
	vars := map[string]any{}
	for _, k := range workflow.DeterministicKeys(it.in.Variables) {
		vars[k] = it.in.Variables[k]
	}
	if it.in.Initiator.Username != "" {
		vars[InitiatorVar] = it.in.Initiator.Username
	}
	it.st = &State{Status: StatusRunning, Variables: vars, Joins: map[string]int{},
		Counters: map[string]int{}, Completions: map[string]Completion{}}
	if it.sandbox() && len(it.in.Sandbox.Answers) > 0 {
		it.st.Answers = map[string]SandboxAnswer{}
		for _, k := range workflow.DeterministicKeys(it.in.Sandbox.Answers) {
			it.st.Answers[k] = it.in.Sandbox.Answers[k]
		}
	}
	it.newToken(start, 0)
	it.history("", "", "started", it.in.Initiator.Username, "")
	it.instanceUpdate(StatusRunning, "", "")
	return nil
}

func (it *interp) restore(st *State) {
	it.st = st
	if st.Joins == nil {
		st.Joins = map[string]int{}
	}
	if st.Counters == nil {
		st.Counters = map[string]int{}
	}
	if st.Completions == nil {
		st.Completions = map[string]Completion{}
	}
	if st.Variables == nil {
		st.Variables = map[string]any{}
	}
	st.Runs++
	for _, t := range st.OpenTasks {
		it.opened[t.TaskID] = true
	}
	for _, t := range st.Tokens {
		if t.Wait == "timer" {
			it.armTimer(t.ID)
		}
	}
	for _, b := range st.Boundaries {
		it.armBoundary(b.TaskID, b.Node)
	}
	it.history("", "", "continued", "", fmt.Sprintf("run %d", st.Runs+1))
}

func (it *interp) run() (Output, error) {
	ctx := it.ctx
	for {
		it.stepReady()
		if it.done == nil && len(it.st.Tokens) == 0 {
			it.done = &Output{Status: StatusCompleted}
		}
		if it.done != nil {
			return it.finish(*it.done)
		}
		if it.wantContinueAsNew() && it.inflight() == 0 {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return it.cancelled()
			}
			if it.inflight() == 0 && it.done == nil {
				st := it.snapshot()
				next := it.in
				next.Variables, next.State = nil, &st
				return Output{Status: st.Status}, workflow.NewContinueAsNewError(ctx, InterpreterName, next)
			}
			continue
		}
		sel := workflow.NewSelector(ctx)
		cancelled := false
		for _, p := range it.pend {
			p := p
			sel.AddFuture(p.f, func(f workflow.Future) {
				it.removePending(p)
				p.fn(f)
			})
		}
		sel.AddReceive(it.wake, func(c workflow.ReceiveChannel, more bool) { c.ReceiveAsync(nil) })
		sel.AddReceive(ctx.Done(), func(c workflow.ReceiveChannel, more bool) { cancelled = true })
		sel.Select(ctx)
		if cancelled || ctx.Err() != nil {
			return it.cancelled()
		}
	}
}

func (it *interp) wantContinueAsNew() bool {
	info := workflow.GetInfo(it.ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > MaxHistoryEvents
}

func (it *interp) inflight() int {
	n := 0
	for _, p := range it.pend {
		if p.activity {
			n++
		}
	}
	return n
}

func (it *interp) await(f workflow.Future, activity bool, fn func(workflow.Future)) {
	it.pend = append(it.pend, &pending{f: f, activity: activity, fn: fn})
}

func (it *interp) removePending(p *pending) {
	for i, q := range it.pend {
		if q == p {
			it.pend = append(it.pend[:i], it.pend[i+1:]...)
			return
		}
	}
}

func (it *interp) signal() { it.wake.SendAsync(true) }

// finish ends the run normally (completed, or cancelled by an operator).
func (it *interp) finish(out Output) (Output, error) {
	ctx := it.ctx
	for _, id := range sortedKeys(it.cancels) {
		it.cancels[id]()
	}
	for _, k := range workflow.DeterministicKeys(it.bcancels) {
		it.bcancels[k]()
	}
	for _, t := range append([]OpenTask(nil), it.st.OpenTasks...) {
		it.closeTask(t.TaskID, TaskCancelled, nil, nil, out.Message)
	}
	for len(it.pend) > 0 {
		p := it.pend[0]
		it.pend = it.pend[1:]
		_ = p.f.Get(ctx, nil)
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return it.cancelled()
	}
	it.st.Tokens = nil
	it.st.Status = out.Status
	it.history("", "", out.Status, "", out.Message)
	_ = workflow.ExecuteActivity(ctx, ActInstance, it.update(out.Status, "", out.Message)).Get(ctx, nil)
	out.Variables = it.st.Variables
	return out, nil
}

// cancelled handles the cancellation of the workflow: open tasks are closed
// as cancelled on a disconnected context.
func (it *interp) cancelled() (Output, error) {
	dctx, _ := workflow.NewDisconnectedContext(it.ctx)
	for _, t := range it.st.OpenTasks {
		_ = workflow.ExecuteActivity(dctx, ActTaskClose, TaskClose{TaskID: t.TaskID, InstanceID: it.in.InstanceID,
			Node: t.Node, Status: TaskCancelled, At: workflow.Now(dctx), Message: "instance cancelled", Seq: it.nextSeq()}).Get(dctx, nil)
	}
	it.st.OpenTasks = nil
	it.st.Status = StatusCancelled
	it.history("", "", StatusCancelled, "", "instance cancelled")
	_ = workflow.ExecuteActivity(dctx, ActInstance, it.update(StatusCancelled, "", "instance cancelled")).Get(dctx, nil)
	return Output{Status: StatusCancelled, Variables: it.st.Variables}, temporal.NewCanceledError()
}

// ---- tokens ----

func (it *interp) newToken(node string, scope int) int {
	it.st.NextToken++
	it.st.Tokens = append(it.st.Tokens, Token{ID: it.st.NextToken, Node: node, Scope: scope})
	return it.st.NextToken
}

func (it *interp) token(id int) *Token {
	for i := range it.st.Tokens {
		if it.st.Tokens[i].ID == id {
			return &it.st.Tokens[i]
		}
	}
	return nil
}

// removeToken drops a token; when its scope becomes empty, the sub-process
// token waiting on it moves on.
func (it *interp) removeToken(id int) {
	var scope int
	for i := range it.st.Tokens {
		if it.st.Tokens[i].ID == id {
			scope = it.st.Tokens[i].Scope
			it.st.Tokens = append(it.st.Tokens[:i], it.st.Tokens[i+1:]...)
			break
		}
	}
	it.checkScope(scope)
}

func (it *interp) checkScope(scope int) {
	if scope == 0 {
		return
	}
	for _, t := range it.st.Tokens {
		if t.Scope == scope {
			return
		}
	}
	parent := it.token(scope)
	if parent == nil {
		return
	}
	node := it.idx[parent.Node].Node
	parent.Wait = ""
	it.history(node.ID, node.Kind, "completed", "", "")
	it.move(parent.ID, node.Outgoing)
}

// move sends the token along flows: the first reuses it, others fork.
func (it *interp) move(id int, flows []designer.Flow) {
	t := it.token(id)
	if t == nil {
		return
	}
	if len(flows) == 0 {
		it.removeToken(id)
		return
	}
	scope := t.Scope
	t.Node, t.Wait, t.TaskID, t.Deadline = flows[0].Target, "", "", nil
	for _, f := range flows[1:] {
		it.newToken(f.Target, scope)
	}
}

func (it *interp) stepReady() {
	steps := 0
	for it.done == nil {
		var next *Token
		for i := range it.st.Tokens {
			t := &it.st.Tokens[i]
			if t.Wait == "" && (next == nil || t.ID < next.ID) {
				next = t
			}
		}
		if next == nil {
			return
		}
		steps++
		if steps > maxSteps {
			it.incident(next.ID, next.Node, "more than 10000 steps without waiting: check the flow for a loop without task or timer")
			continue
		}
		it.enter(next.ID)
	}
}

func (it *interp) enter(id int) {
	t := it.token(id)
	loc, ok := it.idx[t.Node]
	if !ok {
		it.incident(id, t.Node, "node not found in graph")
		return
	}
	n := loc.Node
	switch n.Kind {
	case designer.KindStart, designer.KindBoundary:
		it.move(id, n.Outgoing)
	case designer.KindEnd:
		it.history(n.ID, n.Kind, "reached", "", "")
		if n.Terminate {
			it.terminate(t.Scope, n.ID)
			return
		}
		it.removeToken(id)
	case designer.KindExclusive:
		it.exclusive(id, n)
	case designer.KindParallel:
		if n.Incoming > 1 {
			key := fmt.Sprintf("%d/%s", t.Scope, n.ID)
			it.st.Joins[key]++
			if it.st.Joins[key] < n.Incoming {
				it.removeToken(id)
				return
			}
			if it.st.Joins[key] -= n.Incoming; it.st.Joins[key] == 0 {
				delete(it.st.Joins, key)
			}
		}
		it.move(id, n.Outgoing)
	case designer.KindService:
		it.service(id, n)
	case designer.KindUserTask:
		it.openTask(id, n)
	case designer.KindTimer:
		at, err := n.Timer.Fire(workflow.Now(it.ctx), time.Time{}, 0)
		if err != nil {
			it.incident(id, n.ID, "timer: "+err.Error())
			return
		}
		t.Wait, t.Deadline = "timer", &at
		it.history(n.ID, n.Kind, "waiting", "", "until "+at.UTC().Format(time.RFC3339))
		it.armTimer(id)
	case designer.KindSub:
		t.Wait = "sub"
		it.history(n.ID, n.Kind, "entered", "", "")
		it.newToken(n.Sub.Start, id)
	default:
		it.incident(id, n.ID, "unsupported node kind "+n.Kind)
	}
}

// terminate ends every token of the scope (and nested scopes): tasks are
// closed as cancelled, activities and timers cancelled.
func (it *interp) terminate(scope int, by string) {
	kill := map[int]bool{}
	changed := true
	for changed {
		changed = false
		for _, t := range it.st.Tokens {
			if !kill[t.ID] && (t.Scope == scope || kill[t.Scope]) {
				kill[t.ID] = true
				changed = true
			}
		}
	}
	var keep []Token
	for _, t := range it.st.Tokens {
		if !kill[t.ID] {
			keep = append(keep, t)
			continue
		}
		if c := it.cancels[t.ID]; c != nil {
			c()
			delete(it.cancels, t.ID)
		}
		if t.TaskID != "" {
			it.closeTask(t.TaskID, TaskCancelled, nil, nil, "terminated by "+by)
		}
	}
	for i := len(it.st.Incidents) - 1; i >= 0; i-- {
		if kill[it.st.Incidents[i].Token] {
			it.st.Incidents = append(it.st.Incidents[:i], it.st.Incidents[i+1:]...)
		}
	}
	it.st.Tokens = keep
	if scope == 0 {
		it.done = &Output{Status: StatusCompleted, Message: "terminated by end event " + by}
		return
	}
	it.checkScope(scope)
}

// ---- expressions & variables ----

func (it *interp) program(code string, asBool bool) (*vm.Program, error) {
	key := fmt.Sprint(asBool, ":", code)
	if p, ok := it.progs[key]; ok {
		return p, nil
	}
	p, err := designer.CompileExpr(code, asBool)
	if err != nil {
		return nil, err
	}
	it.progs[key] = p
	return p, nil
}

func (it *interp) eval(code string, asBool bool, env map[string]any) (any, error) {
	p, err := it.program(code, asBool)
	if err != nil {
		return nil, err
	}
	return designer.Eval(p, env)
}

func (it *interp) exclusive(id int, n *designer.Node) {
	var chosen, def *designer.Flow
	for i := range n.Outgoing {
		f := &n.Outgoing[i]
		if f.Default {
			def = f
			continue
		}
		if f.Condition == "" {
			chosen = f
			break
		}
		v, err := it.eval(f.Condition, true, it.st.Variables)
		if err != nil {
			it.incident(id, n.ID, fmt.Sprintf("condition of flow %s: %v", f.ID, firstLine(err.Error())))
			return
		}
		if b, _ := v.(bool); b {
			chosen = f
			break
		}
	}
	if chosen == nil {
		chosen = def
	}
	if chosen == nil {
		it.incident(id, n.ID, "no condition matched and there is no default flow")
		return
	}
	it.move(id, []designer.Flow{*chosen})
}

func copyVars(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for _, k := range workflow.DeterministicKeys(m) {
		out[k] = m[k]
	}
	return out
}

// setPath sets a variable or a dotted path, creating maps on the way.
func setPath(vars map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	m := vars
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
		} else {
			next = copyVars(next)
		}
		m[p] = next
		m = next
	}
	m[parts[len(parts)-1]] = v
}

func (it *interp) applyInputs(ms []designer.Mapping) (map[string]any, error) {
	vars := copyVars(it.st.Variables)
	for _, m := range ms {
		v, err := it.eval(m.Source, false, it.st.Variables)
		if err != nil {
			return nil, fmt.Errorf("input mapping %s: %v", m.Target, firstLine(err.Error()))
		}
		setPath(vars, m.Target, v)
	}
	return vars, nil
}

// changeBoundData guards the checks that keep the variables binding an
// instance to its objects (designer.Bound) fixed, and the refusal of
// completion data that the task does not declare.
const changeBoundData = "civicflow-20261130-bound-data"

// boundData reports whether this run applies changeBoundData.
func (it *interp) boundData() bool {
	return workflow.GetVersion(it.ctx, changeBoundData, workflow.DefaultVersion, 1) >= 1
}

// checkBound refuses values that would change a bound variable (the same
// value is accepted: echoing it back changes nothing); rebind names the
// bound variables that may change (a form's "file" field).
func (it *interp) checkBound(values map[string]any, rebind func(string) bool) error {
	for _, k := range workflow.DeterministicKeys(values) {
		if !designer.Bound(k) || (rebind != nil && rebind(k)) {
			continue
		}
		if v, ok := it.st.Variables[k]; !ok || !reflect.DeepEqual(values[k], v) {
			return fmt.Errorf("the variable %s is fixed when the instance starts: nothing may change it afterwards", k)
		}
	}
	return nil
}

// merge applies a result: with output mappings, only mapped values are
// written (sources see variables and result); else all of the result. A
// result that would change a bound variable (designer.Bound, save those
// rebind allows) is refused as a whole.
func (it *interp) merge(result map[string]any, outputs []designer.Mapping, rebind func(string) bool) error {
	if it.boundData() {
		if len(outputs) == 0 {
			if err := it.checkBound(result, rebind); err != nil {
				return err
			}
		}
		for _, m := range outputs {
			if designer.Bound(m.Target) {
				return fmt.Errorf("output mapping %s: the variable is fixed when the instance starts", m.Target)
			}
		}
	}
	if len(outputs) == 0 {
		for _, k := range workflow.DeterministicKeys(result) {
			it.st.Variables[k] = result[k]
		}
		return nil
	}
	env := copyVars(it.st.Variables)
	for _, k := range workflow.DeterministicKeys(result) {
		env[k] = result[k]
	}
	for _, m := range outputs {
		v, err := it.eval(m.Source, false, env)
		if err != nil {
			return fmt.Errorf("output mapping %s: %v", m.Target, firstLine(err.Error()))
		}
		setPath(it.st.Variables, m.Target, v)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// ---- service tasks & incidents ----

func (it *interp) service(id int, n *designer.Node) {
	if it.sandbox() && it.in.Sandbox.Pause {
		// The designer answers this task by hand (sandbox.answer).
		it.token(id).Wait = WaitAnswer
		it.history(n.ID, n.Kind, "waiting", "", "answer")
		return
	}
	it.callService(id, n)
}

// callService runs the service task's activity for the token.
func (it *interp) callService(id int, n *designer.Node) {
	t := it.token(id)
	vars, err := it.applyInputs(n.Service.Inputs)
	if err != nil {
		it.incident(id, n.ID, err.Error())
		return
	}
	t.Wait = "activity"
	actx, cancel := workflow.WithCancel(it.ctx)
	actx = workflow.WithActivityOptions(actx, ServiceOptions(n.Service.Retries))
	it.cancels[id] = cancel
	in := ActivityInput{
		InstanceID: it.in.InstanceID, Flow: it.in.Flow, Version: it.in.Version, Department: it.in.Department,
		NodeID: n.ID, Params: n.Service.Params, Variables: vars,
	}
	if a, ok := it.st.Answers[n.ID]; ok && it.sandbox() {
		in.Sandbox = &a
	}
	f := workflow.ExecuteActivity(actx, n.Service.Activity, in)
	it.await(f, true, func(f workflow.Future) {
		delete(it.cancels, id)
		var res ActivityResult
		err := f.Get(it.ctx, &res)
		t := it.token(id)
		if t == nil || t.Wait != "activity" || t.Node != n.ID {
			return // terminated meanwhile
		}
		if err != nil {
			if temporal.IsCanceledError(err) {
				return
			}
			it.incident(id, n.ID, errorMessage(err))
			return
		}
		// A service task may bind what the start left unbound (a scheduled
		// collection stages the file of its run; data activities check that
		// it is the instance's), never change a binding.
		unbound := func(k string) bool { _, ok := it.st.Variables[k]; return !ok }
		if err := it.merge(res.Variables, n.Service.Outputs, unbound); err != nil {
			it.incident(id, n.ID, err.Error())
			return
		}
		it.history(n.ID, n.Kind, "completed", "", res.Message)
		it.move(id, n.Outgoing)
	})
}

func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		if app.Type() != "" {
			return app.Type() + ": " + app.Message()
		}
		return app.Message()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return "timeout: " + to.Error()
	}
	return err.Error()
}

func (it *interp) incident(id int, node, msg string) {
	t := it.token(id)
	if t == nil {
		return
	}
	t.Wait = "incident"
	it.st.Incidents = append(it.st.Incidents, Incident{Node: node, Message: msg, At: workflow.Now(it.ctx), Token: id})
	it.history(node, "", "incident", "", msg)
	workflow.GetLogger(it.ctx).Warn("incident", "node", node, "message", msg)
	it.instanceUpdate(StatusIncident, node, msg)
}

func (it *interp) instanceUpdate(status, node, msg string) {
	it.st.Status = status
	f := workflow.ExecuteActivity(it.ctx, ActInstance, it.update(status, node, msg))
	it.await(f, true, func(workflow.Future) {})
}

func (it *interp) update(status, node, msg string) InstanceUpdate {
	return InstanceUpdate{InstanceID: it.in.InstanceID, Flow: it.in.Flow, Version: it.in.Version,
		Department: it.in.Department, Status: status, Current: it.current(), Message: msg, Node: node,
		At: workflow.Now(it.ctx), Seq: it.nextSeq()}
}

// nextSeq numbers a read-model write (State.Seq). Workflow code only: the
// numbers follow the deterministic order of the commands.
func (it *interp) nextSeq() int64 {
	it.st.Seq++
	return it.st.Seq
}

func (it *interp) current() []string {
	seen := map[string]bool{}
	out := []string{}
	for _, t := range it.st.Tokens {
		if t.Wait == "sub" || seen[t.Node] {
			continue
		}
		seen[t.Node] = true
		out = append(out, t.Node)
	}
	sort.Strings(out)
	return out
}

func (it *interp) history(node, kind, event, actor, msg string) {
	h := append(it.st.History, HistoryEntry{Node: node, Kind: kind, Event: event, Actor: actor,
		At: workflow.Now(it.ctx), Message: msg})
	if len(h) > MaxHistoryEntries {
		h = append([]HistoryEntry(nil), h[len(h)-MaxHistoryEntries:]...)
	}
	it.st.History = h
}

// ---- timers ----

func (it *interp) armTimer(id int) {
	t := it.token(id)
	d := t.Deadline.Sub(workflow.Now(it.ctx))
	if d < time.Millisecond {
		d = time.Millisecond
	}
	tctx, cancel := workflow.WithCancel(it.ctx)
	it.cancels[id] = cancel
	node := t.Node
	f := workflow.NewTimer(tctx, d)
	it.await(f, false, func(f workflow.Future) {
		if f.Get(it.ctx, nil) != nil {
			return
		}
		delete(it.cancels, id)
		t := it.token(id)
		if t == nil || t.Wait != "timer" || t.Node != node {
			return
		}
		n := it.idx[node].Node
		it.history(n.ID, n.Kind, "fired", "", "")
		it.move(id, n.Outgoing)
	})
}

func sortedKeys(m map[int]workflow.CancelFunc) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

func (it *interp) snapshot() State {
	st := *it.st
	st.Current = it.current()
	return st
}
