package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// sandboxHarness runs the flow as a sandbox run: sandbox options, sandbox
// task queue, and a stub that answers like activities.SandboxService (the
// designer's answer, else valid = true).
func sandboxHarness(t *testing.T, body string, opts *SandboxOptions) *harness {
	h := newHarness(t, wrap(body), nil)
	h.in.Sandbox = opts
	h.in.InstanceID = SandboxPrefix + "1"
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{TaskQueue: SandboxTaskQueue(TaskQueue)})
	stub := func(in ActivityInput) (ActivityResult, error) {
		if a := in.Sandbox; a != nil {
			if a.Fail != "" {
				return ActivityResult{}, temporal.NewNonRetryableApplicationError("échec simulé par le concepteur : "+a.Fail, "", nil)
			}
			return ActivityResult{Variables: a.Variables}, nil
		}
		if in.NodeID != "v" {
			return ActivityResult{Variables: map[string]any{"notified": true}}, nil
		}
		return ActivityResult{Variables: map[string]any{"valid": true}}, nil
	}
	h.service("civicflow.validate", stub)
	h.service("civicflow.notify", stub)
	return h
}

// A service task, then a gateway on its output.
const sandboxGateway = `
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="v"/>
<bpmn:serviceTask id="v" civicflow:activity="civicflow.validate"/>
<bpmn:sequenceFlow id="f1" sourceRef="v" targetRef="g"/>
<bpmn:exclusiveGateway id="g" default="fno"/>
<bpmn:sequenceFlow id="fyes" sourceRef="g" targetRef="ok"><bpmn:conditionExpression>=valid = true</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fno" sourceRef="g" targetRef="n"/>
<bpmn:serviceTask id="n" civicflow:activity="civicflow.notify"/>
<bpmn:sequenceFlow id="fn" sourceRef="n" targetRef="ko"/>
<bpmn:endEvent id="ok"/><bpmn:endEvent id="ko"/>`

func TestSandboxAnswers(t *testing.T) {
	t.Run("sample without answer", func(t *testing.T) {
		h := sandboxHarness(t, sandboxGateway, &SandboxOptions{})
		out := h.run()
		require.Equal(t, StatusCompleted, out.Status)
		require.Equal(t, true, out.Variables["valid"])
		require.Equal(t, "v", h.callList(), "the valid branch")
	})
	t.Run("answer given at start takes the other branch", func(t *testing.T) {
		h := sandboxHarness(t, sandboxGateway, &SandboxOptions{Answers: map[string]SandboxAnswer{"v": {Variables: map[string]any{"valid": false}}}})
		out := h.run()
		require.Equal(t, StatusCompleted, out.Status)
		require.Equal(t, false, out.Variables["valid"])
		require.Equal(t, "v,n", h.callList(), "the other branch")
	})
	t.Run("pause: the token waits for the designer's answer", func(t *testing.T) {
		h := sandboxHarness(t, sandboxGateway, &SandboxOptions{Pause: true})
		h.at(time.Minute, func() {
			st := h.state()
			require.Equal(t, []string{"v"}, st.Current)
			require.Equal(t, WaitAnswer, st.Tokens[0].Wait)
			require.Empty(t, h.callList(), "nothing runs before the answer")
			h.send("answer", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "v", Answer: SandboxAnswer{Variables: map[string]any{"valid": false}}})
		})
		h.at(2*time.Minute, func() {
			st := h.state()
			require.Equal(t, []string{"n"}, st.Current, "the other branch, n waits for its answer")
			h.send("n", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "n"})
		})
		out := h.run()
		require.Equal(t, "ok", h.outcome("answer"))
		require.Equal(t, StatusCompleted, out.Status)
		require.Equal(t, "v,n", h.callList())
	})
	t.Run("a forced failure is an incident; retry after a new answer", func(t *testing.T) {
		h := sandboxHarness(t, sandboxGateway, &SandboxOptions{Pause: true})
		h.at(time.Minute, func() {
			h.send("fail", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "v", Answer: SandboxAnswer{Fail: "serveur injoignable"}})
		})
		h.at(2*time.Minute, func() {
			st := h.state()
			require.Equal(t, StatusIncident, st.Status)
			require.Len(t, st.Incidents, 1)
			require.Equal(t, "v", st.Incidents[0].Node)
			require.Contains(t, st.Incidents[0].Message, "échec simulé par le concepteur : serveur injoignable")
			h.send("fix", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "v", Answer: SandboxAnswer{Variables: map[string]any{"valid": true}}})
			h.send("retry", UpdateResolve, ResolveRequest{Node: "v", Action: ResolveRetry, Actor: Actor{Username: "designer"}})
		})
		h.at(3*time.Minute, func() {
			// Retried: the token waits for an answer again (pause), the
			// new answer is kept for it.
			st := h.state()
			require.Equal(t, WaitAnswer, st.Tokens[0].Wait)
			require.Equal(t, SandboxAnswer{Variables: map[string]any{"valid": true}}, st.Answers["v"])
			h.send("again", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "v", Answer: st.Answers["v"]})
		})
		out := h.run()
		require.Equal(t, "ok", h.outcome("fix"))
		require.Equal(t, "ok", h.outcome("retry"))
		require.Equal(t, "ok", h.outcome("again"))
		require.Equal(t, StatusCompleted, out.Status)
		require.Equal(t, "running,incident,running,completed", h.statuses())
	})
	t.Run("unknown or non-service node refused", func(t *testing.T) {
		h := sandboxHarness(t, sandboxGateway, &SandboxOptions{Pause: true})
		h.at(time.Minute, func() {
			h.send("gw", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "g"})
			h.send("none", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "nope"})
			h.send("ok", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "v"})
		})
		h.run()
		require.Equal(t, ErrInvalidData, h.outcome("gw"))
		require.Equal(t, ErrInvalidData, h.outcome("none"))
		require.Equal(t, "ok", h.outcome("ok"))
	})
}

