package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestDatagouvPushes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		const demo, prod = "https://demo.data.gouv.fr", "https://www.data.gouv.fr"

		_, err := s.DatagouvPush(ctx, "arbres", demo)
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, s.SaveDatagouvPush(ctx, &store.DatagouvPush{DatasetID: "inconnu", TargetURL: demo}), store.ErrNotFound)

		// The remote dataset first (before any upload), then the push.
		p := store.DatagouvPush{DatasetID: "arbres", TargetURL: demo, RemoteDatasetID: "r1"}
		require.NoError(t, s.SaveDatagouvPush(ctx, &p))
		got, err := s.DatagouvPush(ctx, "arbres", demo)
		require.NoError(t, err)
		require.Equal(t, "r1", got.RemoteDatasetID)
		require.Nil(t, got.PushedAt)

		now := time.Now()
		got.RemoteResourceID, got.ReleaseNumber, got.Checksum, got.PushedAt = "res1", 2, "abc", &now
		require.NoError(t, s.SaveDatagouvPush(ctx, &got))
		got, err = s.DatagouvPush(ctx, "arbres", demo)
		require.NoError(t, err)
		require.Equal(t, "res1", got.RemoteResourceID)
		require.Equal(t, 2, got.ReleaseNumber)
		require.WithinDuration(t, now, *got.PushedAt, time.Millisecond)
		require.Nil(t, got.WithdrawnAt)

		// Another platform is another record.
		require.NoError(t, s.SaveDatagouvPush(ctx, &store.DatagouvPush{DatasetID: "arbres", TargetURL: prod, RemoteDatasetID: "p1"}))
		all, err := s.DatagouvPushes(ctx, "arbres")
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, "r1", all[0].RemoteDatasetID)
		require.Equal(t, "p1", all[1].RemoteDatasetID)

		got.WithdrawnAt, got.WithdrawnAs = &now, "private"
		require.NoError(t, s.SaveDatagouvPush(ctx, &got))
		got, err = s.DatagouvPush(ctx, "arbres", demo)
		require.NoError(t, err)
		require.Equal(t, "private", got.WithdrawnAs)
		require.Equal(t, "res1", got.RemoteResourceID, "the ids stay for a later push")
	})
}

func TestWithdrawDataset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie", Visibility: store.VisibilityPublic}))
		require.NoError(t, s.WithdrawDataset(ctx, "arbres"))
		d, err := s.Dataset(ctx, "arbres")
		require.NoError(t, err)
		require.Equal(t, store.VisibilityPrivate, d.Visibility)
		require.Nil(t, d.ExposedRelease)
		require.ErrorIs(t, s.WithdrawDataset(ctx, "inconnu"), store.ErrNotFound)
	})
}
