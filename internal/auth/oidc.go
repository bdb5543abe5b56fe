package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
)

// OIDCConfig configures sign-in through an OpenID Connect provider as
// ProConnect does it (state and nonce of 43 characters, PKCE S256, the
// userinfo answered as a signed JWT or as JSON, users matched by e-mail).
// Sign-in is off when Issuer is empty.
type OIDCConfig struct {
	Issuer       string // CIVICFLOW_OIDC_ISSUER, e.g. https://auth.agentconnect.gouv.fr/api/v2
	ClientID     string // CIVICFLOW_OIDC_CLIENT_ID
	ClientSecret string // CIVICFLOW_OIDC_CLIENT_SECRET
	RedirectURL  string // CIVICFLOW_OIDC_REDIRECT_URL: https://HOST/auth/oidc/callback, exactly as registered
	// Scopes beyond "openid" (default: given_name usual_name email siret idp_id).
	Scopes []string
	// AfterLogin is where a successful sign-in lands (default "/").
	AfterLogin string
	// AutoProvision creates an account, with no role, for an unknown e-mail
	// (CIVICFLOW_OIDC_AUTO_PROVISION=true). Off by default: unknown e-mails
	// are refused.
	AutoProvision bool
	// HTTPClient talks to the provider (tests); nil is http.DefaultClient.
	HTTPClient *http.Client
}

// OIDCConfigFromEnv reads the CIVICFLOW_OIDC_* variables.
func OIDCConfigFromEnv(getenv func(string) string) OIDCConfig {
	c := OIDCConfig{
		Issuer:        getenv("CIVICFLOW_OIDC_ISSUER"),
		ClientID:      getenv("CIVICFLOW_OIDC_CLIENT_ID"),
		ClientSecret:  getenv("CIVICFLOW_OIDC_CLIENT_SECRET"),
		RedirectURL:   getenv("CIVICFLOW_OIDC_REDIRECT_URL"),
		AutoProvision: getenv("CIVICFLOW_OIDC_AUTO_PROVISION") == "true",
	}
	if s := getenv("CIVICFLOW_OIDC_SCOPES"); s != "" {
		c.Scopes = strings.Fields(s)
	}
	return c
}

// Enabled reports whether OIDC sign-in is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// Validate names the first missing or bad field.
func (c OIDCConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	for _, f := range []struct{ name, v string }{
		{"CIVICFLOW_OIDC_CLIENT_ID", c.ClientID}, {"CIVICFLOW_OIDC_CLIENT_SECRET", c.ClientSecret}, {"CIVICFLOW_OIDC_REDIRECT_URL", c.RedirectURL},
	} {
		if f.v == "" {
			return fmt.Errorf("%s is empty while CIVICFLOW_OIDC_ISSUER is set", f.name)
		}
	}
	if u, err := url.Parse(c.RedirectURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("CIVICFLOW_OIDC_REDIRECT_URL %q is not an http(s) URL", c.RedirectURL)
	}
	return nil
}

// ProConnectClaims are the identity claims ProConnect gives.
type ProConnectClaims struct {
	Subject   string `json:"sub"`
	Email     string `json:"email"`
	GivenName string `json:"given_name"`
	UsualName string `json:"usual_name"`
	Siret     string `json:"siret"`
	IdpID     string `json:"idp_id"`
	UID       string `json:"uid"`
}

const oidcCookie = "civicflow_oidc"

type oidcClient struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
}

func (s *Service) oidcCtx(ctx context.Context) context.Context {
	if s.o.OIDC.HTTPClient != nil {
		return oidc.ClientContext(ctx, s.o.OIDC.HTTPClient)
	}
	return ctx
}

// oidcClient discovers the provider once (retrying on later calls if it
// failed).
func (s *Service) oidcClient(ctx context.Context) (*oidcClient, error) {
	s.oidcMu.Lock()
	defer s.oidcMu.Unlock()
	if s.oidc != nil {
		return s.oidc, nil
	}
	cfg := s.o.OIDC
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(s.oidcCtx(ctx), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", cfg.Issuer, err)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"given_name", "usual_name", "email", "siret", "idp_id"}
	}
	s.oidc = &oidcClient{
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, scopes...),
		},
	}
	return s.oidc, nil
}

