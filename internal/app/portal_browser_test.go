package app_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// The public portal in a real Chromium, without signing in: two datasets
// are published through the publication flow (voirie and finances, each
// approved by its steward and the DGS); the catalog lists both, its facets
// and its search narrow the list, the dataset page documents the schema,
// previews the rows (sorted and filtered through htmx) and offers the
// downloads and the API call. Every page is screenshotted and checked with
// axe-core.
func TestBrowserPublicPortal(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	br := browsertest.Start(t)
	e := startApp(t)
	valid := filepath.Join("testdata", "scdl-subventions.valid.csv")
	published := map[string]string{}
	for _, dept := range []string{"voirie", "finances"} {
		agent, steward, dgs := e.login("agent."+dept), e.login("steward."+dept), e.login("dgs")
		dataset, inst := newSubmission(t, agent, dept, valid)
		review := steward.waitTask(inst, "review")
		require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
		approval := dgs.waitTask(inst, "approval")
		require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
		agent.waitStatus(inst, "completed")
		published[dept] = dataset
	}
	check := func(tab *browsertest.Tab, name string) {
		t.Helper()
		tab.Screenshot(name)
		tab.RequireAccessible(name)
		require.Empty(t, tab.ConsoleErrors(), "script errors on %s", name)
	}

	tab := br.NewPerson() // a reuser: no account
	tab.Navigate(e.base + "/catalog")
	require.Equal(t, "Catalogue des données ouvertes", tab.Text("h1"))
	require.Contains(t, tab.Text("#resultats"), "2\u00a0jeux de données")
	require.Contains(t, tab.Text(".dataset-list"), "Subventions voirie")
	require.Contains(t, tab.Text(".dataset-list"), "Subventions finances")
	require.Contains(t, tab.Text("header"), "Développeurs")
	check(tab, "portal-catalog")

	// A facet: the finances department only.
	tab.ClickAndWait("#facet-departement + ul a[href*='departement=finances']")
	require.Contains(t, tab.Text("#resultats"), "1\u00a0jeu de données")
	require.Contains(t, tab.Text(".dataset-list"), "Subventions finances")
	require.NotContains(t, tab.Text(".dataset-list"), "Subventions voirie")
	require.Contains(t, tab.Text(".active-filters"), "Service producteur")
	check(tab, "portal-catalog-facet")

	// The search, from the whole catalog.
	tab.Navigate(e.base + "/catalog")
	tab.Fill("#q", "VOIRIE")
	tab.ClickAndWait("form[role=search] button[type=submit]")
	require.Contains(t, tab.Text("#resultats"), "1\u00a0jeu de données")
	require.Contains(t, tab.Text(".dataset-list"), "Subventions voirie")
	check(tab, "portal-catalog-search")

	// The dataset page.
	tab.ClickAndWait(".dataset-list a[href='/catalog/" + published["voirie"] + "']")
	require.Equal(t, "Subventions voirie", tab.Text("h1"))
	require.Contains(t, tab.Text(".schema-table"), "nomAttribuant")
	require.Contains(t, tab.Text("#telecharger + ul"), "Télécharger en CSV")
	require.Contains(t, tab.Text("pre.code"), "/api/explore/v2.1/catalog/datasets/"+published["voirie"]+"/records")
	require.Contains(t, tab.Text("#apercu caption"), "29\u00a0lignes")
	check(tab, "portal-dataset")

	// Sort the preview by a column (htmx swaps the preview alone), then
	// descending.
	before := tab.Location()
	tab.Click("#apercu th a[href*='tri=montant']")
	tab.WaitVisible("#apercu th[aria-sort='ascending']")
	tab.Click("#apercu th[aria-sort='ascending'] a")
	tab.WaitVisible("#apercu th[aria-sort='descending']")
	require.NotEqual(t, before, tab.Location(), "the URL follows the preview")
	amounts := browsertest.Eval[[]float64](tab, `(() => {
		const th = [...document.querySelectorAll('#apercu thead th')];
		const i = th.findIndex(h => h.textContent.trim().startsWith('montant'));
		return [...document.querySelectorAll('#apercu tbody tr')].map(r => parseFloat(r.children[i].textContent));
	})()`)
	require.NotEmpty(t, amounts)
	for i := 1; i < len(amounts); i++ {
		require.LessOrEqual(t, amounts[i], amounts[i-1])
	}
	check(tab, "portal-dataset-sorted")

	// Filter the preview on a value.
	tab.Do("choose the column", chromedp.SetValue(chromedp.CSS("#champ"), "nomAttribuant"))
	tab.Fill("#valeur", "ANTIBES")
	tab.Click(".preview-filter button[type=submit]")
	var caption string
	for i := 0; i < 100; i++ { // htmx swaps the preview: up to 10 s
		// Read in one script: the node may be swapped out between a
		// lookup and a read (chromedp's Text then fails on the old node).
		caption = browsertest.Eval[string](tab, `(document.querySelector('#apercu caption') || {}).textContent || ''`)
		if strings.Contains(caption, "ANTIBES") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Contains(t, caption, "où nomAttribuant = « ANTIBES »")
	check(tab, "portal-dataset-filtered")

	// The download the page offers answers.
	resp, err := http.Get(e.base + "/api/explore/v2.1/catalog/datasets/" + published["voirie"] + "/exports/csv")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	// The reusers' page and an unknown dataset.
	tab.Navigate(e.base + "/reutiliser")
	require.Equal(t, "Réutiliser les données", tab.Text("h1"))
	check(tab, "portal-reuse")
	tab.Navigate(e.base + "/catalog/inconnu")
	require.Equal(t, "Jeu de données introuvable", tab.Text("h1"))
	check(tab, "portal-not-found")
}
