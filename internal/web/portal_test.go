package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	return srv.Handler()
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
