package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
)

func TestDesignerFormPages(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "designer")

	// The list, empty; "Nouveau formulaire" with a bad id, then a good one.
	rec := br.do(http.MethodGet, "/designer/forms", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "Aucun formulaire")
	rec = br.do(http.MethodGet, "/designer/forms/new?id=1+bad", nil)
	require.Equal(t, 422, rec.Code)
	require.Contains(t, rec.Body.String(), "Donnez un identifiant")
	rec = br.do(http.MethodGet, "/designer/forms/new?id=avis-voirie", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/designer/forms/avis-voirie", rec.Header().Get("Location"))

	// The editor of a new form: an empty schema with its id, escaped in
	// its JSON script.
	rec = br.do(http.MethodGet, "/designer/forms/avis-voirie", nil)
	require.Equal(t, 200, rec.Code)
	body := rec.Body.String()
	require.Contains(t, body, "Nouveau formulaire")
	i := strings.Index(body, `<script type="application/json" id="form-schema">`)
	require.Positive(t, i)
	raw := body[i+len(`<script type="application/json" id="form-schema">`):]
	raw = raw[:strings.Index(raw, "</script>")]
	var schema map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &schema), raw)
	require.Equal(t, "avis-voirie", schema["id"])
	token := csrfRE.FindStringSubmatch(body)[1]

	save := func(doc string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/designer/forms/avis-voirie", strings.NewReader(doc))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set(auth.CSRFHeader, token)
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: br.cookie})
		rec := httptest.NewRecorder()
		b.srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	// A refused document: a French message, no version.
	rec = save(`{"components": 3}`)
	require.Equal(t, 422, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "pas de composants")
	rec = save(`not json`)
	require.Equal(t, 422, rec.Code, rec.Body.String())
	// Saved: version 1, then the same again: still 1.
	doc := `{"id":"avis-voirie","type":"default","components":[{"key":"avis","type":"textfield","label":"Avis"}]}`
	rec = save(doc)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "Version 1 enregistrée")
	rec = save(doc)
	require.Contains(t, rec.Body.String(), "Aucun changement")
	rec = br.do(http.MethodGet, "/designer/forms", nil)
	require.Contains(t, rec.Body.String(), `href="/designer/forms/avis-voirie"`)

	// Agents have no designer.
	agent := signedInBrowser(t, b, "agent.voirie")
	require.Equal(t, 403, agent.do(http.MethodGet, "/designer/forms", nil).Code)
}