func random43() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// OIDCLogin starts a sign-in: it remembers state, nonce and the PKCE
// verifier in a short-lived HttpOnly cookie and redirects to the provider.
func (s *Service) OIDCLogin(c echo.Context) error {
	if !s.o.OIDC.Enabled() {
		return echo.NewHTTPError(http.StatusNotFound, "sign-in with ProConnect is not configured on this installation")
	}
	oc, err := s.oidcClient(c.Request().Context())
	if err != nil {
		s.o.Logger.Error("OIDC unavailable", "err", err)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the identity provider cannot be reached: try again later or sign in with a password")
	}
	state, nonce, verifier := random43(), random43(), oauth2.GenerateVerifier()
	c.SetCookie(&http.Cookie{
		Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: "/auth/oidc", MaxAge: 600,
		HttpOnly: true, Secure: s.o.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	u := oc.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return c.Redirect(http.StatusFound, u)
}

// OIDCCallback completes a sign-in: it checks state, exchanges the code
// (with the PKCE verifier), verifies the id_token and its nonce, reads the
// userinfo (signed JWT or JSON), matches the account by e-mail
// (case-insensitive; never by sub) and opens a session.
func (s *Service) OIDCCallback(c echo.Context) error {
	if !s.o.OIDC.Enabled() {
		return echo.NewHTTPError(http.StatusNotFound, "sign-in with ProConnect is not configured on this installation")
	}
	req := c.Request()
	ctx := req.Context()
	ip := c.RealIP()
	deny := func(status int, reason, msg string, detail map[string]string) error {
		if detail == nil {
			detail = map[string]string{}
		}
		detail["method"], detail["reason"] = "oidc", reason
		s.record(ctx, audit.Entry{Actor: detail["email"], Action: "auth.login", Outcome: audit.Denied, IP: ip, Detail: audit.Detail(detail)})
		return echo.NewHTTPError(status, msg)
	}
	if e := c.QueryParam("error"); e != "" {
		return deny(http.StatusUnauthorized, "provider error "+e, "the identity provider refused the sign-in ("+e+": "+c.QueryParam("error_description")+")", nil)
	}
	ck, err := c.Cookie(oidcCookie)
	parts := []string{}
	if err == nil {
		parts = strings.Split(ck.Value, ".")
	}
	c.SetCookie(&http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc", MaxAge: -1, HttpOnly: true, Secure: s.o.SecureCookies, SameSite: http.SameSiteLaxMode})
	if len(parts) != 3 || c.QueryParam("state") == "" || c.QueryParam("state") != parts[0] {
		return deny(http.StatusBadRequest, "state mismatch", "this sign-in expired or was started in another browser: start again", nil)
	}
	nonce, verifier := parts[1], parts[2]
	oc, err := s.oidcClient(ctx)
	if err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the identity provider cannot be reached: try again later")
	}
	pctx := s.oidcCtx(ctx)
	tok, err := oc.oauth.Exchange(pctx, c.QueryParam("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		s.o.Logger.Warn("OIDC code exchange failed", "err", err)
		return deny(http.StatusUnauthorized, "code exchange failed", "the identity provider did not confirm the sign-in: start again", nil)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := oc.verifier.Verify(pctx, rawID)
	if err != nil {
		s.o.Logger.Warn("OIDC id_token rejected", "err", err)
		return deny(http.StatusUnauthorized, "invalid id_token", "the identity provider's answer could not be verified", nil)
	}
	if idt.Nonce != nonce {
		return deny(http.StatusUnauthorized, "nonce mismatch", "the identity provider's answer does not belong to this sign-in: start again", nil)
	}
	var claims ProConnectClaims
	if err := idt.Claims(&claims); err != nil {
		return deny(http.StatusUnauthorized, "bad id_token claims", "the identity provider's answer could not be read", nil)
	}
	if oc.provider.UserInfoEndpoint() != "" {
		ui, err := oc.provider.UserInfo(pctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			s.o.Logger.Warn("OIDC userinfo failed", "err", err)
			return deny(http.StatusUnauthorized, "userinfo failed", "the identity provider did not give your identity (userinfo)", nil)
		}
		var uc ProConnectClaims
		if err := ui.Claims(&uc); err != nil {
			return deny(http.StatusUnauthorized, "bad userinfo", "the identity provider's userinfo could not be read", nil)
		}
		if uc.Subject != idt.Subject {
			return deny(http.StatusUnauthorized, "userinfo sub mismatch", "the identity provider's userinfo is about someone else", nil)
		}
		claims = mergeClaims(claims, uc)
	}
	detail := map[string]string{"email": claims.Email, "siret": claims.Siret, "idp_id": claims.IdpID}
	if claims.Email == "" {
		return deny(http.StatusForbidden, "no e-mail", "the identity provider gave no e-mail address, which civicflow needs to find your account", detail)
	}
	u, err := s.st.UserByEmail(ctx, claims.Email)
	if errors.Is(err, store.ErrNotFound) && s.o.OIDC.AutoProvision {
		u, err = s.provision(ctx, claims)
	}
	if errors.Is(err, store.ErrNotFound) {
		return deny(http.StatusForbidden, "unknown e-mail", "no civicflow account uses the e-mail address "+claims.Email+": ask an administrator to create one", detail)
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		return deny(http.StatusForbidden, "disabled", ErrDisabled.Error(), detail)
	}
	token, exp, err := s.StartSession(ctx, u, "oidc", ip, req.UserAgent())
	if err != nil {
		return err
	}
	s.SetSessionCookie(c, token, exp)
	detail["method"] = "oidc"
	s.record(ctx, audit.Entry{Actor: u.Username, Action: "auth.login", ObjectType: "user", ObjectID: u.Username, IP: ip, Detail: audit.Detail(detail)})
	to := s.o.OIDC.AfterLogin
	if to == "" {
		to = "/"
	}
	return c.Redirect(http.StatusSeeOther, to)
}

func mergeClaims(a, b ProConnectClaims) ProConnectClaims {
	pick := func(x, y string) string {
		if y != "" {
			return y
		}
		return x
	}
	return ProConnectClaims{
		Subject: a.Subject, Email: pick(a.Email, b.Email), GivenName: pick(a.GivenName, b.GivenName),
		UsualName: pick(a.UsualName, b.UsualName), Siret: pick(a.Siret, b.Siret), IdpID: pick(a.IdpID, b.IdpID), UID: pick(a.UID, b.UID),
	}
}

// provision creates a role-less account for a new e-mail.
func (s *Service) provision(ctx context.Context, cl ProConnectClaims) (store.User, error) {
	local, _, _ := strings.Cut(strings.ToLower(cl.Email), "@")
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, local)
	name := strings.TrimSpace(cl.GivenName + " " + cl.UsualName)
	for i := 0; i < 20; i++ {
		username := base
		if i > 0 {
			username = fmt.Sprintf("%s%d", base, i+1)
		}
		u, err := s.CreateUser(ctx, NewUser{Username: username, DisplayName: name, Email: cl.Email})
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return u, err
		}
		if _, e := s.st.UserByEmail(ctx, cl.Email); e == nil {
			return s.st.UserByEmail(ctx, cl.Email)
		}
	}
	return store.User{}, fmt.Errorf("cannot find a free username for %s", cl.Email)
}
