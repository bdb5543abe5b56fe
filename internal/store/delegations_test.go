package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestDelegations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		dgs, deputy := &store.User{Username: "dgs"}, &store.User{Username: "deputy"}
		require.NoError(t, s.CreateUser(ctx, dgs))
		require.NoError(t, s.CreateUser(ctx, deputy))
		now := time.Now()
		mk := func(from, until time.Time) *store.Delegation {
			d := &store.Delegation{DelegatorID: dgs.ID, DelegateID: deputy.ID, Role: "approver", Department: "*", ValidFrom: from, ValidUntil: until, Reason: "congés"}
			require.NoError(t, s.CreateDelegation(ctx, d))
			return d
		}
		active := mk(now.Add(-time.Hour), now.Add(time.Hour))
		mk(now.Add(-2*time.Hour), now.Add(-time.Hour)) // expired
		future := mk(now.Add(time.Hour), now.Add(2*time.Hour))

		got, err := s.Delegation(ctx, active.ID)
		require.NoError(t, err)
		require.Equal(t, "dgs", got.Delegator)
		require.Equal(t, "deputy", got.Delegate)
		require.True(t, got.ActiveAt(now))
		require.False(t, got.ActiveAt(now.Add(time.Hour)), "until is exclusive")

		cur, err := s.CurrentDelegations(ctx, deputy.ID, now)
		require.NoError(t, err)
		require.Len(t, cur, 2, "the expired one is gone, the future one is kept for later")
		require.Equal(t, active.ID, cur[0].ID)
		require.False(t, cur[1].ActiveAt(now))
		require.Equal(t, future.ID, cur[1].ID)

		require.NoError(t, s.RevokeDelegation(ctx, active.ID, now))
		require.ErrorIs(t, s.RevokeDelegation(ctx, active.ID, now), store.ErrNotFound)
		cur, err = s.CurrentDelegations(ctx, 0, now)
		require.NoError(t, err)
		require.Len(t, cur, 1)
		all, err := s.DelegationsInvolving(ctx, dgs.ID)
		require.NoError(t, err)
		require.Len(t, all, 3)
		require.NotNil(t, all[2].RevokedAt)
	})
}
