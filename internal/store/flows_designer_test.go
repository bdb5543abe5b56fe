package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestOpenInstancesPerVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		_, _, err := s.DeployFlow(ctx, "p", "P", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
		require.NoError(t, err)
		_, _, err = s.DeployFlow(ctx, "p", "P", store.FlowVersion{Checksum: "c2", BPMN: "<y/>", Graph: "{}", DeployedBy: "designer"})
		require.NoError(t, err)
		for i, v := range []int{1, 1, 2, 2} {
			require.NoError(t, s.CreateInstance(ctx, store.Instance{ID: "i" + string(rune('a'+i)), FlowKey: "p", Version: v, Department: "voirie", Status: "running", StartedBy: "a"}, nil))
		}
		require.NoError(t, s.UpdateInstance(ctx, store.InstanceUpdate{ID: "id", Status: "completed", At: time.Now(), Seq: 10}))
		n, err := s.OpenInstancesPerVersion(ctx, "p")
		require.NoError(t, err)
		require.Equal(t, map[int]int{1: 2, 2: 1}, n)
		n, err = s.OpenInstancesPerVersion(ctx, "absent")
		require.NoError(t, err)
		require.Empty(t, n)
	})
}

func TestFlowDeployComments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		seal := func(e *store.AuditEntry) error { e.Hash = "h" + e.ObjectID; return nil }
		for _, e := range []store.AuditEntry{
			{Action: "flow.deploy", ObjectType: "flow", ObjectID: "p@1", Detail: `{"checksum":"a","new":true}`},
			{Action: "flow.deploy", ObjectType: "flow", ObjectID: "p@2", Detail: `{"checksum":"b","comment":"Renommage","new":true}`},
			{Action: "flow.deploy", ObjectType: "flow", ObjectID: "px@3", Detail: `{"comment":"autre"}`},
			{Action: "instance.start", ObjectType: "flow", ObjectID: "p@4", Detail: `{"comment":"pas un déploiement"}`},
		} {
			e.Actor, e.Outcome, e.At = "designer", "ok", time.Now()
			require.NoError(t, s.AppendAudit(ctx, &e, seal))
		}
		c, err := s.FlowDeployComments(ctx, "p")
		require.NoError(t, err)
		require.Equal(t, map[int]string{2: "Renommage"}, c)
	})
}
