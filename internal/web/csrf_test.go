package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// csrfEnv is a server with the demo accounts; requests go through the
// whole middleware chain, as from a browser or a script.
type csrfEnv struct {
	t   *testing.T
	srv *web.Server
	st  *store.Store
}

func newCSRFEnv(t *testing.T, cfg config.Config) csrfEnv {
	t.Helper()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	require.NoError(t, auth.SeedDemo(context.Background(), st, "demo"))
	srv, err := web.New(web.Deps{Config: cfg, Store: st})
	require.NoError(t, err)
	return csrfEnv{t: t, srv: srv, st: st}
}

// send serves req; host is example.com (httptest's default).
func (e csrfEnv) send(req *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	if req.RemoteAddr == "" || req.RemoteAddr == "192.0.2.1:1234" {
		req.RemoteAddr = "203.0.113.7:4242"
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// login signs in through the API (a script: no Origin) and returns the
// session token (also the cookie's value) and its CSRF token.
func (e csrfEnv) login(user string) (session, csrf string) {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(`{"username":"`+user+`","password":"demo"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := e.send(req)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	var out struct {
		Token string `json:"token"`
		CSRF  string `json:"csrf_token"`
	}
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.NotEmpty(e.t, out.CSRF)
	return out.Token, out.CSRF
}

// createUser is what the reproduced attack did: an admin's browser posts a
// new account with the admin role.
func createUserReq(name, ct string) *http.Request {
	body := `{"username":"` + name + `","display_name":"M","email":"` + name + `@example.org","memberships":[{"role":"admin","department":"*"}]}`
	req := httptest.NewRequest(http.MethodPost, "/api/v1/users", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

func withCookie(req *http.Request, session string) *http.Request {
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: session})
	return req
}

func withHeaders(req *http.Request, kv ...string) *http.Request {
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	return req
}

func (e csrfEnv) userExists(name string) bool {
	_, err := e.st.UserByUsername(context.Background(), name)
	return err == nil
}

func requireProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var p map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	require.EqualValues(t, status, p["status"])
}

// A cookie-authenticated POST that a browser sends from another origin is
// refused (403) and changes nothing, whatever the way the browser says so.
func TestSecurityCSRFCrossOriginCookiePostRefused(t *testing.T) {
	e := newCSRFEnv(t, config.Default())
	session, csrf := e.login("admin")
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
		{"Sec-Fetch-Site same-site (sibling host)", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://evil.example.com"}},
		{"Sec-Fetch-Site says cross-site even with a spoofed same Origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://example.com"}},
		{"Origin of another site (older browser)", []string{"Origin", "https://evil.example"}},
		{"Origin of another port", []string{"Origin", "http://example.com:8081"}},
		{"Origin null (sandboxed frame)", []string{"Origin", "null"}},
		{"cross-site even with the CSRF token", []string{"Sec-Fetch-Site", "cross-site", auth.CSRFHeader, csrf}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "mallory." + strings.ReplaceAll(strings.ToLower(strings.Fields(tc.name)[0]+tc.hdr[1]), "-", "")
			rec := e.send(withHeaders(withCookie(createUserReq(name, "application/json"), session), tc.hdr...))
			requireProblem(t, rec, http.StatusForbidden)
			require.Contains(t, rec.Body.String(), "cross-origin")
			require.False(t, e.userExists(name), "the forged request created the user")
		})
	}
	// The refusal is audited, with the victim's name.
	entries, err := e.st.AuditEntries(context.Background(), store.AuditFilter{Actor: "admin", Outcome: "denied"})
	require.NoError(t, err)
	found := false
	for _, en := range entries {
		found = found || en.ObjectType == "csrf"
	}
	require.True(t, found, "no audit entry for the refused forgery")
}

// The same request from civicflow's own pages passes.
func TestSecurityCSRFSameOriginCookiePostPasses(t *testing.T) {
	cfg := config.Default()
	cfg.PublicURL = "https://data.ville.example"
	e := newCSRFEnv(t, cfg)
	session, csrf := e.login("admin")
	for i, hdr := range [][]string{
		{"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"},
		{"Sec-Fetch-Site", "none"},
		{"Origin", "http://example.com"},                 // a browser without Sec-Fetch-Site, same host
		{"Origin", "https://data.ville.example"},         // behind a proxy that rewrites Host: the public URL
		{auth.CSRFHeader, csrf},                          // no browser header at all: the token is the proof
		{"Sec-Fetch-Site", "same-origin", "X-Other", ""}, // htmx or fetch from the pages
	} {
		name := "newuser" + string(rune('a'+i))
		rec := e.send(withHeaders(withCookie(createUserReq(name, "application/json"), session), hdr...))
		require.Equal(t, http.StatusCreated, rec.Code, "%v: %s", hdr, rec.Body.String())
		require.True(t, e.userExists(name))
	}
	// Safe methods need no proof.
	rec := e.send(withCookie(httptest.NewRequest(http.MethodGet, "/api/v1/users", nil), session))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// A cookie-authenticated request without any browser header (an old
// browser, or a script that stole nothing but holds a cookie) needs the
// CSRF token; a wrong token is refused.
func TestSecurityCSRFCookieWithoutOriginNeedsToken(t *testing.T) {
	e := newCSRFEnv(t, config.Default())
	session, _ := e.login("admin")
	rec := e.send(withCookie(createUserReq("nohdr", "application/json"), session))
	requireProblem(t, rec, http.StatusForbidden)
	require.Contains(t, rec.Body.String(), "CSRF")
	rec = e.send(withHeaders(withCookie(createUserReq("nohdr", "application/json"), session), auth.CSRFHeader, strings.Repeat("0", 32)))
	requireProblem(t, rec, http.StatusForbidden)
	// Another session's token does not fit this one.
	_, otherCSRF := e.login("admin")
	rec = e.send(withHeaders(withCookie(createUserReq("nohdr", "application/json"), session), auth.CSRFHeader, otherCSRF))
	requireProblem(t, rec, http.StatusForbidden)
	require.False(t, e.userExists("nohdr"))
	// Logout without proof is refused too (it would sign the victim out).
	rec = e.send(withCookie(httptest.NewRequest(http.MethodPost, "/api/v1/logout", nil), session))
	requireProblem(t, rec, http.StatusForbidden)
	rec = e.send(withHeaders(withCookie(httptest.NewRequest(http.MethodGet, "/api/v1/me", nil), session)))
	require.Equal(t, http.StatusOK, rec.Code, "the session must survive the refused logout")
}

// Form posts (what an HTML form can send) authenticated by the cookie need
// the token in the _csrf field or the X-CSRF-Token header, even same-origin.
func TestSecurityCSRFFormPostNeedsToken(t *testing.T) {
	e := newCSRFEnv(t, config.Default())
	session, csrf := e.login("agent.voirie")
	upload := func(field string) *http.Request {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if field != "" {
			require.NoError(t, mw.WriteField(auth.CSRFField, field))
		}
		fw, err := mw.CreateFormFile("file", "a.csv")
		require.NoError(t, err)
		_, _ = io.WriteString(fw, "a,b\n1,2\n")
		require.NoError(t, mw.Close())
		req := httptest.NewRequest(http.MethodPost, "/api/v1/validate?schema=scdl-subventions", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return withCookie(req, session)
	}
	requireProblem(t, e.send(upload("")), http.StatusForbidden)
	requireProblem(t, e.send(upload("not-the-token")), http.StatusForbidden)
	rec := e.send(upload(csrf))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	req := upload("")
	req.Header.Set(auth.CSRFHeader, csrf) // htmx: hx-headers
	rec = e.send(req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	// Anonymous use of the public validator needs nothing.
	req = upload("")
	req.Header.Del("Cookie")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = e.send(req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// JSON endpoints take only application/json: text/plain (what a form with
// enctype=text/plain sends), form-urlencoded or no type at all get 415
// problem+json naming the accepted type — also for Bearer clients.
func TestSecurityCSRFTextPlainRefused415(t *testing.T) {
	e := newCSRFEnv(t, config.Default())
	session, csrf := e.login("admin")
	for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "", "application/jsonp", "application/json-seq"} {
		rec := e.send(withHeaders(createUserReq("textplain", ct), "Authorization", "Bearer "+session))
		requireProblem(t, rec, http.StatusUnsupportedMediaType)
		require.Equal(t, "application/json", rec.Header().Get("Accept-Post"), ct)
		// From the pages, with the token: still 415.
		rec = e.send(withHeaders(withCookie(createUserReq("textplain", ct), session), "Sec-Fetch-Site", "same-origin", auth.CSRFHeader, csrf))
		requireProblem(t, rec, http.StatusUnsupportedMediaType)
	}
	require.False(t, e.userExists("textplain"))
	rec := e.send(withHeaders(createUserReq("withcharset", "application/json; charset=utf-8"), "Authorization", "Bearer "+session))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	// PATCH says what it takes in Accept-Patch.
	req := httptest.NewRequest(http.MethodPatch, "/api/v1/users/1", strings.NewReader(`{"display_name":"x"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+session)
	rec = e.send(req)
	requireProblem(t, rec, http.StatusUnsupportedMediaType)
	require.Equal(t, "application/json", rec.Header().Get("Accept-Patch"))

	// Routes with their own types keep them: BPMN XML for flows, multipart
	// for files; JSON or text/plain there is refused.
	designer, _ := e.login("designer")
	for ct, want415 := range map[string]bool{"application/xml": false, "text/xml": false, "application/bpmn+xml": false, "application/octet-stream": false, "text/plain": true, "application/x-www-form-urlencoded": true, "application/json": true} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/flows", strings.NewReader(`<definitions/>`))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+designer)
		rec := e.send(req)
		require.Equal(t, want415, rec.Code == http.StatusUnsupportedMediaType, "%s → %d %s", ct, rec.Code, rec.Body.String())
	}
	req = httptest.NewRequest(http.MethodPost, "/api/v1/validate?schema=scdl-subventions", strings.NewReader("a,b\n1,2\n"))
	req.Header.Set("Content-Type", "text/csv")
	rec = e.send(req)
	requireProblem(t, rec, http.StatusUnsupportedMediaType)
	require.Equal(t, "multipart/form-data", rec.Header().Get("Accept-Post"))

	// Bodiless actions need no type.
	req = httptest.NewRequest(http.MethodPost, "/api/v1/logout", nil)
	req.Header.Set("Authorization", "Bearer "+session)
	rec = e.send(req)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
}

// Bearer (session or API token) clients are not cookie-driven: no Origin
// or token is asked of them, even with browser-like headers.
func TestSecurityCSRFBearerUnaffected(t *testing.T) {
	e := newCSRFEnv(t, config.Default())
	session, _ := e.login("admin")
	rec := e.send(withHeaders(createUserReq("bearer1", "application/json"), "Authorization", "Bearer "+session))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = e.send(withHeaders(createUserReq("bearer2", "application/json"), "Authorization", "Bearer "+session, "Origin", "https://elsewhere.example", "Sec-Fetch-Site", "cross-site"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	// A personal API token too.
	req := httptest.NewRequest(http.MethodPost, "/api/v1/me/tokens", strings.NewReader(`{"name":"ci"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+session)
	rec = e.send(req)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tok))
	rec = e.send(withHeaders(createUserReq("apitoken", "application/json"), "Authorization", "Bearer "+tok.Token))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
}

// Signing in cannot be forged by another site: a cross-origin browser
// request to the login endpoint is refused before any session is made (no
// cookie is set), and a login body of another type than JSON gets 415. A
// script (no browser headers) and the pages still sign in.
func TestSecurityCSRFLoginNotForgeable(t *testing.T) {
	e := newCSRFEnv(t, config.Default())
	login := func(ct string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(`{"username":"admin","password":"demo"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		return e.send(withHeaders(req, hdr...))
	}
	for _, hdr := range [][]string{
		{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example.com", "Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
	} {
		rec := login("application/json", hdr...)
		requireProblem(t, rec, http.StatusForbidden)
		require.Empty(t, rec.Header().Values("Set-Cookie"), "%v", hdr)
	}
	for _, ct := range []string{"text/plain", "", "application/x-www-form-urlencoded"} {
		rec := login(ct, "Sec-Fetch-Site", "same-origin")
		requireProblem(t, rec, http.StatusUnsupportedMediaType)
		require.Empty(t, rec.Header().Values("Set-Cookie"), ct)
	}
	require.Equal(t, http.StatusOK, login("application/json").Code)
	require.Equal(t, http.StatusOK, login("application/json", "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com").Code)

	// A visitor already signed in who signs in again gets a new session:
	// the old one is not carried over.
	first := login("application/json")
	var s1 struct{ Token string }
	require.NoError(t, json.Unmarshal(first.Body.Bytes(), &s1))
	req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(`{"username":"admin","password":"demo"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := e.send(withCookie(req, s1.Token))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var s2 struct{ Token string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s2))
	require.NotEqual(t, s1.Token, s2.Token)
}
