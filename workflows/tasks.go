package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/civicflow/civicflow/designer"
)

func (it *interp) register() error {
	ctx := it.ctx
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) {
		return it.snapshot(), nil
	}); err != nil {
		return err
	}
	handlers := []struct {
		name string
		fn   any
		v    any
	}{
		{UpdateClaim, it.claim, it.validateClaim},
		{UpdateUnclaim, it.unclaim, it.validateUnclaim},
		{UpdateComplete, it.complete, it.validateComplete},
		{UpdateResolve, it.resolve, it.validateResolve},
		{UpdateSandboxAnswer, it.sandboxAnswer, it.validateSandboxAnswer},
		{UpdateSandboxFire, it.sandboxFire, it.validateSandboxFire},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.fn, workflow.UpdateHandlerOptions{Validator: h.v}); err != nil {
			return err
		}
	}
	return nil
}

// ---- opening and closing ----

func (it *interp) openTask(id int, n *designer.Node) {
	t := it.token(id)
	u := n.User
	now := workflow.Now(it.ctx)
	it.st.Counters[n.ID]++
	taskID := fmt.Sprintf("%s.%s.%d", it.in.InstanceID, n.ID, it.st.Counters[n.ID]) // URL-safe: ids travel in paths
	dept := u.Department
	if dept == "" {
		dept = it.in.Department
	}
	vars, err := it.applyInputs(u.Inputs)
	if err != nil {
		it.incident(id, n.ID, err.Error())
		return
	}
	spec := TaskSpec{TaskID: taskID, InstanceID: it.in.InstanceID, Flow: it.in.Flow, Version: it.in.Version,
		Node: n.ID, Name: n.Name, Department: dept, CandidateUsers: u.CandidateUsers, Assignee: u.Assignee,
		Form: u.Form, FourEyes: u.FourEyes, Variables: vars, Created: now}
	for _, c := range u.Candidates {
		d := c.Department
		if d == "" {
			d = dept
		}
		spec.Candidates = append(spec.Candidates, c.Role+"@"+d)
	}
	if len(u.Candidates) > 0 {
		spec.Role, spec.Candidate = u.Candidates[0].Role, spec.Candidates[0]
	}
	if u.Due != "" {
		if d, err := designer.ParseDuration(u.Due); err == nil {
			due := d.AddTo(now)
			spec.Due = &due
		}
	} else if u.DueDate != "" {
		if due, err := designer.ParseDate(u.DueDate); err == nil {
			spec.Due = &due
		}
	}
	if u.FollowUp != "" {
		if d, err := designer.ParseDuration(u.FollowUp); err == nil {
			f := d.AddTo(now)
			spec.FollowUp = &f
		} else if f, err := designer.ParseDate(u.FollowUp); err == nil {
			spec.FollowUp = &f
		}
	}
	t.Wait, t.TaskID = "task", taskID
	it.st.OpenTasks = append(it.st.OpenTasks, OpenTask{TaskSpec: spec, Status: TaskOpen, Token: id})
	it.history(n.ID, n.Kind, "opened", "", taskID)
	for _, bid := range n.Boundaries {
		b := it.idx[bid].Node
		at, err := b.Timer.Fire(now, time.Time{}, 0)
		if err != nil {
			continue
		}
		it.st.Boundaries = append(it.st.Boundaries, Boundary{Node: bid, TaskID: taskID, Activated: now, Deadline: at})
		it.armBoundary(taskID, bid)
	}
	spec.Seq = it.nextSeq()
	f := workflow.ExecuteActivity(it.ctx, ActTaskOpen, spec)
	it.await(f, true, func(f workflow.Future) {
		if err := f.Get(it.ctx, nil); err != nil {
			if it.findTask(taskID) < 0 {
				return
			}
			it.dropTask(taskID)
			if tok := it.token(id); tok != nil {
				tok.TaskID = ""
			}
			it.incident(id, n.ID, "open task: "+errorMessage(err))
			return
		}
		it.opened[taskID] = true
	})
}

func (it *interp) findTask(taskID string) int {
	for i, t := range it.st.OpenTasks {
		if t.TaskID == taskID {
			return i
		}
	}
	return -1
}

// dropTask removes an open task and its boundary timers from the state.
func (it *interp) dropTask(taskID string) *OpenTask {
	i := it.findTask(taskID)
	if i < 0 {
		return nil
	}
	t := it.st.OpenTasks[i]
	it.st.OpenTasks = append(it.st.OpenTasks[:i], it.st.OpenTasks[i+1:]...)
	var keep []Boundary
	for _, b := range it.st.Boundaries {
		if b.TaskID != taskID {
			keep = append(keep, b)
			continue
		}
		key := taskID + "|" + b.Node
		if c := it.bcancels[key]; c != nil {
			c()
			delete(it.bcancels, key)
		}
	}
	it.st.Boundaries = keep
	it.st.Closed = append(it.st.Closed, taskID)
	if len(it.st.Closed) > maxClosed {
		it.st.Closed = append([]string(nil), it.st.Closed[len(it.st.Closed)-maxClosed:]...)
	}
	delete(it.opened, taskID)
	return &t
}

