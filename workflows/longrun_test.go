package workflows

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
)

const approveThenPublish = `
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="approval"/>
<bpmn:userTask id="approval" civicflow:role="steward"/><bpmn:sequenceFlow id="f1" sourceRef="approval" targetRef="publish"/>
<bpmn:serviceTask id="publish" civicflow:activity="civicflow.publish"/><bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="e"/>
<bpmn:endEvent id="e"/>`

// Completing a task answers once its inbox row is closed, before the next
// service task starts: a long one (the publication of a large dataset)
// neither delays the answer nor competes with the closing.
func TestCompleteAnswersBeforeTheNextActivityStarts(t *testing.T) {
	h := newHarness(t, wrap(approveThenPublish), nil)
	var publishing atomic.Bool
	var overlapped bool
	// The closing takes a while: the publication must not start meanwhile.
	h.env.RegisterActivityWithOptions(func(ctx context.Context, c TaskClose) error {
		time.Sleep(300 * time.Millisecond)
		overlapped = publishing.Load()
		h.mu.Lock()
		defer h.mu.Unlock()
		h.closed = append(h.closed, c)
		return nil
	}, activityName(ActTaskClose))
	var answerBefore string
	var heartbeatTimeout time.Duration
	h.env.RegisterActivityWithOptions(func(ctx context.Context, in ActivityInput) (ActivityResult, error) {
		publishing.Store(true)
		answerBefore = h.outcome("c1")
		heartbeatTimeout = activity.GetInfo(ctx).HeartbeatTimeout
		return ActivityResult{}, nil
	}, activityName("civicflow.publish"))
	h.complete(time.Minute, "c1", instanceID+".approval.1", steward, nil) // a task without a form takes no data
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, "approval:completed", h.closedList())
	require.False(t, overlapped, "the publication started before the inbox row was closed")
	require.Equal(t, "ok", answerBefore, "the completion was answered before the publication started")
	require.Equal(t, ServiceHeartbeatTimeout, heartbeatTimeout, "service tasks have a heartbeat timeout")
}
