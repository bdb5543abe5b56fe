package activities_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestStandaloneProcessing(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	b := dataSetup(t, st)
	csv := "nom;montant;date;email\n" +
		"Dupont;1 234,50;30/01/2018;jean.dupont@example.org\n" +
		"Dupont;1 234,50;30/01/2018;jean.dupont@example.org\n" +
		"Martin;12,5;2018-02-01;m@example.org\n"
	p := filepath.Join(t.TempDir(), "people.csv")
	require.NoError(t, os.WriteFile(p, []byte(csv), 0o600))
	require.NoError(t, st.CreateDataset(b.ctx, &store.Dataset{ID: "people", Title: "People", Department: "finances"}))
	f, err := os.Open(p)
	require.NoError(t, err)
	sha, size, err := b.d.Blobs.Put(b.ctx, f)
	f.Close()
	require.NoError(t, err)
	require.NoError(t, st.CreateDataFile(b.ctx, &store.DataFile{ID: "pf", DatasetID: "people", Kind: store.FileUpload, Name: "people.csv", SHA256: sha, Size: size}))

	in := input("harmonise", "i1", map[string]any{"dataset": "people", "file": "pf"})
	in.Params = map[string]string{"kinds": "montant:number,date:date"}
	res, err := b.run(t, activities.ActHarmonise, in)
	require.NoError(t, err)
	fixes := res.Variables["harmonise"].(map[string]any)["fixes"].(map[string]any)
	require.EqualValues(t, 3, fixes["decimal_comma"])
	require.EqualValues(t, 2, fixes["date_format"])
	merge(&in, res)

	in.NodeID, in.Params = "dedup", nil
	res, err = b.run(t, activities.ActDeduplicate, in)
	require.NoError(t, err)
	dd := res.Variables["deduplicate"].(map[string]any)
	require.EqualValues(t, 3, dd["records"])
	require.EqualValues(t, 1, dd["duplicates"])
	merge(&in, res)

	in.NodeID = "anonymise"
	in.Params = map[string]string{"fields": `[{"field":"email","method":"drop"},{"field":"nom","method":"pseudonymise"}]`}
	res, err = b.run(t, activities.ActAnonymise, in)
	require.NoError(t, err)
	require.Len(t, res.Variables["anonymisation"], 2)
	merge(&in, res)

	in.NodeID, in.Params = "release", nil
	res, err = b.run(t, activities.ActRelease, in)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Variables["release"])
	rel, err := st.Release(b.ctx, "people", 1)
	require.NoError(t, err)
	require.EqualValues(t, 2, rel.Rows)
	require.Contains(t, string(rel.Anonymisation), `"method":"drop"`)
	rows, err := st.ReleaseRows(b.ctx, rel, 10, 0)
	require.NoError(t, err)
	require.NotContains(t, rows[0], "email")
	require.NotEqual(t, "Dupont", rows[0]["nom"])
	require.Equal(t, "1234.50", rows[0]["montant"], "no schema: text columns, harmonised values")
	require.Equal(t, "2018-01-30", rows[0]["date"])
	require.Equal(t, store.VisibilityPrivate, mustDataset(t, st, b, "people").Visibility, "release does not publish")

	// The dataset's personal fields are applied by release when anonymise did not run.
	ds := mustDataset(t, st, b, "people")
	ds.PersonalFields = store.JSONText(`[{"field":"email","method":"drop"}]`)
	require.NoError(t, st.UpdateDataset(b.ctx, &ds))
	res, err = b.run(t, activities.ActPublish, input("publish", "i2", map[string]any{"dataset": "people", "file": "pf"}))
	require.NoError(t, err)
	rel, err = st.Release(b.ctx, "people", 2)
	require.NoError(t, err)
	require.Contains(t, string(rel.Anonymisation), `"field":"email"`)
	for _, c := range rel.Columns {
		require.NotEqual(t, "email", c.Field)
	}
	require.Equal(t, store.VisibilityPublic, mustDataset(t, st, b, "people").Visibility)
}

func mustDataset(t *testing.T, st *store.Store, b dataBundle, id string) store.Dataset {
	t.Helper()
	d, err := st.Dataset(b.ctx, id)
	require.NoError(t, err)
	return d
}
