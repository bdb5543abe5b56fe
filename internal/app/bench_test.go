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
	"sync"
	"sync/atomic"
	"syscall"
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
// on civicflow's embedded server (SQLite file, as `serve` configures it:
// secret, internal mTLS, tuned persistence) and on temporaltest's
// in-memory server, in the same run: compare the two ns/op. With -count,
// `go test` repeats each sub-benchmark in a row (embedded × N, then
// in-memory × N), so the two do not see the same moments: bench/engine.sh
// alternates them itself, each run in a fresh process, with the
// throughput benchmark below.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("embedded-sqlite-file", func(b *testing.B) {
		c := embeddedClient(b)
		roundTrips(b, c, 1)
	})
	b.Run("temporaltest-memory", func(b *testing.B) {
		ts := temporaltest.NewServer()
		defer ts.Stop()
		roundTrips(b, ts.GetDefaultClient(), 1)
	})
}

// BenchmarkThroughput starts short instances (one activity each) from 16
// concurrent callers, as a busy installation would, on both servers; it
// reports instances per second (inst/s) besides ns/op per instance.
func BenchmarkThroughput(b *testing.B) {
	b.Run("embedded-sqlite-file", func(b *testing.B) {
		c := embeddedClient(b)
		roundTrips(b, c, 16)
	})
	b.Run("temporaltest-memory", func(b *testing.B) {
		ts := temporaltest.NewServer()
		defer ts.Stop()
		roundTrips(b, ts.GetDefaultClient(), 16)
	})
}

// embeddedClient starts an embedded server configured as `serve` does and
// returns a client holding its secret.
func embeddedClient(b *testing.B) client.Client {
	b.Helper()
	dir := b.TempDir()
	secret, err := temporalserver.LoadOrCreateSecret(dir + "/" + temporalserver.SecretFileName)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := temporalserver.Start(context.Background(), temporalserver.Options{
		DatabasePath: dir + "/temporal.db", Namespace: "civicflow", Retention: 24 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Secret: secret,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Stop() })
	c, err := client.Dial(client.Options{HostPort: srv.HostPort(), Namespace: "civicflow", Logger: quietSDK(), HeadersProvider: temporalserver.Headers(secret)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// roundTrips runs b.N probe instances to their result, `parallel` at a
// time, after a warm-up, and reports instances per second.
func roundTrips(b *testing.B, c client.Client, parallel int) {
	w, err := worker.New(c, worker.Options{TaskQueue: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	run := func(id string) error {
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "bench"}, worker.ProbeWorkflow, worker.ProbeInput{})
		if err != nil {
			return err
		}
		var res worker.ProbeResult
		return r.Get(ctx, &res)
	}
	prefix := fmt.Sprintf("rt-%d-", time.Now().UnixNano())
	for i := range 2 * parallel { // warm up: connections, caches, sticky queues
		if err := run(fmt.Sprintf("%swarm-%d", prefix, i)); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := run(fmt.Sprintf("%s%d", prefix, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "inst/s")
	// CPU of the whole process (server, worker, client) per instance: on a
	// shared machine, what an instance costs whatever the neighbours do.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/inst")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func quietSDK() *tlogAdapter { return &tlogAdapter{} }

// tlogAdapter silences the SDK's logger in benchmarks.
type tlogAdapter struct{}

func (tlogAdapter) Debug(string, ...any) {}
func (tlogAdapter) Info(string, ...any)  {}
func (tlogAdapter) Warn(string, ...any)  {}
func (tlogAdapter) Error(string, ...any) {}
