package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

const samples = "../internal/tableschema/testdata/samples/"

type dataBundle struct {
	d   *activities.Data
	st  *store.Store
	env *testsuite.TestActivityEnvironment
	ctx context.Context
}

func dataSetup(t *testing.T, st *store.Store) dataBundle {
	t.Helper()
	dir := t.TempDir()
	d := &activities.Data{Store: st, Blobs: ingest.Blobs{Dir: filepath.Join(dir, "blobs")}, DataDir: dir}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	d.Register(env)
	ctx := context.Background()
	require.NoError(t, st.CreateDepartment(ctx, store.Department{Slug: "finances", Name: "Finances"}))
	require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: "subventions", Title: "Subventions", Department: "finances", SchemaName: "scdl-subventions"}))
	return dataBundle{d: d, st: st, env: env, ctx: ctx}
}

// stage puts a file in the blob store and registers it for the dataset.
func (b dataBundle) stage(t *testing.T, id, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sha, size, err := b.d.Blobs.Put(b.ctx, f)
	require.NoError(t, err)
	require.NoError(t, b.st.CreateDataFile(b.ctx, &store.DataFile{ID: id, DatasetID: "subventions", Kind: store.FileUpload,
		Name: filepath.Base(path), SHA256: sha, Size: size}))
}

func (b dataBundle) run(t *testing.T, name string, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	t.Helper()
	v, err := b.env.ExecuteActivity(name, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	var res workflows.ActivityResult
	require.NoError(t, v.Get(&res))
	return res, nil
}

// merge applies a result's variables like the interpreter does.
func merge(in *workflows.ActivityInput, res workflows.ActivityResult) {
	b, _ := json.Marshal(res.Variables)
	var vars map[string]any
	_ = json.Unmarshal(b, &vars)
	for k, v := range vars {
		in.Variables[k] = v
	}
}

func input(node, instance string, vars map[string]any) workflows.ActivityInput {
	return workflows.ActivityInput{InstanceID: instance, Flow: "publication", Version: 1, Department: "finances", NodeID: node, Variables: vars}
}

func requireInvalidInput(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, activities.ErrInvalidInput, ae.Type())
	require.True(t, ae.NonRetryable())
}

func TestPublicationChainValidFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := dataSetup(t, st)
		b.stage(t, "f1", samples+"scdl-subventions.valid.csv")
		vars := map[string]any{"dataset": "subventions", "file": "f1"}
		in := input("ingest", "i1", vars)
		res, err := b.run(t, activities.ActIngest, in)
		require.NoError(t, err)
		require.Len(t, res.Variables["normalized"], 64)
		ing := res.Variables["ingest"].(map[string]any)
		require.EqualValues(t, 29, ing["rows"])
		require.Equal(t, "UTF-8", ing["encoding"])
		require.Equal(t, ",", ing["delimiter"])
		merge(&in, res)

		again, err := b.run(t, activities.ActIngest, in)
		require.NoError(t, err)
		require.Equal(t, res.Variables["normalized"], again.Variables["normalized"], "idempotent")

		in.NodeID = "validate"
		res, err = b.run(t, activities.ActValidate, in)
		require.NoError(t, err)
		require.Equal(t, true, res.Variables["valid"])
		rep := res.Variables["report"].(map[string]any)
		require.EqualValues(t, 29, rep["stats"].(map[string]any)["rows"])
		reportID := int64(rep["reportId"].(float64))
		require.Positive(t, reportID)
		merge(&in, res)
		full, err := st.QualityReport(b.ctx, reportID)
		require.NoError(t, err)
		require.True(t, full.Valid)
		require.Contains(t, string(full.Report), `"encoding":"UTF-8"`)

		in.NodeID = "publish"
		res, err = b.run(t, activities.ActPublish, in)
		require.NoError(t, err)
		require.EqualValues(t, 1, res.Variables["release"])
		merge(&in, res)
		res2, err := b.run(t, activities.ActPublish, in)
		require.NoError(t, err)
		require.EqualValues(t, 1, res2.Variables["release"], "same instance and node: same release")

		ds, err := st.Dataset(b.ctx, "subventions")
		require.NoError(t, err)
		require.Equal(t, store.VisibilityPublic, ds.Visibility)
		rel, err := st.Release(b.ctx, "subventions", 1)
		require.NoError(t, err)
		require.EqualValues(t, 29, rel.Rows)
		require.Equal(t, reportID, *rel.ReportID)
		rows, err := st.ReleaseRows(b.ctx, rel, 1, 0)
		require.NoError(t, err)
		require.Equal(t, "ANTIBES", rows[0]["nomAttribuant"])
		require.Equal(t, 99786.57, rows[0]["montant"])
		require.Equal(t, "2015-07-07", rows[0]["dateConvention"])
		require.Equal(t, false, rows[0]["notificationUE"])

		in.NodeID = "expose"
		res, err = b.run(t, activities.ActExpose, in)
		require.NoError(t, err)
		require.Equal(t, "release 1 exposed", res.Message)
		ds, err = st.Dataset(b.ctx, "subventions")
		require.NoError(t, err)
		require.Equal(t, 1, *ds.ExposedRelease)

		// A second instance publishing the same file: release 2, nothing changed.
		in2 := input("publish", "i2", map[string]any{"dataset": "subventions", "file": "f1", "normalized": in.Variables["normalized"]})
		res, err = b.run(t, activities.ActRelease, in2)
		require.NoError(t, err)
		require.EqualValues(t, 2, res.Variables["release"])
		diff := res.Variables["releaseInfo"].(map[string]any)["diff"].(map[string]any)
		require.EqualValues(t, 0, diff["added"])
		require.EqualValues(t, 29, diff["unchanged"])

		res, err = b.run(t, activities.ActNotify, workflows.ActivityInput{InstanceID: "i1", NodeID: "remind",
			Params: map[string]string{"to": "approver", "template": "approval-overdue"}, Variables: vars})
		require.NoError(t, err)
		ns, err := st.Notifications(b.ctx, "i1")
		require.NoError(t, err)
		require.Len(t, ns, 1)
		require.Equal(t, "approver", ns[0].Recipient)
	})
}

