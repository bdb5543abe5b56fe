package store_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func dataSetup(t *testing.T, s *store.Store) context.Context {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
	require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "finances", Name: "Finances"}))
	return ctx
}

func TestDatasetsCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		d := &store.Dataset{ID: "subventions-2024", Title: "Subventions", Department: "finances", SchemaName: "scdl-subventions",
			Keywords: store.Strings{"SCDL", "subventions"}, TemporalStart: "2024-01-01"}
		require.NoError(t, s.CreateDataset(ctx, d))
		require.ErrorIs(t, s.CreateDataset(ctx, &store.Dataset{ID: "subventions-2024", Title: "x", Department: "finances"}), store.ErrConflict)
		require.ErrorIs(t, s.CreateDataset(ctx, &store.Dataset{ID: "other", Title: "x", Department: "nowhere"}), store.ErrNotFound)
		require.Error(t, s.CreateDataset(ctx, &store.Dataset{ID: "Bad Id; DROP", Title: "x", Department: "voirie"}))
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))

		got, err := s.Dataset(ctx, "subventions-2024")
		require.NoError(t, err)
		require.Equal(t, "etalab-2.0", got.Licence)
		require.Equal(t, "unknown", got.Frequency)
		require.Equal(t, store.VisibilityPrivate, got.Visibility)
		require.Equal(t, store.Strings{"SCDL", "subventions"}, got.Keywords)
		require.JSONEq(t, `[]`, string(got.PersonalFields))
		require.Nil(t, got.ExposedRelease)

		got.Title = "Subventions versées"
		got.PersonalFields = store.JSONText(`[{"field":"nom","method":"drop"}]`)
		require.NoError(t, s.UpdateDataset(ctx, &got))
		got, err = s.Dataset(ctx, "subventions-2024")
		require.NoError(t, err)
		require.Equal(t, "Subventions versées", got.Title)
		require.JSONEq(t, `[{"field":"nom","method":"drop"}]`, string(got.PersonalFields))
		require.NoError(t, s.SetDatasetVisibility(ctx, "arbres", store.VisibilityPublic))

		for _, tt := range []struct {
			f    store.DatasetFilter
			want []string
		}{
			{store.DatasetFilter{}, []string{"arbres", "subventions-2024"}},
			{store.DatasetFilter{Departments: []string{"voirie"}}, []string{"arbres"}},
			{store.DatasetFilter{Departments: []string{}}, nil},
			{store.DatasetFilter{Visibility: store.VisibilityPublic}, []string{"arbres"}},
		} {
			ds, err := s.Datasets(ctx, tt.f)
			require.NoError(t, err)
			var ids []string
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			require.Equal(t, tt.want, ids, "%+v", tt.f)
		}
		_, err = s.Dataset(ctx, "ghost")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, s.ExposeRelease(ctx, "arbres", 1), store.ErrNotFound)
	})
}

func TestDataFilesSchemasReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		f := &store.DataFile{ID: "f1", DatasetID: "arbres", Kind: store.FileUpload, Name: "a.csv", Format: "csv", SHA256: "ab", Size: 3}
		require.NoError(t, s.CreateDataFile(ctx, f))
		require.ErrorIs(t, s.CreateDataFile(ctx, &store.DataFile{ID: "f2", DatasetID: "ghost", Kind: store.FileUpload}), store.ErrNotFound)
		require.NoError(t, s.CreateDataFile(ctx, &store.DataFile{ID: "u1", DatasetID: "arbres", Kind: store.FileURL, URL: "https://example.org/a.csv"}))
		require.NoError(t, s.RecordFetch(ctx, "u1", "cd", 10, "csv", `"e1"`, "Mon, 01 Jan 2024 00:00:00 GMT", time.Now()))
		u, err := s.DataFile(ctx, "u1")
		require.NoError(t, err)
		require.Equal(t, `"e1"`, u.ETag)
		require.NotNil(t, u.FetchedAt)
		fs, err := s.DataFiles(ctx, "arbres")
		require.NoError(t, err)
		require.Len(t, fs, 2)

		v1, created, err := s.PutCustomSchema(ctx, store.CustomSchema{Name: "mine", SHA256: "h1", Descriptor: store.JSONText(`{"fields":[]}`)})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 1, v1.Version)
		same, created, err := s.PutCustomSchema(ctx, store.CustomSchema{Name: "mine", SHA256: "h1", Descriptor: store.JSONText(`{"fields":[]}`)})
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, 1, same.Version)
		v2, created, err := s.PutCustomSchema(ctx, store.CustomSchema{Name: "mine", SHA256: "h2", Descriptor: store.JSONText(`{"fields":[{"name":"a"}]}`)})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 2, v2.Version)
		latest, err := s.CustomSchema(ctx, "mine", 0)
		require.NoError(t, err)
		require.Equal(t, 2, latest.Version)
		old, err := s.CustomSchema(ctx, "mine", 1)
		require.NoError(t, err)
		require.JSONEq(t, `{"fields":[]}`, string(old.Descriptor))
		all, err := s.CustomSchemas(ctx)
		require.NoError(t, err)
		require.Len(t, all, 1)

		key, ds := "i1/validate/ab", "arbres"
		r := &store.QualityReport{Key: &key, DatasetID: &ds, Valid: false, Rows: 3, Errors: 2, Report: store.JSONText(`{"valid":false}`)}
		require.NoError(t, s.SaveQualityReport(ctx, r))
		again := &store.QualityReport{Key: &key, DatasetID: &ds, Valid: true, Report: store.JSONText(`{}`)}
		require.NoError(t, s.SaveQualityReport(ctx, again))
		require.Equal(t, r.ID, again.ID, "same key, same report")
		require.False(t, again.Valid)
		lr, err := s.LatestQualityReport(ctx, "arbres")
		require.NoError(t, err)
		require.Equal(t, r.ID, lr.ID)

		nk := "i1/remind/1"
		n := &store.Notification{Key: &nk, Recipient: "approver", Template: "approval-overdue", InstanceID: "i1"}
		created, err = s.RecordNotification(ctx, n)
		require.NoError(t, err)
		require.True(t, created)
		created, err = s.RecordNotification(ctx, &store.Notification{Key: &nk, Recipient: "approver", Template: "approval-overdue", InstanceID: "i1"})
		require.NoError(t, err)
		require.False(t, created)
		ns, err := s.Notifications(ctx, "i1")
		require.NoError(t, err)
		require.Len(t, ns, 1)

		run, err := s.RecordDataRun(ctx, store.DataRun{Key: "i1/ingest/f1", Activity: "civicflow.ingest", InstanceID: "i1", Result: store.JSONText(`{"a":1}`)})
		require.NoError(t, err)
		require.JSONEq(t, `{"a":1}`, string(run.Result))
		run, err = s.RecordDataRun(ctx, store.DataRun{Key: "i1/ingest/f1", Activity: "civicflow.ingest", Result: store.JSONText(`{"a":2}`)})
		require.NoError(t, err)
		require.JSONEq(t, `{"a":1}`, string(run.Result), "first run wins")
	})
}

// rowsOf makes a RowSource from literal rows keyed on the first value.
func rowsOf(rows ...[]any) store.RowSource {
	i := 0
	return func() (store.ReleaseRow, error) {
		if i == len(rows) {
			return store.ReleaseRow{}, io.EOF
		}
		r := rows[i]
		i++
		h := ""
		for _, v := range r {
			h += "|" + toString(v)
		}
		return store.ReleaseRow{Values: r, Key: toString(r[0]), Hash: h}, nil
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.Format(time.RFC3339)
	default:
		return fmtAny(x)
	}
}

