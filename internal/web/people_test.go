package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

type peopleBundle struct {
	srv *web.Server
	st  *store.Store
}

func peopleSetup(t *testing.T) peopleBundle {
	t.Helper()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	require.NoError(t, auth.SeedDemo(context.Background(), st, "demo"))
	srv, err := web.New(web.Deps{Config: config.Default(), Store: st, TuneAuth: func(o *auth.Options) {
		o.Sleep = func(context.Context, time.Duration) error { return nil } // progressive delays are not waited for
	}})
	require.NoError(t, err)
	return peopleBundle{srv: srv, st: st}
}

type peopleReply struct {
	status int
	header http.Header
	body   string
}

func (r peopleReply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &m), r.body)
	return m
}

// do sends a request from ip (default 192.0.2.1); auth is "Bearer …" or "cookie:…".
func (b peopleBundle) do(method, path, body, cred, ip string) peopleReply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		ct := "application/json"
		if strings.HasPrefix(body, "<") && strings.HasPrefix(path, "/api/v1/flows") {
			ct = "application/xml" // BPMN documents
		}
		req.Header.Set("Content-Type", ct)
	}
	if ip != "" {
		req.RemoteAddr = ip + ":4242"
	}
	if v, ok := strings.CutPrefix(cred, "cookie:"); ok {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: v})
		req.Header.Set("Sec-Fetch-Site", "same-origin") // a browser on civicflow's pages (see csrf_test.go)
	} else if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	return peopleReply{rec.Code, rec.Header(), rec.Body.String()}
}

