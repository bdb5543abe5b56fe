package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/apigw"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// BenchmarkExploreMetered compares the same records query through the
// gateway (key check, limiter upsert, usage log) and without it, on one
// database, in the same run: sub-benchmarks "unmetered" and "metered" per
// dialect. docs/benchmarks.md ("Public API gateway") has the figures.
func BenchmarkExploreMetered(b *testing.B) {
	for _, d := range storetest.Dialects() {
		if d.Name == "postgres" && os.Getenv("TEST_POSTGRES_URL") == "" {
			continue
		}
		b.Run(d.Name, func(b *testing.B) {
			plain, metered, key := meteredPair(b, d)
			run := func(b *testing.B, h http.Handler, withKey bool) {
				for b.Loop() {
					if code := meteredCall(h, withKey, key); code != 200 {
						b.Fatalf("status %d", code)
					}
				}
			}
			b.Run("unmetered", func(b *testing.B) { run(b, plain, true) })
			b.Run("metered", func(b *testing.B) { run(b, metered, true) })
		})
	}
}

const meteredPath = base + `/travaux/records?where=commune%3D%22Lyon%22&order_by=montant%20desc&limit=20`

func meteredCall(h http.Handler, withKey bool, key string) int {
	req := httptest.NewRequest(http.MethodGet, meteredPath, nil)
	if withKey {
		req.Header.Set("Authorization", "Apikey "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestMeteredOverhead (CIVICFLOW_BENCH=1) measures the same comparison in
// interleaved rounds (200 unmetered calls and 200 metered, in turn first, 31 rounds), so that
// the machine's load drifts alike on both, and logs the medians and the
// median of the per-round ratios.
func TestMeteredOverhead(t *testing.T) {
	if os.Getenv("CIVICFLOW_BENCH") == "" {
		t.Skip("set CIVICFLOW_BENCH=1")
	}
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			plain, metered, key := meteredPair(t, d)
			const calls, rounds = 200, 31
			var ps, ms, ratios []float64
			timeIt := func(h http.Handler, withKey bool) float64 {
				start := time.Now()
				for range calls {
					if code := meteredCall(h, withKey, key); code != 200 {
						t.Fatalf("status %d", code)
					}
				}
				return float64(time.Since(start).Nanoseconds()) / calls
			}
			timeIt(plain, true) // warm-up
			timeIt(metered, true)
			for r := range rounds {
				var p, m float64
				if r%2 == 0 { // alternate which goes first
					p, m = timeIt(plain, true), timeIt(metered, true)
				} else {
					m, p = timeIt(metered, true), timeIt(plain, true)
				}
				ps, ms, ratios = append(ps, p), append(ms, m), append(ratios, m/p)
			}
			t.Logf("%s: unmetered median %.0f µs/call, metered median %.0f µs/call, median ratio %.3f (rounds of %d calls × %d)",
				d.Name, median(ps)/1000, median(ms)/1000, median(ratios), calls, rounds)
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// meteredPair builds two servers over one store with a public dataset:
// one unmetered, one metered, and a key on a plan that counts every call
// and never refuses one.
func meteredPair(b testing.TB, d storetest.Dialect) (plain, metered http.Handler, key string) {
	b.Helper()
	{
		{
			ctx := context.Background()
			st := storetest.Open(b, d.URL(b))
			if err := auth.SeedDemo(ctx, st, "demo"); err != nil {
				b.Fatal(err)
			}
			cols := []store.ReleaseColumn{{Field: "id", Kind: store.KindText}, {Field: "commune", Kind: store.KindText},
				{Field: "montant", Kind: store.KindNumeric}, {Field: "nb", Kind: store.KindInteger}, {Field: "date", Kind: store.KindDate}}
			if err := st.CreateDataset(ctx, &store.Dataset{ID: "travaux", Title: "Travaux", Department: "voirie"}); err != nil {
				b.Fatal(err)
			}
			i := 0
			if _, _, err := st.CreateRelease(ctx, store.NewRelease{DatasetID: "travaux", Key: "travaux", NormalizedSHA: "x", Columns: cols}, func() (store.ReleaseRow, error) {
				if i == len(exploreRows) {
					return store.ReleaseRow{}, io.EOF
				}
				r := exploreRows[i]
				i++
				dt, _ := time.Parse(time.DateOnly, r.Date)
				return store.ReleaseRow{Values: []any{r.ID, r.Commune, r.Montant, r.Nb, dt}, Key: r.ID, Hash: r.ID}, nil
			}); err != nil {
				b.Fatal(err)
			}
			if err := st.ExposeRelease(ctx, "travaux", 1); err != nil {
				b.Fatal(err)
			}
			if err := st.SetDatasetVisibility(ctx, "travaux", store.VisibilityPublic); err != nil {
				b.Fatal(err)
			}
			// A plan that counts every call and never refuses one.
			if err := st.CreateAPIPlan(ctx, &store.APIPlan{ID: "bench", Label: "bench", RatePerSecond: 1e6, Burst: 1000000, PerDay: 1e12, PerMonth: 1e12}); err != nil {
				b.Fatal(err)
			}
			k, prefix, hash, err := apigw.NewKey()
			key = k
			if err != nil {
				b.Fatal(err)
			}
			if err := st.CreateAPIKey(ctx, &store.APIKey{Name: "bench", Prefix: prefix, Hash: hash, PlanID: "bench"}); err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			cfg := config.Default()
			cfg.DataDir = b.TempDir()
			plainSrv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: log, Gateway: apigw.Options{Off: true}})
			if err != nil {
				b.Fatal(err)
			}
			meteredSrv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: log})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = meteredSrv.CloseGateway(context.Background()) })
			return plainSrv.Handler(), meteredSrv.Handler(), key
		}
	}
}