const sandboxTimers = `
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="w"/>
<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f1" sourceRef="w" targetRef="u"/>
<bpmn:userTask id="u" civicflow:role="agent"/>
<bpmn:boundaryEvent id="late" attachedToRef="u" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f2" sourceRef="late" targetRef="remind"/>
<bpmn:serviceTask id="remind" civicflow:activity="civicflow.notify"/>
<bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="e2"/><bpmn:endEvent id="e2"/>
<bpmn:sequenceFlow id="f4" sourceRef="u" targetRef="e"/><bpmn:endEvent id="e"/>`

func TestSandboxFireTimers(t *testing.T) {
	h := sandboxHarness(t, sandboxTimers, &SandboxOptions{})
	start := h.env.Now()
	h.at(time.Minute, func() {
		h.send("early", UpdateSandboxFire, SandboxFireRequest{Node: "late"}) // not armed yet
		h.send("fire", UpdateSandboxFire, SandboxFireRequest{Node: "w"})
	})
	h.at(2*time.Minute, func() {
		st := h.state()
		require.Equal(t, []string{"u"}, st.Current, "the intermediate timer fired by hand")
		require.Len(t, st.Boundaries, 1)
		h.send("boundary", UpdateSandboxFire, SandboxFireRequest{Node: "late"})
	})
	h.at(3*time.Minute, func() {
		require.Equal(t, "remind", h.callList(), "the boundary timer fired by hand, non-interrupting")
		st := h.state()
		require.Len(t, st.OpenTasks, 1, "the task stays open")
		h.send("done", UpdateComplete, CompleteRequest{TaskID: st.OpenTasks[0].TaskID, Actor: agent})
	})
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, ErrNotWaiting, h.outcome("early"))
	require.Equal(t, "ok", h.outcome("fire"))
	require.Equal(t, "ok", h.outcome("boundary"))
	require.Equal(t, "ok", h.outcome("done"))
	require.Less(t, h.env.Now().Sub(start), time.Hour, "no due date was waited for")
}

// A real instance (no sandbox options, or the flows' queue) refuses both.
func TestSandboxUpdatesRefusedOutsideSandbox(t *testing.T) {
	for name, h := range map[string]*harness{
		"real instance": newHarness(t, wrap(sandboxTimers), nil),
		"options on the flows' queue": func() *harness {
			h := newHarness(t, wrap(sandboxTimers), nil)
			h.in.Sandbox = &SandboxOptions{Pause: true}
			return h
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			h.at(time.Minute, func() {
				h.send("fire", UpdateSandboxFire, SandboxFireRequest{Node: "w"})
				h.send("answer", UpdateSandboxAnswer, SandboxAnswerRequest{Node: "remind"})
			})
			h.at(49*time.Hour, func() {
				h.send("done", UpdateComplete, CompleteRequest{TaskID: h.state().OpenTasks[0].TaskID, Actor: agent})
			})
			h.service("civicflow.notify", nil)
			require.Equal(t, StatusCompleted, h.run().Status)
			require.Equal(t, ErrNotSandbox, h.outcome("fire"))
			require.Equal(t, ErrNotSandbox, h.outcome("answer"))
		})
	}
}
