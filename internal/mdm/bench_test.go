package mdm

import (
	"fmt"
	"strings"
	"testing"
)

// genRecords makes n records: n/5 entities written 5 ways (case, accents,
// spacing, punctuation, one typo).
func genRecords(n int) []Record {
	words := []string{"Association", "Club", "Comité", "Fédération", "Amicale", "Société", "Union", "Cercle"}
	places := []string{"Roques", "Nevers", "Poitiers", "Cahors", "Amiens", "Toulouse", "Évry", "Sète"}
	out := make([]Record, n)
	for i := range out {
		e := i / 5
		name := fmt.Sprintf("%s sportive %d de %s", words[e%len(words)], e, places[(e/len(words))%len(places)])
		switch i % 5 {
		case 1:
			name = strings.ToUpper(name)
		case 2:
			name = strings.NewReplacer("é", "e", "É", "E", "è", "e").Replace(name)
		case 3:
			name = "  " + strings.ReplaceAll(name, " ", "  ") + "."
		case 4:
			name = strings.Replace(name, "sportive", "sportiv", 1)
		}
		out[i] = Record{Source: "s", Line: i + 2, Values: []string{fmt.Sprintf("%014d", e), name, "2018-01-30"}}
	}
	return out
}

var benchHeader = []string{"siret", "nom", "date"}

// BenchmarkDeduplicateFuzzy measures rows/s with near-duplicate matching on
// 100k rows; BenchmarkDeduplicateKey (exact key only) is the baseline.
func BenchmarkDeduplicateFuzzy(b *testing.B) {
	recs := genRecords(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := Deduplicate(recs, Options{Header: benchHeader, Match: []string{"nom"}, Threshold: 0.9})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Clusters) != 20_000 {
			b.Fatalf("clusters = %d", len(res.Clusters))
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkDeduplicateKey(b *testing.B) {
	recs := genRecords(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Deduplicate(recs, Options{Header: benchHeader, Key: []string{"siret"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkConsolidate(b *testing.B) {
	recs := genRecords(100_000)
	res, err := Deduplicate(recs, Options{Header: benchHeader, Key: []string{"siret"}})
	if err != nil {
		b.Fatal(err)
	}
	rules := Rules{Header: benchHeader, Attributes: map[string]Rule{"nom": {Strategy: MostComplete}}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Consolidate(recs, res.Clusters, rules); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
