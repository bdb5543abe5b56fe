package store_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// TestExploreIndexes: a loaded release has its key, record-id and
// facet/sort indexes (at most MaxIndexFields of the fields named), and on
// PostgreSQL its full-text index, which search() answers through.
func TestExploreIndexes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "travaux", Title: "Travaux", Department: "voirie"}))
		i := 0
		rel, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "travaux", Key: "k1", NormalizedSHA: "x", Columns: exploreCols,
			PrimaryKey: []string{"id"}, IndexFields: []string{"nope", "commune", "date", "actif"}},
			func() (store.ReleaseRow, error) {
				if i == len(exploreSource) {
					return store.ReleaseRow{}, io.EOF
				}
				r := exploreSource[i]
				i++
				d, _ := time.Parse(time.DateOnly, r.date)
				var note any
				if r.note != nil {
					note = *r.note
				}
				return store.ReleaseRow{Values: []any{r.id, r.commune, r.montant, r.nb, r.actif, d, note}, Key: r.id, Hash: r.id}, nil
			})
		require.NoError(t, err)
		q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`
		if s.Dialect() == "postgres" {
			q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname`
		}
		var names []string
		require.NoError(t, s.DB().SelectContext(ctx, &names, q, rel.Table))
		want := []string{rel.Table + "_i1"} // SQLite: the primary key only (see exploreIndexSQL)
		if s.Dialect() == "postgres" {
			// commune, date (actif: over the cap), the full-text index.
			want = []string{rel.Table + "_f2", rel.Table + "_f6", rel.Table + "_fts", rel.Table + "_i1", rel.Table + "_row"}
		}
		require.Equal(t, want, names)

		// search(): words as prefixes (PostgreSQL's index) or substrings (SQLite's LIKE): the same rows here.
		res, err := s.ExploreRecords(ctx, rel, mustQuery(t, "id", `search("rue") or search(commune, "caluire")`, "", "id"))
		require.NoError(t, err)
		require.Equal(t, [][]any{{"r01"}, {"r07"}, {"r09"}}, res.Rows)
		res, err = s.ExploreRecords(ctx, rel, mustQuery(t, "id", `search("place bellecour")`, "", ""))
		require.NoError(t, err)
		require.Equal(t, [][]any{{"r10"}}, res.Rows)
		res, err = s.ExploreRecords(ctx, rel, mustQuery(t, "id", `search("'); DROP TABLE datasets; --")`, "", ""))
		require.NoError(t, err)
		require.Empty(t, res.Rows)
	})
}
