package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/migrations"
)

func TestMigrateAndSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v, err := s.SchemaVersion(ctx)
		require.NoError(t, err)
		latest, err := migrations.Latest(s.Dialect())
		require.NoError(t, err)
		require.Equal(t, latest, v, "all migrations applied")

		// Migrating again is a no-op.
		v2, err := s.Migrate(ctx)
		require.NoError(t, err)
		require.Equal(t, v, v2)

		_, err = s.Setting(ctx, "absent")
		require.True(t, errors.Is(err, store.ErrNotFound))
		require.NoError(t, s.SetSetting(ctx, "k", "one"))
		require.NoError(t, s.SetSetting(ctx, "k", "two"))
		got, err := s.Setting(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "two", got)
		require.NoError(t, s.Ping(ctx))
	})
}

func TestBothDialectsAgreeOnLatest(t *testing.T) {
	a, err := migrations.Latest(migrations.SQLite)
	require.NoError(t, err)
	b, err := migrations.Latest(migrations.Postgres)
	require.NoError(t, err)
	require.Equal(t, a, b, "every migration exists for both dialects")
}
