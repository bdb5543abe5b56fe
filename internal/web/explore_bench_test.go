package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// The public records API under load (docs/benchmarks.md, "Public records
// API"; bench/run.sh explore). A release of CIVICFLOW_BENCH_ROWS rows
// (default 1,000,000) of a subventions-like table is loaded once per
// database; then, over real HTTP on loopback:
//
//   - BenchmarkExploreRecordsVsEcho: 32 concurrent clients ask a records
//     query (a filter on an indexed field matching ~50 rows, sorted by
//     amount, limit 20) for BENCH_SECONDS (default 5) seconds, interleaved
//     with the same clients asking a trivial Echo handler that returns a
//     JSON body of the same size, in the same run; req/s of both, their
//     ratio and the API's p99 latency;
//   - BenchmarkExploreCSVExport: the full CSV export streamed (rows/s) and
//     the process's peak heap while it runs, beside an export of a tenth of
//     the rows (constant memory: both peaks alike).

func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("CIVICFLOW_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func benchSeconds() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("BENCH_SECONDS")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 5 * time.Second
}

// benchGroups is the distinct values of the filter field: ~50 rows each.
func benchGroups(rows int) int { return max(rows/50, 1) }

type benchFixture struct {
	api  *httptest.Server
	st   *store.Store
	rows int
}

func benchServer(b *testing.B, d storetest.Dialect) *benchFixture {
	b.Helper()
	var dbURL string
	if d.Name == "postgres" {
		dbURL = storetest.PostgresURL(b)
	} else {
		dbURL = storetest.SQLiteURL(b)
	}
	ctx := context.Background()
	st := storetest.Open(b, dbURL)
	require.NoError(b, st.CreateDepartment(ctx, store.Department{Slug: "finances", Name: "Finances"}))
	require.NoError(b, st.CreateDataset(ctx, &store.Dataset{ID: "subventions", Title: "Subventions", Department: "finances"}))
	cols := []store.ReleaseColumn{
		{Field: "id", Kind: store.KindText}, {Field: "nomAttribuant", Kind: store.KindText}, {Field: "nomBeneficiaire", Kind: store.KindText},
		{Field: "idBeneficiaire", Kind: store.KindText}, {Field: "objet", Kind: store.KindText}, {Field: "montant", Kind: store.KindNumeric},
		{Field: "nature", Kind: store.KindText}, {Field: "dateConvention", Kind: store.KindDate},
	}
	n := benchRows()
	groups := benchGroups(n)
	i := 0
	start := time.Now()
	day0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err := st.CreateRelease(ctx, store.NewRelease{DatasetID: "subventions", Key: "bench", NormalizedSHA: "x", Columns: cols,
		PrimaryKey: []string{"id"}, IndexFields: []string{"idBeneficiaire", "montant"}},
		func() (store.ReleaseRow, error) {
			if i == n {
				return store.ReleaseRow{}, io.EOF
			}
			i++
			id := "S" + strconv.Itoa(i)
			return store.ReleaseRow{Values: []any{
				id, "COMMUNE DE VILLE " + strconv.Itoa(i%300), "Association numéro " + strconv.Itoa(i%9000),
				fmt.Sprintf("%014d", i%groups), "Subvention de fonctionnement " + strconv.Itoa(i%700),
				float64((i*7919)%100000) + 0.5, []string{"aide en numéraire", "aide en nature"}[i%2], day0.AddDate(0, 0, i%2000),
			}, Key: id, Hash: fmt.Sprintf("%032x", i)}, nil
		})
	require.NoError(b, err)
	require.NoError(b, st.ExposeRelease(ctx, "subventions", 1))
	require.NoError(b, st.SetDatasetVisibility(ctx, "subventions", store.VisibilityPublic))
	b.Logf("%s: %d rows loaded and indexed in %s", d.Name, n, time.Since(start).Round(time.Millisecond))
	// The gateway meters every call (limiter, usage log) as in production,
	// with limits the load never reaches: the anonymous plan (20 req/s,
	// burst 1,000) would refuse the benchmark's clients after a few seconds.
	plan, err := st.APIPlan(ctx, store.PlanAnonymous)
	require.NoError(b, err)
	plan.RatePerSecond, plan.Burst, plan.PerDay, plan.PerMonth = 1e6, 1_000_000, 1e9, 1e10
	require.NoError(b, st.UpdateAPIPlan(ctx, &plan))
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(b, err)
	f := &benchFixture{api: httptest.NewServer(srv.Handler()), st: st, rows: n}
	b.Cleanup(f.api.Close)
	return f
}

// load runs 32 clients against path for d; it returns the requests done
// and each one's latency.
func load(b *testing.B, client *http.Client, urls func(i int) string, d time.Duration) (int, []time.Duration) {
	const clients = 32
	var total atomic.Int64
	lat := make([][]time.Duration, clients)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var failed atomic.Value
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for k := 0; time.Now().Before(deadline); k++ {
				t0 := time.Now()
				resp, err := client.Get(urls(c*1_000_003 + k))
				if err != nil {
					failed.Store(err.Error())
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Store(resp.Status)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
				total.Add(1)
			}
		}(c)
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatalf("load: %v", f)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return int(total.Load()), all
}

