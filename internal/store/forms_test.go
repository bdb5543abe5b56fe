package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestFormVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v1, created, err := s.DeployForm(ctx, store.Form{ID: "revue", Checksum: "a", Schema: store.JSONText(`{"components":[]}`), DeployedBy: "designer"})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 1, v1.Version)
		again, created, err := s.DeployForm(ctx, store.Form{ID: "revue", Checksum: "a", Schema: store.JSONText(`{"components":[]}`), DeployedBy: "admin"})
		require.NoError(t, err)
		require.False(t, created, "same checksum: same version")
		require.Equal(t, 1, again.Version)
		require.Equal(t, "designer", again.DeployedBy)
		v2, created, err := s.DeployForm(ctx, store.Form{ID: "revue", Checksum: "b", VersionTag: "v2", Schema: store.JSONText(`{"components":[{"key":"x"}]}`), DeployedBy: "designer"})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 2, v2.Version)
		_, _, err = s.DeployForm(ctx, store.Form{ID: "autre", Checksum: "a", Schema: store.JSONText(`{}`), DeployedBy: "designer"})
		require.NoError(t, err)

		latest, err := s.FormVersion(ctx, "revue", 0)
		require.NoError(t, err)
		require.Equal(t, 2, latest.Version)
		require.JSONEq(t, `{"components":[{"key":"x"}]}`, string(latest.Schema))
		first, err := s.FormVersion(ctx, "revue", 1)
		require.NoError(t, err)
		require.JSONEq(t, `{"components":[]}`, string(first.Schema))
		_, err = s.FormVersion(ctx, "revue", 3)
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.FormVersion(ctx, "nope", 0)
		require.ErrorIs(t, err, store.ErrNotFound)

		vs, err := s.FormVersions(ctx, "revue")
		require.NoError(t, err)
		require.Len(t, vs, 2)
		require.Equal(t, 2, vs[0].Version)
		require.Empty(t, vs[0].Schema, "lists carry no schema")
		all, err := s.Forms(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, "autre", all[0].ID)
		require.Equal(t, 2, all[1].Version)
		require.Equal(t, "v2", all[1].VersionTag)
	})
}

func TestFlowScheduleAndCollectedFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, err := s.DeployFlow(ctx, "collecte", "Collecte", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
		require.NoError(t, err)
		_, err = s.FlowSchedule(ctx, "collecte")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.SetFlowSchedule(ctx, &store.FlowSchedule{FlowKey: "collecte", Department: "voirie",
			Variables: store.JSONText(`{"dataset":"d1","source":"https://x/a.csv"}`), UpdatedBy: "designer"}))
		require.NoError(t, s.SetFlowSchedule(ctx, &store.FlowSchedule{FlowKey: "collecte", Department: "finances", UpdatedBy: "admin"}))
		fs, err := s.FlowSchedule(ctx, "collecte")
		require.NoError(t, err)
		require.Equal(t, "finances", fs.Department)
		require.JSONEq(t, `{}`, string(fs.Variables))
		require.Equal(t, "admin", fs.UpdatedBy)
		require.NoError(t, s.DeleteFlowSchedule(ctx, "collecte"))
		_, err = s.FlowSchedule(ctx, "collecte")
		require.ErrorIs(t, err, store.ErrNotFound)

		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "d1", Title: "D1", Department: "voirie"}))
		_, err = s.LatestCollected(ctx, "d1", "https://x/a.csv")
		require.ErrorIs(t, err, store.ErrNotFound)
		t0 := time.Now().Add(-time.Hour)
		for i, id := range []string{"c1", "c2"} {
			at := t0.Add(time.Duration(i) * time.Minute)
			require.NoError(t, s.CreateDataFile(ctx, &store.DataFile{ID: id, DatasetID: "d1", Kind: store.FileCollected, Name: "a.csv",
				URL: "https://x/a.csv", ETag: `"v` + id + `"`, SHA256: id, FetchedAt: &at}))
		}
		require.NoError(t, s.CreateDataFile(ctx, &store.DataFile{ID: "u1", DatasetID: "d1", Kind: store.FileUpload, Name: "a.csv", URL: "https://x/a.csv"}))
		f, err := s.LatestCollected(ctx, "d1", "https://x/a.csv")
		require.NoError(t, err)
		require.Equal(t, "c2", f.ID)
		require.Equal(t, `"vc2"`, f.ETag)
		_, err = s.LatestCollected(ctx, "d1", "https://x/b.csv")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
