package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// pagesSetup is peopleSetup with a data directory of the test's own
// (uploads land there).
func pagesSetup(t *testing.T) peopleBundle {
	t.Helper()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	require.NoError(t, auth.SeedDemo(context.Background(), st, "demo"))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	srv, err := web.New(web.Deps{Config: cfg, Store: st, TuneAuth: func(o *auth.Options) {
		o.Sleep = func(context.Context, time.Duration) error { return nil }
	}})
	require.NoError(t, err)
	return peopleBundle{srv: srv, st: st}
}

// upload posts a file as the dataset page's form does (multipart, the
// CSRF token in the X-CSRF-Token header as upload.js sends it).
func (br *browser) upload(path, name string, content []byte) *httptest.ResponseRecorder {
	br.t.Helper()
	tok := br.csrf(strings.TrimSuffix(path, "/files"))
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, err := w.CreateFormFile("file", name)
	require.NoError(br.t, err)
	_, _ = fw.Write(content)
	require.NoError(br.t, w.Close())
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-CSRF-Token", tok)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: br.cookie})
	rec := httptest.NewRecorder()
	br.b.srv.Handler().ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if br.jar == nil {
			br.jar = map[string]string{}
		}
		br.jar[ck.Name] = ck.Value
	}
	return rec
}

func TestDatasetPages(t *testing.T) {
	b := pagesSetup(t)
	agent := pageSignIn(t, b, "agent.voirie")

	rec := agent.do(http.MethodGet, "/datasets", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "Aucun jeu de données")
	require.Contains(t, rec.Body.String(), `href="/datasets/new"`)

	// A title is required: the French error sits beside the field.
	tok := agent.csrf("/datasets/new")
	rec = agent.do(http.MethodPost, "/datasets", url.Values{"_csrf": {tok}, "title": {""}, "department": {"voirie"}, "frequency": {"unknown"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	page := rec.Body.String()
	require.Contains(t, page, "Un titre de 1 à 350 caractères est obligatoire.")
	require.Contains(t, page, `aria-invalid="true"`)
	require.NotContains(t, page, "a title of 1 to 350", "no English on the pages")

	// Another department than one's own is refused, in French.
	rec = agent.do(http.MethodPost, "/datasets", url.Values{"_csrf": {tok}, "title": {"Budget"}, "department": {"finances"}, "frequency": {"unknown"}})
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Body.String(), "Accès refusé")

	rec = agent.do(http.MethodPost, "/datasets", url.Values{"_csrf": {tok}, "title": {"Arbres d'alignement"}, "department": {"voirie"},
		"frequency": {"annual"}, "schema": {"arbres-urbains"}, "keywords": {"arbres, nature"}, "temporalStart": {"2026-01-01"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	loc := rec.Header().Get("Location")
	require.True(t, strings.HasPrefix(loc, "/datasets/arbres-d-alignement"), loc)

	rec = agent.do(http.MethodGet, loc, nil)
	require.Equal(t, 200, rec.Code)
	page = rec.Body.String()
	require.Contains(t, page, "a été créé")
	require.Contains(t, page, "<h1>Arbres d&#39;alignement</h1>")
	require.Contains(t, page, "Aucun fichier déposé.")
	require.Contains(t, page, `value="arbres, nature"`)

	// An empty file: the French reason beside the upload field.
	rec = agent.upload(loc+"/files", "vide.csv", nil)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "Le fichier « vide.csv » est vide.")

	sample, err := os.ReadFile("../tableschema/testdata/samples/arbres-urbains.valid.csv")
	require.NoError(t, err)
	rec = agent.upload(loc+"/files", "arbres.csv", sample)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	rec = agent.do(http.MethodGet, loc, nil)
	page = rec.Body.String()
	require.Contains(t, page, "arbres.csv")
	require.Contains(t, page, "Lancer la publication")

	// Metadata change, with a bad date refused in French.
	tok = agent.csrf(loc)
	rec = agent.do(http.MethodPost, loc, url.Values{"_csrf": {tok}, "title": {"Arbres"}, "frequency": {"annual"}, "temporalStart": {"hier"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "Une date au format AAAA-MM-JJ est attendue, et non « hier ».")
	rec = agent.do(http.MethodPost, loc, url.Values{"_csrf": {tok}, "title": {"Arbres de la ville"}, "frequency": {"annual"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Contains(t, agent.do(http.MethodGet, loc, nil).Body.String(), "<h1>Arbres de la ville</h1>")

	// Another department's agent neither lists nor opens it.
	other := pageSignIn(t, b, "agent.finances")
	require.NotContains(t, other.do(http.MethodGet, "/datasets", nil).Body.String(), "Arbres de la ville")
	rec = other.do(http.MethodGet, loc, nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "Page introuvable")
	rec = other.upload(loc+"/files", "x.csv", sample)
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, rec.Code)

	// The DGS reads every dataset but changes none: no forms for it.
	page = pageSignIn(t, b, "dgs").do(http.MethodGet, loc, nil).Body.String()
	require.Contains(t, page, "<h1>Arbres de la ville</h1>")
	require.NotContains(t, page, "Déposer un fichier")
	require.NotContains(t, page, "Lancer la publication")
	require.NotContains(t, page, `action="`+loc+`"`)
}

func TestDashboardPage(t *testing.T) {
	b := pagesSetup(t)
	agent := pageSignIn(t, b, "agent.voirie")
	tok := agent.csrf("/datasets/new")
	rec := agent.do(http.MethodPost, "/datasets", url.Values{"_csrf": {tok}, "title": {"Subventions"}, "department": {"voirie"},
		"frequency": {"annual"}, "schema": {"scdl-subventions"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())

	page := agent.do(http.MethodGet, "/", nil).Body.String()
	require.Contains(t, page, "Jeux de données par état : Brouillons (sans version) 1")
	require.NotContains(t, page, "Obligations d'ouverture", "an agent does not see the collectivité's obligations")

	dgs := pageSignIn(t, b, "dgs")
	page = dgs.do(http.MethodGet, "/", nil).Body.String()
	require.Contains(t, page, "Obligations d'ouverture des données")
	require.Contains(t, page, `<a href="/datasets/subventions">Subventions</a>`)
	require.Contains(t, page, "non publié")
	require.Contains(t, page, "aucun jeu", "schemas with no dataset are named")
}
