package activities

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/workflows"
)

// beats records every heartbeat an activity records.
type beats struct {
	interceptor.WorkerInterceptorBase
	mu   sync.Mutex
	list []workflows.Progress
}

func (b *beats) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &beatsIn{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, b: b}
}

type beatsIn struct {
	interceptor.ActivityInboundInterceptorBase
	b *beats
}

func (i *beatsIn) Init(out interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&beatsOut{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}, b: i.b})
}

type beatsOut struct {
	interceptor.ActivityOutboundInterceptorBase
	b *beats
}

func (o *beatsOut) RecordHeartbeat(ctx context.Context, details ...any) {
	if len(details) == 1 {
		if p, ok := details[0].(workflows.Progress); ok {
			o.b.mu.Lock()
			o.b.list = append(o.b.list, p)
			o.b.mu.Unlock()
		}
	}
	o.Next.RecordHeartbeat(ctx, details...)
}

// A data activity heartbeats every second whatever it does — here it
// blocks, as in a download or an index build — with the progress it
// reported; a retried attempt reads what its predecessor reported last.
func TestDataActivitiesHeartbeatWithTheirProgress(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	rec := &beats{}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
	env.SetHeartbeatDetails(workflows.Progress{Node: "publish", Step: "load", Done: 1200, Total: 5000})
	var previous workflows.Progress
	env.RegisterActivityWithOptions(withHeartbeat(func(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
		previous = lastProgress(ctx)
		progress(ctx, "load", 2500, 5000)
		resumed(ctx, previous.Done)
		time.Sleep(2500 * time.Millisecond) // a step that reports nothing
		return workflows.ActivityResult{Message: "done"}, nil
	}), activity.RegisterOptions{Name: "test.long"})
	_, err := env.ExecuteActivity("test.long", workflows.ActivityInput{NodeID: "publish"})
	require.NoError(t, err)
	require.EqualValues(t, 1200, previous.Done, "the last heartbeat of the earlier attempt")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.GreaterOrEqual(t, len(rec.list), 3, "a heartbeat a second while the activity blocks: %+v", rec.list)
	require.Equal(t, workflows.Progress{Node: "publish", Step: "load", Done: 2500, Total: 5000, Resumed: 1200}, rec.list[len(rec.list)-1])
}
