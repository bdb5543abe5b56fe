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
// become active; the bpmn.io watermark stays uncovered. The approval's
// boundary timer is fired by hand. A second try pauses at the service
// tasks: the designer answers them, makes the validation fail (an
// incident, in French), retries it with another output, and the token
// takes the other branch.
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

	// The approval's boundary timer (3 days) waits: fired now, it runs the
	// reminder (non-interrupting: the approval stays open).
	timer := `#designer-try-timers .designer-try-timer[data-node="approvalOverdue"]`
	waitPanel(t, tab, timer)
	require.Contains(t, tab.Text(timer), "Échéance")
	require.True(t, browsertest.Eval[bool](tab, `!!document.querySelector('#designer-canvas .djs-overlay-container [data-token="approval"]')`),
		"a token badge stands on the approval")
	tab.Click(timer + ` .designer-try-fire`)
	waitMarker(t, tab, "approvalOverdue", "cf-try-done")
	waitMarker(t, tab, "remind", "cf-try-done")
	waitPanel(t, tab, `#designer-try-history li[data-event="fired"]`)
	require.Contains(t, tab.Text("#designer-try-history"), "minuterie déclenchée")
	waitMarker(t, tab, "approval", "cf-try-active")
	stopTry(t, tab)

	// A second try where the designer answers the service tasks: the
	// ingestion with its sample, the validation first made to fail (an
	// incident, in French), then retried with {"valid": false}: the token
	// takes the other branch of the gateway, to the correction.
	tab.Click("#designer-try-pause")
	tab.Click("#designer-try")
	ingest := `#designer-try-services .designer-try-service[data-node="ingest"]`
	waitPanel(t, tab, ingest)
	waitMarker(t, tab, "ingest", "cf-try-active")
	require.Contains(t, browsertest.Eval[string](tab, `document.querySelector('`+ingest+` textarea').value`), "normalized", "prefilled with the sample")
	tab.Click(ingest + ` .designer-try-send`)
	validate := `#designer-try-services .designer-try-service[data-node="validate"]`
	waitPanel(t, tab, validate)
	waitMarker(t, tab, "ingest", "cf-try-done")
	require.Contains(t, browsertest.Eval[string](tab, `document.querySelector('`+validate+` textarea').value`), `"valid": true`)
	tab.Click(validate + ` .designer-try-fail`)
	tab.Fill(validate+` .designer-try-reason`, "serveur de validation injoignable")
	tab.Click(validate + ` .designer-try-send`)
	waitMarker(t, tab, "validate", "cf-try-failed")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(tab.Text("#designer-try-status"), "Incident") {
		require.True(t, time.Now().Before(deadline), "no incident shown: %s", tab.Text("#designer-try-status"))
		time.Sleep(200 * time.Millisecond)
	}
	require.Contains(t, tab.Text("#designer-try-status"), "en incident")
	require.Contains(t, tab.Text("#designer-try-status"), "Validation (schéma) (validate) : échec simulé par le concepteur : serveur de validation injoignable")
	tab.Screenshot("designer-try-incident")
	retry := `#designer-try-services .designer-try-service[data-key="validate|incident"]`
	waitPanel(t, tab, retry)
	tab.Click(retry + ` .designer-try-fail`) // no longer fail
	require.True(t, browsertest.Eval[bool](tab, `(() => { const a = document.querySelector('`+retry+` textarea');
		a.value = '{"valid": false, "report": {"rows": 42, "errors": 3}}'; return true; })()`))
	tab.Click(retry + ` .designer-try-retry`)
	waiting := `#designer-try-services .designer-try-service[data-key="validate|waiting"]`
	waitPanel(t, tab, waiting)
	require.Contains(t, browsertest.Eval[string](tab, `document.querySelector('`+waiting+` textarea').value`), `"valid": false`, "the answer given is kept")
	tab.Click(waiting + ` .designer-try-send`)
	waitPanel(t, tab, `#designer-try-panel .designer-try-task[data-node="correction"]`)
	waitMarker(t, tab, "correction", "cf-try-active")
	waitMarker(t, tab, "isValid", "cf-try-done")
	require.False(t, browsertest.Eval[bool](tab, `(() => { const g = document.querySelector('#designer-canvas .djs-element[data-element-id="review"]');
		return g.classList.contains('cf-try-active') || g.classList.contains('cf-try-done'); })()`), "the valid branch was not taken")
	tab.Screenshot("designer-try-other-branch")
	tab.RequireAccessibleExcluding("designer-try-answers", ".djs-container", ".bjs-container")
	require.Empty(t, tab.ConsoleErrors(), "script errors")
	stopTry(t, tab)
}

// stopTry stops the running try and waits for the panel to say so.
func stopTry(t *testing.T, tab *browsertest.Tab) {
	t.Helper()
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
