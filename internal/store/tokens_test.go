package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestSessionsAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &store.User{Username: "carol"}
		require.NoError(t, s.CreateUser(ctx, u))
		now := time.Now()
		require.NoError(t, s.CreateSession(ctx, store.Session{ID: "h1", UserID: u.ID, Method: "password", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
		require.NoError(t, s.CreateSession(ctx, store.Session{ID: "h2", UserID: u.ID, Method: "password", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(-time.Second)}))
		se, err := s.SessionByID(ctx, "h1")
		require.NoError(t, err)
		require.Equal(t, u.ID, se.UserID)
		require.WithinDuration(t, now.Add(time.Hour), se.ExpiresAt, time.Millisecond)
		require.NoError(t, s.TouchSession(ctx, "h1", now.Add(time.Minute)))
		n, err := s.DeleteExpiredSessions(ctx, now)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, err = s.SessionByID(ctx, "h2")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.DeleteSession(ctx, "h1"))
		_, err = s.SessionByID(ctx, "h1")
		require.ErrorIs(t, err, store.ErrNotFound)

		tok := &store.APIToken{UserID: u.ID, Name: "ci", Prefix: "cf_abcd", Hash: "th", CreatedAt: now}
		require.NoError(t, s.CreateAPIToken(ctx, tok))
		got, err := s.APITokenByHash(ctx, "th")
		require.NoError(t, err)
		require.Equal(t, "ci", got.Name)
		require.Nil(t, got.LastUsedAt)
		require.NoError(t, s.TouchAPIToken(ctx, tok.ID, now))
		require.ErrorIs(t, s.RevokeAPIToken(ctx, u.ID+1, tok.ID, now), store.ErrNotFound, "only the owner revokes")
		require.NoError(t, s.RevokeAPIToken(ctx, u.ID, tok.ID, now))
		list, err := s.APITokensOf(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.NotNil(t, list[0].RevokedAt)
		require.NotNil(t, list[0].LastUsedAt)
	})
}
