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
	"sort"
	"strconv"
	"strings"
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
	cpu := cpuTime() - h.cpu0
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(h.peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(rows*b.N), "cpu-µs/row")
}

// parseEncodingCSV streams the file through encoding/csv and returns the
// number of records (header included).
func parseEncodingCSV(path string, reuse bool, sample func()) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = reuse
	n := 0
	for {
		_, err := cr.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if n++; n%200_000 == 0 && sample != nil {
			sample()
		}
	}
}

func benchEncodingCSV(b *testing.B, reuse bool) {
	path, rows := benchFile(b)
	b.ResetTimer()
	h := newSampler()
	for range b.N {
		n, err := parseEncodingCSV(path, reuse, h.sample)
		if err != nil {
			b.Fatal(err)
		}
		if n != rows+1 {
			b.Fatalf("read %d records, want %d", n, rows+1)
		}
	}
	report(b, rows, h)
}

// BenchmarkParseEncodingCSV is the baseline: encoding/csv streaming the
// file, one goroutine, a fresh []string per record.
func BenchmarkParseEncodingCSV(b *testing.B) { benchEncodingCSV(b, false) }

// BenchmarkParseEncodingCSVReuseRecord is the fastest use of encoding/csv:
// the record slice is reused (the cells are still one string each).
func BenchmarkParseEncodingCSVReuseRecord(b *testing.B) { benchEncodingCSV(b, true) }

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

// validateFile validates the benchmark file against s; it must be valid.
func validateFile(s *Schema, path string, rows int, sample func()) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := ValidateCSV(context.Background(), s, f, Options{ProgressEvery: 200_000, Progress: func(int64, int64) { sample() }})
	if err != nil {
		return err
	}
	if !rep.Valid || rep.Stats.Rows != int64(rows) {
		return fmt.Errorf("valid=%v rows=%d errors=%v", rep.Valid, rep.Stats.Rows, rep.Errors[:min(3, len(rep.Errors))])
	}
	return nil
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
		if err := validateFile(s, path, rows, h.sample); err != nil {
			b.Fatal(err)
		}
	}
	report(b, rows, h)
}

// BenchmarkValidateVsEncodingCSV is the comparison in one run: each
// iteration streams the file through encoding/csv with ReuseRecord (one
// goroutine), then validates it (a reader goroutine and GOMAXPROCS
// workers), A B A B …, and measures each pass in wall time and in process
// CPU time (user+sys of every thread). Reported, as medians over the
// iterations: rows per wall-clock second and rows per CPU-second of each,
// and the two ratios validate / encoding/csv. The wall ratio is what a
// user waits for on this machine; the CPU ratio is the work done, whatever
// the number of cores (the validator spreads its work over every core,
// encoding/csv uses one). Run it with a fixed count, e.g.
// bench/run.sh tableschema.
func BenchmarkValidateVsEncodingCSV(b *testing.B) {
	path, rows := benchFile(b)
	s, err := LoadShipped("scdl-subventions")
	if err != nil {
		b.Fatal(err)
	}
	type pass struct{ wall, cpu time.Duration }
	measure := func(fn func() error) pass {
		w0, c0 := time.Now(), cpuTime()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		return pass{time.Since(w0), cpuTime() - c0}
	}
	var csvP, valP []pass
	for b.Loop() {
		csvP = append(csvP, measure(func() error {
			n, err := parseEncodingCSV(path, true, nil)
			if err == nil && n != rows+1 {
				err = fmt.Errorf("read %d records, want %d", n, rows+1)
			}
			return err
		}))
		valP = append(valP, measure(func() error { return validateFile(s, path, rows, func() {}) }))
	}
	perSec := func(ps []pass, cpu bool) []float64 {
		out := make([]float64, len(ps))
		for i, p := range ps {
			d := p.wall
			if cpu {
				d = p.cpu
			}
			out[i] = float64(rows) / d.Seconds()
		}
		return out
	}
	ratios := func(cpu bool) []float64 {
		v, c := perSec(valP, cpu), perSec(csvP, cpu)
		out := make([]float64, len(v))
		for i := range v {
			out[i] = v[i] / c[i]
		}
		return out
	}
	b.ReportMetric(medianOf(perSec(csvP, false)), "csv-rows/s")
	b.ReportMetric(medianOf(perSec(csvP, true)), "csv-rows/cpu-s")
	b.ReportMetric(medianOf(perSec(valP, false)), "validate-rows/s")
	b.ReportMetric(medianOf(perSec(valP, true)), "validate-rows/cpu-s")
	b.ReportMetric(medianOf(ratios(false)), "wall-ratio")
	b.ReportMetric(medianOf(ratios(true)), "cpu-ratio")
	b.Logf("%d pairs, GOMAXPROCS %d; per pair validate/csv wall %s, cpu %s", len(valP), runtime.GOMAXPROCS(0),
		fmtList(ratios(false)), fmtList(ratios(true)))
}

func medianOf(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtList(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.FormatFloat(x, 'f', 2, 64))
	}
	return strings.Join(s, " ")
}