// closeTask cancels/closes a task from the main loop (asynchronously).
func (it *interp) closeTask(taskID, status string, actor *Actor, data map[string]any, msg string) {
	t := it.dropTask(taskID)
	if t == nil {
		return
	}
	it.history(t.Node, designer.KindUserTask, status, "", msg)
	f := workflow.ExecuteActivity(it.ctx, ActTaskClose, TaskClose{TaskID: taskID, InstanceID: it.in.InstanceID,
		Node: t.Node, Status: status, Actor: actor, Data: data, At: workflow.Now(it.ctx), Message: msg, Seq: it.nextSeq()})
	it.await(f, true, func(workflow.Future) {})
}

// ---- boundary timers ----

func (it *interp) boundary(taskID, node string) *Boundary {
	for i := range it.st.Boundaries {
		if b := &it.st.Boundaries[i]; b.TaskID == taskID && b.Node == node {
			return b
		}
	}
	return nil
}

func (it *interp) armBoundary(taskID, node string) {
	b := it.boundary(taskID, node)
	d := b.Deadline.Sub(workflow.Now(it.ctx))
	if d < time.Millisecond {
		d = time.Millisecond
	}
	key := taskID + "|" + node
	tctx, cancel := workflow.WithCancel(it.ctx)
	it.bcancels[key] = cancel
	f := workflow.NewTimer(tctx, d)
	it.await(f, false, func(f workflow.Future) {
		if f.Get(it.ctx, nil) != nil {
			return
		}
		delete(it.bcancels, key)
		it.fireBoundary(taskID, node)
	})
}

func (it *interp) fireBoundary(taskID, node string) {
	b := it.boundary(taskID, node)
	i := it.findTask(taskID)
	if b == nil || i < 0 {
		return
	}
	bn := it.idx[node].Node
	tokID := it.st.OpenTasks[i].Token
	it.history(bn.ID, bn.Kind, "fired", "", taskID)
	if bn.Interrupting {
		it.closeTask(taskID, TaskCancelled, nil, nil, "interrupted by timer "+node)
		if t := it.token(tokID); t != nil {
			t.Node, t.Wait, t.TaskID = node, "", ""
		}
		return
	}
	scope := 0
	if t := it.token(tokID); t != nil {
		scope = t.Scope
	}
	it.newToken(node, scope)
	b.Fired++
	next, err := bn.Timer.Fire(b.Activated, b.Deadline, b.Fired)
	if err != nil {
		var keep []Boundary
		for _, x := range it.st.Boundaries {
			if x.TaskID != taskID || x.Node != node {
				keep = append(keep, x)
			}
		}
		it.st.Boundaries = keep
		return
	}
	b.Deadline = next
	it.armBoundary(taskID, node)
}

// ---- updates ----

func appErr(typ, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), typ)
}

// openForActor finds an open task or returns the typed error.
func (it *interp) openForActor(taskID string) (*OpenTask, error) {
	if i := it.findTask(taskID); i >= 0 {
		if !it.opened[taskID] {
			return nil, appErr(ErrTaskNotFound, "task %s is being opened, retry shortly", taskID)
		}
		return &it.st.OpenTasks[i], nil
	}
	for _, c := range it.st.Closed {
		if c == taskID {
			return nil, appErr(ErrTaskClosed, "task %s is already closed", taskID)
		}
	}
	return nil, appErr(ErrTaskNotFound, "no task %s in this instance", taskID)
}

func sameUser(a Actor, username string, id int64) bool {
	return (username != "" && (a.Username == username || a.OnBehalfOf == username)) || (id != 0 && a.ID == id)
}

// mayAct checks candidate groups, candidate users and assignee.
func mayAct(t *OpenTask, a Actor) bool {
	for _, u := range append([]string{t.Assignee}, t.CandidateUsers...) {
		if u != "" && (a.Username == u || a.OnBehalfOf == u) {
			return true
		}
	}
	for _, c := range t.Candidates {
		role, dept, _ := strings.Cut(c, "@")
		for _, g := range a.Groups {
			r, d, _ := strings.Cut(g, "@")
			if r == role && (d == dept || d == "*" || dept == "*") {
				return true
			}
		}
	}
	return false
}

