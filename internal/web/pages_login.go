package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
)

type loginView struct {
	Next, Username, Error string
	OIDC                  bool
}

func (s *Server) oidcEnabled() bool {
	svc := s.Auth()
	return svc != nil && svc.Options().OIDC.Enabled()
}

// loginPage: GET /login[?next=/path] shows the sign-in form; a signed-in
// person goes straight on.
func (s *Server) loginPage(c echo.Context) error {
	next := SafeNext(c.QueryParam("next"))
	if !auth.PrincipalFrom(c).Anonymous() {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return s.page(c, http.StatusOK, "login", loginView{Next: next, OIDC: s.oidcEnabled()})
}

// loginSubmit: POST /login (form username, password, next) opens a
// session and goes to next. A wrong username or password gets one French
// message that does not say which was wrong.
func (s *Server) loginSubmit(c echo.Context) error {
	v := loginView{Next: SafeNext(c.FormValue("next")), Username: strings.TrimSpace(c.FormValue("username")), OIDC: s.oidcEnabled()}
	password := c.FormValue("password")
	if v.Username == "" || password == "" {
		v.Error = "Saisissez votre identifiant et votre mot de passe."
		return s.page(c, http.StatusUnprocessableEntity, "login", v)
	}
	svc := s.Auth()
	res, err := svc.Login(c.Request().Context(), auth.LoginRequest{Username: v.Username, Password: password, IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		st := auth.SetErrorHeaders(c, err)
		if st == 0 {
			return err
		}
		v.Error = loginErrorFR(err)
		return s.page(c, st, "login", v)
	}
	svc.SetSessionCookie(c, res.Token, res.ExpiresAt)
	return c.Redirect(http.StatusSeeOther, v.Next)
}

// loginErrorFR is the French message of a refused sign-in.
func loginErrorFR(err error) string {
	var rl *auth.RateLimitedError
	switch {
	case errors.As(err, &rl):
		secs := int(rl.RetryAfter.Seconds() + 0.999)
		return fmt.Sprintf("Trop de tentatives de connexion échouées depuis votre adresse. Réessayez dans %d seconde%s.", secs, plural(secs))
	case errors.Is(err, auth.ErrDisabled):
		return "Ce compte est désactivé. Adressez-vous à un administrateur."
	}
	return "Identifiant ou mot de passe incorrect."
}

func plural(n int) string {
	if n > 1 {
		return "s"
	}
	return ""
}

// logoutSubmit: POST /logout ends the session and goes to the sign-in page.
func (s *Server) logoutSubmit(c echo.Context) error {
	svc := s.Auth()
	if err := svc.Logout(c.Request().Context(), auth.PrincipalFrom(c), auth.SessionToken(c), c.RealIP()); err != nil {
		return err
	}
	svc.ClearSessionCookie(c)
	s.setFlash(c, "success", "Vous êtes déconnecté.")
	return c.Redirect(http.StatusSeeOther, "/login")
}

type passwordView struct {
	Error, CurrentError, NewError, ConfirmError string
	Hint                                        string
}

func newPasswordView() passwordView {
	return passwordView{Hint: "Choisissez " + auth.PasswordRulesFR + ". Il ne doit contenir ni votre identifiant ni votre adresse électronique."}
}

// passwordPage: GET /password shows the change-password form.
func (s *Server) passwordPage(c echo.Context) error {
	return s.page(c, http.StatusOK, "password", newPasswordView())
}

// passwordSubmit: POST /password (current, new, confirm) changes the
// password (CNIL rules, see auth.CheckPassword), ends the other sessions
// and opens a new one for this browser.
func (s *Server) passwordSubmit(c echo.Context) error {
	v := newPasswordView()
	current, pw, confirm := c.FormValue("current"), c.FormValue("new"), c.FormValue("confirm")
	switch {
	case current == "":
		v.CurrentError = "Saisissez votre mot de passe actuel."
	case pw == "":
		v.NewError = "Saisissez le nouveau mot de passe."
	case pw != confirm:
		v.ConfirmError = "La confirmation ne correspond pas au nouveau mot de passe."
	}
	if v.CurrentError != "" || v.NewError != "" || v.ConfirmError != "" {
		v.Error = "Le mot de passe n'a pas été changé : corrigez le champ signalé."
		return s.page(c, http.StatusUnprocessableEntity, "password", v)
	}
	svc := s.Auth()
	token, exp, err := svc.ChangeOwnPasswordAndRenew(c.Request().Context(), auth.PrincipalFrom(c), current, pw, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		var pe *auth.PasswordError
		var rl *auth.RateLimitedError
		switch {
		case errors.As(err, &pe):
			v.NewError = "Ce mot de passe n'est pas accepté : " + pe.FR() + "."
		case errors.Is(err, auth.ErrBadCredentials):
			v.CurrentError = "Le mot de passe actuel est incorrect."
		case errors.As(err, &rl):
			auth.SetErrorHeaders(c, err)
			v.Error = loginErrorFR(err)
			return s.page(c, http.StatusTooManyRequests, "password", v)
		default:
			return err
		}
		v.Error = "Le mot de passe n'a pas été changé : corrigez le champ signalé."
		return s.page(c, http.StatusUnprocessableEntity, "password", v)
	}
	svc.SetSessionCookie(c, token, exp)
	s.setFlash(c, "success", "Votre mot de passe a été changé. Vos autres sessions ont été fermées.")
	return c.Redirect(http.StatusSeeOther, "/")
}