func p99(ls []time.Duration) time.Duration {
	slices.Sort(ls)
	if len(ls) == 0 {
		return 0
	}
	return ls[len(ls)*99/100]
}

// BenchmarkExploreAPI loads the release once per database, then runs
// records (vs Echo) and csv (the full export).
func BenchmarkExploreAPI(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.Name, func(b *testing.B) {
			f := benchServer(b, d)
			b.Run("records", func(b *testing.B) { benchRecordsVsEcho(b, d, f) })
			b.Run("csv", func(b *testing.B) { benchCSVExport(b, d, f) })
		})
	}
}

func benchRecordsVsEcho(b *testing.B, d storetest.Dialect, f *benchFixture) {
	{
		{
			groups := benchGroups(f.rows)
			query := func(i int) string {
				return f.api.URL + base + "/subventions/records?" + url.Values{
					"where":    {`idBeneficiaire = "` + fmt.Sprintf("%014d", i%groups) + `"`},
					"order_by": {"montant desc"}, "limit": {"20"},
				}.Encode()
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}
			// The baseline answers a body of the size of a real answer.
			resp, err := client.Get(query(1))
			require.NoError(b, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(b, 200, resp.StatusCode, string(body))
			require.Contains(b, string(body), `"total_count":50`)
			// The first queries on the filter field call for its index
			// (SQLite builds it in the background, store.AutoIndexAfter): the
			// run measures the steady state, after the build.
			t0 := time.Now()
			for k := 2; k <= store.AutoIndexAfter; k++ {
				resp, err := client.Get(query(k))
				require.NoError(b, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			f.st.WaitAutoIndexes()
			b.Logf("%s: warm-up (%d queries; on SQLite, until the index they call for is built) %s", d.Name, store.AutoIndexAfter, time.Since(t0).Round(time.Millisecond))
			e := echo.New()
			e.HideBanner, e.HidePort = true, true
			e.GET("/records", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, body) })
			echoSrv := httptest.NewServer(e)
			defer echoSrv.Close()
			trivial := func(int) string { return echoSrv.URL + "/records?where=x" }

			dur := benchSeconds()
			var apiRates, echoRates, ratios, p99s []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ne, _ := load(b, client, trivial, dur)
				na, la := load(b, client, query, dur)
				er, ar := float64(ne)/dur.Seconds(), float64(na)/dur.Seconds()
				echoRates, apiRates, ratios = append(echoRates, er), append(apiRates, ar), append(ratios, ar/er)
				p99s = append(p99s, float64(p99(la).Microseconds())/1000)
				b.Logf("%s pair %d: API %.0f req/s (p99 %.1f ms), Echo %.0f req/s, ratio %.2f, body %d bytes",
					d.Name, i+1, ar, p99s[len(p99s)-1], er, ar/er, len(body))
			}
			b.ReportMetric(median(apiRates), "api_req/s")
			b.ReportMetric(median(echoRates), "echo_req/s")
			b.ReportMetric(median(ratios), "ratio")
			b.ReportMetric(median(p99s), "api_p99_ms")
		}
	}
}

// peakHeap samples the heap in use every 10 ms until stop is closed.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func benchCSVExport(b *testing.B, d storetest.Dialect, f *benchFixture) {
	{
		{
			export := func(limit int) (int, time.Duration, uint64) {
				runtime.GC()
				stop := make(chan struct{})
				peak := peakHeap(stop)
				u := f.api.URL + base + "/subventions/exports/csv"
				if limit > 0 {
					u += "?limit=" + strconv.Itoa(limit)
				}
				t0 := time.Now()
				resp, err := http.Get(u)
				require.NoError(b, err)
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				lines := 0
				for sc.Scan() {
					lines++
				}
				require.NoError(b, sc.Err())
				resp.Body.Close()
				el := time.Since(t0)
				close(stop)
				return lines - 1, el, <-peak
			}
			var rates, fullPeaks, tenthPeaks []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				nt, _, pt := export(f.rows / 10)
				require.Equal(b, f.rows/10, nt)
				n, el, pf := export(0)
				require.Equal(b, f.rows, n)
				rates = append(rates, float64(n)/el.Seconds())
				fullPeaks, tenthPeaks = append(fullPeaks, float64(pf)/(1<<20)), append(tenthPeaks, float64(pt)/(1<<20))
				b.Logf("%s: %d rows in %s, %.0f rows/s; peak heap %.1f MiB (a tenth of the rows: %.1f MiB)",
					d.Name, n, el.Round(time.Millisecond), rates[len(rates)-1], fullPeaks[len(fullPeaks)-1], tenthPeaks[len(tenthPeaks)-1])
			}
			b.ReportMetric(median(rates), "rows/s")
			b.ReportMetric(median(fullPeaks), "peak_heap_MiB")
			b.ReportMetric(median(tenthPeaks), "peak_heap_tenth_MiB")
		}
	}
}
