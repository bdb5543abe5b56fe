// Command gen writes the scdl-subventions benchmark CSV used by
// internal/tableschema/bench_test.go (BenchmarkValidate), so that other
// validators can be timed on the very same bytes.
//
// Both use internal/benchdata.WriteSubventions, so for a given row count the
// output is byte-identical to the benchmark's file (run.sh still checks it
// with a `go test -overlay` probe unless VERIFY=0).
//
//	go run ./bench/tableschema-js/gen -rows 200000 -o /tmp/subventions.csv
package main

import (
	"flag"
	"io"
	"log"
	"os"

	"github.com/civicflow/civicflow/internal/benchdata"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "number of data rows (header excluded)")
	out := flag.String("o", "-", "output file (- for stdout)")
	flag.Parse()
	if *rows < 0 {
		log.Fatalf("gen: -rows must be >= 0")
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			log.Fatal(err)
		}
		w = f
	}
	if err := benchdata.WriteSubventions(w, *rows); err != nil {
		log.Fatal(err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}
