package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/auth/oidctest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestOIDCLogin(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	ctx := context.Background()
	require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
	m := oidctest.New(t)

	newService := func(autoProvision bool) (*auth.Service, *echo.Echo) {
		svc, err := auth.New(ctx, st, auth.Options{OIDC: auth.OIDCConfig{
			Issuer: m.Issuer(), ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
			RedirectURL: "http://civicflow.test/auth/oidc/callback", AutoProvision: autoProvision,
		}})
		require.NoError(t, err)
		e := echo.New()
		e.GET("/auth/oidc/login", svc.OIDCLogin)
		e.GET("/auth/oidc/callback", svc.OIDCCallback)
		return svc, e
	}
	svc, e := newService(false)

	run := func(t *testing.T, e *echo.Echo, tamperState bool) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/oidc/login", nil))
		require.Equal(t, http.StatusFound, rec.Code)
		var ck *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == "civicflow_oidc" {
				ck = c
			}
		}
		require.NotNil(t, ck)
		require.True(t, ck.HttpOnly)
		code, state := m.Authorize(t, rec.Header().Get("Location"))
		if tamperState {
			state = "forged-" + state
		}
		req := httptest.NewRequest("GET", "/auth/oidc/callback?code="+code+"&state="+url.QueryEscape(state), nil)
		req.AddCookie(ck)
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	sessionOf := func(t *testing.T, rec *httptest.ResponseRecorder) auth.Principal {
		for _, c := range rec.Result().Cookies() {
			if c.Name == auth.CookieName && c.Value != "" {
				p, err := svc.PrincipalForSession(ctx, c.Value)
				require.NoError(t, err)
				return p
			}
		}
		t.Fatal("no session cookie")
		return auth.Principal{}
	}

	t.Run("userinfo as signed JWT, e-mail matched case-insensitively", func(t *testing.T) {
		rec := run(t, e, false)
		require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
		require.Equal(t, "/", rec.Header().Get("Location"))
		require.Equal(t, "agent.voirie", sessionOf(t, rec).Username)
	})
	t.Run("userinfo as JSON", func(t *testing.T) {
		m.UserinfoJSON = true
		defer m.Reset()
		rec := run(t, e, false)
		require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	})
	for _, c := range []struct {
		name   string
		setup  func()
		tamper bool
		status int
		msg    string
	}{
		{"state mismatch", func() {}, true, 400, "start again"},
		{"wrong nonce", func() { m.WrongNonce = true }, false, 401, "does not belong"},
		{"userinfo signed by another key", func() { m.UserinfoEvil = true }, false, 401, "userinfo"},
		{"unknown e-mail", func() { m.UserinfoEmail = "stranger@mairie.fr" }, false, 403, "no civicflow account uses the e-mail address stranger@mairie.fr"},
		{"e-mail not verified", func() { m.EmailVerified = false }, false, 403, "email_verified"},
		{"e-mail verification not said", func() { m.EmailVerified = oidctest.Omit }, false, 403, "email_verified"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.setup()
			defer m.Reset()
			rec := run(t, e, c.tamper)
			require.Equal(t, c.status, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), c.msg)
			for _, ck := range rec.Result().Cookies() {
				require.NotEqual(t, auth.CookieName, ck.Name, "no session on failure")
			}
		})
	}
	t.Run("callback without cookie", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/oidc/callback?code=x&state=y", nil))
		require.Equal(t, 400, rec.Code)
	})
	t.Run("provider error", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/oidc/callback?error=access_denied&error_description=refus", nil))
		require.Equal(t, 401, rec.Code)
		require.Contains(t, rec.Body.String(), "access_denied")
	})
	t.Run("auto-provisioning when configured", func(t *testing.T) {
		m.UserinfoEmail = "Nouvelle.Agente@mairie.fr"
		defer m.Reset()
		_, e2 := newService(true)
		rec := run(t, e2, false)
		require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
		u, err := st.UserByEmail(ctx, "nouvelle.agente@mairie.fr")
		require.NoError(t, err)
		require.Equal(t, "nouvelle.agente", u.Username)
		require.Equal(t, "Camille Dupont", u.DisplayName)
		require.Nil(t, u.PasswordHash)
		ms, err := st.MembershipsOf(ctx, u.ID)
		require.NoError(t, err)
		require.Empty(t, ms, "no role until an administrator grants one")
	})
	t.Run("disabled", func(t *testing.T) {
		u, err := st.UserByUsername(ctx, "agent.voirie")
		require.NoError(t, err)
		require.NoError(t, st.SetUserDisabled(ctx, u.ID, true))
		defer st.SetUserDisabled(ctx, u.ID, false)
		rec := run(t, e, false)
		require.Equal(t, 403, rec.Code)
	})
	es, err := st.AuditEntries(ctx, store.AuditFilter{Action: "auth.login"})
	require.NoError(t, err)
	require.NotEmpty(t, es)
	require.Contains(t, es[len(es)-1].Detail, "21750001600019", "the SIRET is recorded")
}

func TestOIDCConfig(t *testing.T) {
	env := map[string]string{"CIVICFLOW_OIDC_ISSUER": "https://idp.example/api/v2", "CIVICFLOW_OIDC_CLIENT_ID": "id"}
	c := auth.OIDCConfigFromEnv(func(k string) string { return env[k] })
	require.True(t, c.Enabled())
	require.ErrorContains(t, c.Validate(), "CIVICFLOW_OIDC_CLIENT_SECRET")
	require.NoError(t, auth.OIDCConfig{}.Validate())
}
