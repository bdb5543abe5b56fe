package activities_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

// Every data activity refuses an object that is not its instance's: a
// dataset of another department, a file of another dataset, a derived file
// or a quality report of another dataset. The refusal is a business error
// (an incident) and an audit entry.
func TestDataActivitiesRefuseForeignObjects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := dataSetup(t, st)
		b.d.Audit = audit.NewLogger(st)
		b.stage(t, "f1", samples+"scdl-subventions.valid.csv")
		require.NoError(t, st.CreateDataset(b.ctx, &store.Dataset{ID: "budget", Title: "Budget", Department: "finances"}))
		require.NoError(t, st.CreateDataFile(b.ctx, &store.DataFile{ID: "fb", DatasetID: "budget", Kind: store.FileUpload, Name: "b.csv"}))

		// Another department's instance naming the finances dataset.
		voirie := func(node string) workflows.ActivityInput {
			in := input(node, "iv", map[string]any{"dataset": "subventions", "file": "f1"})
			in.Department = "voirie"
			return in
		}
		for _, act := range []string{activities.ActIngest, activities.ActValidate, activities.ActHarmonise, activities.ActDeduplicate,
			activities.ActAnonymise, activities.ActRelease, activities.ActPublish, activities.ActExpose} {
			_, err := b.run(t, act, voirie(act))
			requireInvalidInput(t, err)
			require.Contains(t, err.Error(), `dataset "subventions" belongs to department finances`, act)
		}
		// The param dataset is checked the same way.
		in := input("validate", "iv", map[string]any{})
		in.Department, in.Params = "voirie", map[string]string{"dataset": "subventions"}
		_, err := b.run(t, activities.ActValidate, in)
		requireInvalidInput(t, err)

		// A file of another dataset.
		_, err = b.run(t, activities.ActValidate, input("validate", "i1", map[string]any{"dataset": "subventions", "file": "fb"}))
		requireInvalidInput(t, err)
		require.Contains(t, err.Error(), `file "fb" belongs to dataset "budget"`)

		// A derived file of another dataset, named as "normalized".
		ing := input("ingest", "i2", map[string]any{"dataset": "subventions", "file": "f1"})
		res, err := b.run(t, activities.ActIngest, ing)
		require.NoError(t, err)
		sha := res.Variables["normalized"].(string)
		_, err = b.run(t, activities.ActValidate, input("validate", "i3", map[string]any{"dataset": "budget", "normalized": sha}))
		requireInvalidInput(t, err)
		require.Contains(t, err.Error(), `is not a file of dataset "budget"`)
		// …while the same dataset's derived file is fine, from any of its instances.
		_, err = b.run(t, activities.ActValidate, input("validate", "i4", map[string]any{"dataset": "subventions", "normalized": sha}))
		require.NoError(t, err)

		// A quality report of another dataset.
		qr := &store.QualityReport{DatasetID: ptr("budget"), SchemaName: "x", Report: store.JSONText(`{}`)}
		require.NoError(t, st.SaveQualityReport(b.ctx, qr))
		rel := input("release", "i2", map[string]any{"dataset": "subventions", "file": "f1", "normalized": sha,
			"report": map[string]any{"reportId": float64(qr.ID)}})
		_, err = b.run(t, activities.ActRelease, rel)
		requireInvalidInput(t, err)
		require.Contains(t, err.Error(), "is not a report of dataset")

		entries, err := st.AuditEntries(b.ctx, store.AuditFilter{Action: "data.refused"})
		require.NoError(t, err)
		require.Len(t, entries, 12)
		for _, e := range entries {
			require.Equal(t, audit.Denied, e.Outcome)
			require.Equal(t, "workflow", e.Actor)
		}
		require.Equal(t, "voirie", entries[len(entries)-1].Department)
		require.Contains(t, entries[len(entries)-1].Detail, `"activity":"civicflow.ingest"`)
		bad, err := audit.Verify(b.ctx, st)
		require.NoError(t, err)
		require.Nil(t, bad)
	})
}

// The dataset's anonymisation policy holds whatever the flow says: the
// "anonymisation" variable does not replace it, and the param fields of
// civicflow.anonymise add protections but do not weaken the policy's.
func TestAnonymisationPolicyCannotBeLifted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := dataSetup(t, st)
		csv := "nom;montant;email\nDupont;12;jean.dupont@example.org\nMartin;13;m@example.org\n"
		p := filepath.Join(t.TempDir(), "people.csv")
		require.NoError(t, os.WriteFile(p, []byte(csv), 0o600))
		require.NoError(t, st.CreateDataset(b.ctx, &store.Dataset{ID: "people", Title: "People", Department: "finances",
			PersonalFields: store.JSONText(`[{"field":"email","method":"drop"}]`)}))
		f, err := os.Open(p)
		require.NoError(t, err)
		sha, size, err := b.d.Blobs.Put(b.ctx, f)
		f.Close()
		require.NoError(t, err)
		require.NoError(t, st.CreateDataFile(b.ctx, &store.DataFile{ID: "pf", DatasetID: "people", Kind: store.FileUpload, Name: "people.csv", SHA256: sha, Size: size}))

		columns := func(n int) (string, store.Release) {
			rel, err := st.Release(b.ctx, "people", n)
			require.NoError(t, err)
			var cs []string
			for _, c := range rel.Columns {
				cs = append(cs, c.Field)
			}
			return strings.Join(cs, ","), rel
		}

		// 1. A start variable saying "nothing to anonymise".
		in := input("publish", "i1", map[string]any{"dataset": "people", "file": "pf", "anonymisation": []any{}})
		_, err = b.run(t, activities.ActPublish, in)
		require.NoError(t, err)
		cols, rel := columns(1)
		require.Equal(t, "nom,montant", cols)
		require.Contains(t, string(rel.Anonymisation), `"field":"email","method":"drop"`)

		// 2. A flow asking for a weaker method on email, and adding nom.
		in = input("anonymise", "i2", map[string]any{"dataset": "people", "file": "pf"})
		in.Params = map[string]string{"fields": `[{"field":"email","method":"mask"},{"field":"nom","method":"pseudonymise"}]`}
		res, err := b.run(t, activities.ActAnonymise, in)
		require.NoError(t, err)
		merge(&in, res)
		in.NodeID, in.Params = "release", nil
		in.Variables["anonymisation"] = []any{} // forged afterwards: ignored, the lineage is what counts
		_, err = b.run(t, activities.ActRelease, in)
		require.NoError(t, err)
		cols, rel = columns(2)
		require.Equal(t, "nom,montant", cols, "email dropped by the policy, not masked")
		require.Contains(t, string(rel.Anonymisation), `"field":"email","method":"drop"`)
		require.Contains(t, string(rel.Anonymisation), `"field":"nom","method":"pseudonymise"`)
		rows, err := st.ReleaseRows(b.ctx, rel, 10, 0)
		require.NoError(t, err)
		require.NotEqual(t, "Dupont", rows[0]["nom"], "the added protection holds")
		require.Equal(t, 1, strings.Count(string(rel.Anonymisation), `"field":"nom"`), "pseudonymised once, not twice")
	})
}

func ptr[T any](v T) *T { return &v }
