package harmonise

import (
	"fmt"
	"testing"
)

// genRows makes n subventions-like rows mixing clean and dirty values.
func genRows(n int) [][]string {
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{
			fmt.Sprintf(" Association %d ", i),
			[]string{"44306184100047.0", "443 061 841 00047", "44306184100047"}[i%3],
			[]string{"30/01/2018", "2018/01/30", "2018-01-30"}[i%3],
			fmt.Sprintf("%d\u00a0%03d,%02d", i%1000+1, i%1000, i%100),
			"2018-01-01_2018-03-31",
			[]string{"oui", "NON", "x"}[i%3],
			fmt.Sprintf("%d", 1000+i%90000),
		}
	}
	return rows
}

var benchColumns = []Column{
	{"nomBeneficiaire", Text}, {"idBeneficiaire", SIRET}, {"dateConvention", Date}, {"montant", Number},
	{"datesPeriodeVersement", DatePeriod}, {"notificationUE", Boolean}, {"codeInsee", INSEECommune},
}

// BenchmarkApply measures rows/s on 100k generated rows; BenchmarkBaselineCopy
// is the floor (copying the same rows) to compare against in the same run.
func BenchmarkApply(b *testing.B) {
	rows := genRows(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h := New(benchColumns, Options{TrueValue: "oui", FalseValue: "non"})
		for i, r := range rows {
			h.Apply(r, i+2)
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkBaselineCopy(b *testing.B) {
	rows := genRows(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, r := range rows {
			out := make([]string, len(r))
			copy(out, r)
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
