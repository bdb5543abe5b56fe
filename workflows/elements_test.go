package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

const seqService = `
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
<bpmn:serviceTask id="a" civicflow:activity="civicflow.ingest"><bpmn:extensionElements>
  <civicflow:param name="format" value="csv"/>
  <zeebe:ioMapping><zeebe:input source="=dataset" target="ds"/><zeebe:output source="=rows * 2" target="stats.double"/></zeebe:ioMapping>
</bpmn:extensionElements></bpmn:serviceTask>
<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`

func TestServiceTask(t *testing.T) {
	h := newHarness(t, wrap(seqService), map[string]any{"dataset": "d1"})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, in ActivityInput) (ActivityResult, error) {
		return ActivityResult{}, nil
	}, activityName("civicflow.ingest"))
	h.env.OnActivity("civicflow.ingest", mock.Anything, mock.MatchedBy(func(in ActivityInput) bool {
		return in.NodeID == "a" && in.Params["format"] == "csv" && in.Variables["ds"] == "d1" && in.InstanceID == instanceID
	})).Return(ActivityResult{Variables: map[string]any{"rows": 21}}, nil).Once()
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, map[string]any{"double": 42.0}, out.Variables["stats"])
	require.NotContains(t, out.Variables, "rows", "output mappings pick what is merged")
	require.Equal(t, "agent.voirie", out.Variables[InitiatorVar])
	require.Equal(t, "running,completed", h.statuses())
	h.env.AssertExpectations(t)
}

const gateway = `
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>
<bpmn:exclusiveGateway id="g" default="fd"/>
<bpmn:sequenceFlow id="fa" sourceRef="g" targetRef="a"><bpmn:conditionExpression>=score &gt; 5 and not(blocked)</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fb" sourceRef="g" targetRef="b"><bpmn:conditionExpression>=kind = "x"</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fd" sourceRef="g" targetRef="c"/>
<bpmn:serviceTask id="a" civicflow:activity="civicflow.noop"/><bpmn:serviceTask id="b" civicflow:activity="civicflow.noop"/><bpmn:serviceTask id="c" civicflow:activity="civicflow.noop"/>
<bpmn:sequenceFlow id="fa2" sourceRef="a" targetRef="e"/><bpmn:sequenceFlow id="fb2" sourceRef="b" targetRef="e"/><bpmn:sequenceFlow id="fc2" sourceRef="c" targetRef="e"/>
<bpmn:endEvent id="e"/>`

func TestExclusiveGateway(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]any
		want string
	}{
		{map[string]any{"score": 6, "blocked": false, "kind": "x"}, "a"}, // document order: first match wins
		{map[string]any{"score": 6, "blocked": true, "kind": "x"}, "b"},
		{map[string]any{"score": 1, "blocked": false}, "c"}, // default
	} {
		h := newHarness(t, wrap(gateway), tc.vars)
		h.service("civicflow.noop", nil)
		require.Equal(t, StatusCompleted, h.run().Status)
		require.Equal(t, tc.want, h.callList(), "%v", tc.vars)
	}
}

func TestExclusiveGatewayNoMatchIsIncident(t *testing.T) {
	xml := wrap(`<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>
<bpmn:exclusiveGateway id="g"/>
<bpmn:sequenceFlow id="fa" sourceRef="g" targetRef="e"><bpmn:conditionExpression>=ok = true</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:endEvent id="e"/>`)
	h := newHarness(t, xml, nil)
	h.at(time.Minute, func() {
		st := h.state()
		require.Equal(t, StatusIncident, st.Status)
		require.Equal(t, "g", st.Incidents[0].Node)
		require.Contains(t, st.Incidents[0].Message, "no condition matched")
		h.send("skip", UpdateResolve, ResolveRequest{Action: ResolveSkip})
		h.send("fix", UpdateResolve, ResolveRequest{Action: ResolveRetry, Variables: map[string]any{"ok": true}})
	})
	require.Equal(t, StatusCompleted, h.run().Status)
	require.Equal(t, ErrInvalidData, h.outcome("skip"), "a gateway cannot be skipped")
	require.Equal(t, "ok", h.outcome("fix"))
	require.Equal(t, "running,incident,running,completed", h.statuses())
}

func TestParallelForkJoin(t *testing.T) {
	xml := wrap(`<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="w"/>
<bpmn:serviceTask id="a" civicflow:activity="civicflow.noop"/>
<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>PT10M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="join"/><bpmn:sequenceFlow id="f4" sourceRef="w" targetRef="join"/>
<bpmn:parallelGateway id="join"/>
<bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="c"/><bpmn:serviceTask id="c" civicflow:activity="civicflow.notify"/>
<bpmn:sequenceFlow id="f6" sourceRef="c" targetRef="e"/><bpmn:endEvent id="e"/>`)
	h := newHarness(t, xml, nil)
	h.service("civicflow.noop", nil)
	h.service("civicflow.notify", nil)
	h.at(5*time.Minute, func() {
		st := h.state()
		require.Equal(t, []string{"w"}, st.Current, "a done, waiting for the timer; join holds one token")
	})
	require.Equal(t, StatusCompleted, h.run().Status)
	require.Equal(t, "a,c", h.callList())
}

