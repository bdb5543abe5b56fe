package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/auth"
)

// deployJSON posts to /designer/deploy as modeler.js does (JSON, the CSRF
// token in X-CSRF-Token).
func (br *browser) deployJSON(xml, comment string, department ...string) (*httptest.ResponseRecorder, map[string]any) {
	br.t.Helper()
	tok := br.csrf("/designer")
	in := map[string]string{"xml": xml, "comment": comment}
	if len(department) > 0 {
		in["department"] = department[0]
	}
	body, _ := json.Marshal(in)
	req := httptest.NewRequest(http.MethodPost, "/designer/deploy", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-CSRF-Token", tok)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: br.cookie})
	rec := httptest.NewRecorder()
	br.b.srv.Handler().ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec, out
}

func TestDesignerPages(t *testing.T) {
	b := pagesSetup(t)
	des := pageSignIn(t, b, "designer")

	rec := des.do(http.MethodGet, "/designer", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "Aucune démarche déployée")
	require.Contains(t, rec.Body.String(), `href="/designer/new"`)

	// Deploy the publication flow from the page: a new version, in French.
	rec, out := des.deployJSON(string(designer.PublicationBPMN), "première version")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, true, out["ok"])
	require.EqualValues(t, 1, out["version"])
	require.Contains(t, out["message"], "Version 1")
	rec, out = des.deployJSON(string(designer.PublicationBPMN), "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, out["message"], "Aucun changement")

	// The list, the modeler page, the version page, the version's file.
	page := des.do(http.MethodGet, "/designer", nil).Body.String()
	require.Contains(t, page, `href="/designer/flows/publication"`)
	require.Contains(t, page, "Publication d&#39;un jeu de données")
	page = des.do(http.MethodGet, "/designer/flows/publication", nil).Body.String()
	require.Contains(t, page, `data-source="/designer/flows/publication/versions/1/bpmn"`)
	require.Contains(t, page, `id="designer-props"`, "the properties panel has its own column")
	require.Contains(t, page, "camunda-cloud-modeler.production.min.js?v=")
	require.NotContains(t, page, "<script>", "no inline script (CSP script-src 'self')")
	if _, err := os.Stat("ui/static/designer/lint.js"); err == nil {
		require.Contains(t, page, "designer/lint.js?v=")
		require.Contains(t, page, `data-lint="/designer/lint"`)
	} else {
		require.NotContains(t, page, "lint.js")
	}
	rec = des.do(http.MethodGet, "/designer/flows/publication/versions/1", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "lecture seule")
	require.Contains(t, rec.Body.String(), "première version", "the deployment comment")
	require.Contains(t, rec.Body.String(), "designer") // deployed by
	rec = des.do(http.MethodGet, "/designer/flows/publication/versions/1/bpmn?download=1", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Disposition"), "publication-v1.bpmn")
	require.Equal(t, string(designer.PublicationBPMN), rec.Body.String())
	require.Equal(t, 404, des.do(http.MethodGet, "/designer/flows/absent", nil).Code)
	require.Equal(t, 404, des.do(http.MethodGet, "/designer/flows/publication/versions/9", nil).Code)
	require.Equal(t, 404, des.do(http.MethodGet, "/designer/flows/publication/versions/x", nil).Code)
	require.Contains(t, des.do(http.MethodGet, "/designer/flows/absent", nil).Body.String(), "Cette démarche n&#39;existe pas.")
	rec = des.do(http.MethodGet, "/designer/new", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), `data-source=""`)

	// A refusal: in French, on the offending element.
	bad, err := os.ReadFile("../../designer/testdata/camunda/lib-bpmn-engine__inclusive-gateway-multiple-tasks.bpmn")
	require.NoError(t, err)
	rec, out = des.deployJSON(string(bad), "")
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Equal(t, false, out["ok"])
	require.Contains(t, out["message"], "ne peut pas être déployé")
	probs, _ := out["problems"].([]any)
	require.NotEmpty(t, probs)
	found := false
	for _, p := range probs {
		m := p.(map[string]any)
		if strings.Contains(m["message"].(string), "passerelles inclusives") {
			found = true
			require.NotEmpty(t, m["element"])
		}
	}
	require.True(t, found, "the inclusive gateway is named in French: %v", probs)
	// A timer-started flow needs the department of its scheduled instances.
	timer, err := os.ReadFile("../../designer/testdata/camunda/bpmn-driven-testing__simpleTimerStartEvent.bpmn")
	require.NoError(t, err)
	rec, out = des.deployJSON(string(timer), "")
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Contains(t, out["message"], "minuterie")
	require.NotEmpty(t, out["problems"])
	rec, out = des.deployJSON(string(timer), "", "inconnue")
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, out["message"], "« inconnue » n'existe pas")
	rec, _ = des.deployJSON(string(timer), "", "voirie")
	require.NotContains(t, rec.Body.String(), "minuterie", "the department is taken (the schedule needs the engine, absent here)")
	rec, out = des.deployJSON("pas du XML", "")
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, out["message"], "n'est pas un processus BPMN")
	rec, out = des.deployJSON("", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, out["message"], "vide")

	// Other roles: no designer.
	agent := pageSignIn(t, b, "agent.voirie")
	require.Equal(t, http.StatusForbidden, agent.do(http.MethodGet, "/designer", nil).Code)
	require.Equal(t, http.StatusForbidden, agent.do(http.MethodGet, "/designer/element-templates.json", nil).Code)
	require.NotContains(t, agent.do(http.MethodGet, "/", nil).Body.String(), `href="/designer"`)
	require.Contains(t, des.do(http.MethodGet, "/", nil).Body.String(), `href="/designer"`)
}

