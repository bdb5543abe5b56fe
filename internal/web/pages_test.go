package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// browser sends requests as a browser on civicflow's pages: Accept
// text/html, the session cookie, Sec-Fetch-Site same-origin.
type browser struct {
	t      *testing.T
	b      peopleBundle
	cookie string
	jar    map[string]string // other cookies (flash)
}

func (br *browser) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	br.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.RemoteAddr = "192.0.2.7:4242"
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if br.cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: br.cookie})
	}
	for k, v := range br.jar {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	br.b.srv.Handler().ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		switch {
		case ck.Name == auth.CookieName:
			br.cookie = ck.Value
		case br.jar == nil:
			br.jar = map[string]string{ck.Name: ck.Value}
		case ck.MaxAge < 0:
			delete(br.jar, ck.Name)
		default:
			br.jar[ck.Name] = ck.Value
		}
	}
	return rec
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

func (br *browser) csrf(path string) string {
	br.t.Helper()
	rec := br.do(http.MethodGet, path, nil)
	m := csrfRE.FindStringSubmatch(rec.Body.String())
	require.NotNil(br.t, m, "no CSRF field on %s", path)
	return m[1]
}

func TestPagesSignInFlow(t *testing.T) {
	b := peopleSetup(t)
	br := &browser{t: t, b: b}

	// Anonymous: pages lead to the sign-in page, the API keeps its 401.
	rec := br.do(http.MethodGet, "/?x=1", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/login?next=%2F%3Fx%3D1", rec.Header().Get("Location"))
	rec = br.do(http.MethodGet, "/password", nil)
	require.Equal(t, "/login?next=%2Fpassword", rec.Header().Get("Location"))
	api := b.do(http.MethodGet, "/api/v1/me", "", "", "")
	require.Equal(t, http.StatusUnauthorized, api.status)
	require.Contains(t, api.header.Get("Content-Type"), "problem+json")

	rec = br.do(http.MethodGet, "/login?next=/password", nil)
	require.Equal(t, 200, rec.Code)
	page := rec.Body.String()
	for _, want := range []string{`<html lang="fr">`, `href="#contenu"`, `<label for="username">`, `<label for="password">`, `name="next" value="/password"`, `<main id="contenu"`} {
		require.Contains(t, page, want)
	}

	// A wrong password: a French error that does not say which part was wrong.
	rec = br.do(http.MethodPost, "/login", url.Values{"username": {"agent.voirie"}, "password": {"wrong"}, "next": {"/password"}})
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Body.String(), "Identifiant ou mot de passe incorrect.")
	require.Contains(t, rec.Body.String(), `value="agent.voirie"`)
	require.Empty(t, br.cookie)

	// The right one: a session and back to next.
	rec = br.do(http.MethodPost, "/login", url.Values{"username": {"agent.voirie"}, "password": {"demo"}, "next": {"/password"}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/password", rec.Header().Get("Location"))
	require.NotEmpty(t, br.cookie)

	rec = br.do(http.MethodGet, "/", nil)
	require.Equal(t, 200, rec.Code)
	page = rec.Body.String()
	require.Contains(t, page, "Bonjour")
	require.Contains(t, page, `aria-label="Navigation principale"`)
	require.NotContains(t, page, `href="/admin"`, "an agent sees no administration")
	require.Contains(t, page, "Se déconnecter")

	// Sign out (CSRF token from the page) ends the session.
	tok := br.csrf("/")
	rec = br.do(http.MethodPost, "/logout", url.Values{"_csrf": {tok}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/login", rec.Header().Get("Location"))
	rec = br.do(http.MethodGet, "/", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code)
}

func TestPagesLogoutNeedsCSRF(t *testing.T) {
	b := peopleSetup(t)
	br := &browser{t: t, b: b}
	br.do(http.MethodPost, "/login", url.Values{"username": {"agent.voirie"}, "password": {"demo"}})
	rec := br.do(http.MethodPost, "/logout", url.Values{})
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Body.String(), "Accès refusé")
	require.Equal(t, 200, br.do(http.MethodGet, "/", nil).Code, "still signed in")
}

func TestPagesErrorPagesInFrench(t *testing.T) {
	b := peopleSetup(t)
	br := &browser{t: t, b: b}
	br.do(http.MethodPost, "/login", url.Values{"username": {"agent.voirie"}, "password": {"demo"}})
	rec := br.do(http.MethodGet, "/no/such/page", nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/html")
	require.Contains(t, rec.Body.String(), "Page introuvable")
	require.Contains(t, rec.Body.String(), `lang="fr"`)
	// The JSON API still answers problem+json.
	rec = br.do(http.MethodGet, "/api/v1/users", nil)
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "problem+json")
}

func TestPagesChangePassword(t *testing.T) {
	b := peopleSetup(t)
	br := &browser{t: t, b: b}
	br.do(http.MethodPost, "/login", url.Values{"username": {"agent.voirie"}, "password": {"demo"}})
	tok := br.csrf("/password")
	cases := []struct {
		name                  string
		current, new, confirm string
		status                int
		want                  string
	}{
		{"mismatch", "demo", "Un-Mot-de-passe-s0lide!", "autre", 422, "La confirmation ne correspond pas"},
		{"weak", "demo", "court", "court", 422, "trop faible"},
		{"wrong current", "nope", "Un-Mot-de-passe-s0lide!", "Un-Mot-de-passe-s0lide!", 422, "Le mot de passe actuel est incorrect."},
		{"ok", "demo", "Un-Mot-de-passe-s0lide!", "Un-Mot-de-passe-s0lide!", 303, ""},
	}
	for _, tc := range cases {
		rec := br.do(http.MethodPost, "/password", url.Values{"_csrf": {tok}, "current": {tc.current}, "new": {tc.new}, "confirm": {tc.confirm}})
		require.Equal(t, tc.status, rec.Code, tc.name+": "+rec.Body.String())
		require.Contains(t, rec.Body.String(), tc.want, tc.name)
	}
	rec := br.do(http.MethodGet, "/", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "Votre mot de passe a été changé.")
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/tasks", "/tasks"},
		{"/tasks?dept=voirie&page=2", "/tasks?dept=voirie&page=2"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"tasks", "/"},
		{"/login", "/"},
		{"/api/v1/me", "/"},
		{"/x\r\nSet-Cookie: a=b", "/"},
		{"/%2F%2Fevil", "/%2F%2Fevil"},
	}
	for _, tt := range tests {
		if got := web.SafeNext(tt.in); got != tt.want {
			t.Errorf("SafeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStaticAssets(t *testing.T) {
	b := peopleSetup(t)
	br := &browser{t: t, b: b}
	page := br.do(http.MethodGet, "/login", nil).Body.String()
	m := regexp.MustCompile(`href="(/static/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m)
	rec := br.do(http.MethodGet, m[1], nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Header().Get("Cache-Control"), "immutable")
	require.Contains(t, rec.Header().Get("Content-Type"), "text/css")
	rec = br.do(http.MethodGet, "/static/vendor/htmx/htmx.min.js", nil)
	require.Equal(t, 200, rec.Code)
	require.Equal(t, 52182, rec.Body.Len(), "no gzip without Accept-Encoding")

	// Compressed once, with its own validator.
	req := httptest.NewRequest(http.MethodGet, "/static/vendor/form-js/form-viewer.umd.js", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	rec = httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	require.Contains(t, rec.Header().Get("Content-Type"), "javascript")
	zr, err := gzip.NewReader(rec.Body)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, zr)
	require.NoError(t, err)
	require.EqualValues(t, 1259659, n)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotModified, rec.Code)
	require.Equal(t, http.StatusNotFound, br.do(http.MethodGet, "/static/../pages.go", nil).Code)
	rec = br.do(http.MethodGet, "/static/nope.js", nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "Page introuvable")
}

func TestPagesLoginRateLimitInFrench(t *testing.T) {
	b := peopleSetup(t)
	br := &browser{t: t, b: b}
	var rec *httptest.ResponseRecorder
	for i := 0; i < 25; i++ {
		rec = br.do(http.MethodPost, "/login", url.Values{"username": {"personne"}, "password": {"faux"}})
		if rec.Code == http.StatusTooManyRequests {
			break
		}
		require.Equal(t, http.StatusUnauthorized, rec.Code)
	}
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), "Trop de tentatives de connexion échouées depuis votre adresse. Réessayez dans")
}

func TestPagesExpiredSessionLeadsBack(t *testing.T) {
	b := peopleSetup(t)
	br := &browser{t: t, b: b, cookie: "not-a-session"}
	rec := br.do(http.MethodGet, "/admin/policies?x=1", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/login?next=%2Fadmin%2Fpolicies%3Fx%3D1", rec.Header().Get("Location"))
	rec = br.do(http.MethodGet, rec.Header().Get("Location"), nil)
	require.Contains(t, rec.Body.String(), "Votre session a expiré")
	require.Contains(t, rec.Body.String(), `name="next" value="/admin/policies?x=1"`)

	// htmx requests get HX-Redirect instead of a redirect they would swap in.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("HX-Request", "true")
	w := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(w, req)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, "/login", w.Header().Get("HX-Redirect"))
}

// The frame every page carries (HTML, CSS, JS, compressed as served) stays
// small: the inbox must weigh under 150 KB compressed on an old office PC.
func TestPagesFrameWeight(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "admin")
	page := br.do(http.MethodGet, "/", nil).Body.String()
	assets := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, assets)
	total := gzipLen(t, page)
	for _, a := range assets {
		req := httptest.NewRequest(http.MethodGet, strings.ReplaceAll(a[1], "&amp;", "&"), nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		b.srv.Handler().ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, a[1])
		if rec.Body.Len() >= 1024 || rec.Header().Get("Content-Encoding") != "" {
			require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"), a[1])
		}
		total += rec.Body.Len()
	}
	t.Logf("dashboard with its assets: %d bytes compressed", total)
	require.Less(t, total, 40_000, "the frame alone must leave room for the inbox's content in 150 KB")
}

func gzipLen(t *testing.T, s string) int {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, 5)
	require.NoError(t, err)
	_, _ = zw.Write([]byte(s))
	require.NoError(t, zw.Close())
	return buf.Len()
}

// No English leaks into the pages' visible text (a few words that would
// betray an untranslated message).
func TestPagesNoEnglish(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "admin")
	leak := regexp.MustCompile(`(?i)\b(the|you|your|sign in|password|not found|forbidden|error|submit|cancel|delete|users?)\b`)
	tags := regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]+>`)
	for _, p := range []string{"/", "/password", "/admin", "/admin/users/1", "/admin/departments", "/admin/delegations", "/admin/policies", "/audit", "/audit/verify", "/nulle-part"} {
		text := br.do(http.MethodGet, p, nil).Body.String()
		// Identifiers shown as data (rules, audit actions, demo e-mails) are not prose.
		text = regexp.MustCompile(`[\w.-]+@[\w.-]+|\b[a-z]+\.[a-z.]+\b|<code>[^<]*</code>|\b(users|policies|audit|read|admin|write|create|cancel|claim|complete|deploy|publish)\b`).ReplaceAllString(text, " ")
		text = tags.ReplaceAllString(text, " ")
		if m := leak.FindString(text); m != "" {
			t.Errorf("%s shows English text %q", p, m)
		}
	}
	anon := &browser{t: t, b: b}
	text := tags.ReplaceAllString(anon.do(http.MethodGet, "/login", nil).Body.String(), " ")
	require.Empty(t, leak.FindString(text), "/login")
}

func TestPagesDashboardTasks(t *testing.T) {
	b := peopleSetup(t)
	ctx := context.Background()
	_, _, err := b.st.DeployFlow(ctx, "publication", "Publication", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
	require.NoError(t, err)
	require.NoError(t, b.st.CreateInstance(ctx, store.Instance{ID: "d1", FlowKey: "publication", Version: 1, Department: "voirie", Status: "running", StartedBy: "agent.voirie"}, nil))
	late := time.Now().Add(-50 * time.Hour)
	soon := time.Now().Add(30 * time.Hour)
	for i, due := range []*time.Time{&late, &soon, nil} {
		require.NoError(t, b.st.OpenTask(ctx, store.Task{ID: fmt.Sprintf("d1.review.%d", i), InstanceID: "d1", Node: "review", Name: fmt.Sprintf("Relire le jeu n° %d", i),
			FlowKey: "publication", Department: "voirie", Role: "steward", Due: due, Seq: int64(i + 1)}, []string{"steward@voirie"}, nil, nil, nil, nil))
	}
	page := signedInBrowser(t, b, "steward.voirie").do(http.MethodGet, "/", nil).Body.String()
	require.Contains(t, page, `<p class="card-figure">3</p>`)
	require.Contains(t, page, "tâches ouvertes")
	require.Contains(t, page, "1 tâche en retard"[2:]) // "tâche en retard", singular
	require.Contains(t, page, "Relire le jeu n° 0")
	require.Contains(t, page, "il y a 2\u00a0jours")
	require.Contains(t, page, "en retard</span>")
	require.Contains(t, page, "demain")
	require.Contains(t, page, "sans échéance")
	// Another department's steward sees none of them.
	page = signedInBrowser(t, b, "steward.finances").do(http.MethodGet, "/", nil).Body.String()
	require.NotContains(t, page, "Relire le jeu")
}

func TestPagesLoginOffersProConnectWhenConfigured(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	cfg := config.Default()
	cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret, cfg.OIDCRedirectURL = "https://proconnect.example", "id", "secret", "https://civicflow.example/auth/oidc/callback"
	srv, err := web.New(web.Deps{Config: cfg, Store: st})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), `href="/auth/oidc/login"`)
	require.Contains(t, rec.Body.String(), "Se connecter avec ProConnect")

	b := peopleSetup(t) // no OIDC
	page := (&browser{t: t, b: b}).do(http.MethodGet, "/login", nil).Body.String()
	require.NotContains(t, page, "ProConnect")
}
