package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// wideSchema is a Table Schema of n string fields, with a primary key of
// the first pk fields.
func wideSchema(n, pk int) []byte {
	var b strings.Builder
	b.WriteString(`{"fields":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name":"c%d","type":"string"}`, i)
	}
	b.WriteString(`]`)
	if pk > 0 {
		keys := make([]string, pk)
		for i := range keys {
			keys[i] = fmt.Sprintf(`"c%d"`, i)
		}
		b.WriteString(`,"primaryKey":[` + strings.Join(keys, ",") + `]`)
	}
	b.WriteString(`}`)
	return []byte(b.String())
}

// The widest release a database holds is made; one column more is refused
// before any SQL, with a ColumnLimitError (SQLite: 2,000 columns,
// PostgreSQL: 1,600, each less the 3 of civicflow), and a schema is
// checked against the same limits (and PostgreSQL's 32 index keys).
func TestReleaseColumnLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "large", Title: "Large", Department: "voirie"}))
		max := map[string]int{"sqlite": 1997, "postgres": 1597}[s.Dialect()]
		require.Equal(t, max, s.MaxReleaseColumns())

		cols := func(n int) []store.ReleaseColumn {
			out := make([]store.ReleaseColumn, n)
			for i := range out {
				out[i] = store.ReleaseColumn{Field: fmt.Sprintf("c%d", i), Kind: store.KindText}
			}
			return out
		}
		row := func(n int) []any {
			out := make([]any, n)
			for i := range out {
				out[i] = "x"
			}
			return out
		}
		rel, created, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "large", Key: "k1", Columns: cols(max), PrimaryKey: []string{"c0"}}, rowsOf(row(max), row(max)))
		require.NoError(t, err, "the widest release")
		require.True(t, created)
		require.EqualValues(t, 2, rel.Rows)

		_, _, err = s.CreateRelease(ctx, store.NewRelease{DatasetID: "large", Key: "k2", Columns: cols(max + 1)}, rowsOf(row(max+1)))
		require.ErrorIs(t, err, store.ErrTooManyColumns)
		var ce *store.ColumnLimitError
		require.True(t, errors.As(err, &ce))
		require.Equal(t, max+1, ce.Count)
		require.Contains(t, err.Error(), fmt.Sprintf("at most %d", max))

		ok, err := tableschema.Parse(wideSchema(max, 0))
		require.NoError(t, err)
		require.NoError(t, s.CheckSchemaWidth("ok", ok))
		wide, err := tableschema.Parse(wideSchema(max+1, 0))
		require.NoError(t, err)
		err = s.CheckSchemaWidth("wide", wide)
		require.ErrorIs(t, err, store.ErrTooManyColumns)
		require.Contains(t, err.Error(), fmt.Sprintf(`schema "wide" has %d columns`, max+1))

		longKey, err := tableschema.Parse(wideSchema(40, 33))
		require.NoError(t, err)
		if s.Dialect() == "postgres" {
			require.ErrorContains(t, s.CheckSchemaWidth("key", longKey), "its primary key has 33 fields, more than the 32 columns PostgreSQL can index")
		} else {
			require.NoError(t, s.CheckSchemaWidth("key", longKey))
		}
		// A release with such a key is still made (without that index).
		_, _, err = s.CreateRelease(ctx, store.NewRelease{DatasetID: "large", Key: "k3", Columns: cols(40), PrimaryKey: fieldNames(33)}, rowsOf(row(40)))
		require.NoError(t, err)

		// A schema stored before the check is refused when used.
		_, _, err = s.PutCustomSchema(ctx, store.CustomSchema{Name: "wide", SHA256: "w", Descriptor: store.JSONText(wideSchema(max+1, 0))})
		require.NoError(t, err)
		_, _, err = s.LoadSchema(ctx, "wide", 0)
		require.ErrorIs(t, err, store.ErrTooManyColumns)

		// A schema that no longer parses is the request's problem, named.
		_, _, err = s.PutCustomSchema(ctx, store.CustomSchema{Name: "broken", SHA256: "b", Descriptor: store.JSONText(`{"fields":[{"name":"a","type":"nope"}]}`)})
		require.NoError(t, err)
		_, _, err = s.LoadSchema(ctx, "broken", 0)
		require.ErrorIs(t, err, store.ErrUnusableSchema)
		require.ErrorContains(t, err, `stored schema "broken" version 1 no longer parses`)
	})
}

func fieldNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c%d", i)
	}
	return out
}
