package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// "Essayer" in a real headless Chromium on the embedded engine: the
// designer opens the publication flow, clicks "Essayer", sees the token on
// the review (done ingest and validate, active review), the review's real
// form in the panel beside the canvas, completes it, and sees the approval
// become active; the bpmn.io watermark stays uncovered.
func TestBrowserDesignerTry(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	br := browsertest.Start(t)
	e := startApp(t)

	tab := br.NewPerson()
	tab.Navigate(e.base + "/login")
	tab.Fill("#username", "designer")
	tab.Fill("#password", "demo")
	tab.ClickAndWait("form[action='/login'] button[type=submit]")
	tab.Navigate(e.base + "/designer/flows/publication")
	waitReady(t, tab)
	tab.WaitVisible("#designer-try")
	tab.Click("#designer-try")

	review := `#designer-try-panel .designer-try-task[data-node="review"]`
	waitPanel(t, tab, review+`[data-viewer="ready"] input[type=radio]`)
	require.Contains(t, tab.Text(review), "Revue qualité")
	require.Contains(t, tab.Text(review), "Approuver", "the review's real form")
	waitMarker(t, tab, "review", "cf-try-active")
	waitMarker(t, tab, "validate", "cf-try-done")
	tab.Screenshot("designer-try-review")
	tab.RequireAccessibleExcluding("designer-try", ".djs-container", ".bjs-container")

	// The panel is beside the canvas: the watermark stays visible and uncovered.
	require.True(t, browsertest.Eval[bool](tab, `(() => {
		const w = document.querySelector('#designer-canvas .bjs-powered-by');
		if (!w) return false;
		w.scrollIntoView({block: 'center'});
		const b = w.getBoundingClientRect();
		const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
		return !!hit && (hit === w || w.contains(hit));
	})()`), "the bpmn.io watermark must stay visible and uncovered")

	// "Valider" without a decision: the form says what is missing; then approve.
	tab.Click(review + ` button.btn-primary`)
	time.Sleep(300 * time.Millisecond)
	require.Contains(t, tab.Text(review+` .designer-try-msg`), "erreurs")
	tab.Click(review + ` input[type=radio]`) // the first choice: « Approuver »
	tab.Click(review + ` button.btn-primary`)
	waitPanel(t, tab, `#designer-try-panel .designer-try-task[data-node="approval"][data-viewer="ready"]`)
	waitMarker(t, tab, "approval", "cf-try-active")
	waitMarker(t, tab, "review", "cf-try-done")
	waitMarker(t, tab, "reviewDecision", "cf-try-done") // a gateway passed
	require.False(t, browsertest.Eval[bool](tab, `!!document.querySelector('`+review+`')`), "the review left the panel")
	tab.Screenshot("designer-try-approval")
	require.Empty(t, tab.ConsoleErrors(), "script errors")

	// Stopping the try.
	tab.Click("#designer-try-stop")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(tab.Text("#designer-try-status"), "arrêté") {
		require.True(t, time.Now().Before(deadline), "the try never stopped: %s", tab.Text("#designer-try-status"))
		time.Sleep(200 * time.Millisecond)
	}
}

// waitMarker waits until the element id carries the marker class on the canvas.
func waitMarker(t *testing.T, tab *browsertest.Tab, id, class string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !browsertest.Eval[bool](tab, `(() => { const g = document.querySelector('#designer-canvas .djs-element[data-element-id="`+id+`"]');
		return !!g && g.classList.contains('`+class+`'); })()`) {
		require.True(t, time.Now().Before(deadline), "%s never got %s", id, class)
		time.Sleep(200 * time.Millisecond)
	}
}

// waitPanel waits for sel, telling what the try panel says when it never comes.
func waitPanel(t *testing.T, tab *browsertest.Tab, sel string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !browsertest.Eval[bool](tab, `!!document.querySelector('`+sel+`')`) {
		require.True(t, time.Now().Before(deadline), "%s never appeared; panel: %q; console: %q", sel,
			browsertest.Eval[string](tab, `document.getElementById('designer-try-panel').innerText`), tab.ConsoleErrors())
		time.Sleep(200 * time.Millisecond)
	}
}
