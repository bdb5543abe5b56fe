package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestDashboardQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		for _, id := range []string{"a", "b", "c"} {
			require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "ds-" + id, Title: id, Department: "voirie"}))
		}
		cols := []store.ReleaseColumn{{Field: "x", Kind: store.KindText}}
		_, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "ds-a", Key: "k1", Columns: cols}, rowsOf([]any{"1"}))
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		second, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "ds-a", Key: "k2", Columns: cols}, rowsOf([]any{"2"}))
		require.NoError(t, err)
		_, _, err = s.CreateRelease(ctx, store.NewRelease{DatasetID: "ds-b", Key: "k3", Columns: cols}, rowsOf([]any{"3"}))
		require.NoError(t, err)

		states, err := s.DatasetStates(ctx, []string{"voirie"})
		require.NoError(t, err)
		require.Len(t, states, 3)
		require.Equal(t, "ds-a", states[0].ID)
		require.NotNil(t, states[0].LastRelease)
		require.WithinDuration(t, second.CreatedAt, *states[0].LastRelease, time.Millisecond, "the latest release")
		require.NotNil(t, states[1].LastRelease)
		require.Nil(t, states[2].LastRelease, "ds-c has no release")
		none, err := s.DatasetStates(ctx, []string{"finances"})
		require.NoError(t, err)
		require.Empty(t, none)
		all, err := s.DatasetStates(ctx, nil)
		require.NoError(t, err)
		require.Len(t, all, 3)

		// Open tasks by department and role; closed ones are not counted.
		now := time.Now()
		_, _, err = s.DeployFlow(ctx, "p", "P", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
		require.NoError(t, err)
		require.NoError(t, s.CreateInstance(ctx, store.Instance{ID: "i", FlowKey: "p", Version: 1, Department: "voirie", Status: "running", StartedBy: "a"}, nil))
		past, future := now.Add(-time.Hour), now.Add(time.Hour)
		for _, tk := range []store.Task{
			{ID: "t1", Department: "voirie", Role: "steward", Due: &past},
			{ID: "t2", Department: "voirie", Role: "steward", Due: &future},
			{ID: "t3", Department: "voirie", Role: "approver"},
			{ID: "t4", Department: "finances", Role: "steward", Due: &past},
			{ID: "t5", Department: "voirie", Role: "steward", Status: "completed", Due: &past},
		} {
			tk.InstanceID, tk.Node, tk.FlowKey = "i", "n", "p"
			require.NoError(t, s.OpenTask(ctx, tk, nil, nil, nil, nil, nil))
		}
		counts, err := s.OpenTaskCounts(ctx, []string{"voirie"}, now)
		require.NoError(t, err)
		require.Equal(t, []store.TaskCount{
			{Department: "voirie", Role: "approver", Open: 1, Overdue: 0},
			{Department: "voirie", Role: "steward", Open: 2, Overdue: 1},
		}, counts)
		every, err := s.OpenTaskCounts(ctx, []string{store.AllDepartments}, now)
		require.NoError(t, err)
		require.Len(t, every, 3)
		mine, err := s.ListInstances(ctx, store.InstanceFilter{StartedBy: "a"})
		require.NoError(t, err)
		require.Len(t, mine, 1)
		theirs, err := s.ListInstances(ctx, store.InstanceFilter{StartedBy: "b"})
		require.NoError(t, err)
		require.Empty(t, theirs)
	})
}
