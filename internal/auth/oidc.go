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
	Subject string `json:"sub"`
	Email   string `json:"email"`
	// EmailVerified is the email_verified claim (a JSON boolean, or the
	// string "true" as some providers send it).
	EmailVerified claimBool `json:"email_verified"`
	GivenName     string    `json:"given_name"`
	UsualName     string    `json:"usual_name"`
	Siret         string    `json:"siret"`
	IdpID         string    `json:"idp_id"`
	UID           string    `json:"uid"`
}

// claimBool reads a boolean claim sent as true/false or "true"/"false";
// anything else is false.
type claimBool bool

func (b *claimBool) UnmarshalJSON(data []byte) error {
	switch strings.ToLower(strings.Trim(string(data), `"`)) {
	case "true":
		*b = true
	default:
		*b = false
	}
	return nil
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
	// deny refuses a sign-in that went through the provider: one audit
	// entry each. refuse refuses a callback that anybody can forge (made-up
	// state, code or error): counted per address and window.
	deny := func(status int, reason, msg string, detail map[string]string) error {
		detail["method"], detail["reason"] = "oidc", reason
		s.record(ctx, audit.Entry{Actor: detail["email"], Action: "auth.login", Outcome: audit.Denied, IP: ip, Detail: audit.Detail(detail)})
		return echo.NewHTTPError(status, msg)
	}
	refuse := func(status int, reason, msg string) error {
		s.recordBurst(audit.Entry{Actor: "anonymous", Action: "auth.login", Outcome: audit.Denied, IP: ip,
			Detail: audit.Detail(map[string]string{"method": "oidc"})}, printable(reason, 100))
		return echo.NewHTTPError(status, msg)
	}
	if e := c.QueryParam("error"); e != "" {
		return refuse(http.StatusUnauthorized, "provider error "+e, "the identity provider refused the sign-in ("+printable(e, 100)+": "+printable(c.QueryParam("error_description"), 300)+")")
	}
	ck, err := c.Cookie(oidcCookie)
	parts := []string{}
	if err == nil {
		parts = strings.Split(ck.Value, ".")
	}
	c.SetCookie(&http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc", MaxAge: -1, HttpOnly: true, Secure: s.o.SecureCookies, SameSite: http.SameSiteLaxMode})
	if len(parts) != 3 || c.QueryParam("state") == "" || c.QueryParam("state") != parts[0] {
		return refuse(http.StatusBadRequest, "state mismatch", "this sign-in expired or was started in another browser: start again")
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
		return refuse(http.StatusUnauthorized, "code exchange failed", "the identity provider did not confirm the sign-in: start again")
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := oc.verifier.Verify(pctx, rawID)
	if err != nil {
		s.o.Logger.Warn("OIDC id_token rejected", "err", err)
		return deny(http.StatusUnauthorized, "invalid id_token", "the identity provider's answer could not be verified", map[string]string{})
	}
	if idt.Nonce != nonce {
		return deny(http.StatusUnauthorized, "nonce mismatch", "the identity provider's answer does not belong to this sign-in: start again", map[string]string{})
	}
	var claims ProConnectClaims
	if err := idt.Claims(&claims); err != nil {
		return deny(http.StatusUnauthorized, "bad id_token claims", "the identity provider's answer could not be read", map[string]string{})
	}
	if oc.provider.UserInfoEndpoint() != "" {
		ui, err := oc.provider.UserInfo(pctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			s.o.Logger.Warn("OIDC userinfo failed", "err", err)
			return deny(http.StatusUnauthorized, "userinfo failed", "the identity provider did not give your identity (userinfo)", map[string]string{})
		}
		var uc ProConnectClaims
		if err := ui.Claims(&uc); err != nil {
			return deny(http.StatusUnauthorized, "bad userinfo", "the identity provider's userinfo could not be read", map[string]string{})
		}
		if uc.Subject != idt.Subject {
			return deny(http.StatusUnauthorized, "userinfo sub mismatch", "the identity provider's userinfo is about someone else", map[string]string{})
		}
		claims = mergeClaims(claims, uc)
	}
	detail := map[string]string{"email": claims.Email, "siret": claims.Siret, "idp_id": claims.IdpID}
	if claims.Email == "" {
		return deny(http.StatusForbidden, "no e-mail", "the identity provider gave no e-mail address, which civicflow needs to find your account", detail)
	}
	// Accounts are found by e-mail: only an address the provider vouches
	// for may open one (ProConnect sends email_verified).
	if !claims.EmailVerified {
		return deny(http.StatusForbidden, "e-mail not verified",
			"the identity provider did not confirm that the e-mail address "+claims.Email+" is verified (email_verified): civicflow signs in verified addresses only", detail)
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

// mergeClaims completes the id_token's claims a with the userinfo's b
// (which win). The e-mail is verified if the claims that give it say so,
// or if both give the same address and either says so.
func mergeClaims(a, b ProConnectClaims) ProConnectClaims {
	pick := func(x, y string) string {
		if y != "" {
			return y
		}
		return x
	}
	verified := a.EmailVerified
	if b.Email != "" {
		verified = b.EmailVerified || (a.EmailVerified && claimBool(strings.EqualFold(a.Email, b.Email)))
	}
	return ProConnectClaims{
		Subject: a.Subject, Email: pick(a.Email, b.Email), EmailVerified: verified, GivenName: pick(a.GivenName, b.GivenName),
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
