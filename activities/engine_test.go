package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

// An instance that ends without finishing its publication (cancelled,
// terminated, failed) takes its partial release table with it when the
// engine records the end; while it runs or waits in incident the load is
// kept for the retry to resume.
func TestEngineDropsThePartialReleaseOfAnEndedInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		require.NoError(t, st.CreateDepartment(ctx, store.Department{Slug: "finances", Name: "Finances"}))
		require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: "subventions", Title: "Subventions", Department: "finances"}))
		_, _, err := st.DeployFlow(ctx, "publication", "Publication", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
		require.NoError(t, err)
		e := &activities.Engine{Store: st}
		db := st.DB()
		exists := func(table string) bool {
			var n int
			return db.Get(&n, "SELECT COUNT(*) FROM "+table) == nil
		}
		for _, status := range []string{workflows.StatusCancelled, workflows.StatusTerminated, workflows.StatusFailed} {
			id, table := "i-"+status, "partial_"+status
			require.NoError(t, st.CreateInstance(ctx, store.Instance{ID: id, FlowKey: "publication", Version: 1, Department: "finances", Status: "running", StartedBy: "agent"}, nil))
			// What a publication killed in its middle leaves.
			_, err := db.Exec("CREATE TABLE " + table + " (_row BIGINT, a TEXT)")
			require.NoError(t, err)
			_, err = db.Exec(db.Rebind(`INSERT INTO release_loads (idem_key, dataset_id, table_name, rows_loaded, started_at, updated_at, instance_id)
				VALUES (?, 'subventions', ?, 10, ?, ?, ?)`), id+"/publish", table, time.Now().UTC(), time.Now().UTC(), id)
			require.NoError(t, err)

			for seq, still := range []string{workflows.StatusRunning, workflows.StatusIncident} {
				require.NoError(t, e.UpdateInstance(ctx, workflows.InstanceUpdate{InstanceID: id, Status: still, At: time.Now(), Seq: int64(seq + 1)}))
				require.True(t, exists(table), "%s: kept while %s", status, still)
			}
			require.NoError(t, e.UpdateInstance(ctx, workflows.InstanceUpdate{InstanceID: id, Status: status, At: time.Now(), Seq: 5}))
			require.False(t, exists(table), "%s: partial table dropped", status)
			loads, err := st.ReleaseLoads(ctx, "subventions")
			require.NoError(t, err)
			require.Empty(t, loads)
			// The bookkeeping activity retried: nothing left to do.
			require.NoError(t, e.UpdateInstance(ctx, workflows.InstanceUpdate{InstanceID: id, Status: status, At: time.Now(), Seq: 5}))
		}
	})
}