func (it *interp) checkActor(t *OpenTask, a Actor) error {
	if a.Username == "" && a.ID == 0 {
		return appErr(ErrForbidden, "no actor")
	}
	if !mayAct(t, a) {
		return appErr(ErrForbidden, "%s is not a candidate for task %s (%s)", a.Username, t.TaskID, strings.Join(t.Candidates, ", "))
	}
	for _, p := range t.FourEyes {
		if p == PartnerInitiator {
			if sameUser(a, it.in.Initiator.Username, it.in.Initiator.ID) {
				return appErr(ErrFourEyes, "four-eyes rule: the initiator of the instance cannot act on task %s", t.Node)
			}
			continue
		}
		c, ok := it.st.Completions[p]
		if !ok {
			continue
		}
		if sameUser(a, c.Actor.Username, c.Actor.ID) || (c.Actor.OnBehalfOf != "" && sameUser(a, c.Actor.OnBehalfOf, 0)) {
			return appErr(ErrFourEyes, "four-eyes rule: whoever completed %s cannot act on task %s", p, t.Node)
		}
	}
	return nil
}

func (it *interp) validateClaim(ctx workflow.Context, req ClaimRequest) error {
	t, err := it.openForActor(req.TaskID)
	if err != nil {
		return err
	}
	if err := it.checkActor(t, req.Actor); err != nil {
		return err
	}
	if t.ClaimedBy != nil && t.ClaimedBy.Username != req.Actor.Username {
		return appErr(ErrClaimed, "task %s is claimed by %s", t.TaskID, t.ClaimedBy.Username)
	}
	return nil
}

func (it *interp) claim(ctx workflow.Context, req ClaimRequest) error {
	ctx = workflow.WithActivityOptions(ctx, BookkeepingOptions)
	i := it.findTask(req.TaskID)
	if i < 0 {
		return appErr(ErrTaskClosed, "task %s is closed", req.TaskID)
	}
	a := req.Actor
	it.st.OpenTasks[i].ClaimedBy, it.st.OpenTasks[i].Status = &a, TaskClaimed
	it.history(it.st.OpenTasks[i].Node, designer.KindUserTask, "claimed", a.Username, req.TaskID)
	it.signal()
	return workflow.ExecuteActivity(ctx, ActTaskAssign, TaskAssign{TaskID: req.TaskID, InstanceID: it.in.InstanceID,
		Actor: &a, At: workflow.Now(ctx), Seq: it.nextSeq()}).Get(ctx, nil)
}

func (it *interp) validateUnclaim(ctx workflow.Context, req ClaimRequest) error {
	t, err := it.openForActor(req.TaskID)
	if err != nil {
		return err
	}
	if t.ClaimedBy != nil && t.ClaimedBy.Username != req.Actor.Username {
		return appErr(ErrClaimed, "task %s is claimed by %s", t.TaskID, t.ClaimedBy.Username)
	}
	return nil
}

func (it *interp) unclaim(ctx workflow.Context, req ClaimRequest) error {
	ctx = workflow.WithActivityOptions(ctx, BookkeepingOptions)
	i := it.findTask(req.TaskID)
	if i < 0 || it.st.OpenTasks[i].ClaimedBy == nil {
		return nil
	}
	it.st.OpenTasks[i].ClaimedBy, it.st.OpenTasks[i].Status = nil, TaskOpen
	it.history(it.st.OpenTasks[i].Node, designer.KindUserTask, "unclaimed", req.Actor.Username, req.TaskID)
	it.signal()
	return workflow.ExecuteActivity(ctx, ActTaskAssign, TaskAssign{TaskID: req.TaskID, InstanceID: it.in.InstanceID,
		At: workflow.Now(ctx), Seq: it.nextSeq()}).Get(ctx, nil)
}

func (it *interp) validateComplete(ctx workflow.Context, req CompleteRequest) error {
	return it.checkComplete(req, true)
}

// checkComplete validates a completion. strict adds the checks of
// designer.UserTask.CheckCompletion (undeclared keys, bound and read-only
// variables); histories recorded before them replay without.
func (it *interp) checkComplete(req CompleteRequest, strict bool) error {
	t, err := it.openForActor(req.TaskID)
	if err != nil {
		return err
	}
	if err := it.checkActor(t, req.Actor); err != nil {
		return err
	}
	if t.ClaimedBy != nil && t.ClaimedBy.Username != req.Actor.Username {
		return appErr(ErrClaimed, "task %s is claimed by %s", t.TaskID, t.ClaimedBy.Username)
	}
	msgs := t.Form.CheckData(req.Data)
	if loc, ok := it.idx[t.Node]; strict && ok && loc.Node.User != nil {
		msgs = loc.Node.User.CheckCompletion(req.Data, it.st.Variables)
	}
	if len(msgs) > 0 {
		return temporal.NewApplicationError("invalid data: "+strings.Join(msgs, "; "), ErrInvalidData, msgs)
	}
	return nil
}

