package activities_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// A file or a schema wider than a release table of the database is a
// business error at once (an incident that says so), not a raw SQL error
// after five retries (issue 8, point 10).
func TestSecurityReleaseTooManyColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := dataSetup(t, st)
		const n = 1998 // more than SQLite's 1,997 and PostgreSQL's 1,597
		row := map[string]string{}
		fields := make([]string, n)
		for i := range n {
			row[fmt.Sprintf("c%04d", i)] = "x"
			fields[i] = fmt.Sprintf(`{"name":"c%04d","type":"string"}`, i)
		}
		data, err := json.Marshal([]any{row})
		require.NoError(t, err)
		sha, size, err := b.d.Blobs.Put(b.ctx, strings.NewReader(string(data)))
		require.NoError(t, err)
		require.NoError(t, st.CreateDataset(b.ctx, &store.Dataset{ID: "large", Title: "Large", Department: "finances"}))
		require.NoError(t, st.CreateDataFile(b.ctx, &store.DataFile{ID: "wide", DatasetID: "large", Kind: store.FileUpload,
			Name: "wide.json", SHA256: sha, Size: size}))

		_, err = b.run(t, activities.ActRelease, input("release", "i1", map[string]any{"dataset": "large", "file": "wide"}))
		requireInvalidInput(t, err)
		var ae *temporal.ApplicationError
		require.True(t, errors.As(err, &ae))
		require.Contains(t, ae.Message(), fmt.Sprintf(`the file has %d columns, more than a release table can hold`, n))
		require.Contains(t, ae.Message(), fmt.Sprintf("at most %d", st.MaxReleaseColumns()))

		// A schema that wide, stored before the check, stops a flow at its first use.
		_, _, err = st.PutCustomSchema(b.ctx, store.CustomSchema{Name: "large", SHA256: "l",
			Descriptor: store.JSONText(`{"fields":[` + strings.Join(fields, ",") + `]}`)})
		require.NoError(t, err)
		require.NoError(t, st.CreateDataset(b.ctx, &store.Dataset{ID: "large-schema", Title: "Large", Department: "finances", SchemaName: "large"}))
		require.NoError(t, st.CreateDataFile(b.ctx, &store.DataFile{ID: "wide2", DatasetID: "large-schema", Kind: store.FileUpload,
			Name: "wide.json", SHA256: sha, Size: size}))
		for _, act := range []string{activities.ActValidate, activities.ActRelease} {
			_, err = b.run(t, act, input(act, "i2", map[string]any{"dataset": "large-schema", "file": "wide2"}))
			requireInvalidInput(t, err)
			require.ErrorContains(t, err, fmt.Sprintf(`schema "large" has %d columns`, n))
		}
	})
}
