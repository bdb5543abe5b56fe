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

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// developersServer serves two exposed datasets: "arbres" (public, its
// release validated with the shipped schema arbres-urbains) and "secret"
// (private), plus "sans-schema" (public, no schema: typed by its columns).
func developersServer(t *testing.T) http.Handler {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
	arbres := []store.ReleaseColumn{{Field: "id", Kind: store.KindInteger}, {Field: "longitude", Kind: store.KindNumeric},
		{Field: "latitude", Kind: store.KindNumeric}, {Field: "nom_vernaculaire", Kind: store.KindText},
		{Field: "code_insee", Kind: store.KindText}, {Field: "date_plantation", Kind: store.KindDate},
		{Field: "arbre_remarquable", Kind: store.KindBoolean}}
	rows := [][]any{
		{int64(1), 4.83, 45.76, "Platane commun", "69381", time.Date(1990, 3, 1, 0, 0, 0, 0, time.UTC), true},
		{int64(2), 4.84, 45.75, nil, "69382", nil, false},
		{int64(3), 4.85, 45.74, "Tilleul", nil, time.Date(2005, 11, 20, 0, 0, 0, 0, time.UTC), nil},
	}
	for _, d := range []struct {
		id, schema string
		cols       []store.ReleaseColumn
		rows       [][]any
	}{
		{"arbres", "arbres-urbains", arbres, rows},
		{"secret", "arbres-urbains", arbres, rows},
		{"sans-schema", "", []store.ReleaseColumn{{Field: "commune", Kind: store.KindText}, {Field: "montant", Kind: store.KindNumeric},
			{Field: "quand", Kind: store.KindTimestamp}}, [][]any{{"Lyon", 12.5, time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)}}},
	} {
		require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: d.id, Title: "Jeu " + d.id, Description: "Description de " + d.id,
			Department: "voirie", SchemaName: d.schema, Keywords: store.Strings{"test"}}))
		i := 0
		_, _, err := st.CreateRelease(ctx, store.NewRelease{DatasetID: d.id, Key: d.id, NormalizedSHA: "x", SchemaName: d.schema, Columns: d.cols},
			func() (store.ReleaseRow, error) {
				if i == len(d.rows) {
					return store.ReleaseRow{}, io.EOF
				}
				i++
				return store.ReleaseRow{Values: d.rows[i-1], Key: d.id + string(rune('a'+i)), Hash: d.id + string(rune('a'+i))}, nil
			})
		require.NoError(t, err)
		require.NoError(t, st.ExposeRelease(ctx, d.id, 1))
	}
	require.NoError(t, st.SetDatasetVisibility(ctx, "arbres", store.VisibilityPublic))
	require.NoError(t, st.SetDatasetVisibility(ctx, "sans-schema", store.VisibilityPublic))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.OrgName = "Ville d'Essai"
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return srv.Handler()
}

func devGet(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// validOpenAPI checks a document with a real OpenAPI 3.1 validator
// (libopenapi-validator: the document against the 3.1 specification's
// schema) and returns it built.
func validOpenAPI(t *testing.T, body []byte) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(body)
	require.NoError(t, err)
	require.Equal(t, "3.1.0", doc.GetVersion())
	_, errs := doc.BuildV3Model()
	require.Empty(t, errs, "the document builds")
	v, verrs := validator.NewValidator(doc)
	require.Empty(t, verrs)
	ok, problems := v.ValidateDocument()
	for _, p := range problems {
		t.Errorf("OpenAPI 3.1: %s: %s", p.Message, p.Reason)
		for _, se := range p.SchemaValidationErrors {
			t.Errorf("  at %s: %s", se.FieldPath+" "+se.KeywordLocation, se.Reason)
		}
	}
	require.True(t, ok, "the document is valid OpenAPI 3.1")
	return v
}

