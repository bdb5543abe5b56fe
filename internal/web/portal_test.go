package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piprate/json-gold/ld"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// The public portal's fixture: three public datasets of two departments,
// a private one whose words ("confidentiel", "Salaires") must never show
// anywhere public, and a public one without an exposed release.
func portalServer(t *testing.T, dbURL string) http.Handler {
	t.Helper()
	h, _ := portalFixture(t, dbURL)
	return h
}

func portalFixture(t *testing.T, dbURL string) (http.Handler, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, dbURL)
	require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
	cols := []store.ReleaseColumn{{Field: "id", Kind: store.KindText}, {Field: "commune", Kind: store.KindText},
		{Field: "montant", Kind: store.KindNumeric}, {Field: "nb", Kind: store.KindInteger}, {Field: "date", Kind: store.KindDate}}
	datasets := []store.Dataset{
		{ID: "travaux-voirie", Title: "Travaux de voirie", Description: "Les chantiers en cours sur la voirie communale.", Department: "voirie",
			Keywords: store.Strings{"Voirie", "travaux"}, Frequency: "weekly", Spatial: "Ville d'Exemple", TemporalStart: "2024-01-01", TemporalEnd: "2024-12-31"},
		{ID: "subventions-2025", Title: "Subventions aux associations", Description: "Subventions attribuées en 2025.", Department: "finances",
			SchemaName: "scdl-subventions", Keywords: store.Strings{"subventions", "associations"}, Frequency: "annual"},
		{ID: "budget-primitif", Title: "Budget primitif", Description: "Le budget voté, ligne à ligne.", Department: "finances",
			Keywords: store.Strings{"budget"}, Frequency: "annual", Licence: "odc-odbl"},
		{ID: "secret-rh", Title: "Salaires confidentiel", Description: "confidentiel", Department: "finances",
			Keywords: store.Strings{"voirie", "budget", "confidentiel"}, Frequency: "monthly"},
	}
	for i, d := range datasets {
		require.NoError(t, st.CreateDataset(ctx, &d))
		n := 0
		_, _, err := st.CreateRelease(ctx, store.NewRelease{DatasetID: d.ID, Key: d.ID, NormalizedSHA: "x", Columns: cols}, func() (store.ReleaseRow, error) {
			if n == 20+i {
				return store.ReleaseRow{}, io.EOF
			}
			r := exploreRows[n]
			n++
			day, _ := time.Parse(time.DateOnly, r.Date)
			return store.ReleaseRow{Values: []any{r.ID, r.Commune, r.Montant, r.Nb, day}, Key: r.ID, Hash: r.ID}, nil
		})
		require.NoError(t, err)
		require.NoError(t, st.ExposeRelease(ctx, d.ID, 1))
		if d.ID != "secret-rh" {
			require.NoError(t, st.SetDatasetVisibility(ctx, d.ID, store.VisibilityPublic))
		}
	}
	require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: "vide", Title: "Vide confidentiel", Department: "voirie", Visibility: store.VisibilityPublic}))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.OrgName = "Ville d'Exemple"
	cfg.PublicURL = "https://data.ville-exemple.fr"
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return srv.Handler(), st
}

func getWith(h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// jsonldTriples expands a JSON-LD document (json-gold) into N-Quads lines.
func jsonldTriples(t *testing.T, body []byte) string {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal(body, &doc))
	opts := ld.NewJsonLdOptions("")
	opts.Format = "application/n-quads"
	nq, err := ld.NewJsonLdProcessor().ToRDF(doc, opts)
	require.NoError(t, err)
	return nq.(string)
}

