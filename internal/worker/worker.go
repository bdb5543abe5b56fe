// Package worker wires Temporal workers: it registers civicflow's workflows
// and activities on the flows task queue and runs them until stopped.
package worker

import (
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Registration adds workflows and activities to a worker.
type Registration func(w sdkworker.Registry)

// Options configure New.
type Options struct {
	TaskQueue string
	Logger    *slog.Logger
	Register  []Registration
}

// New builds a worker with the probe and every registration.
func New(c client.Client, opts Options) (sdkworker.Worker, error) {
	if opts.TaskQueue == "" {
		return nil, fmt.Errorf("worker: empty task queue")
	}
	w := sdkworker.New(c, opts.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize:     50,
		MaxConcurrentWorkflowTaskExecutionSize: 50,
		WorkerStopTimeout:                      10e9,
		// Heartbeat details carry the progress of long activities (rows
		// loaded…), shown by GET /api/v1/instances/{id}: send them every
		// 2 s rather than every 0.8 × heartbeat timeout.
		MaxHeartbeatThrottleInterval: 2 * time.Second,
	})
	w.RegisterWorkflowWithOptions(Probe, workflow.RegisterOptions{Name: ProbeWorkflow})
	w.RegisterActivityWithOptions(Identity, activity.RegisterOptions{Name: ProbeActivity})
	for _, r := range opts.Register {
		r(w)
	}
	return w, nil
}