func TestReleasesTypedTablesAndDiff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		cols := []store.ReleaseColumn{
			{Field: "id", Kind: store.KindText},
			{Field: "Hauteur (m)", Kind: store.KindNumeric},
			{Field: "âge", Kind: store.KindInteger},
			{Field: "remarquable", Kind: store.KindBoolean},
			{Field: "plantation", Kind: store.KindDate},
			{Field: `mesure"; DROP TABLE datasets; --`, Kind: store.KindTimestamp},
		}
		d1 := time.Date(2001, 3, 4, 0, 0, 0, 0, time.UTC)
		at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
		var progress []int64
		r1, created, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "i1/publish", Columns: cols, PrimaryKey: []string{"id"},
			Progress: func(n int64) { progress = append(progress, n) }},
			rowsOf(
				[]any{"A1", 12.5, int64(40), true, d1, at},
				[]any{"A2", nil, nil, false, nil, nil},
				[]any{"A3", 3.0, int64(5), nil, d1, at},
			))
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 1, r1.Number)
		require.EqualValues(t, 3, r1.Rows)
		require.Equal(t, []int64{3}, progress)
		require.Equal(t, store.Diff{Added: 3}, r1.Diff)
		require.Equal(t, "f_hauteur__m_", r1.Columns[1].Column)
		require.Equal(t, "f_age", r1.Columns[2].Column)

		again, created, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "i1/publish", Columns: cols}, rowsOf())
		require.NoError(t, err)
		require.False(t, created, "same key, same release")
		require.Equal(t, 1, again.Number)

		rows, err := s.ReleaseRows(ctx, r1, 10, 0)
		require.NoError(t, err)
		require.Len(t, rows, 3)
		require.Equal(t, map[string]any{"_row": int64(1), "id": "A1", "Hauteur (m)": 12.5, "âge": int64(40), "remarquable": true,
			"plantation": "2001-03-04", `mesure"; DROP TABLE datasets; --`: "2024-05-06T07:08:09Z"}, rows[0])
		require.Nil(t, rows[1]["Hauteur (m)"])
		require.Equal(t, false, rows[1]["remarquable"])
		page, err := s.ReleaseRows(ctx, r1, 1, 2)
		require.NoError(t, err)
		require.Equal(t, "A3", page[0]["id"])

		// Release 2: A1 unchanged, A2 changed, A3 removed, A4 added.
		r2, created, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "i2/publish", Columns: cols, PrimaryKey: []string{"id"}},
			rowsOf(
				[]any{"A1", 12.5, int64(40), true, d1, at},
				[]any{"A2", 1.0, nil, false, nil, nil},
				[]any{"A4", 2.0, int64(1), true, d1, at},
			))
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 2, r2.Number)
		require.Equal(t, store.Diff{Previous: 1, ByKey: true, Added: 1, Removed: 1, Changed: 1, Unchanged: 1}, r2.Diff)

		// Release 3 without primary key: by hash.
		r3, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "i3/publish", Columns: cols},
			rowsOf([]any{"A1", 12.5, int64(40), true, d1, at}))
		require.NoError(t, err)
		require.Equal(t, store.Diff{Previous: 2, Added: 0, Removed: 2, Unchanged: 1}, r3.Diff)

		rels, err := s.Releases(ctx, "arbres")
		require.NoError(t, err)
		require.Len(t, rels, 3)
		require.NoError(t, s.ExposeRelease(ctx, "arbres", 2))
		d, err := s.Dataset(ctx, "arbres")
		require.NoError(t, err)
		require.Equal(t, 2, *d.ExposedRelease)
		latest, err := s.Release(ctx, "arbres", 0)
		require.NoError(t, err)
		require.Equal(t, 3, latest.Number)
		require.Equal(t, r2.Columns, rels[1].Columns)
		_, err = s.Release(ctx, "arbres", 9)
		require.ErrorIs(t, err, store.ErrNotFound)

		// A bad row rolls the whole release back.
		_, _, err = s.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "i4/publish", Columns: cols}, rowsOf([]any{"short"}))
		require.Error(t, err)
		latest, err = s.Release(ctx, "arbres", 0)
		require.NoError(t, err)
		require.Equal(t, 3, latest.Number)
	})
}

func fmtAny(v any) string { return fmt.Sprint(v) }