func TestDCATCatalogRoutes(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := portalServer(t, d.URL(t))
			const site = "https://data.ville-exemple.fr"

			rec := get(h, "/catalog.jsonld", nil)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.Equal(t, "application/ld+json; charset=utf-8", rec.Header().Get("Content-Type"))
			require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
			nq := jsonldTriples(t, rec.Body.Bytes())
			for _, want := range []string{
				"<" + site + "/catalog> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Catalog>",
				"<" + site + "/catalog> <http://www.w3.org/ns/dcat#dataset> <" + site + "/catalog/travaux-voirie>",
				"<" + site + "/catalog/subventions-2025> <http://purl.org/dc/terms/title> \"Subventions aux associations\"@fr",
				"<" + site + "/catalog/subventions-2025> <http://www.w3.org/ns/dcat#distribution> <" + site + "/api/explore/v2.1/catalog/datasets/subventions-2025/exports/csv>",
				"<" + site + "/catalog/budget-primitif> <http://purl.org/dc/terms/license> <https://opendatacommons.org/licenses/odbl/1-0/>",
				"<" + site + "/#collectivite> <http://xmlns.com/foaf/0.1/name> \"Ville d'Exemple\"@fr",
			} {
				require.Contains(t, nq, want)
			}
			require.Equal(t, 3, strings.Count(nq, "<http://www.w3.org/ns/dcat#Dataset>"))
			// Never the private dataset, nor the one without a release.
			for _, path := range []string{"/catalog.jsonld", "/catalog.ttl", "/api/explore/v2.1/catalog/exports/dcat",
				"/api/explore/v2.1/catalog/exports/csv", "/api/explore/v2.1/catalog/exports/json"} {
				r := get(h, path, nil)
				require.Equal(t, 200, r.Code, path)
				require.NotContains(t, r.Body.String(), "confidentiel", path)
				require.NotContains(t, r.Body.String(), "secret-rh", path)
				require.NotContains(t, r.Body.String(), "/vide", path)
				// Revalidation: the same catalog is a 304.
				etag := r.Header().Get("ETag")
				require.NotEmpty(t, etag, path)
				require.Contains(t, r.Header().Get("Cache-Control"), "max-age", path)
				r2 := getWith(h, path, map[string]string{"If-None-Match": etag})
				require.Equal(t, http.StatusNotModified, r2.Code, path)
				require.Empty(t, r2.Body.String())
			}
			ttl := get(h, "/catalog.ttl", nil)
			require.Equal(t, "text/turtle; charset=utf-8", ttl.Header().Get("Content-Type"))
			require.Contains(t, ttl.Body.String(), "@prefix dcat: <http://www.w3.org/ns/dcat#> .")
			require.Contains(t, ttl.Body.String(), "<"+site+"/catalog/travaux-voirie>\n    a dcat:Dataset")
			// The DCAT export is the JSON-LD catalog.
			require.Equal(t, rec.Body.String(), get(h, "/api/explore/v2.1/catalog/exports/dcat", nil).Body.String())

			csvRec := get(h, "/api/explore/v2.1/catalog/exports/csv", nil)
			require.Equal(t, "text/csv; charset=utf-8", csvRec.Header().Get("Content-Type"))
			lines := strings.Split(strings.TrimSpace(csvRec.Body.String()), "\n")
			require.Len(t, lines, 4)
			require.True(t, strings.HasPrefix(lines[0], "\uFEFFdataset_id;title;"), lines[0])
			var list []map[string]any
			require.NoError(t, json.Unmarshal(get(h, "/api/explore/v2.1/catalog/exports/json", nil).Body.Bytes(), &list))
			require.Len(t, list, 3)
			bad := get(h, "/api/explore/v2.1/catalog/exports/csv?delimiter=%00", nil)
			require.Equal(t, 400, bad.Code)
			require.Contains(t, bad.Body.String(), `"error_code":"InvalidRESTParameterError"`)
			require.Empty(t, bad.Header().Get("ETag"))
		})
	}
}

// facetCounts reads the counts of a facet on the catalog page: label → count.
func facetCounts(t *testing.T, page, facet string) map[string]int {
	t.Helper()
	i := strings.Index(page, `id="facet-`+facet+`"`)
	if i < 0 {
		return map[string]int{}
	}
	sec := page[i:]
	sec = sec[:strings.Index(sec, "</section>")]
	out := map[string]int{}
	for _, part := range strings.Split(sec, `<span class="facet-label">`)[1:] {
		label := part[:strings.Index(part, "</span>")]
		c := part[strings.Index(part, `<span class="facet-count">`)+len(`<span class="facet-count">`):]
		n := 0
		fmt.Sscanf(c, "%d", &n)
		out[html.UnescapeString(label)] = n
	}
	return out
}

