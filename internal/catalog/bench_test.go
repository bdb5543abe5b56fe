package catalog_test

import (
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/catalog"
	"github.com/civicflow/civicflow/internal/store"
)

// benchEntries is a large collectivité's catalog: 500 public datasets.
func benchEntries(n int) []catalog.Entry {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]catalog.Entry, n)
	for i := range out {
		id := "jeu-" + strconv.Itoa(i)
		out[i] = catalog.Entry{
			Dataset: store.Dataset{ID: id, Title: "Jeu de données n° " + strconv.Itoa(i), Description: "Une description de quelques lignes, comme en écrivent les services.",
				Department: "voirie", SchemaName: "scdl-subventions", Licence: "etalab-2.0", Frequency: "monthly",
				Keywords: store.Strings{"voirie", "travaux", "mobilité"}, TemporalStart: "2025-01-01", TemporalEnd: "2025-12-31", Spatial: "Ville d'Exemple"},
			Release: store.Release{Number: 3, Rows: 1000, CreatedAt: t0.Add(time.Duration(i) * time.Hour)},
			Issued:  t0,
		}
	}
	return out
}

// BenchmarkCatalog: the DCAT-AP documents of a 500-dataset catalog, against
// the baseline of encoding the same datasets' metadata as plain JSON (what
// the Explore catalog export does).
func BenchmarkCatalog(b *testing.B) {
	entries := benchEntries(500)
	opts := catalog.Options{BaseURL: "https://data.ville-exemple.fr", Title: "Catalogue", Description: "D", Publisher: catalog.Publisher{Name: "Ville"}}
	b.Run("baseline-plain-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ds := make([]store.Dataset, len(entries))
			for i, e := range entries {
				ds[i] = e.Dataset
			}
			if _, err := json.Marshal(ds); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsonld", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := catalog.Build(opts, entries).MarshalJSONLD(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("turtle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := catalog.Build(opts, entries).WriteTurtle(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}