func TestIntermediateTimer(t *testing.T) {
	xml := wrap(`<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="w"/>
<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f1" sourceRef="w" targetRef="e"/><bpmn:endEvent id="e"/>`)
	h := newHarness(t, xml, nil)
	start := h.env.Now()
	h.at(47*time.Hour, func() { require.Equal(t, []string{"w"}, h.state().Current) })
	require.Equal(t, StatusCompleted, h.run().Status)
	require.GreaterOrEqual(t, h.env.Now().Sub(start), 48*time.Hour)
}

const taskWithBoundary = `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>
<bpmn:userTask id="t" civicflow:role="steward" civicflow:due="PT2H"/>
<bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="%s"><bpmn:timerEventDefinition><bpmn:%s>%s</bpmn:%s></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="n"/><bpmn:serviceTask id="n" civicflow:activity="civicflow.notify"/>
<bpmn:sequenceFlow id="f3" sourceRef="n" targetRef="e2"/><bpmn:endEvent id="e2"/>`

func boundaryXML(interrupting bool, kind, value string) string {
	return wrap(sprintf(taskWithBoundary, fmt.Sprint(interrupting), kind, value, kind))
}

func TestBoundaryInterrupting(t *testing.T) {
	xml := strings.Replace(boundaryXML(true, "timeDuration", "PT1H"),
		`<bpmn:sequenceFlow id="f3" sourceRef="n" targetRef="e2"/>`,
		`<bpmn:sequenceFlow id="f3" sourceRef="n" targetRef="t2"/><bpmn:userTask id="t2" civicflow:role="steward"/><bpmn:sequenceFlow id="f4" sourceRef="t2" targetRef="e2"/>`, 1)
	h := newHarness(t, xml, nil)
	h.service("civicflow.notify", nil)
	h.complete(2*time.Hour, "late", instanceID+".t.1", steward, nil)
	h.complete(3*time.Hour, "t2", instanceID+".t2.1", steward, nil)
	require.Equal(t, StatusCompleted, h.run().Status)
	require.Equal(t, "n", h.callList())
	require.Equal(t, "t:cancelled,t2:completed", h.closedList())
	require.Equal(t, ErrTaskClosed, h.outcome("late"))
	require.Equal(t, "ok", h.outcome("t2"))
	require.Equal(t, h.opened[0].Created.Add(2*time.Hour), *h.opened[0].Due, "due from civicflow:due")
}

func TestBoundaryNonInterruptingCycle(t *testing.T) {
	h := newHarness(t, boundaryXML(false, "timeCycle", "R2/PT1H"), nil)
	h.service("civicflow.notify", nil)
	h.at(150*time.Minute, func() {
		require.Equal(t, "n,n", h.callList(), "two reminders, task still open")
		require.Len(t, h.state().OpenTasks, 1)
	})
	h.complete(4*time.Hour, "done", instanceID+".t.1", steward, nil)
	require.Equal(t, StatusCompleted, h.run().Status)
	require.Equal(t, "ok", h.outcome("done"))
	require.Equal(t, "n,n", h.callList(), "R2: no third reminder")
	require.Equal(t, "t:completed", h.closedList())
}

func TestSubProcess(t *testing.T) {
	xml := wrap(`<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="sub"/>
<bpmn:subProcess id="sub">
  <bpmn:startEvent id="ss"/><bpmn:sequenceFlow id="sf0" sourceRef="ss" targetRef="fork"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:sequenceFlow id="sf1" sourceRef="fork" targetRef="a"/><bpmn:sequenceFlow id="sf2" sourceRef="fork" targetRef="a2"/>
  <bpmn:serviceTask id="a" civicflow:activity="civicflow.harmonise"/><bpmn:serviceTask id="a2" civicflow:activity="civicflow.harmonise"/>
  <bpmn:sequenceFlow id="sf3" sourceRef="a" targetRef="se"/><bpmn:sequenceFlow id="sf4" sourceRef="a2" targetRef="se2"/>
  <bpmn:endEvent id="se"/><bpmn:endEvent id="se2"/>
</bpmn:subProcess>
<bpmn:sequenceFlow id="f1" sourceRef="sub" targetRef="b"/><bpmn:serviceTask id="b" civicflow:activity="civicflow.release"/>
<bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="e"/><bpmn:endEvent id="e"/>`)
	h := newHarness(t, xml, nil)
	h.service("civicflow.harmonise", func(in ActivityInput) (ActivityResult, error) {
		return ActivityResult{Variables: map[string]any{in.NodeID: true}}, nil
	})
	h.service("civicflow.release", nil)
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	// a and a2 run concurrently: either order.
	require.Contains(t, []string{"a,a2,b", "a2,a,b"}, h.callList(), "b only after both branches of the sub-process ended")
	require.Equal(t, true, out.Variables["a2"], "same variables inside the sub-process")
}

