package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestCasbinRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rules := []store.CasbinRule{
			store.NewCasbinRule("p", []string{"agent", "*", "tasks", "read"}),
			store.NewCasbinRule("p", []string{"agent", "*", "tasks", "complete"}),
			store.NewCasbinRule("p", []string{"admin", "*", "users", "admin"}),
		}
		seeded, err := s.SeedCasbinRules(ctx, rules)
		require.NoError(t, err)
		require.True(t, seeded)
		seeded, err = s.SeedCasbinRules(ctx, rules[:1])
		require.NoError(t, err)
		require.False(t, seeded, "seeded once in the life of the database")

		got, err := s.CasbinRules(ctx)
		require.NoError(t, err)
		require.Len(t, got, 3)
		require.Equal(t, []string{"agent", "*", "tasks", "read"}, got[0].Values())

		n, err := s.AddCasbinRules(ctx, []store.CasbinRule{rules[0], store.NewCasbinRule("p", []string{"steward", "voirie", "datasets", "write"})})
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "duplicates are ignored")
		v1, err := s.AuthzVersion(ctx)
		require.NoError(t, err)
		require.NoError(t, s.RemoveCasbinRule(ctx, rules[2]))
		require.ErrorIs(t, s.RemoveCasbinRule(ctx, rules[2]), store.ErrNotFound)
		v2, err := s.AuthzVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, v1+1, v2)

		require.NoError(t, s.RemoveFilteredCasbinRules(ctx, "p", 0, "agent"))
		got, err = s.CasbinRules(ctx)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, "steward", got[0].V0)

		require.NoError(t, s.ReplaceCasbinRules(ctx, rules))
		got, err = s.CasbinRules(ctx)
		require.NoError(t, err)
		require.Len(t, got, 3)
	})
}
