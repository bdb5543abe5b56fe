package app_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// The staff application end to end, in a real headless Chromium, on the
// embedded Temporal server: an agent signs in through the form, creates a
// dataset, uploads a real file, starts its publication and watches it;
// the steward opens the review task from the inbox, reads the report and
// approves through the task's form; the DGS approves; the dataset shows its
// release. Every page is screenshotted and checked with axe-core.
func TestBrowserPublicationJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	br := browsertest.Start(t)
	e := startApp(t)
	check := func(tab *browsertest.Tab, name string) {
		t.Helper()
		tab.Screenshot(name)
		tab.RequireAccessible(name)
		require.Empty(t, tab.ConsoleErrors(), "script errors on %s", name)
	}
	signIn := func(tab *browsertest.Tab, user string) {
		t.Helper()
		tab.Navigate(e.base + "/login")
		tab.Fill("#username", user)
		tab.Fill("#password", "demo")
		tab.ClickAndWait("form[action='/login'] button[type=submit]")
		require.Contains(t, tab.Text("h1"), "Bonjour")
	}
	// until reloads the page every half second until cond holds (work
	// done in the background: the workflow's activities).
	until := func(tab *browsertest.Tab, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !cond() {
			require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
			time.Sleep(500 * time.Millisecond)
			tab.Navigate(tab.Location())
		}
	}

	// The agent: a dataset, a file, a publication.
	agent := br.NewPerson()
	signIn(agent, "agent.voirie")
	check(agent, "agent-dashboard")
	agent.Navigate(e.base + "/datasets")
	check(agent, "datasets-empty")
	agent.ClickAndWait("a[href='/datasets/new']")
	check(agent, "dataset-new")
	agent.Fill("#ds-title", "Subventions versées")
	agent.Do("choose the department", chromedp.SetValue(chromedp.CSS("#ds-dept"), "voirie"))
	agent.Fill("#ds-schema", "scdl-subventions")
	agent.Do("choose the frequency", chromedp.SetValue(chromedp.CSS("#ds-freq"), "annual"))
	agent.ClickAndWait("form[action='/datasets'] button[type=submit]")
	require.Equal(t, "Subventions versées", agent.Text("h1"))
	dataset := agent.Location()
	check(agent, "dataset-created")

	sample, err := filepath.Abs("../tableschema/testdata/samples/scdl-subventions.valid.csv")
	require.NoError(t, err)
	agent.Do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{sample}))
	agent.Click("form[data-upload] button[type=submit]")
	until(agent, "the staged file", func() bool {
		return strings.Contains(agent.Text("main"), "scdl-subventions.valid.csv")
	})
	check(agent, "dataset-file-staged")
	agent.ClickAndWait("form[action$='/publish'] button[type=submit]")
	require.Contains(t, agent.Location(), "/requests/")
	request := agent.Location()
	agent.WaitVisible("#diagram[data-ready='true']")
	check(agent, "request-started")

	// The steward reviews, then the DGS approves, each from their inbox.
	decide := func(user, task, node, decision string) {
		t.Helper()
		tab := br.NewPerson()
		signIn(tab, user)
		tab.Navigate(e.base + "/tasks")
		until(tab, "the "+node+" task in the inbox of "+user, func() bool {
			return strings.Contains(tab.Text("main"), task)
		})
		check(tab, "inbox-"+user)
		tab.ClickAndWait("main a[href^='/tasks/'][href*='." + node + ".']")
		require.Contains(t, tab.Text("main"), "Rapport de qualité")
		tab.WaitVisible("#task-form[data-viewer='ready']")
		check(tab, "task-"+node)
		chooseDecision(t, tab, decision)
		tab.ClickAndWait("#task-form button[type=submit]")
		check(tab, "after-"+node)
	}
	decide("steward.voirie", "Revue qualité", "review", "Approuver")
	decide("dgs", "Approbation", "approval", "Publier")

	// The release, seen from the dataset and the request.
	agent.Navigate(dataset)
	until(agent, "the release on the dataset page", func() bool {
		return strings.Contains(agent.Text("#versions + div, main"), "Version 1")
	})
	check(agent, "dataset-released")
	agent.ClickAndWait("a[href$='/releases/1']")
	require.Contains(t, agent.Text("main"), "Lignes")
	check(agent, "release-rows")
	agent.Navigate(request)
	until(agent, "the request completed", func() bool {
		return strings.Contains(agent.Text(".facts"), "terminée")
	})
	agent.WaitVisible("#diagram[data-ready='true']")
	check(agent, "request-completed")
}

// chooseDecision ticks the radio button labelled label in the form-js
// viewer of the task page.
func chooseDecision(t *testing.T, tab *browsertest.Tab, label string) {
	t.Helper()
	ok := browsertest.Eval[bool](tab, `(() => {
		for (const l of document.querySelectorAll('#form-viewer label')) {
			if (l.textContent.trim() === `+"`"+label+"`"+`) {
				const input = l.querySelector('input') || document.getElementById(l.htmlFor);
				if (input) { input.click(); return input.checked; }
			}
		}
		return false;
	})()`)
	require.True(t, ok, "no %q choice in the form", label)
}
