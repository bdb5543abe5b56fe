package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// The form editor's .form import and export: a designer imports a file
// written by Camunda Modeler (read in the browser with FileReader), an
// invalid file gives a French error beside the input, saving the import
// deploys a new version, and the export is the editor's schema as
// indented JSON.
func TestBrowserFormImportExport(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	camunda, err := os.ReadFile("../../designer/testdata/camunda/camunda-bpm-examples__task-form.form")
	require.NoError(t, err)
	b := browsertest.Start(t)
	pb := peopleSetup(t)
	ts := httptest.NewServer(pb.srv.Handler())
	t.Cleanup(ts.Close)
	designer := "Bearer " + pb.login(t, "designer")
	r := pb.do("POST", "/api/v1/forms", reviewForm, designer, "")
	require.Equal(t, 201, r.status, r.body)

	tab := b.NewTab()
	signIn(t, tab, ts.URL, "designer", "demo")
	tab.Navigate(ts.URL + "/designer/forms/revue-qualite")
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second) // a loaded machine
		for !ok() {
			require.True(t, time.Now().Before(deadline), "%s", what)
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("editor ready", func() bool {
		return browsertest.Eval[string](tab, `(document.querySelector('#form-editor') || {getAttribute: () => ''}).getAttribute('data-ready') || ''`) == "true"
	})
	require.Contains(t, tab.Text("main"), "Importer un fichier .form")

	// upload puts a file in the input as a user's choice would, and fires change.
	upload := func(name string, content []byte) {
		t.Helper()
		js, err := json.Marshal(string(content))
		require.NoError(t, err)
		n, _ := json.Marshal(name)
		browsertest.Eval[bool](tab, `(() => {
			const input = document.getElementById('form-import');
			const dt = new DataTransfer();
			dt.items.add(new File([`+string(js)+`], `+string(n)+`, {type: 'application/json'}));
			input.files = dt.files;
			input.removeAttribute('data-import');
			input.dispatchEvent(new Event('change', {bubbles: true}));
			return true })()`)
		waitFor("import of "+name, func() bool {
			return browsertest.Eval[string](tab, `document.getElementById('form-import').getAttribute('data-import') || ''`) != "pending"
		})
	}
	importState := func() string {
		return browsertest.Eval[string](tab, `document.getElementById('form-import').getAttribute('data-import') || ''`)
	}

	// An invalid file: a French error beside the input, the editor keeps its form.
	upload("casse.form", []byte(`{"components": [`))
	require.Equal(t, "error", importState())
	require.Contains(t, tab.Text("#form-import-error"), "JSON valide")
	require.True(t, browsertest.Eval[bool](tab, `!document.getElementById('form-import-error').hidden`))
	require.True(t, browsertest.Eval[bool](tab, `window.civicflowFormEditor.get('formFieldRegistry').getAll().some(f => f.key === 'comment')`))
	tab.Screenshot("designer-form-import-error")

	// JSON that is not a form.
	upload("liste.form", []byte(`[1, 2]`))
	require.Equal(t, "error", importState())
	require.Contains(t, tab.Text("#form-import-error"), "components")

	// The Camunda Modeler file.
	upload("task-form.form", camunda)
	require.Equal(t, "done", importState())
	require.True(t, browsertest.Eval[bool](tab, `document.getElementById('form-import-error').hidden`))
	require.True(t, browsertest.Eval[bool](tab, `window.civicflowFormEditor.get('formFieldRegistry').getAll().some(f => f.key === 'creditor')`))
	tab.Screenshot("designer-form-imported")

	// Export: the editor's schema, indented by 2 spaces as Camunda Modeler writes it.
	exported := browsertest.Eval[string](tab, `window.civicflowFormExport()`)
	require.True(t, strings.HasPrefix(exported, "{\n  \""), "indented JSON: %.40q", exported)
	require.True(t, browsertest.Eval[bool](tab, `JSON.stringify(JSON.parse(window.civicflowFormExport())) === JSON.stringify(window.civicflowFormEditor.saveSchema())`))
	var doc struct {
		Components []struct {
			Key string `json:"key"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal([]byte(exported), &doc))
	var keys []string
	for _, c := range doc.Components {
		keys = append(keys, c.Key)
	}
	require.Contains(t, keys, "creditor")
	require.Contains(t, keys, "invoiceNumber")
	require.NotContains(t, keys, "comment")
	// The button is there and clicking it (a download) breaks nothing.
	tab.Click("#form-export-button")

	// Save: the imported form is version 2.
	tab.Click("#form-save-button")
	waitFor("saved", func() bool { return strings.Contains(tab.Text("#form-status"), "Version 2") })
	r = pb.do("GET", "/api/v1/forms/revue-qualite", "", designer, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	got := r.json(t)
	require.EqualValues(t, 2, got["version"])
	require.Contains(t, r.body, "invoiceNumber")
	require.Len(t, got["versions"], 2)
	require.Empty(t, tab.ConsoleErrors())
}