func TestOpenAPIDatasetDocument(t *testing.T) {
	h := developersServer(t)
	rec := devGet(t, h, "/api/explore/v2.1/catalog/datasets/arbres/openapi.json")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
	v := validOpenAPI(t, rec.Body.Bytes())

	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title   string         `json:"title"`
			License map[string]any `json:"license"`
		} `json:"info"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas         map[string]map[string]any `json:"schemas"`
			SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
			Responses       map[string]map[string]any `json:"responses"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Contains(t, doc.Info.Title, "Jeu arbres")
	require.Equal(t, "https://www.etalab.gouv.fr/licence-ouverte-open-licence/", doc.Info.License["url"], "the default licence, etalab-2.0")

	// The operations the server serves, and only those.
	for _, p := range []string{"/catalog/datasets/arbres", "/catalog/datasets/arbres/records", "/catalog/datasets/arbres/facets",
		"/catalog/datasets/arbres/exports/csv", "/catalog/datasets/arbres/exports/json"} {
		require.Contains(t, doc.Paths, p)
	}
	for p := range doc.Paths {
		require.NotContains(t, p, "secret")
		if strings.Contains(p, "/exports/") {
			ext := p[strings.LastIndex(p, "/")+1:]
			require.Equal(t, http.StatusOK, devGet(t, h, "/api/explore/v2.1"+p).Code, "documented export %s is served", ext)
		}
	}

	// Field types come from the Table Schema, not only from the columns.
	props := doc.Components.Schemas["Record_arbres"]["properties"].(map[string]any)
	typ := func(f string) any { return props[f].(map[string]any)["type"] }
	require.Equal(t, "integer", typ("id"), "required in the schema: not nullable")
	require.Equal(t, "number", typ("longitude"))
	require.Equal(t, []any{"string", "null"}, typ("nom_vernaculaire"))
	require.Equal(t, []any{"boolean", "null"}, typ("arbre_remarquable"))
	require.Equal(t, "date", props["date_plantation"].(map[string]any)["format"])
	require.Equal(t, "date", props["date_plantation"].(map[string]any)["x-tableschema-type"])
	require.Contains(t, props["code_insee"].(map[string]any)["pattern"], `2[AB1-9]`, "the schema's pattern")
	require.EqualValues(t, -180, props["longitude"].(map[string]any)["minimum"], "the schema's constraints")

	// API keys (header or query) and 429 with its RateLimit headers.
	require.Equal(t, "Authorization", doc.Components.SecuritySchemes["apikeyHeader"]["name"])
	require.Equal(t, "apikey", doc.Components.SecuritySchemes["apikeyQuery"]["name"])
	headers := doc.Components.Responses["TooManyRequests"]["headers"].(map[string]any)
	for _, hd := range []string{"Retry-After", "RateLimit-Policy", "RateLimit"} {
		require.Contains(t, headers, hd)
	}

	// The API's real answers match the document (the validator checks the
	// response bodies against the record type).
	for _, q := range []string{"/records?limit=3", "/records?select=id,nom_vernaculaire&order_by=id%20desc", "/records?where=arbre_remarquable%20%3D%20true"} {
		req := httptest.NewRequest(http.MethodGet, "/api/explore/v2.1/catalog/datasets/arbres"+q, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		ok, problems := v.ValidateHttpResponse(req, rec.Result())
		for _, p := range problems {
			t.Errorf("%s: %s: %s", q, p.Message, p.Reason)
		}
		require.True(t, ok, "%s: the answer matches the document", q)
	}
}

func TestOpenAPIDatasetWithoutSchema(t *testing.T) {
	h := developersServer(t)
	rec := devGet(t, h, "/api/explore/v2.1/catalog/datasets/sans-schema/openapi.json")
	require.Equal(t, http.StatusOK, rec.Code)
	validOpenAPI(t, rec.Body.Bytes())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	props := doc["components"].(map[string]any)["schemas"].(map[string]any)["Record_sans_schema"].(map[string]any)["properties"].(map[string]any)
	require.Equal(t, []any{"number", "null"}, props["montant"].(map[string]any)["type"], "typed by the column kind")
	require.Equal(t, "date-time", props["quand"].(map[string]any)["format"])
}

func TestOpenAPIPrivateAndUnknown(t *testing.T) {
	h := developersServer(t)
	for _, p := range []string{
		"/api/explore/v2.1/catalog/datasets/secret/openapi.json",
		"/api/explore/v2.1/catalog/datasets/nope/openapi.json",
		"/api/explore/v2.1/catalog/datasets/..%2F..%2Fetc/openapi.json",
		"/api/explore/v2.1/catalog/datasets/" + strings.Repeat("a", 300) + "/openapi.json",
	} {
		rec := devGet(t, h, p)
		require.Equal(t, http.StatusNotFound, rec.Code, p)
		var e map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
		require.Equal(t, "NoSuchDataset", e["error_code"])
	}
	for _, p := range []string{"/developers/api/secret", "/developers/api/nope"} {
		rec := devGet(t, h, p)
		require.Equal(t, http.StatusNotFound, rec.Code, p)
		require.Contains(t, rec.Body.String(), "n'est pas public")
	}
}

func TestOpenAPICatalogDocument(t *testing.T) {
	h := developersServer(t)
	rec := devGet(t, h, "/api/explore/v2.1/openapi.json")
	require.Equal(t, http.StatusOK, rec.Code)
	validOpenAPI(t, rec.Body.Bytes())
	body := rec.Body.String()
	require.Contains(t, body, `"/catalog/datasets/arbres/records"`)
	require.Contains(t, body, `"/catalog/datasets/sans-schema/records"`)
	require.Contains(t, body, `"/catalog/datasets"`)
	require.NotContains(t, body, "secret", "a private dataset is never named")
}

func TestDevelopersPage(t *testing.T) {
	h := developersServer(t)
	rec := devGet(t, h, "/developers")
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	for _, want := range []string{"<h1>Développeurs", "Licence Ouverte", "Authorization: Apikey", "429",
		`href="/developers/api/arbres"`, `href="/api/explore/v2.1/catalog/datasets/arbres/openapi.json"`,
		`href="/developers/api/sans-schema"`, `id="developers-keys"`, `id="developers-plans"`} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "secret")
	require.NotContains(t, body, "<script>", "no inline script")

	rec = devGet(t, h, "/developers/api/arbres")
	require.Equal(t, http.StatusOK, rec.Code)
	body = rec.Body.String()
	require.Contains(t, body, `data-url="/api/explore/v2.1/catalog/datasets/arbres/openapi.json"`)
	require.Contains(t, body, "vendor/swagger-ui/swagger-ui-bundle.js")
	require.Contains(t, body, "developers/tryit.js")
	require.NotContains(t, body, "<script>", "no inline script")
}
