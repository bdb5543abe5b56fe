package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/civicflow/civicflow/internal/app"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/internal/worker"
)

func benchConfig(b *testing.B) config.Config {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TemporalPort = 0
	return cfg
}

// BenchmarkColdStart measures `serve` from nothing (fresh data directory:
// schema creation, namespace, worker, HTTP) to healthy, and the memory of
// the idle process after start.
func BenchmarkColdStart(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var idleHeap, idleRSS float64
	for b.Loop() {
		cfg := benchConfig(b)
		a, err := app.Start(context.Background(), cfg, quiet, app.Mode{HTTP: true, Worker: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		time.Sleep(time.Second)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		idleHeap = float64(ms.HeapInuse) / (1 << 20)
		idleRSS = rssMiB()
		a.Stop()
		b.StartTimer()
	}
	b.ReportMetric(idleHeap, "idle-heap-MiB")
	b.ReportMetric(idleRSS, "idle-rss-MiB")
}

func rssMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkRoundTrip runs the same workflow (one activity) start-to-result
// on civicflow's embedded server (SQLite file, WAL) and on temporaltest's
// in-memory server, in the same run: compare the two ns/op.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("embedded-sqlite-file", func(b *testing.B) {
		srv, err := temporalserver.Start(context.Background(), temporalserver.Options{
			DatabasePath: b.TempDir() + "/temporal.db", Namespace: "civicflow", Retention: 24 * time.Hour,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Stop()
		c, err := client.Dial(client.Options{HostPort: srv.HostPort(), Namespace: "civicflow", Logger: quietSDK()})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		roundTrips(b, c)
	})
	b.Run("temporaltest-memory", func(b *testing.B) {
		ts := temporaltest.NewServer()
		defer ts.Stop()
		roundTrips(b, ts.GetDefaultClient())
	})
}

func roundTrips(b *testing.B, c client.Client) {
	w, err := worker.New(c, worker.Options{TaskQueue: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	run := func(i int) {
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("rt-%d-%d", time.Now().UnixNano(), i), TaskQueue: "bench"},
			worker.ProbeWorkflow, worker.ProbeInput{})
		if err != nil {
			b.Fatal(err)
		}
		var res worker.ProbeResult
		if err := r.Get(ctx, &res); err != nil {
			b.Fatal(err)
		}
	}
	run(-1) // warm up
	i := 0
	for b.Loop() {
		run(i)
		i++
	}
}

func quietSDK() *tlogAdapter { return &tlogAdapter{} }

// tlogAdapter silences the SDK's logger in benchmarks.
type tlogAdapter struct{}

func (tlogAdapter) Debug(string, ...any) {}
func (tlogAdapter) Info(string, ...any)  {}
func (tlogAdapter) Warn(string, ...any)  {}
func (tlogAdapter) Error(string, ...any) {}
