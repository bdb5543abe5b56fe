package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func strp(s string) *string { return &s }

func TestDepartmentsUsersMemberships(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
		require.ErrorIs(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Autre"}), store.ErrConflict)
		_, err := s.Department(ctx, "absent")
		require.ErrorIs(t, err, store.ErrNotFound)
		ds, err := s.Departments(ctx)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, "Voirie", ds[0].Name)

		u := &store.User{Username: "alice", DisplayName: "Alice", Email: strp("Alice@Example.fr"), PasswordHash: strp("h")}
		require.NoError(t, s.CreateUser(ctx, u))
		require.NotZero(t, u.ID)
		require.ErrorIs(t, s.CreateUser(ctx, &store.User{Username: "alice"}), store.ErrConflict)
		require.ErrorIs(t, s.CreateUser(ctx, &store.User{Username: "alice2", Email: strp("alice@example.FR")}), store.ErrConflict, "e-mail unique case-insensitively")
		require.NoError(t, s.CreateUser(ctx, &store.User{Username: "oidc.only"}), "no e-mail, no password")

		got, err := s.UserByEmail(ctx, "ALICE@example.fr")
		require.NoError(t, err)
		require.Equal(t, u.ID, got.ID)
		got, err = s.UserByUsername(ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, "h", *got.PasswordHash)
		require.False(t, got.Disabled)
		_, err = s.UserByID(ctx, 9999)
		require.ErrorIs(t, err, store.ErrNotFound)

		require.NoError(t, s.UpdateUserProfile(ctx, u.ID, "Alice Martin", nil))
		require.NoError(t, s.SetPasswordHash(ctx, u.ID, nil))
		got, err = s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, "Alice Martin", got.DisplayName)
		require.Nil(t, got.Email)
		require.Nil(t, got.PasswordHash)

		v0, err := s.AuthzVersion(ctx)
		require.NoError(t, err)
		require.NoError(t, s.GrantMembership(ctx, u.ID, "agent", "voirie"))
		require.NoError(t, s.GrantMembership(ctx, u.ID, "agent", "voirie"), "granting twice is a no-op")
		require.NoError(t, s.GrantMembership(ctx, u.ID, "approver", store.AllDepartments))
		v1, err := s.AuthzVersion(ctx)
		require.NoError(t, err)
		require.Greater(t, v1, v0, "a grant bumps the authorisation version")
		ms, err := s.MembershipsOf(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, ms, 2)
		require.Equal(t, "alice", ms[0].Username)
		require.ErrorIs(t, s.RevokeMembership(ctx, u.ID, "steward", "voirie"), store.ErrNotFound)
		require.NoError(t, s.RevokeMembership(ctx, u.ID, "agent", "voirie"))
		all, err := s.Memberships(ctx)
		require.NoError(t, err)
		require.Len(t, all, 1)
		require.NoError(t, s.SetUserDisabled(ctx, u.ID, true))
		all, err = s.Memberships(ctx)
		require.NoError(t, err)
		require.Empty(t, all, "disabled users hold no role")

		us, err := s.Users(ctx)
		require.NoError(t, err)
		require.Len(t, us, 2)
	})
}

func TestLoginFailuresLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &store.User{Username: "bob"}
		require.NoError(t, s.CreateUser(ctx, u))
		now := time.Now()
		for i := 1; i < 3; i++ {
			got, err := s.RecordLoginFailure(ctx, u.ID, 3, 15*time.Minute, now)
			require.NoError(t, err)
			require.Equal(t, i, got.FailedLogins)
			require.Nil(t, got.LockedUntil)
		}
		got, err := s.RecordLoginFailure(ctx, u.ID, 3, 15*time.Minute, now)
		require.NoError(t, err)
		require.NotNil(t, got.LockedUntil)
		require.WithinDuration(t, now.Add(15*time.Minute), *got.LockedUntil, time.Second)
		got, err = s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.NotNil(t, got.LockedUntil)
		require.NoError(t, s.RecordLoginSuccess(ctx, u.ID))
		got, err = s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.Nil(t, got.LockedUntil)
		require.Zero(t, got.FailedLogins)
	})
}
