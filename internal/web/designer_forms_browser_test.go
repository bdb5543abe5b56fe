package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// The form editor: a designer opens the deployed form, changes a label,
// saves, and the form has a version 2; the page (outside the editor's
// canvas) has no serious accessibility violation.
func TestBrowserFormEditor(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	b := browsertest.Start(t)
	pb := peopleSetup(t)
	ts := httptest.NewServer(pb.srv.Handler())
	t.Cleanup(ts.Close)
	designer := "Bearer " + pb.login(t, "designer")
	r := pb.do("POST", "/api/v1/forms", reviewForm, designer, "")
	require.Equal(t, 201, r.status, r.body)

	tab := b.NewTab()
	signIn(t, tab, ts.URL, "designer", "demo")
	tab.Navigate(ts.URL + "/designer/forms")
	require.Contains(t, tab.Text("main"), "revue-qualite")
	tab.RequireAccessible("the forms list")
	tab.ClickAndWait(`a[href="/designer/forms/revue-qualite"]`)
	waitAttr := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second) // 2.9 MB of unminified editor on a loaded machine
		for browsertest.Eval[string](tab, `(document.querySelector('`+sel+`') || {getAttribute: () => ''}).getAttribute('data-ready') || ''`) != want {
			require.True(t, time.Now().Before(deadline), "%s not ready", sel)
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitAttr("#form-editor", "true")
	waitAttr("#form-preview", "true")
	require.Contains(t, tab.Text("h1"), "revue-qualite")
	// The preview shows the form with the sample data.
	require.Contains(t, tab.Text("#form-preview"), "Commentaire")
	// The palette speaks French.
	require.Contains(t, tab.Text("#form-editor"), "Champ texte")
	tab.Screenshot("designer-form-editor")

	// Accessibility outside the editor's canvas (form-js's own markup).
	tab.Axe() // injects axe-core
	raw := browsertest.Eval[string](tab, `axe.run({exclude: [['#form-editor'], ['#form-preview']]}, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "))))`)
	var serious []string
	require.NoError(t, json.Unmarshal([]byte(raw), &serious))
	require.Empty(t, serious, "axe-core serious/critical violations outside the editor")

	// Change a label, save: version 2.
	browsertest.Eval[bool](tab, `(() => {
		const ed = window.civicflowFormEditor;
		const f = ed.get('formFieldRegistry').getAll().find(f => f.key === 'comment');
		ed.get('modeling').editFormField(f, { label: 'Avis du relecteur' });
		return true })()`)
	tab.Click("#form-save-button")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tab.Text("#form-status"), "Version 2") {
		require.True(t, time.Now().Before(deadline), "status: %s", tab.Text("#form-status"))
		time.Sleep(100 * time.Millisecond)
	}
	r = pb.do("GET", "/api/v1/forms/revue-qualite", "", designer, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	got := r.json(t)
	require.EqualValues(t, 2, got["version"])
	require.Contains(t, r.body, "Avis du relecteur")
	require.Len(t, got["versions"], 2)

	// Saving again without change keeps version 2.
	tab.Click("#form-save-button")
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(tab.Text("#form-status"), "Aucun changement") {
		require.True(t, time.Now().Before(deadline), "status: %s", tab.Text("#form-status"))
		time.Sleep(100 * time.Millisecond)
	}
	require.Empty(t, tab.ConsoleErrors())
}
