package activities_test

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/benchdata"
	"github.com/civicflow/civicflow/internal/datagouv/datagouvtest"
	"github.com/civicflow/civicflow/internal/store"
)

// BenchmarkDatagouvPushVsBaselines: civicflow.datagouv pushing a release
// of CIVICFLOW_BENCH_ROWS rows (default 200,000) to the local fake of
// data.gouv.fr, beside, in the same iteration, its two halves alone: the
// CSV export of the release from the store (to a hash, no network) and the
// upload of an already written CSV file of the same rows to the same fake.
// The push streams the export into the upload, so it should cost about
// the slower half, not their sum (target: at most 1.5× the slower one).
func BenchmarkDatagouvPushVsBaselines(b *testing.B) {
	rows := benchRows(b)
	csvPath := writeFile(b, "subventions.csv", rows, benchdata.WriteSubventions)
	d, st := benchData(b)
	stage(b, d, st, "bench", csvPath)
	in := input("ingest", "bench-i", map[string]any{"dataset": "bench", "file": "bench-file"})
	run(b, d.Ingest, &in)
	in.NodeID = "publish"
	run(b, d.Publish, &in)
	in.NodeID = "expose"
	run(b, d.Expose, &in)
	srv := datagouvtest.New(b, "k", "org")
	d.Datagouv, d.DatagouvOrg = srv.Client(), "org"
	in.NodeID = "datagouv"
	run(b, d.PublishDatagouv, &in) // creates the remote dataset and resource
	ctx := context.Background()
	rel, err := st.Release(ctx, "bench", 1)
	if err != nil {
		b.Fatal(err)
	}
	push, err := st.DatagouvPush(ctx, "bench", srv.URL)
	if err != nil {
		b.Fatal(err)
	}

	var ours, export, upload timing
	for b.Loop() {
		// Forget the release pushed, so that the file is sent again.
		p := push
		p.ReleaseNumber = 0
		if err := st.SaveDatagouvPush(ctx, &p); err != nil {
			b.Fatal(err)
		}
		ours.measure(b, func() time.Duration {
			res := run(b, d.PublishDatagouv, &in)
			if res.Variables["datagouv"].(map[string]any)["release"] != 1 {
				b.Fatalf("pushed %v", res.Variables["datagouv"])
			}
			return 0
		})
		export.measure(b, func() time.Duration {
			h := sha256.New()
			cw := csv.NewWriter(h)
			rec := []string{}
			err := st.ExploreStream(ctx, rel, store.ExploreQuery{Limit: -1}, func(n []string) error { return cw.Write(n) },
				func(row []any) error {
					rec = rec[:0]
					for _, v := range row {
						rec = append(rec, benchCell(v))
					}
					return cw.Write(rec)
				})
			cw.Flush()
			if err != nil {
				b.Fatal(err)
			}
			return 0
		})
		upload.measure(b, func() time.Duration {
			f, err := os.Open(csvPath)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if _, err := srv.Client().ReplaceResourceFile(ctx, push.RemoteDatasetID, push.RemoteResourceID, "bench.csv", io.Reader(f)); err != nil {
				b.Fatal(err)
			}
			return 0
		})
	}
	slower := max(median(export.wall), median(upload.wall))
	b.ReportMetric(float64(rows)/median(ours.wall), "rows/s")
	b.ReportMetric(median(ours.wall), "push-s")
	b.ReportMetric(median(export.wall), "export-s")
	b.ReportMetric(median(upload.wall), "upload-s")
	b.ReportMetric(median(ours.wall)/slower, "ratio-vs-slower")
	b.ReportMetric(median(ours.wall)/(median(export.wall)+median(upload.wall)), "ratio-vs-sum")
	b.ReportMetric(median(ours.cpu), "push-cpu-s")
}

// benchCell formats a value as the push does (csvCell).
func benchCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
