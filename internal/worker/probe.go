package worker

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Probe workflows check an installation end to end (and serve the restart,
// scale-out and round-trip tests and benchmarks): a probe optionally sleeps
// on a durable timer, optionally waits for the "probe.release" update, then
// runs one activity that reports which worker process executed it.
const (
	ProbeWorkflow      = "civicflow.Probe"
	ProbeActivity      = "civicflow.probe.identity"
	ProbeReleaseUpdate = "probe.release"
	ProbeStatusQuery   = "probe.status"
)

// ProbeInput configures a probe run.
type ProbeInput struct {
	Sleep      time.Duration `json:"sleep,omitempty"`
	WaitUpdate bool          `json:"wait_update,omitempty"`
	Work       time.Duration `json:"work,omitempty"` // activity busy time
}

// ProbeResult says where the activity ran and what the update carried.
type ProbeResult struct {
	Worker  string `json:"worker"`
	Message string `json:"message,omitempty"`
}

// Probe is the workflow body (deterministic, no I/O).
func Probe(ctx workflow.Context, in ProbeInput) (ProbeResult, error) {
	status := "started"
	if err := workflow.SetQueryHandler(ctx, ProbeStatusQuery, func() (string, error) { return status, nil }); err != nil {
		return ProbeResult{}, err
	}
	var message string
	released := false
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ProbeReleaseUpdate,
		func(ctx workflow.Context, msg string) (string, error) {
			message, released = msg, true
			return "released", nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, msg string) error {
			if released {
				return temporal.NewApplicationError("already released", "TaskClosed")
			}
			return nil
		}},
	); err != nil {
		return ProbeResult{}, err
	}
	if in.Sleep > 0 {
		status = "sleeping"
		if err := workflow.Sleep(ctx, in.Sleep); err != nil {
			return ProbeResult{}, err
		}
	}
	if in.WaitUpdate {
		status = "waiting"
		if err := workflow.Await(ctx, func() bool { return released }); err != nil {
			return ProbeResult{}, err
		}
	}
	status = "working"
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10*time.Second + in.Work,
		HeartbeatTimeout:    5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 2 * time.Second},
	})
	var who string
	if err := workflow.ExecuteActivity(ctx, ProbeActivity, in.Work).Get(ctx, &who); err != nil {
		return ProbeResult{}, err
	}
	status = "done"
	return ProbeResult{Worker: who, Message: message}, nil
}

// Identity is the probe activity: it names the process that ran it.
func Identity(ctx context.Context, work time.Duration) (string, error) {
	if work > 0 {
		deadline := time.Now().Add(work)
		for time.Now().Before(deadline) {
			activity.RecordHeartbeat(ctx)
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid()), nil
}
