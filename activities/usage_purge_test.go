package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

// TestPurgeUsage: the retention activity deletes the usage older than the
// retention and nothing younger, on both dialects, and refuses a retention
// outside 6 to 12 months; the workflow runs it.
func TestPurgeUsage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		var rows []store.APIUsage
		for _, age := range []time.Duration{0, 24 * time.Hour, 150 * 24 * time.Hour, 200 * 24 * time.Hour, 400 * 24 * time.Hour} {
			rows = append(rows, store.APIUsage{At: now.Add(-age), ClientAddr: "192.0.2.1", Endpoint: "/r", Status: 200})
		}
		require.NoError(t, s.InsertAPIUsage(ctx, rows))
		m := &activities.Maintenance{Store: s, Now: func() time.Time { return now }}
		n, err := m.PurgeUsage(ctx, workflows.UsagePurgeInput{Months: 12})
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "only the 400-day-old row is past 12 months")
		n, err = m.PurgeUsage(ctx, workflows.UsagePurgeInput{Months: 6})
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "the 200-day-old row is past 6 months")
		left, err := s.CountAPIUsage(ctx, store.UsageFilter{})
		require.NoError(t, err)
		require.EqualValues(t, 3, left)
		for _, bad := range []int{0, 5, 13, -1} {
			_, err := m.PurgeUsage(ctx, workflows.UsagePurgeInput{Months: bad})
			require.Error(t, err, "months %d", bad)
		}

		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		env.RegisterActivityWithOptions(m.PurgeUsage, activity.RegisterOptions{Name: workflows.ActUsagePurge})
		require.NoError(t, s.InsertAPIUsage(ctx, []store.APIUsage{{At: now.AddDate(-1, -1, 0), Endpoint: "/r", Status: 200}}))
		env.ExecuteWorkflow(workflows.UsagePurge, workflows.UsagePurgeInput{Months: 12})
		require.True(t, env.IsWorkflowCompleted())
		require.NoError(t, env.GetWorkflowError())
		var got int64
		require.NoError(t, env.GetWorkflowResult(&got))
		require.EqualValues(t, 1, got)
	})
}