func TestDesignerElementTemplates(t *testing.T) {
	b := pagesSetup(t)
	des := pageSignIn(t, b, "designer")
	rec := des.do(http.MethodGet, "/designer/element-templates.json", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	var tpls []designer.ElementTemplate
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tpls))
	byActivity := map[string]designer.ElementTemplate{}
	var user *designer.ElementTemplate
	for i, tp := range tpls {
		if tp.Metadata != nil && tp.Metadata.Activity != "" {
			byActivity[tp.Metadata.Activity] = tp
		}
		if tp.ElementType != nil && tp.ElementType.Value == "bpmn:UserTask" {
			user = &tpls[i]
		}
	}
	french := regexp.MustCompile(`[éèêàçôù]|\b(le|la|les|du|des|un|une)\b`)
	for _, act := range designer.KnownActivities {
		tp, ok := byActivity[act]
		require.True(t, ok, "activity %s has no template", act)
		require.NotEqual(t, act, tp.Name, "a French label, not the activity name")
		require.Regexp(t, french, tp.Name+" "+tp.Description, "French label and help of %s", act)
	}
	require.Equal(t, "Valider contre un schéma", byActivity["civicflow.validate"].Name)
	// The notify template offers the real mail templates; its required params are marked.
	var tmpl designer.TemplateProp
	for _, p := range byActivity["civicflow.notify"].Properties {
		if p.ID == "template" {
			tmpl = p
		}
	}
	require.Equal(t, "Dropdown", tmpl.Type)
	require.NotEmpty(t, tmpl.Choices)
	require.True(t, tmpl.Constraints.NotEmpty)
	// The user task template offers the real roles and departments.
	require.NotNil(t, user)
	var groups []string
	for _, p := range user.Properties {
		if p.ID == "candidateGroups" {
			for _, c := range p.Choices {
				groups = append(groups, c.Value)
			}
		}
	}
	require.Contains(t, groups, "steward")
	require.Contains(t, groups, "steward@voirie")
}

// Deploying from the page needs a same-origin proof (the auth package's
// CSRF rules: Sec-Fetch-Site, else the session's CSRF token, which
// modeler.js always sends) and a JSON body.
func TestDesignerDeployNeedsCSRFAndJSON(t *testing.T) {
	b := pagesSetup(t)
	des := pageSignIn(t, b, "designer")
	post := func(ct, site, token string) int {
		req := httptest.NewRequest(http.MethodPost, "/designer/deploy", strings.NewReader(`{"xml":"<x/>"}`))
		req.Header.Set("Content-Type", ct)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: des.cookie})
		rec := httptest.NewRecorder()
		b.srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	tok := des.csrf("/designer")
	require.Equal(t, http.StatusForbidden, post("application/json", "cross-site", tok), "from another site")
	require.Equal(t, http.StatusForbidden, post("application/json", "", ""), "no origin proof, no CSRF token")
	require.Equal(t, http.StatusForbidden, post("application/json", "", "0000"), "a wrong token")
	require.Equal(t, http.StatusUnsupportedMediaType, post("text/plain", "same-origin", tok), "not JSON")
	require.Equal(t, http.StatusUnprocessableEntity, post("application/json", "", tok), "the token: accepted, then refused by the compiler")
	require.Equal(t, http.StatusUnprocessableEntity, post("application/json", "same-origin", ""), "same origin: accepted, then refused by the compiler")
}