func (b peopleBundle) login(t *testing.T, user string) string {
	t.Helper()
	r := b.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"demo"}`, "", "198.51.100."+user[:1])
	require.Equal(t, 200, r.status, r.body)
	return r.json(t)["token"].(string)
}

func TestLoginAndSessions(t *testing.T) {
	b := peopleSetup(t)

	r := b.do("POST", "/api/v1/login", `{"username":"agent.voirie","password":"demo"}`, "", "")
	require.Equal(t, 200, r.status, r.body)
	token := r.json(t)["token"].(string)
	require.NotEmpty(t, token)
	ck := r.header.Get("Set-Cookie")
	require.Contains(t, ck, auth.CookieName+"="+token)
	require.Contains(t, ck, "HttpOnly")
	require.Contains(t, ck, "SameSite=Lax")

	for _, cred := range []string{"cookie:" + token, "Bearer " + token} {
		r = b.do("GET", "/api/v1/me", "", cred, "")
		require.Equal(t, 200, r.status, r.body)
		me := r.json(t)
		require.Equal(t, "agent.voirie", me["username"])
		require.Equal(t, []any{"agent@voirie"}, me["groups"])
		require.Len(t, me["departments"], 1)
	}
	r = b.do("GET", "/api/v1/me", "", "Bearer "+b.login(t, "dgs"), "")
	require.Equal(t, 200, r.status)
	require.Len(t, r.json(t)["departments"], 3, "approver in * sees every department")

	r = b.do("POST", "/api/v1/logout", "", "cookie:"+token, "")
	require.Equal(t, http.StatusNoContent, r.status)
	r = b.do("GET", "/api/v1/me", "", "cookie:"+token, "")
	require.Equal(t, 401, r.status, "logged out")
}

func TestLoginRefusals(t *testing.T) {
	b := peopleSetup(t)
	ctx := context.Background()
	wrong := b.do("POST", "/api/v1/login", `{"username":"agent.voirie","password":"nope"}`, "", "203.0.113.1")
	unknown := b.do("POST", "/api/v1/login", `{"username":"ghost","password":"nope"}`, "", "203.0.113.1")
	for _, r := range []peopleReply{wrong, unknown} {
		require.Equal(t, 401, r.status, r.body)
		require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		require.Equal(t, "wrong username or password", r.json(t)["detail"])
	}
	require.Equal(t, 400, b.do("POST", "/api/v1/login", `{"username":"x"}`, "", "").status)
	require.Equal(t, 400, b.do("POST", "/api/v1/login", `{not json`, "", "").status)

	// No lock: after failures, the right password still gets in.
	for i := 0; i < 4; i++ {
		require.Equal(t, 401, b.do("POST", "/api/v1/login", `{"username":"agent.voirie","password":"nope"}`, "", "203.0.113.2").status)
	}
	r := b.do("POST", "/api/v1/login", `{"username":"agent.voirie","password":"demo"}`, "", "203.0.113.3")
	require.Equal(t, 200, r.status, r.body)

	// Per-address limit on failures.
	var last peopleReply
	for i := 0; i < 21; i++ {
		last = b.do("POST", "/api/v1/login", `{"username":"ghost","password":"x"}`, "", "203.0.113.9")
	}
	require.Equal(t, http.StatusTooManyRequests, last.status, last.body)
	require.NotEmpty(t, last.header.Get("Retry-After"))
	require.Equal(t, "0", last.header.Get("RateLimit-Remaining"))
	require.NotEmpty(t, last.header.Get("RateLimit-Limit"))
	require.NotEmpty(t, last.header.Get("RateLimit-Reset"))
	require.Contains(t, last.json(t)["detail"], "too many failed login attempts")

	// Expired session, forged cookie, revoked token, disabled user.
	u, err := b.st.UserByUsername(ctx, "steward.voirie")
	require.NoError(t, err)
	past := time.Now().Add(-time.Hour)
	require.NoError(t, b.st.CreateSession(ctx, store.Session{ID: auth.HashToken("expired-token"), UserID: u.ID, CreatedAt: past.Add(-time.Hour), LastSeenAt: past, ExpiresAt: past}))
	r = b.do("GET", "/api/v1/me", "", "cookie:expired-token", "")
	require.Equal(t, 401, r.status)
	require.Contains(t, r.json(t)["detail"], "expired")
	r = b.do("GET", "/api/v1/me", "", "cookie:forged-"+strings.Repeat("A", 40), "")
	require.Equal(t, 401, r.status)
	require.Contains(t, r.json(t)["detail"], "not valid")

	session := b.login(t, "steward.voirie")
	r = b.do("POST", "/api/v1/me/tokens", `{"name":"script"}`, "Bearer "+session, "")
	require.Equal(t, 201, r.status, r.body)
	tok := r.json(t)["token"].(string)
	require.True(t, strings.HasPrefix(tok, "cf_"))
	id := int64(r.json(t)["api_token"].(map[string]any)["id"].(float64))
	require.Equal(t, 200, b.do("GET", "/api/v1/me", "", "Bearer "+tok, "").status)
	require.Equal(t, 204, b.do("DELETE", "/api/v1/me/tokens/"+peopleNum(id), "", "Bearer "+session, "").status)
	r = b.do("GET", "/api/v1/me", "", "Bearer "+tok, "")
	require.Equal(t, 401, r.status)
	require.Contains(t, r.json(t)["detail"], "revoked")
	require.Equal(t, 401, b.do("GET", "/api/v1/me", "", "Bearer cf_forged", "").status)

	admin := b.login(t, "admin")
	r = b.do("PATCH", "/api/v1/users/"+peopleNum(u.ID), `{"disabled":true}`, "Bearer "+admin, "")
	require.Equal(t, 200, r.status, r.body)
	r = b.do("GET", "/api/v1/me", "", "Bearer "+session, "")
	require.Equal(t, 401, r.status, "disabling ends the sessions")
	r = b.do("POST", "/api/v1/login", `{"username":"steward.voirie","password":"demo"}`, "", "203.0.113.20")
	require.Equal(t, 403, r.status)
	require.Contains(t, r.json(t)["detail"], "disabled")
}

func peopleNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAuthorizeRoutes(t *testing.T) {
	b := peopleSetup(t)
	b.srv.Echo().GET("/api/v1/not-in-table", func(c echo.Context) error { return c.String(200, "leak") })
	agent, admin := b.login(t, "agent.voirie"), b.login(t, "admin")
	for _, c := range []struct {
		method, path, cred string
		want               int
	}{
		{"GET", "/api/v1/users", "", 401},
		{"GET", "/api/v1/users", "Bearer " + agent, 403},
		{"GET", "/api/v1/users", "Bearer " + admin, 200},
		{"GET", "/api/v1/departments", "Bearer " + agent, 200},
		{"POST", "/api/v1/departments", "Bearer " + agent, 403},
		{"GET", "/api/v1/audit", "Bearer " + agent, 403},
		{"GET", "/api/v1/policies", "Bearer " + admin, 200},
		{"GET", "/api/v1/not-in-table", "Bearer " + admin, 403},
		{"GET", "/api/v1/no-such-route", "Bearer " + admin, 404},
		{"GET", "/healthz", "", 0}, // public: neither 401 nor 403
	} {
		r := b.do(c.method, c.path, "", c.cred, "")
		if c.want == 0 {
			require.NotContains(t, []int{401, 403}, r.status, "%s %s: %s", c.method, c.path, r.body)
			continue
		}
		require.Equal(t, c.want, r.status, "%s %s %s: %s", c.method, c.path, c.cred, r.body)
	}
	r := b.do("GET", "/api/v1/audit?outcome=denied", "", "Bearer "+admin, "")
	require.Equal(t, 200, r.status)
	var es []store.AuditEntry
	require.NoError(t, json.Unmarshal([]byte(r.body), &es))
	require.GreaterOrEqual(t, len(es), 4, "refusals are audited")
	r = b.do("GET", "/api/v1/audit/verify", "", "Bearer "+admin, "")
	require.Equal(t, 200, r.status)
	require.Equal(t, true, r.json(t)["intact"])
}

func TestAdminEndpoints(t *testing.T) {
	b := peopleSetup(t)
	admin, agent := "Bearer "+b.login(t, "admin"), "Bearer "+b.login(t, "agent.voirie")

	r := b.do("POST", "/api/v1/departments", `{"slug":"urbanisme","name":"Urbanisme"}`, admin, "")
	require.Equal(t, 201, r.status, r.body)
	require.Equal(t, 409, b.do("POST", "/api/v1/departments", `{"slug":"urbanisme","name":"U"}`, admin, "").status)
	require.Equal(t, 422, b.do("POST", "/api/v1/departments", `{"slug":"Bad Slug!","name":"U"}`, admin, "").status)

	r = b.do("POST", "/api/v1/users", `{"username":"Nina","display_name":"Nina","email":"nina@ville.fr","password":"Tq7!vRz#2mLp","memberships":[{"role":"agent","department":"urbanisme"}]}`, admin, "")
	require.Equal(t, 201, r.status, r.body)
	nina := r.json(t)
	require.Equal(t, "nina", nina["username"])
	require.NotContains(t, r.body, "argon2", "no password hash in answers")
	ninaID := int64(nina["id"].(float64))
	require.Equal(t, 409, b.do("POST", "/api/v1/users", `{"username":"nina"}`, admin, "").status)
	require.Equal(t, 422, b.do("POST", "/api/v1/users", `{"username":"x y"}`, admin, "").status)
	require.Equal(t, 422, b.do("POST", "/api/v1/users/"+peopleNum(ninaID)+"/memberships", `{"role":"agent","department":"nowhere"}`, admin, "").status)
	require.Equal(t, 200, b.do("POST", "/api/v1/users/"+peopleNum(ninaID)+"/memberships", `{"role":"steward","department":"urbanisme"}`, admin, "").status)
	require.Equal(t, 204, b.do("DELETE", "/api/v1/users/"+peopleNum(ninaID)+"/memberships/steward/urbanisme", "", admin, "").status)
	require.Equal(t, 404, b.do("DELETE", "/api/v1/users/"+peopleNum(ninaID)+"/memberships/steward/urbanisme", "", admin, "").status)
	require.Equal(t, 404, b.do("GET", "/api/v1/users/99999", "", admin, "").status)

	// A policy change is effective at once.
	require.Equal(t, 403, b.do("GET", "/api/v1/audit", "", agent, "").status)
	require.Equal(t, 201, b.do("POST", "/api/v1/policies", `{"role":"agent","department":"voirie","object":"audit","action":"read"}`, admin, "").status)
	require.Equal(t, 200, b.do("GET", "/api/v1/audit", "", agent, "").status)
	require.Equal(t, 204, b.do("DELETE", "/api/v1/policies?role=agent&department=voirie&object=audit&action=read", "", admin, "").status)
	require.Equal(t, 403, b.do("GET", "/api/v1/audit", "", agent, "").status)

	// Delegation: the DGS lends approver@* to agent.voirie.
	dgs := "Bearer " + b.login(t, "dgs")
	until := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	require.Equal(t, 403, b.do("POST", "/api/v1/delegations", `{"delegate":"agent.finances","role":"agent","department":"voirie","valid_until":"`+until+`"}`, agent, "").status,
		"agents may not delegate (no delegations:create)")
	r = b.do("POST", "/api/v1/delegations", `{"delegate":"agent.voirie","role":"admin","valid_until":"`+until+`"}`, dgs, "")
	require.Equal(t, 422, r.status, "the DGS does not hold admin")
	r = b.do("POST", "/api/v1/delegations", `{"delegate":"agent.voirie","role":"approver","valid_until":"`+until+`","reason":"congés"}`, dgs, "")
	require.Equal(t, 201, r.status, r.body)
	delID := int64(r.json(t)["id"].(float64))
	r = b.do("GET", "/api/v1/me", "", agent, "")
	require.Equal(t, []any{"agent@voirie", "approver@*"}, r.json(t)["groups"])
	require.Len(t, r.json(t)["delegations"], 1)
	r = b.do("GET", "/api/v1/delegations", "", agent, "")
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `"delegator":"dgs"`)
	require.Equal(t, 204, b.do("DELETE", "/api/v1/delegations/"+peopleNum(delID), "", agent, "").status, "the delegate may end it")
	r = b.do("GET", "/api/v1/me", "", agent, "")
	require.Equal(t, []any{"agent@voirie"}, r.json(t)["groups"])

	r = b.do("GET", "/api/v1/audit?action=policy.add", "", admin, "")
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `"actor":"admin"`)
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	ctx := context.Background()
	require.NoError(t, auth.SeedDemo(ctx, st, "pw1"))
	require.NoError(t, auth.SeedDemo(ctx, st, "pw2"))
	us, err := st.Users(ctx)
	require.NoError(t, err)
	require.Len(t, us, len(auth.DemoUsers))
	for _, du := range auth.DemoUsers {
		u, err := st.UserByUsername(ctx, du.Username)
		require.NoError(t, err)
		ms, err := st.MembershipsOf(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, ms, len(du.Memberships), du.Username)
		ok, _, err := auth.VerifyPassword("pw1", *u.PasswordHash, auth.DefaultArgon2)
		require.NoError(t, err)
		require.True(t, ok, "existing users keep their password")
	}
	ds, err := st.Departments(ctx)
	require.NoError(t, err)
	require.Len(t, ds, 3)
}
