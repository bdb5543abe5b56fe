package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/workflows"
)

// EnsureUsagePurgeSchedule (re)creates the daily Temporal schedule (03:17
// UTC) that purges the public API's usage older than months
// (--usage-retention-months). Processes that run a worker call it at
// start, so a changed retention applies; several at once are harmless.
func EnsureUsagePurgeSchedule(ctx context.Context, tc client.Client, taskQueue string, months int) error {
	sc := tc.ScheduleClient()
	_ = sc.GetHandle(ctx, workflows.UsagePurgeSchedule).Delete(ctx) // replace an older retention
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID: workflows.UsagePurgeSchedule,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: 3}}, Minute: []client.ScheduleRange{{Start: 17}},
		}}},
		Action: &client.ScheduleWorkflowAction{ID: "usage-purge", Workflow: workflows.UsagePurgeName, TaskQueue: taskQueue,
			Args: []any{workflows.UsagePurgeInput{Months: months}}, WorkflowRunTimeout: time.Hour},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create the usage purge schedule: %w", err)
	}
	return nil
}
