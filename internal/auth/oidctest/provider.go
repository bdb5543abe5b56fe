// Package oidctest is a small OpenID Connect provider behaving like
// ProConnect, for tests: discovery, JWKS (RSA), a token endpoint with PKCE
// and a signed id_token, userinfo as a signed JWT (application/jwt) or as
// JSON, and knobs to make it misbehave.
package oidctest

import (
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
	"github.com/stretchr/testify/require"
)

// Client credentials the provider accepts.
const (
	ClientID     = "civicflow"
	ClientSecret = "s3cret"
)

// Provider is the mock. Set the knobs before a sign-in, under no lock
// (tests run one sign-in at a time).
type Provider struct {
	URL       string // base URL; the issuer is URL + "/api/v2"
	srv       *httptest.Server
	key, evil *rsa.PrivateKey
	mu        sync.Mutex
	codes     map[string]codeGrant

	// Knobs.
	UserinfoJSON  bool   // userinfo as JSON instead of a signed JWT
	UserinfoEvil  bool   // sign userinfo with a key not in the JWKS
	WrongNonce    bool   // put another nonce in the id_token
	UserinfoEmail string // overrides the e-mail in userinfo
	// EmailVerified is the email_verified claim of userinfo: true (the
	// default, as ProConnect sends it) unless set; Omit leaves it out.
	EmailVerified any
}

// Omit, as Provider.EmailVerified, leaves the claim out.
const Omit = "omit"

type codeGrant struct {
	nonce, challenge string
	claims           map[string]any
}

// Issuer is the provider's issuer URL.
func (m *Provider) Issuer() string { return m.URL + "/api/v2" }

// Reset puts the knobs back to their defaults.
func (m *Provider) Reset() {
	m.UserinfoJSON, m.UserinfoEvil, m.WrongNonce, m.UserinfoEmail, m.EmailVerified = false, false, false, "", nil
}

// New starts a provider, stopped at the end of the test.
func New(t testing.TB) *Provider {
	m := &Provider{codes: map[string]codeGrant{}}
	var err error
	m.key, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	m.evil, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v2/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := m.Issuer()
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
		if id != ClientID || secret != ClientSecret || !found || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		claims := map[string]any{"iss": m.Issuer(), "aud": ClientID, "exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(), "nonce": g.nonce}
		if m.WrongNonce {
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
		claims := map[string]any{"sub": "sub-123", "email": "Agent.Voirie@Demo.Civicflow.FR", "email_verified": true, "given_name": "Camille", "usual_name": "Dupont",
			"siret": "21750001600019", "idp_id": "fia1v2", "uid": "42"}
		if m.UserinfoEmail != "" {
			claims["email"] = m.UserinfoEmail
		}
		switch m.EmailVerified {
		case nil:
		case Omit:
			delete(claims, "email_verified")
		default:
			claims["email_verified"] = m.EmailVerified
		}
		if m.UserinfoJSON {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(claims)
			return
		}
		key := m.key
		if m.UserinfoEvil {
			key = m.evil
		}
		claims["iss"], claims["aud"] = m.Issuer(), ClientID
		w.Header().Set("Content-Type", "application/jwt")
		w.Write([]byte(m.sign(t, key, claims)))
	})
	m.srv = httptest.NewServer(mux)
	m.URL = m.srv.URL
	t.Cleanup(m.srv.Close)
	return m
}

func (m *Provider) sign(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	require.NoError(t, err)
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	require.NoError(t, err)
	out, err := obj.CompactSerialize()
	require.NoError(t, err)
	return out
}

// Authorize plays the user consenting at the provider: it checks the
// request ProConnect would check (loc is civicflow's redirect to the
// provider) and returns the code and state to send to the callback. The
// id_token names the demo agent of the voirie (without email_verified:
// the userinfo carries it).
func (m *Provider) Authorize(t testing.TB, loc string) (code, state string) {
	u, err := url.Parse(loc)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, m.Issuer()+"/authorize", u.Scheme+"://"+u.Host+u.Path)
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, ClientID, q.Get("client_id"))
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