func TestTerminateEndEvent(t *testing.T) {
	xml := wrap(`<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="w"/>
<bpmn:userTask id="t" civicflow:role="steward"/><bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>
<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f4" sourceRef="w" targetRef="kill"/>
<bpmn:endEvent id="kill"><bpmn:terminateEventDefinition/></bpmn:endEvent>`)
	h := newHarness(t, xml, nil)
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Contains(t, out.Message, "terminated by end event kill")
	require.Equal(t, "t:cancelled", h.closedList())
}

func TestIncidentRetrySkipCancel(t *testing.T) {
	business := temporal.NewNonRetryableApplicationError("file is not CSV", "InvalidInput", nil)
	for _, tc := range []struct {
		action, status, calls string
	}{
		{ResolveRetry, StatusCompleted, "a,a,b"},
		{ResolveSkip, StatusCompleted, "a,b"},
		{ResolveCancel, StatusCancelled, "a"},
	} {
		xml := wrap(`<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a"/>
<bpmn:serviceTask id="a" civicflow:activity="civicflow.ingest"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="b"/>
<bpmn:serviceTask id="b" civicflow:activity="civicflow.validate"/><bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="e"/><bpmn:endEvent id="e"/>`)
		h := newHarness(t, xml, nil)
		n := 0
		h.service("civicflow.ingest", func(ActivityInput) (ActivityResult, error) {
			n++
			if n == 1 {
				return ActivityResult{}, business
			}
			return ActivityResult{}, nil
		})
		h.service("civicflow.validate", nil)
		h.at(time.Hour, func() {
			st := h.state()
			require.Equal(t, StatusIncident, st.Status)
			require.Equal(t, []Incident{{Node: "a", Message: "InvalidInput: file is not CSV", At: st.Incidents[0].At, Token: st.Incidents[0].Token}}, st.Incidents)
			h.send("bad", UpdateResolve, ResolveRequest{Action: "explode"})
			h.send("res", UpdateResolve, ResolveRequest{Action: tc.action, Actor: Actor{Username: "admin"}})
		})
		out := h.run()
		require.Equal(t, tc.status, out.Status, tc.action)
		require.Equal(t, tc.calls, h.callList(), tc.action)
		require.Equal(t, ErrInvalidData, h.outcome("bad"))
		require.Equal(t, "ok", h.outcome("res"))
	}
}

func TestRetriesExhaustedIsIncident(t *testing.T) {
	xml := wrap(`<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a"/>
<bpmn:serviceTask id="a" civicflow:activity="civicflow.http" civicflow:retries="3"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`)
	h := newHarness(t, xml, nil)
	h.service("civicflow.http", func(ActivityInput) (ActivityResult, error) { return ActivityResult{}, errors.New("connection refused") })
	h.at(time.Hour, func() {
		st := h.state()
		require.Equal(t, StatusIncident, st.Status)
		h.send("c", UpdateResolve, ResolveRequest{Node: "a", Action: ResolveCancel})
	})
	require.Equal(t, StatusCancelled, h.run().Status)
	require.Equal(t, "a,a,a", h.callList(), "civicflow:retries=3 attempts")
}

const oneTask = `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>
<bpmn:userTask id="t" civicflow:role="steward"/><bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>`

func TestCancellationClosesTasks(t *testing.T) {
	h := newHarness(t, wrap(oneTask), nil)
	h.at(time.Minute, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(InterpreterName, h.in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.True(t, temporal.IsCanceledError(h.env.GetWorkflowError()))
	require.Equal(t, "t:cancelled", h.closedList())
	require.Equal(t, "running,cancelled", h.statuses())
}

// oneFormTask is oneTask with a form declaring the number x.
const oneFormTask = `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>
<bpmn:userTask id="t" civicflow:role="steward" civicflow:form='{"components":[{"key":"x","type":"number"}]}'/>
<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>`

func TestContinueAsNewKeepsOpenTasks(t *testing.T) {
	h := newHarness(t, wrap(oneFormTask), map[string]any{"dataset": "d1"})
	h.at(time.Minute, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.send("claim", UpdateClaim, ClaimRequest{TaskID: instanceID + ".t.1", Actor: steward})
	})
	h.env.ExecuteWorkflow(InterpreterName, h.in)
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(h.env.GetWorkflowError(), &can), "%v", h.env.GetWorkflowError())
	var next Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	require.Len(t, next.State.OpenTasks, 1)
	require.Equal(t, "steward.voirie", next.State.OpenTasks[0].ClaimedBy.Username)
	require.Equal(t, "d1", next.State.Variables["dataset"])

	h2 := newHarness(t, wrap(oneFormTask), nil)
	h2.in = next
	h2.complete(time.Minute, "other", instanceID+".t.1", Actor{Username: "steward2", Groups: []string{"steward@voirie"}}, nil)
	h2.complete(2*time.Minute, "done", instanceID+".t.1", steward, map[string]any{"x": 1})
	out := h2.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, ErrClaimed, h2.outcome("other"))
	require.Equal(t, "ok", h2.outcome("done"))
	require.Equal(t, 1.0, out.Variables["x"])
	require.Equal(t, "t:completed", h2.closedList())
	require.Empty(t, h2.opened, "the task is not opened again")
}
