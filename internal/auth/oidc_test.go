package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// mockProConnect is a small OIDC provider behaving like ProConnect:
// discovery, JWKS (RSA), token endpoint with PKCE and a signed id_token,
// userinfo as a signed JWT (application/jwt) or as JSON.
type mockProConnect struct {
	srv       *httptest.Server
	key, evil *rsa.PrivateKey
	mu        sync.Mutex
	codes     map[string]codeGrant
	// knobs
	userinfoJSON  bool
	userinfoEvil  bool // sign userinfo with a key not in the JWKS
	wrongNonce    bool
	userinfoEmail string // overrides the e-mail in userinfo
}

type codeGrant struct {
	nonce, challenge string
	claims           map[string]any
}

func newMockProConnect(t *testing.T) *mockProConnect {
	m := &mockProConnect{codes: map[string]codeGrant{}}
	var err error
	m.key, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	m.evil, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v2/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := m.srv.URL + "/api/v2"
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"userinfo_endpoint": iss + "/userinfo", "jwks_uri": iss + "/jwks", "end_session_endpoint": iss + "/session/end",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "userinfo_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("/api/v2/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &m.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("/api/v2/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		m.mu.Lock()
		g, found := m.codes[r.FormValue("code")]
		delete(m.codes, r.FormValue("code"))
		m.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		if id != "civicflow" || secret != "s3cret" || !found || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		claims := map[string]any{"iss": m.srv.URL + "/api/v2", "aud": "civicflow", "exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(), "nonce": g.nonce}
		if m.wrongNonce {
			claims["nonce"] = "another-nonce-another-nonce-another-nonce"
		}
		for k, v := range g.claims {
			claims[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + r.FormValue("code"), "token_type": "Bearer", "expires_in": 60, "id_token": m.sign(t, m.key, claims)})
	})
	mux.HandleFunc("/api/v2/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") {
			w.WriteHeader(401)
			return
		}
		claims := map[string]any{"sub": "sub-123", "email": "Agent.Voirie@Demo.Civicflow.FR", "given_name": "Camille", "usual_name": "Dupont",
			"siret": "21750001600019", "idp_id": "fia1v2", "uid": "42"}
		if m.userinfoEmail != "" {
			claims["email"] = m.userinfoEmail
		}
		if m.userinfoJSON {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(claims)
			return
		}
		key := m.key
		if m.userinfoEvil {
			key = m.evil
		}
		claims["iss"], claims["aud"] = m.srv.URL+"/api/v2", "civicflow"
		w.Header().Set("Content-Type", "application/jwt")
		w.Write([]byte(m.sign(t, key, claims)))
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mockProConnect) sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	require.NoError(t, err)
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	require.NoError(t, err)
	out, err := obj.CompactSerialize()
	require.NoError(t, err)
	return out
}

// authorize plays the user consenting at the provider: it checks the
// request ProConnect would check and returns the code.
func (m *mockProConnect) authorize(t *testing.T, loc string) (code, state string) {
	u, err := url.Parse(loc)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, m.srv.URL+"/api/v2/authorize", u.Scheme+"://"+u.Host+u.Path)
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, "civicflow", q.Get("client_id"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.GreaterOrEqual(t, len(q.Get("state")), 32)
	require.GreaterOrEqual(t, len(q.Get("nonce")), 32)
	require.Contains(t, q.Get("scope"), "openid")
	require.Contains(t, q.Get("scope"), "usual_name")
	code = "code-" + q.Get("state")[:8]
	m.mu.Lock()
	m.codes[code] = codeGrant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), claims: map[string]any{"sub": "sub-123", "email": "agent.voirie@demo.civicflow.fr"}}
	m.mu.Unlock()
	return code, q.Get("state")
}

func TestOIDCLogin(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	ctx := context.Background()
	require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
	m := newMockProConnect(t)

	newService := func(autoProvision bool) (*auth.Service, *echo.Echo) {
		svc, err := auth.New(ctx, st, auth.Options{OIDC: auth.OIDCConfig{
			Issuer: m.srv.URL + "/api/v2", ClientID: "civicflow", ClientSecret: "s3cret",
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
		code, state := m.authorize(t, rec.Header().Get("Location"))
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
		m.userinfoJSON = true
		defer func() { m.userinfoJSON = false }()
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
		{"wrong nonce", func() { m.wrongNonce = true }, false, 401, "does not belong"},
		{"userinfo signed by another key", func() { m.userinfoEvil = true }, false, 401, "userinfo"},
		{"unknown e-mail", func() { m.userinfoEmail = "stranger@mairie.fr" }, false, 403, "no civicflow account uses the e-mail address stranger@mairie.fr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.setup()
			defer func() { m.wrongNonce, m.userinfoEvil, m.userinfoEmail = false, false, "" }()
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
		m.userinfoEmail = "Nouvelle.Agente@mairie.fr"
		defer func() { m.userinfoEmail = "" }()
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