func TestPortalCatalogPage(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := portalServer(t, d.URL(t))
			rec := get(h, "/catalog", nil)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			page := rec.Body.String()
			require.Contains(t, page, `<html lang="fr">`)
			for _, title := range []string{"Travaux de voirie", "Subventions aux associations", "Budget primitif"} {
				require.Contains(t, page, title)
			}
			require.Contains(t, page, `href="/developers"`)
			require.NotContains(t, page, "Tableau de bord", "no staff menu")
			require.Contains(t, page, "3\u00a0jeux de données")
			// Facet counts: public datasets only (the private one has the
			// keywords voirie and budget and belongs to finances).
			require.Equal(t, map[string]int{"Finances": 2, "Voirie et espaces publics": 1}, facetCounts(t, page, "departement"))
			require.Equal(t, map[string]int{"budget": 1, "voirie": 1, "travaux": 1, "subventions": 1, "associations": 1}, facetCounts(t, page, "mot-cle"))
			require.Equal(t, map[string]int{"Annuelle": 2, "Hebdomadaire": 1}, facetCounts(t, page, "frequence"))
			require.Equal(t, map[string]int{"scdl-subventions": 1}, facetCounts(t, page, "schema"))
			require.Equal(t, 2, facetCounts(t, page, "licence")["Licence Ouverte / Open Licence version 2.0"])
			require.Equal(t, 1, facetCounts(t, page, "licence")["Open Database License (ODbL) 1.0"])
			require.Equal(t, 2, facetCounts(t, page, "theme")["Économie et finances"], page)
			require.Equal(t, 1, facetCounts(t, page, "theme")["Transports"])

			// A facet filters; the other facets count within it, the
			// selected one keeps the other values.
			rec = get(h, "/catalog?departement=finances", nil)
			require.Equal(t, 200, rec.Code)
			page = rec.Body.String()
			require.Contains(t, page, "2\u00a0jeux de données")
			require.NotContains(t, page, "Travaux de voirie")
			require.Equal(t, map[string]int{"Finances": 2, "Voirie et espaces publics": 1}, facetCounts(t, page, "departement"))
			require.Equal(t, map[string]int{"budget": 1, "subventions": 1, "associations": 1}, facetCounts(t, page, "mot-cle"))
			require.Contains(t, page, `Service producteur : Finances`)

			rec = get(h, "/catalog?departement=finances&mot-cle=budget", nil)
			require.Contains(t, rec.Body.String(), "1\u00a0jeu de données")
			require.Contains(t, rec.Body.String(), "Budget primitif")
			require.NotContains(t, rec.Body.String(), "confidentiel")

			// Full-text search: every word, accents and case aside.
			for q, want := range map[string][]string{
				"VOIRIE":                    {"Travaux de voirie"},
				"subvention associations":   {"Subventions aux associations"},
				"budget voté":               {"Budget primitif"},
				"budget vote":               {"Budget primitif"},
				"confidentiel":              nil,
				"salaires":                  nil,
				"secret-rh":                 nil,
				"<script>alert(1)</script>": nil,
				"' OR 1=1 --":               nil,
				"%":                         nil,
				"\u202e\u0000x":             nil,
			} {
				r := get(h, "/catalog?q="+url.QueryEscape(q), nil)
				body := r.Body.String()
				if strings.ContainsRune(q, 0) {
					require.Equal(t, 400, r.Code, q)
					require.Contains(t, body, "caractères invalides")
					continue
				}
				require.Equal(t, 200, r.Code, q)
				require.NotContains(t, body, "<script>alert", q)
				require.NotContains(t, body, "Salaires", q)
				require.Contains(t, body, fmt.Sprintf("%d\u00a0%s", len(want), map[bool]string{true: "jeu de données", false: "jeux de données"}[len(want) < 2]), q)
				for _, w := range want {
					require.Contains(t, body, w, q)
				}
			}
			long := get(h, "/catalog?q="+strings.Repeat("é", 201), nil)
			require.Equal(t, 400, long.Code)
			require.Contains(t, long.Body.String(), "trop longue")
			invalid := get(h, "/catalog?q=%ff%fe", nil)
			require.Equal(t, 400, invalid.Code)
			require.Equal(t, 400, get(h, "/catalog?page=abc", nil).Code)
			require.Contains(t, get(h, "/catalog?page=abc", nil).Body.String(), "entier positif")
			// Keywords match case aside; hostile facet values stay text.
			require.Contains(t, get(h, "/catalog?mot-cle=BUDGET", nil).Body.String(), "Budget primitif")
			xss := get(h, "/catalog?departement="+url.QueryEscape(`"><script>alert(1)</script>`)+"&theme="+url.QueryEscape("' OR 1=1 --"), nil)
			require.Equal(t, 200, xss.Code)
			require.NotContains(t, xss.Body.String(), "<script>alert")
			require.Contains(t, xss.Body.String(), "0\u00a0jeu de données")
			require.Equal(t, 400, get(h, "/catalog?departement=%00", nil).Code)
			// An unknown facet value: no result, the filter shows to be removed.
			none := get(h, "/catalog?theme=NOPE", nil)
			require.Equal(t, 200, none.Code)
			require.Contains(t, none.Body.String(), "0\u00a0jeu de données")
			require.Contains(t, none.Body.String(), "Thème : NOPE")
		})
	}
}

