// Package benchdata generates the deterministic data files that
// civicflow's benchmarks measure, so that a benchmark and an outside tool
// (bench/tableschema-js) can be timed on the very same bytes.
package benchdata

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

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

// WriteSubventions writes the header and rows data rows of a CSV valid
// against the scdl-subventions schema, deterministically (same bytes for
// the same count): SIRETs with valid Luhn keys, RNA numbers, quoted
// objects with commas and quotes, periods, French booleans.
func WriteSubventions(out io.Writer, rows int) error {
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

// WriteSubventionsWindows1252 writes the rows of WriteSubventions encoded
// in Windows-1252, as the exports of many business applications are (the
// file a collectivité sends most often).
func WriteSubventionsWindows1252(out io.Writer, rows int) error {
	w := transform.NewWriter(out, charmap.Windows1252.NewEncoder())
	if err := WriteSubventions(w, rows); err != nil {
		return err
	}
	return w.Close()
}
