package apigw_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/apigw"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// TestLeasesStayExact: two gateways (two processes) on one database, with
// leases, let exactly the daily quota through; a gateway that closes gives
// its unused calls back.
func TestLeasesStayExact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := store.APIPlan{ID: "t", PerDay: 200, UpdatedAt: time.Unix(1, 0)}
		g1 := apigw.New(st, nil, nil, apigw.Options{LeaseMax: 10})
		g2 := apigw.New(st, nil, nil, apigw.Options{LeaseMax: 10})
		passed := 0
		for i := range 300 {
			g := g1
			if i%2 == 1 {
				g = g2
			}
			d, err := g.Take(ctx, "addr:x", p)
			require.NoError(t, err)
			if d.Allowed {
				passed++
			} else {
				require.GreaterOrEqual(t, d.RetryAfterSeconds(), int64(1))
				v, ok := d.Violated()
				require.True(t, ok)
				require.Equal(t, "day", v.Unit)
			}
		}
		require.Equal(t, 200, passed)

		big := store.APIPlan{ID: "b", PerDay: 1000, RatePerSecond: 100, Burst: 1000, UpdatedAt: time.Unix(1, 0)}
		for range 2 {
			d, err := g1.Take(ctx, "addr:y", big)
			require.NoError(t, err)
			require.True(t, d.Allowed)
			require.Equal(t, `"burst";q=1000;w=10, "day";q=1000;w=86400`, d.PolicyHeader())
		}
		require.NoError(t, g1.Close(ctx))
		require.NoError(t, g2.Close(ctx))
		s, err := st.APILimitState(ctx, "addr:y")
		require.NoError(t, err)
		require.EqualValues(t, 2, s.DayUsed, "the unused leased calls are given back on close")
	})
}

func TestKeyFromRequest(t *testing.T) {
	for _, tc := range []struct {
		url, auth string
		key       string
		found     bool
	}{
		{"/x", "", "", false},
		{"/x", "Bearer abc", "", false},
		{"/x", "Apikey cfk_a", "cfk_a", true},
		{"/x", "apikey  cfk_a ", "cfk_a", true},
		{"/x?apikey=cfk_b", "", "cfk_b", true},
		{"/x?apikey=cfk_b", "Apikey cfk_a", "", true},
		{"/x?apikey=cfk_a&apikey=cfk_a", "", "", true},
	} {
		r := httptest.NewRequest("GET", tc.url, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		k, f := apigw.KeyFromRequest(r)
		require.Equal(t, tc.key, k, tc.url+" "+tc.auth)
		require.Equal(t, tc.found, f, tc.url+" "+tc.auth)
	}
	key, prefix, hash, err := apigw.NewKey()
	require.NoError(t, err)
	require.Len(t, key, 56)
	require.Equal(t, key[:12], prefix)
	require.Equal(t, apigw.HashKey(key), hash)
}