func TestPortalDatasetPage(t *testing.T) {
	h, st := portalFixture(t, storetest.SQLiteURL(t))
	// Three API calls on subventions-2025 this week and one 40 days ago, one
	// on another dataset: the page counts its own, 3 over 30 days, 4 in all.
	now := time.Now().UTC()
	var usage []store.APIUsage
	for _, u := range []struct {
		ds  string
		ago time.Duration
	}{{"subventions-2025", time.Hour}, {"subventions-2025", 48 * time.Hour}, {"subventions-2025", 72 * time.Hour},
		{"subventions-2025", 40 * 24 * time.Hour}, {"travaux-voirie", time.Hour}} {
		usage = append(usage, store.APIUsage{At: now.Add(-u.ago), ClientAddr: "192.0.2.1", Dataset: u.ds, Endpoint: "records", Status: 200})
	}
	require.NoError(t, st.InsertAPIUsage(context.Background(), usage))
	// Private, unexposed, unknown and malformed ids: the same French 404.
	for _, id := range []string{"secret-rh", "vide", "nope", "..%2f..%2fetc", "%00", strings.Repeat("a", 300), "SUBVENTIONS-2025"} {
		rec := get(h, "/catalog/"+id, nil)
		require.Equal(t, http.StatusNotFound, rec.Code, id)
		require.Contains(t, rec.Body.String(), "Jeu de données introuvable", id)
		require.NotContains(t, rec.Body.String(), "confidentiel", id)
	}

	rec := get(h, "/catalog/subventions-2025", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	page := rec.Body.String()
	require.Contains(t, page, "<h1>Subventions aux associations</h1>")
	// The schema documents its fields (scdl-subventions: nomAttribuant…).
	require.Contains(t, page, "<code>nomAttribuant</code>")
	require.Contains(t, page, "obligatoire")
	require.Contains(t, page, "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json")
	// Downloads and the API call.
	require.Contains(t, page, `href="/api/explore/v2.1/catalog/datasets/subventions-2025/exports/csv"`)
	require.Contains(t, page, `href="/api/explore/v2.1/catalog/datasets/subventions-2025/exports/json"`)
	require.Contains(t, page, "curl &#39;https://data.ville-exemple.fr/api/explore/v2.1/catalog/datasets/subventions-2025/records?limit=10&#39;")
	// Usage: one release of 21 rows.
	require.Contains(t, page, "Version 1")
	require.Contains(t, page, "21\u00a0lignes")
	require.Contains(t, page, `<p class="card-figure" id="usage-30d">3</p>`)
	require.Contains(t, page, "Appels à l'API en tout</p><p class=\"card-figure\">4</p>")

	// The preview: sorted by a column, descending.
	rec = get(h, "/catalog/travaux-voirie?tri=montant&ordre=desc", nil)
	require.Equal(t, 200, rec.Code)
	page = rec.Body.String()
	require.Contains(t, page, `aria-sort="descending"`)
	max := 0.0
	for _, r := range exploreRows[:20] {
		max = math.Max(max, r.Montant)
	}
	firstRow := page[strings.Index(page, "<tbody>\n    <tr>"):]
	firstRow = firstRow[:strings.Index(firstRow, "</tr>")]
	require.Contains(t, firstRow, "<td>"+strconv.FormatFloat(max, 'f', -1, 64)+"</td>")
	// Filtered on a value.
	rec = get(h, "/catalog/travaux-voirie?champ=commune&valeur=Lyon", nil)
	page = rec.Body.String()
	lyon := 0
	for _, r := range exploreRows[:20] {
		if r.Commune == "Lyon" {
			lyon++
		}
	}
	require.Contains(t, page, fmt.Sprintf("%d\u00a0lignes où commune = « Lyon »", lyon))
	require.NotContains(t, page, "<td>Bron</td>")
	// Bad preview parameters: a French warning, never an error page.
	for _, q := range []string{"champ=montant&valeur=abc", "tri=nope", "tri=%60x%60", "champ=nope&valeur=1", "page=-1", "page=999999", "champ=commune&valeur=" + strings.Repeat("x", 600)} {
		rec := get(h, "/catalog/travaux-voirie?"+q, nil)
		require.Equal(t, 200, rec.Code, q)
		require.Contains(t, rec.Body.String(), `class="alert alert-warning"`, q)
	}
	require.Equal(t, 200, get(h, "/reutiliser", nil).Code)
	require.Contains(t, get(h, "/reutiliser", nil).Body.String(), "Licence Ouverte")
}

// The DCAT documents follow every change at once (they are cached by what
// they describe): a new title, a dataset made public, then private again.
func TestDCATCatalogFollowsChanges(t *testing.T) {
	h, st := portalFixture(t, storetest.SQLiteURL(t))
	ctx := context.Background()
	for _, path := range []string{"/catalog.jsonld", "/catalog.ttl"} {
		first := get(h, path, nil)
		require.Equal(t, 200, first.Code)
		again := get(h, path, nil)
		require.Equal(t, first.Body.String(), again.Body.String())
		require.Equal(t, first.Header().Get("ETag"), again.Header().Get("ETag"))
	}
	etag := get(h, "/catalog.jsonld", nil).Header().Get("ETag")

	d, err := st.Dataset(ctx, "budget-primitif")
	require.NoError(t, err)
	d.Title = "Budget primitif 2026"
	require.NoError(t, st.UpdateDataset(ctx, &d))
	rec := get(h, "/catalog.jsonld", nil)
	require.Contains(t, rec.Body.String(), "Budget primitif 2026")
	require.NotEqual(t, etag, rec.Header().Get("ETag"))
	require.Contains(t, get(h, "/catalog.ttl", nil).Body.String(), "Budget primitif 2026")

	require.NoError(t, st.SetDatasetVisibility(ctx, "secret-rh", store.VisibilityPublic))
	require.Contains(t, get(h, "/catalog.jsonld", nil).Body.String(), "secret-rh")
	require.Contains(t, get(h, "/catalog/secret-rh", nil).Body.String(), "Salaires confidentiel")
	require.NoError(t, st.SetDatasetVisibility(ctx, "secret-rh", store.VisibilityPrivate))
	for _, path := range []string{"/catalog.jsonld", "/catalog.ttl", "/catalog", "/api/explore/v2.1/catalog/exports/csv"} {
		require.NotContains(t, get(h, path, nil).Body.String(), "confidentiel", path)
	}
	require.Equal(t, http.StatusNotFound, get(h, "/catalog/secret-rh", nil).Code)
}
