package activities_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/benchdata"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
	"github.com/civicflow/civicflow/workflows"
)

// The data chain measured beside its baselines, interleaved in every
// iteration (same file, same moment, same machine load), on a
// scdl-subventions file of CIVICFLOW_BENCH_ROWS rows (default 200,000):
//
//   - BenchmarkPublishVsSQLiteImport: civicflow.publish of the ingested
//     file into a SQLite release table, beside the sqlite3 command-line
//     tool's own `.import` of the same CSV, into a new file and into
//     :memory: (target: at most 2× the file import);
//   - BenchmarkIngestValidateVsValidateEndpoint: civicflow.ingest then
//     civicflow.validate of a Windows-1252 file, beside POST
//     /api/v1/validate of the same file over HTTP (target: at most 2×).
//
// Each reports the medians over the iterations of wall seconds (…-s), CPU
// seconds of the process (…-cpu-s; sqlite3's own CPU for the CLI) and the
// ratios. bench/release.sh runs them.

func benchRows(b *testing.B) int {
	n := 200_000
	if v := os.Getenv("CIVICFLOW_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("CIVICFLOW_BENCH_ROWS=%q: not a positive number", v)
		}
	}
	return n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timing collects the wall and CPU seconds of a contender.
type timing struct{ wall, cpu []float64 }

func (t *timing) measure(b *testing.B, fn func() time.Duration) {
	b.Helper()
	w, c := time.Now(), cpuTime()
	extra := fn() // CPU spent outside the process (a child)
	t.wall = append(t.wall, time.Since(w).Seconds())
	t.cpu = append(t.cpu, (cpuTime() - c + extra).Seconds())
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// writeFile generates the benchmark file once per run.
func writeFile(b *testing.B, name string, rows int, write func(io.Writer, int) error) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := write(f, rows); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil { // no write-back during the timings
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// benchData is a store with the demo department and the data activities.
func benchData(b *testing.B) (*activities.Data, *store.Store) {
	b.Helper()
	st := storetest.Open(b, storetest.SQLiteURL(b))
	dir := b.TempDir()
	d := &activities.Data{Store: st, Blobs: ingest.Blobs{Dir: filepath.Join(dir, "blobs")}, DataDir: dir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := st.CreateDepartment(context.Background(), store.Department{Slug: "finances", Name: "Finances"}); err != nil {
		b.Fatal(err)
	}
	return d, st
}

// stage registers a dataset with the file staged.
func stage(b *testing.B, d *activities.Data, st *store.Store, dataset, path string) {
	b.Helper()
	ctx := context.Background()
	if err := st.CreateDataset(ctx, &store.Dataset{ID: dataset, Title: dataset, Department: "finances", SchemaName: "scdl-subventions"}); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sha, size, err := d.Blobs.Put(ctx, f)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateDataFile(ctx, &store.DataFile{ID: dataset + "-file", DatasetID: dataset, Kind: store.FileUpload,
		Name: filepath.Base(path), SHA256: sha, Size: size}); err != nil {
		b.Fatal(err)
	}
}

func run(b *testing.B, fn func(context.Context, workflows.ActivityInput) (workflows.ActivityResult, error), in *workflows.ActivityInput) workflows.ActivityResult {
	b.Helper()
	res, err := fn(context.Background(), *in)
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range res.Variables {
		in.Variables[k] = v
	}
	return res
}

func BenchmarkPublishVsSQLiteImport(b *testing.B) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		b.Skip("SKIPPING: the sqlite3 command-line tool is not installed (apt-get install sqlite3; bench/release.sh does it)")
	}
	rows := benchRows(b)
	csvPath := writeFile(b, "subventions.csv", rows, benchdata.WriteSubventions)
	d, st := benchData(b)
	var ours, file, mem timing
	i := 0
	for b.Loop() {
		i++
		// civicflow: a new dataset each time (a first release, no diff).
		ds := fmt.Sprintf("bench-%d", i)
		stage(b, d, st, ds, csvPath)
		in := input("ingest", "bench-"+ds, map[string]any{"dataset": ds, "file": ds + "-file"})
		run(b, d.Ingest, &in)
		in.NodeID = "validate"
		run(b, d.Validate, &in)
		in.NodeID = "publish"
		ours.measure(b, func() time.Duration {
			res := run(b, d.Publish, &in)
			if n := res.Variables["releaseInfo"].(map[string]any)["rows"]; n != int64(rows) {
				b.Fatalf("release of %v rows, want %d", n, rows)
			}
			return 0
		})
		// sqlite3's .import of the same CSV, into a new file and in memory.
		db := filepath.Join(b.TempDir(), "import.db")
		for _, c := range []struct {
			t   *timing
			arg string
		}{{&file, db}, {&mem, ":memory:"}} {
			c.t.measure(b, func() time.Duration {
				cmd := exec.Command("sqlite3", c.arg, ".import --csv "+csvPath+" subventions")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("sqlite3 .import: %v\n%s", err, out)
				}
				return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			})
		}
	}
	b.ReportMetric(float64(rows)/median(ours.wall), "rows/s")
	b.ReportMetric(median(ours.wall), "civicflow-s")
	b.ReportMetric(median(file.wall), "sqlite3-file-s")
	b.ReportMetric(median(mem.wall), "sqlite3-memory-s")
	b.ReportMetric(median(ours.wall)/median(file.wall), "ratio-vs-file")
	b.ReportMetric(median(ours.wall)/median(mem.wall), "ratio-vs-memory")
	b.ReportMetric(median(ours.cpu), "civicflow-cpu-s")
	b.ReportMetric(median(file.cpu), "sqlite3-file-cpu-s")
	b.ReportMetric(median(ours.cpu)/median(file.cpu), "cpu-ratio-vs-file")
}

func BenchmarkIngestValidateVsValidateEndpoint(b *testing.B) {
	rows := benchRows(b)
	csvPath := writeFile(b, "subventions-cp1252.csv", rows, benchdata.WriteSubventionsWindows1252)
	d, st := benchData(b)
	stage(b, d, st, "bench", csvPath)

	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.MaxUploadBytes = 1 << 40
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	validate := func() {
		f, err := os.Open(csvPath)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			fw, err := mw.CreateFormFile("file", filepath.Base(csvPath))
			if err == nil {
				_, err = io.Copy(fw, f)
			}
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		resp, err := http.Post(hs.URL+"/api/v1/validate?schema=scdl-subventions", mw.FormDataContentType(), pr)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("POST /api/v1/validate: %s %s", resp.Status, body)
		}
	}

	var ours, endpoint timing
	i := 0
	for b.Loop() {
		i++
		endpoint.measure(b, func() time.Duration { validate(); return 0 })
		in := input("ingest", fmt.Sprintf("bench-%d", i), map[string]any{"dataset": "bench", "file": "bench-file"})
		ours.measure(b, func() time.Duration {
			run(b, d.Ingest, &in)
			in.NodeID = "validate"
			res := run(b, d.Validate, &in)
			if res.Variables["valid"] != true {
				b.Fatalf("the file is not valid: %v", res.Message)
			}
			return 0
		})
	}
	b.ReportMetric(median(ours.wall), "ingest+validate-s")
	b.ReportMetric(median(endpoint.wall), "validate-endpoint-s")
	b.ReportMetric(median(ours.wall)/median(endpoint.wall), "ratio")
	b.ReportMetric(median(ours.cpu), "ingest+validate-cpu-s")
	b.ReportMetric(median(endpoint.cpu), "validate-endpoint-cpu-s")
	b.ReportMetric(median(ours.cpu)/median(endpoint.cpu), "cpu-ratio")
}
