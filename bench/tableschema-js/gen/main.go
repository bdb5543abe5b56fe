// Command gen writes the scdl-subventions benchmark CSV used by
// internal/tableschema/bench_test.go (BenchmarkValidate), so that other
// validators can be timed on the very same bytes.
//
// internal/tableschema does not export its generator (writeSubventions lives
// in bench_test.go), so this is a copy of it: same PRNG (math/rand/v2 PCG
// seeded 1, 2), same draws in the same order, same format. For a given row
// count the output is byte-identical to the benchmark's file; run.sh checks
// that with a `go test -overlay` probe unless VERIFY=0.
//
//	go run ./bench/tableschema-js/gen -rows 200000 -o /tmp/subventions.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"time"
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
	if err := writeSubventions(w, *rows); err != nil {
		log.Fatal(err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}

// luhnValid mirrors internal/tableschema.luhnValid (digits only).
func luhnValid(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
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

// writeSubventions is bench_test.go's generator, writing to w.
func writeSubventions(out io.Writer, rows int) error {
	w := bufio.NewWriterSize(out, 1<<20)
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
	return w.Flush()
}