func TestIngestRealCP1252Export(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	b := dataSetup(t, st)
	b.stage(t, "lot", samples+"scdl-subventions.real-dep-lot-2017.cp1252.csv")
	in := input("ingest", "i1", map[string]any{"dataset": "subventions", "file": "lot"})
	res, err := b.run(t, activities.ActIngest, in)
	require.NoError(t, err)
	ing := res.Variables["ingest"].(map[string]any)
	require.Equal(t, "windows-1252", ing["encoding"])
	require.Equal(t, ";", ing["delimiter"])
	fixes := ing["fixes"].(map[string]any)
	require.Positive(t, fixes["decimal_comma"], "amounts 40 000,00 repaired: %v", fixes)
	merge(&in, res)

	in.NodeID = "validate"
	res, err = b.run(t, activities.ActValidate, in)
	require.NoError(t, err)
	require.Equal(t, false, res.Variables["valid"], "missing required columns cannot be repaired")
	rep := res.Variables["report"].(map[string]any)
	full, err := st.QualityReport(b.ctx, int64(rep["reportId"].(float64)))
	require.NoError(t, err)
	var report struct {
		Encoding string `json:"encoding"`
		Stats    struct {
			ErrorsByType map[string]int64 `json:"errorsByType"`
		} `json:"stats"`
		Warnings []struct{ Type string } `json:"warnings"`
	}
	require.NoError(t, json.Unmarshal(full.Report, &report))
	require.Equal(t, "windows-1252", report.Encoding)
	require.EqualValues(t, 2, report.Stats.ErrorsByType["missing-required-header"])
	require.Less(t, report.Stats.ErrorsByType["type-error"], int64(13), "harmonisation repairs type errors (13 in the raw file)")
	var types []string
	for _, w := range report.Warnings {
		types = append(types, w.Type)
	}
	require.Contains(t, types, "encoding-warn")
	require.Contains(t, types, "harmonised-warn")
	require.LessOrEqual(t, len(rep["errors"].([]any)), 5, "summary keeps the first errors only")

	// Validating the raw staged file (no ingest): the same structural errors.
	raw := input("validate", "i9", map[string]any{"dataset": "subventions", "file": "lot"})
	res, err = b.run(t, activities.ActValidate, raw)
	require.NoError(t, err)
	require.Equal(t, false, res.Variables["valid"])
}

func TestDataActivitiesRefuseBadInput(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	b := dataSetup(t, st)
	bin := filepath.Join(t.TempDir(), "image.csv")
	require.NoError(t, os.WriteFile(bin, []byte("PK\x00\x00\x01\x02binary\x00data"), 0o600))
	b.stage(t, "bin", bin)
	empty := filepath.Join(t.TempDir(), "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	b.stage(t, "empty", empty)

	for _, tt := range []struct {
		name string
		act  string
		in   workflows.ActivityInput
	}{
		{"binary file", activities.ActIngest, input("ingest", "i1", map[string]any{"dataset": "subventions", "file": "bin"})},
		{"empty file", activities.ActIngest, input("ingest", "i1", map[string]any{"dataset": "subventions", "file": "empty"})},
		{"unknown dataset", activities.ActIngest, input("ingest", "i1", map[string]any{"dataset": "ghost", "file": "bin"})},
		{"unknown file", activities.ActIngest, input("ingest", "i1", map[string]any{"dataset": "subventions", "file": "nope"})},
		{"no dataset", activities.ActValidate, input("validate", "i1", map[string]any{})},
		{"nothing to expose", activities.ActExpose, input("expose", "i1", map[string]any{"dataset": "subventions"})},
		{"notify without params", activities.ActNotify, input("n", "i1", nil)},
		{"http to a file URL", activities.ActHTTP, workflows.ActivityInput{Params: map[string]string{"url": "file:///etc/passwd"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.run(t, tt.act, tt.in)
			requireInvalidInput(t, err)
		})
	}
	// An unreadable file is an invalid report for validate, not an incident.
	res, err := b.run(t, activities.ActValidate, input("validate", "i1", map[string]any{"dataset": "subventions", "file": "bin"}))
	require.NoError(t, err)
	require.Equal(t, false, res.Variables["valid"])
}
