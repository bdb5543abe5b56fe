package tableschema

import (
	"context"
	"encoding/csv"
	"fmt"
	"github.com/civicflow/civicflow/internal/benchdata"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The benchmark file: a subventions CSV valid against scdl-subventions,
// generated deterministically once per process in a temp directory.
// CIVICFLOW_BENCH_ROWS sets its size (default 1,000,000 rows).

var (
	benchOnce sync.Once
	benchPath string
	benchRows int
	benchErr  error
)

func benchFile(b *testing.B) (string, int) {
	b.Helper()
	benchOnce.Do(func() {
		benchRows = 1_000_000
		if v := os.Getenv("CIVICFLOW_BENCH_ROWS"); v != "" {
			benchRows, benchErr = strconv.Atoi(v)
			if benchErr != nil {
				return
			}
		}
		dir, err := os.MkdirTemp("", "civicflow-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchPath = filepath.Join(dir, fmt.Sprintf("subventions-%d.csv", benchRows))
		if benchErr = writeSubventions(benchPath, benchRows); benchErr != nil {
			return
		}
		// Flush the file to disk before timing: otherwise the kernel's
		// write-back of ~220 MB of dirty pages competes with whichever
		// benchmark runs first.
		f, err := os.Open(benchPath)
		if err != nil {
			benchErr = err
			return
		}
		benchErr = f.Sync()
		f.Close()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath, benchRows
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchPath != "" {
		_ = os.RemoveAll(filepath.Dir(benchPath))
	}
	os.Exit(code)
}

// luhnComplete appends the digit that makes digits pass the Luhn check.
// writeSubventions writes the benchmark file (bench/tableschema-js/run.sh
// calls it through a go test overlay to check the JS side reads the same bytes).
func writeSubventions(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := benchdata.WriteSubventions(f, rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// heapSampler records the peak HeapAlloc seen by sample, and the process
// CPU time (user+sys) since start: on a shared machine CPU per row is a
// steadier figure than wall time.
type heapSampler struct {
	peak uint64
	cpu0 time.Duration
}

func newSampler() *heapSampler { return &heapSampler{cpu0: cpuTime()} }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (h *heapSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapAlloc)
}

func report(b *testing.B, rows int, h *heapSampler) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(h.peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(cpuTime()-h.cpu0)/float64(time.Microsecond)/float64(rows*b.N), "cpu-µs/row")
}

// BenchmarkParseEncodingCSV is the baseline: encoding/csv streaming the file.
func BenchmarkParseEncodingCSV(b *testing.B) {
	path, rows := benchFile(b)
	b.ResetTimer()
	h := newSampler()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		cr := csv.NewReader(f)
		cr.FieldsPerRecord = -1
		n := 0
		for {
			_, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if n++; n%200_000 == 0 {
				h.sample()
			}
		}
		f.Close()
		if n != rows+1 {
			b.Fatalf("read %d records, want %d", n, rows+1)
		}
	}
	report(b, rows, h)
}

// BenchmarkParseCSVReader is this package's reader alone (sniffing included).
func BenchmarkParseCSVReader(b *testing.B) {
	path, rows := benchFile(b)
	b.ResetTimer()
	h := newSampler()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		cr, err := NewCSVReader(f, CSVOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if n++; n%200_000 == 0 {
				h.sample()
			}
		}
		f.Close()
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	report(b, rows, h)
}

// BenchmarkValidate is the full validation against scdl-subventions: every
// type, constraint and custom check of the schema (2 SIRET checks, one-of-required).
func BenchmarkValidate(b *testing.B) {
	path, rows := benchFile(b)
	s, err := LoadShipped("scdl-subventions")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	h := newSampler()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := ValidateCSV(context.Background(), s, f, Options{ProgressEvery: 200_000, Progress: func(int64, int64) { h.sample() }})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Valid || rep.Stats.Rows != int64(rows) {
			b.Fatalf("valid=%v rows=%d errors=%v", rep.Valid, rep.Stats.Rows, rep.Errors[:min(3, len(rep.Errors))])
		}
	}
	report(b, rows, h)
}
