package store_test

import (
	"context"
	"fmt"
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

func TestLoginFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		f, err := s.LoginFailuresOf(ctx, "k1")
		require.NoError(t, err)
		require.Zero(t, f.Failures, "no failures yet")
		for i := 1; i <= 3; i++ {
			n, err := s.RecordLoginFailure(ctx, "k1", now.Add(time.Duration(i)*time.Second), now.Add(-time.Hour))
			require.NoError(t, err)
			require.Equal(t, i, n)
		}
		f, err = s.LoginFailuresOf(ctx, "k1")
		require.NoError(t, err)
		require.Equal(t, 3, f.Failures)
		require.WithinDuration(t, now.Add(3*time.Second), f.LastFailedAt, time.Millisecond)

		n, err := s.RecordLoginFailure(ctx, "k1", now.Add(48*time.Hour), now.Add(24*time.Hour))
		require.NoError(t, err)
		require.Equal(t, 1, n, "failures older than forgetBefore are forgotten")

		_, err = s.RecordLoginFailure(ctx, "k2", now, now.Add(-time.Hour))
		require.NoError(t, err)
		require.NoError(t, s.ClearLoginFailures(ctx, "k1"))
		f, err = s.LoginFailuresOf(ctx, "k1")
		require.NoError(t, err)
		require.Zero(t, f.Failures)
		pruned, err := s.PruneLoginFailures(ctx, now.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(1), pruned)
	})
}

func TestCredentialsRevoked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		u := &store.User{Username: "carol", PasswordHash: strp("old")}
		require.NoError(t, s.CreateUser(ctx, u))
		other := &store.User{Username: "dave"}
		require.NoError(t, s.CreateUser(ctx, other))
		setup := func() {
			for _, id := range []int64{u.ID, other.ID} {
				require.NoError(t, s.CreateSession(ctx, store.Session{ID: fmt.Sprint("s", id, now.UnixNano()), UserID: id, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
				require.NoError(t, s.CreateAPIToken(ctx, &store.APIToken{UserID: id, Name: "t", Prefix: "cf_", Hash: fmt.Sprint("h", id, now.UnixNano()), CreatedAt: now}))
			}
			now = now.Add(time.Second)
		}
		live := func(id int64) (sessions, tokens int) {
			require.NoError(t, s.DB().Get(&sessions, s.DB().Rebind(`SELECT COUNT(*) FROM sessions WHERE user_id = ?`), id))
			ts, err := s.APITokensOf(ctx, id)
			require.NoError(t, err)
			for _, tk := range ts {
				if tk.RevokedAt == nil {
					tokens++
				}
			}
			return
		}

		setup()
		require.NoError(t, s.ReplacePassword(ctx, u.ID, "new", false, now))
		ss, tk := live(u.ID)
		require.Equal(t, [2]int{0, 1}, [2]int{ss, tk}, "a change by the user ends sessions, keeps tokens")
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, "new", *got.PasswordHash)

		setup()
		require.NoError(t, s.ReplacePassword(ctx, u.ID, "newer", true, now))
		ss, tk = live(u.ID)
		require.Equal(t, [2]int{0, 0}, [2]int{ss, tk}, "a reset ends sessions and revokes tokens")

		setup()
		require.NoError(t, s.SetUserDisabled(ctx, u.ID, true))
		ss, tk = live(u.ID)
		require.Equal(t, [2]int{0, 0}, [2]int{ss, tk}, "disabling ends sessions and revokes tokens")
		ss, tk = live(other.ID)
		require.Equal(t, [2]int{3, 3}, [2]int{ss, tk}, "other users keep theirs")
		require.ErrorIs(t, s.ReplacePassword(ctx, 9999, "x", true, now), store.ErrNotFound)
	})
}
