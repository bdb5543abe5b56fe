package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Maintenance workflows run on Temporal schedules that the product creates
// itself (not designer flows): today the retention of the public API's
// usage log.

const (
	// UsagePurgeName is the workflow that purges old usage rows.
	UsagePurgeName = "civicflow.maintenance.usage-purge"
	// ActUsagePurge deletes the usage rows older than the retention.
	ActUsagePurge = "civicflow.usage.purge"
	// UsagePurgeSchedule is the id of its daily schedule.
	UsagePurgeSchedule = "civicflow-usage-purge"
)

// UsagePurgeInput is the retention, in months (6 to 12).
type UsagePurgeInput struct {
	Months int `json:"months"`
}

// UsagePurge runs the purge activity and returns how many rows went.
func UsagePurge(ctx workflow.Context, in UsagePurgeInput) (int64, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Minute, MaximumAttempts: 5, NonRetryableErrorTypes: []string{"InvalidInput"}},
	})
	var n int64
	err := workflow.ExecuteActivity(ctx, ActUsagePurge, in).Get(ctx, &n)
	return n, err
}

// RegisterMaintenance registers the maintenance workflows on a worker.
func RegisterMaintenance(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(UsagePurge, workflow.RegisterOptions{Name: UsagePurgeName})
}
