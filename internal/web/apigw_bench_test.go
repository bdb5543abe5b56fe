package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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
			key, prefix, hash, err := apigw.NewKey()
			if err != nil {
				b.Fatal(err)
			}
			if err := st.CreateAPIKey(ctx, &store.APIKey{Name: "bench", Prefix: prefix, Hash: hash, PlanID: "bench"}); err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			cfg := config.Default()
			cfg.DataDir = b.TempDir()
			plain, err := web.New(web.Deps{Config: cfg, Store: st, Logger: log, Gateway: apigw.Options{Off: true}})
			if err != nil {
				b.Fatal(err)
			}
			metered, err := web.New(web.Deps{Config: cfg, Store: st, Logger: log})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = metered.CloseGateway(context.Background()) })
			const path = base + `/travaux/records?where=commune%3D%22Lyon%22&order_by=montant%20desc&limit=20`
			run := func(b *testing.B, h http.Handler, withKey bool) {
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					if withKey {
						req.Header.Set("Authorization", "Apikey "+key)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("%d: %s", rec.Code, rec.Body.String())
					}
				}
			}
			b.Run("unmetered", func(b *testing.B) { run(b, plain.Handler(), false) })
			b.Run("metered", func(b *testing.B) { run(b, metered.Handler(), true) })
		})
	}
}
