package web_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// Browser tests of the staff pages in a real headless Chromium (skipped
// without it, failing under CI=true). Screenshots of every page go to
// test-artifacts/screenshots (or $CIVICFLOW_TEST_ARTIFACTS).

func browserSetup(t *testing.T) (*browsertest.Tab, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	b := browsertest.Start(t)
	pb := peopleSetup(t)
	ts := httptest.NewServer(pb.srv.Handler())
	t.Cleanup(ts.Close)
	return b.NewTab(), ts.URL
}

// signIn fills the sign-in form.
func signIn(t *testing.T, tab *browsertest.Tab, base, user, password string) {
	t.Helper()
	tab.Navigate(base + "/login")
	tab.Fill("#username", user)
	tab.Fill("#password", password)
	tab.ClickAndWait("form[action='/login'] button[type=submit]")
}

func TestBrowserSignIn(t *testing.T) {
	tab, base := browserSetup(t)

	// A page without a session leads to the sign-in form, which remembers it.
	tab.Navigate(base + "/password")
	u, err := url.Parse(tab.Location())
	require.NoError(t, err)
	require.Equal(t, "/login", u.Path)
	require.Equal(t, "/password", u.Query().Get("next"))
	tab.Screenshot("login")
	tab.RequireAccessible("the sign-in page")

	// A wrong password: a French error next to the form.
	tab.Fill("#username", "agent.voirie")
	tab.Fill("#password", "pas-le-bon")
	tab.ClickAndWait("form[action='/login'] button[type=submit]")
	require.Contains(t, tab.Text("#login-error"), "Identifiant ou mot de passe incorrect.")
	tab.Screenshot("login-wrong-password")
	tab.RequireAccessible("the sign-in page with an error")

	// The right one goes back to the page asked for.
	tab.Fill("#password", "demo")
	tab.ClickAndWait("form[action='/login'] button[type=submit]")
	require.True(t, strings.HasSuffix(tab.Location(), "/password"), tab.Location())
	require.Contains(t, tab.Text("h1"), "Changer le mot de passe")
	tab.Screenshot("password")
	tab.RequireAccessible("the change-password page")
	tab.TabThrough(30)

	tab.Navigate(base + "/")
	require.Contains(t, tab.Text("h1"), "Bonjour, Agent Voirie")
	tab.Screenshot("dashboard")
	tab.RequireAccessible("the dashboard")
	tab.TabThrough(30)

	// A page that does not exist: the French 404 page.
	tab.Navigate(base + "/nulle-part")
	require.Contains(t, tab.Text("h1"), "Page introuvable")
	tab.Screenshot("error-404")
	tab.RequireAccessible("the 404 page")

	// Signing out through the user menu.
	tab.Click(".user-menu summary")
	tab.ClickAndWait(".user-menu form[action='/logout'] button")
	require.True(t, strings.Contains(tab.Location(), "/login"), tab.Location())
	require.Contains(t, tab.Text(".alert"), "Vous êtes déconnecté.")
	tab.Screenshot("logged-out")
	require.Empty(t, tab.ConsoleErrors())
}

func TestBrowserKeyboardSignIn(t *testing.T) {
	tab, base := browserSetup(t)
	tab.Navigate(base + "/login")

	// The first Tab reaches the skip link, visibly.
	seen := tab.TabTo(func(f browsertest.Focused) bool { return f.Tag != "body" }, 3)
	first := seen[len(seen)-1]
	require.Equal(t, "a", first.Tag)
	require.Equal(t, "#contenu", first.Href, "the skip link comes first")
	tab.Screenshot("keyboard-skip-link")

	tab.TabTo(func(f browsertest.Focused) bool { return f.ID == "username" }, 10)
	tab.Type("agent.voirie")
	tab.TabTo(func(f browsertest.Focused) bool { return f.ID == "password" }, 3)
	tab.Type("demo")
	tab.TabTo(func(f browsertest.Focused) bool { return f.Tag == "button" && f.Type == "submit" }, 3)
	tab.Screenshot("keyboard-submit-focused")
	tab.PressAndWait(kb.Enter)
	require.Contains(t, tab.Text("h1"), "Bonjour, Agent Voirie")
}

func TestBrowserAdminPages(t *testing.T) {
	tab, base := browserSetup(t)

	// An agent cannot open the administration: the French 403 page.
	signIn(t, tab, base, "agent.voirie", "demo")
	tab.Navigate(base + "/admin")
	require.Contains(t, tab.Text("h1"), "Accès refusé")
	tab.Screenshot("error-403-agent-admin")
	tab.RequireAccessible("the 403 page")
	tab.Navigate(base + "/admin/delegations")
	tab.Screenshot("delegations-agent")
	tab.RequireAccessible("an agent's delegations page")
	tab.Click(".user-menu summary")
	tab.ClickAndWait(".user-menu form[action='/logout'] button")

	signIn(t, tab, base, "admin", "demo")
	for _, p := range []struct{ path, name, h1 string }{
		{"/admin", "admin-users", "Administration"},
		{"/admin/users/1", "admin-user", "Compte agent.voirie"},
		{"/admin/departments", "admin-departments", "Administration"},
		{"/admin/delegations", "admin-delegations", "Administration"},
		{"/admin/policies", "admin-policies", "Administration"},
		{"/audit", "audit", "Journal d'audit"},
		{"/audit/verify", "audit-verify", "Intégrité du journal d'audit"},
	} {
		tab.Navigate(base + p.path)
		require.Contains(t, tab.Text("h1"), p.h1, p.path)
		tab.Screenshot(p.name)
		tab.RequireAccessible(p.path)
		tab.TabThrough(60) // every focusable element shows its focus
	}

	// A form error is shown next to the form, in French.
	tab.Navigate(base + "/admin")
	tab.Fill("#nu-username", "Pas Valide")
	tab.ClickAndWait("form[action='/admin/users'] button[type=submit]")
	require.Contains(t, tab.Text(".alert-error"), "Identifiant « Pas Valide »")
	tab.Screenshot("admin-users-error")
	tab.RequireAccessible("the user form with an error")

	tab.Fill("#nu-username", "paul.durand")
	tab.Fill("#nu-name", "Paul Durand")
	tab.ClickAndWait("form[action='/admin/users'] button[type=submit]")
	require.Contains(t, tab.Text("h1"), "Compte paul.durand")
	require.Empty(t, tab.ConsoleErrors())
}
