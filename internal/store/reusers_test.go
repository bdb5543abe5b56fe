package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// Reuser tokens work once, expire, and a reuser's profile and suspension
// are kept; on both dialects.
func TestReuserTokensAndProfiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := store.APIConsumer{Name: "Alice", Email: "alice@example.org"}
		require.NoError(t, s.CreateAPIConsumer(ctx, &c))
		now := time.Now()
		require.NoError(t, s.CreateReuserToken(ctx, "h1", c.ID, store.ReuserVerify, now.Add(time.Minute)))
		require.NoError(t, s.CreateReuserToken(ctx, "h2", c.ID, store.ReuserVerify, now.Add(-time.Second)))

		// Ten concurrent clicks: one wins.
		var wg sync.WaitGroup
		wins := make(chan int64, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if id, err := s.UseReuserToken(ctx, "h1", store.ReuserVerify, time.Now()); err == nil {
					wins <- id
				}
			}()
		}
		wg.Wait()
		close(wins)
		require.Len(t, wins, 1)
		require.Equal(t, c.ID, <-wins)
		_, err := s.UseReuserToken(ctx, "h2", store.ReuserVerify, now)
		require.ErrorIs(t, err, store.ErrNotFound, "expired")
		_, err = s.UseReuserToken(ctx, "h1", store.ReuserSignIn, now)
		require.ErrorIs(t, err, store.ErrNotFound, "another purpose")
		n, err := s.CountRecentReuserTokens(ctx, c.ID, store.ReuserVerify, now.Add(-time.Hour))
		require.NoError(t, err)
		require.Equal(t, 2, n)

		// Sessions.
		require.NoError(t, s.CreateReuserToken(ctx, "s1", c.ID, store.ReuserSession, now.Add(time.Hour)))
		id, err := s.ReuserTokenValid(ctx, "s1", store.ReuserSession, now)
		require.NoError(t, err)
		require.Equal(t, c.ID, id)
		_, err = s.ReuserTokenValid(ctx, "s1", store.ReuserSession, now.Add(2*time.Hour))
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.DeleteReuserTokens(ctx, c.ID, ""))
		_, err = s.ReuserTokenValid(ctx, "s1", store.ReuserSession, now)
		require.ErrorIs(t, err, store.ErrNotFound)

		// Profiles.
		r, err := s.Reuser(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, "", r.IntendedUse)
		require.Nil(t, r.SuspendedAt)
		require.NoError(t, s.SetReuserProfile(ctx, store.ReuserProfile{ConsumerID: c.ID, IntendedUse: "Une carte"}))
		require.NoError(t, s.SetReuserProfile(ctx, store.ReuserProfile{ConsumerID: c.ID, IntendedUse: "Une carte", SuspendedAt: &now}))
		rs, err := s.Reusers(ctx)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		require.Equal(t, "Une carte", rs[0].IntendedUse)
		require.NotNil(t, rs[0].SuspendedAt)
	})
}

// The status page's percentiles and the usage per consumer.
func TestAPILatencyAndUsageByConsumer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := store.APIConsumer{Name: "Alice", Email: "alice@example.org"}
		require.NoError(t, s.CreateAPIConsumer(ctx, &c))
		now := time.Now().UTC()
		var rows []store.APIUsage
		for i := 1; i <= 100; i++ { // latencies 1..100 ms on /records
			u := store.APIUsage{At: now.Add(-time.Minute), Endpoint: "/records", Status: 200, LatencyUS: int64(i) * 1000}
			if i%2 == 0 {
				u.ConsumerID = &c.ID
			}
			if i == 100 {
				u.Status = 503
			}
			rows = append(rows, u)
		}
		rows = append(rows, store.APIUsage{At: now.Add(-3 * 24 * time.Hour), Endpoint: "/exports", Status: 200, LatencyUS: 7000})
		require.NoError(t, s.InsertAPIUsage(ctx, rows))

		day, err := s.APILatency(ctx, now.Add(-24*time.Hour))
		require.NoError(t, err)
		require.Len(t, day, 1)
		require.Equal(t, store.EndpointLatency{Endpoint: "/records", Calls: 100, Errors: 1, MedianUS: 50000, P95US: 95000}, day[0])
		week, err := s.APILatency(ctx, now.Add(-7*24*time.Hour))
		require.NoError(t, err)
		require.Len(t, week, 2)
		require.Equal(t, int64(7000), week[1].MedianUS)

		by, err := s.APIUsageByConsumer(ctx, store.UsageFilter{From: now.Add(-time.Hour)}, 10)
		require.NoError(t, err)
		require.Len(t, by, 2)
		require.Equal(t, int64(50), by[0].Calls)
		require.Equal(t, int64(50), by[1].Calls)
		names := map[int64]string{by[0].ConsumerID: by[0].Name, by[1].ConsumerID: by[1].Name}
		require.Equal(t, "Alice", names[c.ID])
		require.Contains(t, names, int64(0))
		by, err = s.APIUsageByConsumer(ctx, store.UsageFilter{ConsumerID: c.ID}, 10)
		require.NoError(t, err)
		require.Len(t, by, 1)
		require.Equal(t, int64(1), by[0].Errors)
	})
}
