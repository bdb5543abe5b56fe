package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"
	"github.com/stretchr/testify/require"
)

// TestPublicationIntoPublicAPI: after the DGS approves, the published
// dataset is in the public catalog, its records answer to anyone (no
// token) and its export streams every row.
func TestPublicationIntoPublicAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application")
	}
	e := startApp(t)
	agent, steward, dgs := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs")
	const api = "/api/explore/v2.1/catalog/datasets"

	dataset, inst := newSubmission(t, agent, "voirie", filepath.Join("testdata", "scdl-subventions.valid.csv"))
	// Before publication: not served, not in the DCAT catalog.
	require.Equal(t, http.StatusNotFound, e.do("", http.MethodGet, api+"/"+dataset+"/records", "", nil, nil))
	require.NotContains(t, dcatTriples(t, e), "/catalog/"+dataset+">")

	review := steward.waitTask(inst, "review")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
	approval := dgs.waitTask(inst, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
	agent.waitStatus(inst, "completed")

	var cat struct {
		TotalCount int `json:"total_count"`
		Results    []struct {
			DatasetID string `json:"dataset_id"`
			Metas     struct {
				Default struct {
					RecordsCount int `json:"records_count"`
				} `json:"default"`
			} `json:"metas"`
		} `json:"results"`
	}
	require.Equal(t, 200, e.do("", http.MethodGet, api, "", nil, &cat))
	require.Equal(t, 1, cat.TotalCount)
	require.Equal(t, dataset, cat.Results[0].DatasetID)
	require.Equal(t, 29, cat.Results[0].Metas.Default.RecordsCount)

	var recs struct {
		TotalCount int              `json:"total_count"`
		Results    []map[string]any `json:"results"`
	}
	q := url.Values{"where": {`nomAttribuant = "ANTIBES" and montant >= 100000`}, "select": {"nomBeneficiaire, montant"}, "order_by": {"montant desc"}, "limit": {"100"}}
	require.Equal(t, 200, e.do("", http.MethodGet, api+"/"+dataset+"/records?"+q.Encode(), "", nil, &recs))
	require.NotEmpty(t, recs.Results)
	require.Equal(t, recs.TotalCount, len(recs.Results))
	for i, r := range recs.Results {
		require.GreaterOrEqual(t, r["montant"], 100000.0)
		if i > 0 {
			require.LessOrEqual(t, r["montant"], recs.Results[i-1]["montant"])
		}
	}

	resp, err := http.Get(e.base + api + "/" + dataset + "/exports/csv")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.True(t, strings.HasPrefix(string(body), "\uFEFFnomAttribuant;"), string(body[:40]))
	require.Len(t, strings.Split(strings.TrimSpace(string(body)), "\n"), 30)

	// The DCAT-AP catalog describes the published dataset (what
	// data.gouv.fr's harvester reads), parsed by a JSON-LD processor.
	nq := dcatTriples(t, e)
	ds := "<" + e.base + "/catalog/" + dataset + ">"
	for _, want := range []string{
		"<" + e.base + "/catalog> <http://www.w3.org/ns/dcat#dataset> " + ds,
		ds + " <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset>",
		ds + " <http://purl.org/dc/terms/title> \"Subventions voirie\"@fr",
		ds + " <http://purl.org/dc/terms/identifier> \"" + dataset + "\"",
		ds + " <http://purl.org/dc/terms/conformsTo> <https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json>",
		ds + " <http://www.w3.org/ns/dcat#theme> <http://publications.europa.eu/resource/authority/data-theme/GOVE>",
		ds + " <http://www.w3.org/ns/dcat#distribution> <" + e.base + api + "/" + dataset + "/exports/csv>",
		"<" + e.base + api + "/" + dataset + "/exports/csv> <http://purl.org/dc/terms/license> <https://www.etalab.gouv.fr/licence-ouverte-open-licence>",
	} {
		require.Contains(t, nq, want)
	}
}

// dcatTriples fetches /catalog.jsonld and expands it to N-Quads.
func dcatTriples(t *testing.T, e *env) string {
	t.Helper()
	resp, err := http.Get(e.base + "/catalog.jsonld")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var doc any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	opts := ld.NewJsonLdOptions("")
	opts.Format = "application/n-quads"
	nq, err := ld.NewJsonLdProcessor().ToRDF(doc, opts)
	require.NoError(t, err)
	return nq.(string)
}
