package store_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// TestExploreObservedIndexes: on SQLite, the third query filtering on a
// field of a large release builds that field's index in the background
// (not a sort field's); answers are the same before and after; PostgreSQL
// builds none this way.
func TestExploreObservedIndexes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "finances", Name: "Finances"}))
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "subv", Title: "Subventions", Department: "finances"}))
		cols := []store.ReleaseColumn{{Field: "id", Kind: store.KindText}, {Field: "groupe", Kind: store.KindText}, {Field: "montant", Kind: store.KindNumeric}}
		n := store.AutoIndexMinRows + 500
		i := 0
		rel, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "subv", Key: "k1", NormalizedSHA: "x", Columns: cols, PrimaryKey: []string{"id"}},
			func() (store.ReleaseRow, error) {
				if i == n {
					return store.ReleaseRow{}, io.EOF
				}
				i++
				id := "S" + strconv.Itoa(i)
				return store.ReleaseRow{Values: []any{id, fmt.Sprintf("g%04d", i%300), float64(i%97) + 0.5}, Key: id, Hash: id}, nil
			})
		require.NoError(t, err)
		indexes := func() []string {
			q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`
			if s.Dialect() == "postgres" {
				q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname`
			}
			var names []string
			require.NoError(t, s.DB().SelectContext(ctx, &names, q, rel.Table))
			return names
		}
		before := indexes()
		q := mustQuery(t, "id, montant", `groupe = "g0042"`, "", "montant desc, id")
		q.Limit = 20
		var answers []store.ExploreResult
		for k := 0; k < store.AutoIndexAfter+1; k++ {
			res, err := s.ExploreRecords(ctx, rel, q)
			require.NoError(t, err)
			answers = append(answers, res)
			s.WaitAutoIndexes()
		}
		for _, a := range answers[1:] {
			require.Equal(t, answers[0], a)
		}
		require.EqualValues(t, 35, answers[0].Total)
		require.Len(t, answers[0].Rows, 20)
		if s.Dialect() == "postgres" {
			require.Equal(t, before, indexes())
			return
		}
		// groupe (the 2nd field) only: montant, sorted on, has none.
		require.ElementsMatch(t, append(before, rel.Table+"_f2"), indexes())
		// More queries build nothing more.
		for k := 0; k < store.AutoIndexAfter; k++ {
			_, err := s.ExploreRecords(ctx, rel, q)
			require.NoError(t, err)
		}
		s.WaitAutoIndexes()
		require.ElementsMatch(t, append(before, rel.Table+"_f2"), indexes())
	})
}