func (it *interp) complete(ctx workflow.Context, req CompleteRequest) error {
	ctx = workflow.WithActivityOptions(ctx, BookkeepingOptions)
	if err := it.checkComplete(req, it.boundData()); err != nil {
		return err
	}
	t := it.dropTask(req.TaskID)
	n := it.idx[t.Node].Node
	now := workflow.Now(ctx)
	it.st.Completions[t.Node] = Completion{TaskID: t.TaskID, Actor: req.Actor, At: now}
	msg := ""
	if req.Actor.OnBehalfOf != "" {
		msg = "on behalf of " + req.Actor.OnBehalfOf
	}
	it.history(t.Node, n.Kind, TaskCompleted, req.Actor.Username, msg)
	moveOn := func() {
		if err := it.merge(req.Data, n.User.Outputs, n.User.Rebinds); err != nil {
			it.incident(t.Token, n.ID, err.Error())
		} else {
			it.move(t.Token, n.Outgoing)
		}
		it.signal()
	}
	closeFirst := workflow.GetVersion(ctx, changeCloseBeforeMove, workflow.DefaultVersion, 1) == 1
	if !closeFirst {
		moveOn()
	}
	a := req.Actor
	err := workflow.ExecuteActivity(ctx, ActTaskClose, TaskClose{TaskID: t.TaskID, InstanceID: it.in.InstanceID,
		Node: t.Node, Status: TaskCompleted, Actor: &a, Data: req.Data, At: now, Message: msg, Seq: it.nextSeq()}).Get(ctx, nil)
	if closeFirst {
		// The inbox row is closed before the flow moves on: what follows
		// (the publication of a million rows…) cannot slow the closing
		// down, so the caller's answer does not wait for it, and the next
		// task opens after this one closed.
		moveOn()
	}
	return err
}

// changeCloseBeforeMove: task.complete closes the inbox row, then moves the
// token (it used to move it first, which started the next activity beside
// the closing).
const changeCloseBeforeMove = "civicflow-20261130-close-before-move"

func (it *interp) findIncident(node string) (int, error) {
	found := -1
	for i, inc := range it.st.Incidents {
		if node == "" || inc.Node == node {
			if found >= 0 {
				return -1, appErr(ErrInvalidData, "several incidents are open: name the node")
			}
			found = i
		}
	}
	if found < 0 {
		return -1, appErr(ErrIncidentNotFound, "no open incident%s", map[bool]string{true: "", false: " on " + node}[node == ""])
	}
	return found, nil
}

func (it *interp) validateResolve(ctx workflow.Context, req ResolveRequest) error {
	i, err := it.findIncident(req.Node)
	if err != nil {
		return err
	}
	switch req.Action {
	case ResolveRetry, ResolveCancel:
	case ResolveSkip:
		if k := it.idx[it.st.Incidents[i].Node].Node.Kind; k == designer.KindExclusive {
			return appErr(ErrInvalidData, "a gateway cannot be skipped: set variables and retry")
		}
	default:
		return appErr(ErrInvalidData, "unknown action %q (retry, skip or cancel)", req.Action)
	}
	if err := it.checkBound(req.Variables, nil); err != nil {
		return appErr(ErrInvalidData, "%v", err)
	}
	return nil
}

func (it *interp) resolve(ctx workflow.Context, req ResolveRequest) error {
	i, err := it.findIncident(req.Node)
	if err != nil {
		return err
	}
	inc := it.st.Incidents[i]
	it.st.Incidents = append(it.st.Incidents[:i], it.st.Incidents[i+1:]...)
	it.history(inc.Node, "", "resolved", req.Actor.Username, req.Action)
	if len(req.Variables) > 0 {
		_ = it.merge(req.Variables, nil, nil)
	}
	switch req.Action {
	case ResolveCancel:
		it.done = &Output{Status: StatusCancelled, Message: "cancelled by " + req.Actor.Username + " at incident on " + inc.Node}
		it.signal()
		return nil
	case ResolveRetry:
		if t := it.token(inc.Token); t != nil {
			t.Wait = ""
		}
	case ResolveSkip:
		it.move(inc.Token, it.idx[inc.Node].Node.Outgoing)
	}
	if len(it.st.Incidents) == 0 {
		it.instanceUpdate(StatusRunning, inc.Node, "incident resolved: "+req.Action)
	}
	it.signal()
	return nil
}
