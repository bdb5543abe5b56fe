package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// TestAPILimitExact: concurrent takes on one subject pass exactly as many
// times as the bucket and the quotas allow, on both dialects.
func TestAPILimitExact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		day := now.UTC().Truncate(24 * time.Hour)
		month := time.Date(now.Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
		for _, tc := range []struct {
			name string
			spec store.LimitSpec
			want int64
		}{
			{"bucket", store.LimitSpec{Rate: 0.0001, Burst: 37}, 37},
			{"day", store.LimitSpec{Rate: 1000, Burst: 1000, PerDay: 23}, 23},
			{"month", store.LimitSpec{PerMonth: 11}, 11},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var passed atomic.Int64
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 15 {
							sp := tc.spec
							sp.Subject, sp.Now, sp.DayStart, sp.MonthStart = "addr:"+tc.name, now, day.Unix(), month.Unix()
							_, ok, err := s.TakeAPILimit(ctx, sp)
							if err != nil {
								t.Error(err)
								return
							}
							if ok {
								passed.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				require.Equal(t, tc.want, passed.Load())
			})
		}
		// The next day, the daily quota starts again; the bucket refills with time.
		sp := store.LimitSpec{Subject: "addr:day", Rate: 1000, Burst: 1000, PerDay: 23, Now: now.Add(24 * time.Hour), DayStart: day.Add(24 * time.Hour).Unix(), MonthStart: month.Unix()}
		st, ok, err := s.TakeAPILimit(ctx, sp)
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 1, st.DayUsed)
		sp = store.LimitSpec{Subject: "addr:bucket", Rate: 1, Burst: 37, Now: now.Add(2 * time.Second), DayStart: day.Unix(), MonthStart: month.Unix()}
		_, ok, err = s.TakeAPILimit(ctx, sp)
		require.NoError(t, err)
		require.True(t, ok, "two seconds at 1/s refill two tokens")
	})
}

func TestAPIKeysPlansUsage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plans, err := s.APIPlans(ctx)
		require.NoError(t, err)
		require.Len(t, plans, 4, "seeded: anonymous, internal, partner, registered")
		c := store.APIConsumer{Name: "Ana", Email: "ana@example.org"}
		require.NoError(t, s.CreateAPIConsumer(ctx, &c))
		dup := store.APIConsumer{Name: "Ana", Email: "ANA@example.org"}
		require.ErrorIs(t, s.CreateAPIConsumer(ctx, &dup), store.ErrConflict)

		k := store.APIKey{Name: "k", Prefix: "cfk_aaaaaaaa", Hash: "h1", PlanID: store.PlanRegistered, ConsumerID: &c.ID}
		require.NoError(t, s.CreateAPIKey(ctx, &k))
		require.Equal(t, k.ID, k.FamilyID)
		next := store.APIKey{Name: "k", Prefix: "cfk_bbbbbbbb", Hash: "h2", PlanID: store.PlanRegistered, ConsumerID: &c.ID}
		until := time.Now().Add(time.Hour)
		require.NoError(t, s.RotateAPIKey(ctx, k.ID, &next, until))
		require.Equal(t, k.ID, next.FamilyID)
		old, err := s.APIKeyByHash(ctx, "h1")
		require.NoError(t, err)
		require.True(t, old.ValidAt(time.Now()) && !old.ValidAt(until.Add(time.Second)), "the old key works until the overlap ends")
		require.ErrorIs(t, s.RotateAPIKey(ctx, k.ID, &store.APIKey{Name: "x", Prefix: "p", Hash: "h3", PlanID: store.PlanRegistered}, until), store.ErrConflict)
		require.NoError(t, s.RevokeAPIKey(ctx, next.ID, time.Now()))
		got, err := s.APIKey(ctx, next.ID)
		require.NoError(t, err)
		require.False(t, got.ValidAt(time.Now()))
		require.ErrorIs(t, s.DeleteAPIPlan(ctx, store.PlanRegistered), store.ErrConflict)

		at := time.Now().UTC()
		old13 := at.AddDate(0, -13, 0)
		rows := []store.APIUsage{
			{At: at, KeyID: &k.ID, ConsumerID: &c.ID, Dataset: "travaux", Endpoint: "/r", Status: 200, Bytes: 10},
			{At: at, KeyID: &next.ID, ConsumerID: &c.ID, Dataset: "travaux", Endpoint: "/r", Status: 429, Bytes: 5},
			{At: at, ClientAddr: "192.0.2.1", Dataset: "autre", Endpoint: "/r", Status: 200},
			{At: old13, ClientAddr: "192.0.2.1", Dataset: "autre", Endpoint: "/r", Status: 200},
		}
		require.NoError(t, s.InsertAPIUsage(ctx, rows))
		days, err := s.APIUsageByDay(ctx, store.UsageFilter{ConsumerID: c.ID}, 100)
		require.NoError(t, err)
		require.Equal(t, []store.UsageDay{{Day: at.Format(time.DateOnly), Dataset: "travaux", Calls: 2, Errors: 1, Bytes: 15}}, days)
		fam, err := s.APIUsageByDay(ctx, store.UsageFilter{KeyFamily: k.ID}, 100)
		require.NoError(t, err)
		require.Equal(t, days, fam)
		n, err := s.PurgeAPIUsage(ctx, at.AddDate(0, -12, 0))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		left, err := s.CountAPIUsage(ctx, store.UsageFilter{})
		require.NoError(t, err)
		require.EqualValues(t, 3, left)
	})
}
