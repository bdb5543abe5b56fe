package activities

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/harmonise"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

// The pass harmonises on every core with one Harmoniser per worker: its
// rows and its summary (counts, first examples of each rule, by line) are
// those of one Harmoniser reading the file alone.
func TestPassHarmonisesLikeOneHarmoniser(t *testing.T) {
	raw, err := os.ReadFile("../internal/harmonise/testdata/scdl-subventions.real-ville-poitiers-2017.csv")
	require.NoError(t, err)
	header, body, _ := bytes.Cut(raw, []byte("\n"))
	file := append(append([]byte{}, header...), '\n')
	for range 4 { // ~3,800 rows: batches for both workers
		file = append(file, body...)
	}
	dir := t.TempDir()
	d := &Data{Blobs: ingest.Blobs{Dir: filepath.Join(dir, "blobs")}, DataDir: dir}
	sha, _, err := d.Blobs.Put(context.Background(), bytes.NewReader(file))
	require.NoError(t, err)
	kinds := map[string]harmonise.Kind{"ANNEE": harmonise.Year, "COLL_SIRET": harmonise.SIRET, "ACTE_DATE": harmonise.Date,
		"ATTRIB_SIRET": harmonise.SIRET, "SUB_MONTANT": harmonise.Number}
	opts := harmonise.Options{MaxExamples: 3}

	rs, err := d.openBlob(sha, "poitiers.csv")
	require.NoError(t, err)
	cols := harmonise.ColumnsFor(rs.rows.Header(), kinds)
	one := harmonise.New(cols, opts)
	var want [][]string
	for rows := harmonise.Wrap(rs.rows, one); ; {
		rec, _, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		want = append(want, rec)
	}
	rs.close()
	require.Greater(t, len(want), 2*passBatch)

	rs, err = d.openBlob(sha, "poitiers.csv")
	require.NoError(t, err)
	defer rs.close()
	out, err := d.pass(context.Background(), rs.rows, passOptions{columns: cols, harm: opts})
	require.NoError(t, err)
	require.EqualValues(t, len(want), out.rows)
	require.Equal(t, one.Summary(), *out.summary)
	require.NotEmpty(t, out.summary.Examples)

	written, err := d.openBlob(out.sha, "normalized.csv")
	require.NoError(t, err)
	defer written.close()
	for i := 0; ; i++ {
		rec, _, err := written.rows.Next()
		if errors.Is(err, io.EOF) {
			require.Equal(t, len(want), i)
			break
		}
		require.NoError(t, err)
		require.Equal(t, want[i], rec, "row %d", i+1)
	}
}

// civicflow.ingest validates the rows it writes; civicflow.validate then
// uses that report, the same as reading the new file again would give.
func TestValidateUsesTheReportOfTheIngestPass(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	ctx := context.Background()
	require.NoError(t, st.CreateDepartment(ctx, store.Department{Slug: "finances", Name: "Finances"}))
	require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: "subventions", Title: "Subventions", Department: "finances", SchemaName: "scdl-subventions"}))
	dir := t.TempDir()
	d := &Data{Store: st, Blobs: ingest.Blobs{Dir: filepath.Join(dir, "blobs")}, DataDir: dir}
	f, err := os.Open("../internal/tableschema/testdata/samples/scdl-subventions.invalid-cells.csv")
	require.NoError(t, err)
	sha, size, err := d.Blobs.Put(ctx, f)
	f.Close()
	require.NoError(t, err)
	require.NoError(t, st.CreateDataFile(ctx, &store.DataFile{ID: "f1", DatasetID: "subventions", Kind: store.FileUpload, Name: "s.csv", SHA256: sha, Size: size}))

	in := workflows.ActivityInput{InstanceID: "i1", Department: "finances", NodeID: "ingest", Variables: map[string]any{"dataset": "subventions", "file": "f1"}}
	res, err := d.Ingest(ctx, in)
	require.NoError(t, err)
	normalized := res.Variables["normalized"].(string)
	in.Variables["normalized"], in.Variables["ingest"] = normalized, res.Variables["ingest"]
	sch, version, err := d.schemaOf(ctx, store.Dataset{ID: "subventions", SchemaName: "scdl-subventions"})
	require.NoError(t, err)
	kept, err := d.precomputedReport(ctx, normalized, "scdl-subventions", version)
	require.NoError(t, err)
	require.NotNil(t, kept, "the ingest pass kept its report")

	again, err := d.validateBlob(ctx, sch, normalized, "normalized.csv")
	require.NoError(t, err)
	require.False(t, again.Valid)
	require.Equal(t, again.Stats, kept.Stats)
	require.Equal(t, again.Errors, kept.Errors)
	require.Equal(t, again.Warnings, kept.Warnings)

	in.NodeID = "validate"
	res, err = d.Validate(ctx, in)
	require.NoError(t, err)
	require.Equal(t, false, res.Variables["valid"])
	rep := res.Variables["report"].(map[string]any)
	require.EqualValues(t, again.Stats.Errors, rep["stats"].(map[string]any)["errors"])
}
