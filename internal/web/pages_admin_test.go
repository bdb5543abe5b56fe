package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func signedInBrowser(t *testing.T, b peopleBundle, user string) *browser {
	t.Helper()
	br := &browser{t: t, b: b}
	rec := br.do(http.MethodPost, "/login", url.Values{"username": {user}, "password": {"demo"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	return br
}

func TestAdminPagesRefusedToAgents(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "agent.voirie")
	for _, p := range []string{"/admin", "/admin/policies", "/audit", "/audit/export", "/audit/verify"} {
		rec := br.do(http.MethodGet, p, nil)
		require.Equal(t, http.StatusForbidden, rec.Code, p)
		require.Contains(t, rec.Body.String(), "Accès refusé", p)
	}
	// Departments and one's own delegations are open to staff, as their JSON routes.
	require.Equal(t, 200, br.do(http.MethodGet, "/admin/departments", nil).Code)
	require.Equal(t, 200, br.do(http.MethodGet, "/admin/delegations", nil).Code)
	tok := br.csrf("/")
	rec := br.do(http.MethodPost, "/admin/departments", url.Values{"_csrf": {tok}, "slug": {"x"}, "name": {"X"}})
	require.Equal(t, http.StatusForbidden, rec.Code)
}

var userLinkRE = regexp.MustCompile(`/admin/users/(\d+)`)

func TestAdminUsersPages(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "admin")
	rec := br.do(http.MethodGet, "/admin", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "agent.voirie")
	require.Contains(t, rec.Body.String(), `href="/admin" aria-current="page"`)
	tok := br.csrf("/admin")

	// A bad username: a French error next to the form, the input kept.
	rec = br.do(http.MethodPost, "/admin/users", url.Values{"_csrf": {tok}, "username": {"X Y"}, "display_name": {"Xavier"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "Identifiant « X Y »")
	require.Contains(t, rec.Body.String(), `value="Xavier"`)

	// Create, with a role.
	rec = br.do(http.MethodPost, "/admin/users", url.Values{"_csrf": {tok}, "username": {"jeanne.martin"}, "display_name": {"Jeanne Martin"},
		"email": {"jeanne.martin@example.fr"}, "role": {"agent"}, "department": {"voirie"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	page := rec.Header().Get("Location")
	m := userLinkRE.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	rec = br.do(http.MethodGet, page, nil)
	require.Contains(t, rec.Body.String(), "Le compte « jeanne.martin » a été créé.")
	require.Contains(t, rec.Body.String(), "agent")

	steps := []struct {
		path   string
		form   url.Values
		status int
		want   string
	}{
		{page + "/roles", url.Values{"role": {"steward"}, "department": {"finances"}}, 303, "Le rôle a été attribué."},
		{page + "/roles", url.Values{"role": {"steward"}, "department": {"nowhere"}}, 422, "La direction « nowhere » n&#39;existe pas"},
		{page + "/roles/delete", url.Values{"role": {"agent"}, "department": {"voirie"}}, 303, "Le rôle a été retiré."},
		{page, url.Values{"op": {"profile"}, "display_name": {"Jeanne M."}, "email": {"pas-une-adresse"}}, 422, "n&#39;est pas une adresse électronique"},
		{page, url.Values{"op": {"profile"}, "display_name": {"Jeanne M."}, "email": {""}}, 303, "Le profil a été enregistré."},
		{page, url.Values{"op": {"password"}, "password": {"court"}}, 422, "trop faible"},
		{page, url.Values{"op": {"disable"}}, 303, "Le compte a été désactivé"},
		{page, url.Values{"op": {"enable"}}, 303, "Le compte a été réactivé."},
		{page, url.Values{"op": {"nope"}}, 400, "Action inconnue sur ce compte."},
	}
	for _, st := range steps {
		st.form.Set("_csrf", tok)
		rec = br.do(http.MethodPost, st.path, st.form)
		require.Equal(t, st.status, rec.Code, "%s %v: %s", st.path, st.form, rec.Body.String())
		body := rec.Body.String()
		if st.status == 303 {
			body = br.do(http.MethodGet, rec.Header().Get("Location"), nil).Body.String()
		}
		require.Contains(t, body, st.want, "%s %v", st.path, st.form)
	}
	rec = br.do(http.MethodGet, page, nil)
	require.Contains(t, rec.Body.String(), "Jeanne M.")
	require.Contains(t, rec.Body.String(), "référent données")

	// One cannot disable one's own account: 409 with the reason.
	self := userLinkRE.FindStringSubmatch(regexp.MustCompile(`<a href="/admin/users/\d+">admin</a>`).FindString(br.do(http.MethodGet, "/admin", nil).Body.String()))
	require.NotNil(t, self)
	rec = br.do(http.MethodPost, "/admin/users/"+self[1], url.Values{"_csrf": {tok}, "op": {"disable"}})
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Contains(t, rec.Body.String(), "Vous ne pouvez pas désactiver votre propre compte.")
	require.Equal(t, http.StatusNotFound, br.do(http.MethodGet, "/admin/users/999999", nil).Code)
}

func TestAdminDepartmentsAndPolicies(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "admin")
	tok := br.csrf("/admin/departments")
	rec := br.do(http.MethodPost, "/admin/departments", url.Values{"_csrf": {tok}, "slug": {"urbanisme"}, "name": {"Urbanisme"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Contains(t, br.do(http.MethodGet, "/admin/departments", nil).Body.String(), "Urbanisme")
	rec = br.do(http.MethodPost, "/admin/departments", url.Values{"_csrf": {tok}, "slug": {"urbanisme"}, "name": {"Encore"}})
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Contains(t, rec.Body.String(), "existe déjà")
	rec = br.do(http.MethodPost, "/admin/departments", url.Values{"_csrf": {tok}, "slug": {"A B"}, "name": {"x"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)

	rule := url.Values{"_csrf": {tok}, "role": {"agent"}, "department": {"urbanisme"}, "object": {"audit"}, "action": {"read"}}
	rec = br.do(http.MethodPost, "/admin/policies", rule)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	page := br.do(http.MethodGet, "/admin/policies", nil).Body.String()
	require.Contains(t, page, "La règle a été ajoutée.")
	require.Contains(t, page, `name="department" value="urbanisme"`)
	rec = br.do(http.MethodPost, "/admin/policies", url.Values{"_csrf": {tok}, "role": {"agent"}, "department": {"*"}, "object": {"Bad Object"}, "action": {"read"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "Objet « Bad Object »")
	rec = br.do(http.MethodPost, "/admin/policies/delete", rule)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.NotContains(t, br.do(http.MethodGet, "/admin/policies", nil).Body.String(), `name="department" value="urbanisme"`)
}

func TestDelegationPages(t *testing.T) {
	b := peopleSetup(t)
	dgs := signedInBrowser(t, b, "dgs")
	tok := dgs.csrf("/admin/delegations")
	until := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	rec := dgs.do(http.MethodPost, "/admin/delegations", url.Values{"_csrf": {tok}, "delegate": {"steward.voirie"}, "group": {"approver@*"}, "until": {until}, "reason": {"congés"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	page := dgs.do(http.MethodGet, "/admin/delegations", nil).Body.String()
	require.Contains(t, page, "La délégation a été enregistrée.")
	require.Contains(t, page, "en cours")
	rec = dgs.do(http.MethodPost, "/admin/delegations", url.Values{"_csrf": {tok}, "delegate": {"dgs"}, "group": {"approver@*"}, "until": {until}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "On ne peut pas se déléguer un rôle à soi-même")
	m := regexp.MustCompile(`/admin/delegations/(\d+)/revoke`).FindStringSubmatch(page)
	require.NotNil(t, m)

	// The delegate sees it ("pour le compte de" on the dashboard); a stranger cannot end it.
	steward := signedInBrowser(t, b, "steward.voirie")
	require.Contains(t, steward.do(http.MethodGet, "/", nil).Body.String(), "pour le compte de <strong>dgs</strong>")
	agent := signedInBrowser(t, b, "agent.finances")
	rec = agent.do(http.MethodPost, m[0], url.Values{"_csrf": {agent.csrf("/")}})
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Body.String(), "Seuls le délégant, le délégataire ou un administrateur")
	rec = steward.do(http.MethodPost, m[0], url.Values{"_csrf": {steward.csrf("/")}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Contains(t, steward.do(http.MethodGet, "/admin/delegations", nil).Body.String(), "terminée le")
}

func TestAuditPages(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "admin")
	// Something to find: a failed sign-in, and enough entries for two pages.
	(&browser{t: t, b: b}).do(http.MethodPost, "/login", url.Values{"username": {"agent.voirie"}, "password": {"faux"}})
	for i := 0; i < 55; i++ {
		signedInBrowser(t, b, "agent.finances")
	}
	rec := br.do(http.MethodGet, "/audit", nil)
	require.Equal(t, 200, rec.Code)
	page := rec.Body.String()
	require.Contains(t, page, "auth.login")
	require.Contains(t, page, "Entrées plus anciennes")

	rec = br.do(http.MethodGet, "/audit?outcome=denied&action=auth.login", nil)
	require.Contains(t, rec.Body.String(), "agent.voirie")
	require.Contains(t, rec.Body.String(), "refusé")
	require.NotContains(t, rec.Body.String(), "agent.finances")
	require.Equal(t, http.StatusBadRequest, br.do(http.MethodGet, "/audit?outcome=lol", nil).Code)
	require.Equal(t, http.StatusBadRequest, br.do(http.MethodGet, "/audit?before=x", nil).Code)
	require.Equal(t, http.StatusBadRequest, br.do(http.MethodGet, "/audit?from=31/12/2026", nil).Code)
	today := time.Now().Format("2006-01-02")
	require.Contains(t, br.do(http.MethodGet, "/audit?from="+today+"&to="+today+"&outcome=denied", nil).Body.String(), "agent.voirie")
	require.Contains(t, br.do(http.MethodGet, "/audit?from=2001-01-01&to=2001-01-31", nil).Body.String(), "Aucune entrée ne correspond")
	require.Contains(t, br.do(http.MethodGet, "/audit?department=voirie", nil).Body.String(), "Aucune entrée ne correspond")

	next := regexp.MustCompile(`href="/audit\?([^"]+)">Entrées plus anciennes`).FindStringSubmatch(br.do(http.MethodGet, "/audit", nil).Body.String())
	require.NotNil(t, next)
	rec = br.do(http.MethodGet, "/audit?"+strings.ReplaceAll(next[1], "&amp;", "&"), nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "Entrées antérieures")

	rec = br.do(http.MethodGet, "/audit/export?outcome=denied&from="+today, nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/csv")
	require.Contains(t, rec.Header().Get("Content-Disposition"), "journal-audit-")
	csv := rec.Body.String()
	require.True(t, strings.HasPrefix(csv, "\ufeffid;date;acteur;"), csv[:40])
	require.Contains(t, csv, ";agent.voirie;")
	require.NotContains(t, csv, ";ok;")

	rec = br.do(http.MethodGet, "/audit/verify", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "La chaîne du journal est intègre")
}
