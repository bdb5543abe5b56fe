package tableschema

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
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
func luhnComplete(digits string) string {
	for d := byte('0'); d <= '9'; d++ {
		if s := digits + string(d); luhnValid(s) {
			return s
		}
	}
	panic("unreachable")
}

func randomSiret(r *rand.Rand) string {
	siren := luhnComplete(fmt.Sprintf("%08d", r.IntN(100_000_000)))
	if siren[0] == '3' && siren[:9] == "356000000" {
		siren = "123456782"
	}
	return luhnComplete(siren + fmt.Sprintf("%04d", r.IntN(10_000)))
}

func writeSubventions(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	natures := []string{"aide en numéraire", "aide en nature", "aide en numéraire;aide en nature"}
	objets := []string{"Soutien au fonctionnement de l'association", `"Organisation du festival ""Jazz en ville"", édition annuelle"`,
		"Aide à l'embauche", `"Projet culturel, ateliers et expositions"`, "Subvention exceptionnelle"}
	fmt.Fprintln(w, "nomAttribuant,idAttribuant,dateConvention,referenceDecision,nomBeneficiaire,idBeneficiaire,rnaBeneficiaire,objet,montant,nature,conditionsVersement,datesPeriodeVersement,idRAE,notificationUE,pourcentageSubvention,dispositifAide")
	start := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < rows; i++ {
		d := start.AddDate(0, 0, i%2000)
		siret, rna := randomSiret(r), ""
		if i%10 == 0 {
			siret, rna = "", fmt.Sprintf("W%09d", r.IntN(1_000_000_000))
		}
		period := d.Format("2006-01-02")
		cond := "unique"
		if i%3 == 0 {
			period += "/" + d.AddDate(1, 0, 0).Format("2006-01-02")
			cond = "échelonné"
		}
		rae := ""
		if i%7 == 0 {
			rae = fmt.Sprintf("%05d", r.IntN(100000))
		}
		notif := "non"
		if i%11 == 0 {
			notif = "oui"
		}
		fmt.Fprintf(w, "Ville de Poitiers,21860194600013,%s,DEL-%d,Association n°%d,%s,%s,%s,%d.%02d,%s,%s,%s,%s,%s,%.2f,%08x-102c-4440-ac3b-768f708edc0a\n",
			d.Format("2006-01-02"), i, i, siret, rna, objets[i%len(objets)], 100+r.IntN(500000), r.IntN(100),
			natures[i%len(natures)], cond, period, rae, notif, 0.01+float64(r.IntN(100))/100, i)
	}
	if err := w.Flush(); err != nil {
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
