package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// peopleLogin: POST /api/v1/login {"username","password"} → 200, the
// session cookie and {"token"} (usable as a Bearer token).
func (s *Server) peopleLogin(c echo.Context) error {
	var r loginRequest
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	if r.Username == "" || r.Password == "" {
		return Errorf(http.StatusBadRequest, "username and password are required")
	}
	svc := s.Auth()
	res, err := svc.Login(c.Request().Context(), auth.LoginRequest{Username: r.Username, Password: r.Password, IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return peopleErr(c, err)
	}
	svc.SetSessionCookie(c, res.Token, res.ExpiresAt)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{
		"token":      res.Token,
		"expires_at": res.ExpiresAt.UTC(),
		"user":       res.User,
		"csrf_token": auth.CSRFTokenFor(res.Token),
	})
}

// peopleLogout: POST /api/v1/logout ends the session (204, also when
// nobody was signed in).
func (s *Server) peopleLogout(c echo.Context) error {
	svc := s.Auth()
	if err := svc.Logout(c.Request().Context(), auth.PrincipalFrom(c), auth.SessionToken(c), c.RealIP()); err != nil {
		return err
	}
	svc.ClearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

type meResponse struct {
	auth.Principal
	Roles       []auth.Membership  `json:"roles"`
	Groups      []string           `json:"groups"`
	Departments []store.Department `json:"departments"`
}

// peopleMe: GET /api/v1/me → the user, the departments where they hold a
// role ("*" expanded to every department), roles, groups and delegations.
func (s *Server) peopleMe(c echo.Context) error {
	p := auth.PrincipalFrom(c)
	all, err := s.store.Departments(c.Request().Context())
	if err != nil {
		return err
	}
	in := map[string]bool{}
	for _, m := range p.Memberships {
		in[m.Department] = true
	}
	for _, d := range p.Delegations {
		in[d.Department] = true
	}
	deps := []store.Department{}
	for _, d := range all {
		if in[d.Slug] || in[auth.AllDepartments] {
			deps = append(deps, d)
		}
	}
	return c.JSON(http.StatusOK, meResponse{Principal: p, Roles: p.Memberships, Groups: p.Groups(), Departments: deps})
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// peopleChangePassword: POST /api/v1/me/password {"current","new"} → 200
// with a new session; every other session of the user ends. A wrong
// current password is 403 and counts as a failed sign-in (same throttling).
// Personal API tokens are kept (an administrator's reset revokes them).
func (s *Server) peopleChangePassword(c echo.Context) error {
	var r passwordRequest
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	svc := s.Auth()
	token, exp, err := svc.ChangeOwnPasswordAndRenew(c.Request().Context(), auth.PrincipalFrom(c), r.Current, r.New, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		if errors.Is(err, auth.ErrBadCredentials) {
			return Errorf(http.StatusForbidden, "the current password is wrong")
		}
		return peopleErr(c, err)
	}
	svc.SetSessionCookie(c, token, exp)
	return c.JSON(http.StatusOK, map[string]any{"token": token, "expires_at": exp.UTC(), "csrf_token": auth.CSRFTokenFor(token)})
}

type tokenRequest struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// peopleCreateToken: POST /api/v1/me/tokens {"name","expires_at"?} → 201
// with the secret "token", shown this once.
func (s *Server) peopleCreateToken(c echo.Context) error {
	var r tokenRequest
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	raw, t, err := s.Auth().CreateAPIToken(c.Request().Context(), auth.PrincipalFrom(c), r.Name, r.ExpiresAt, c.RealIP())
	if err != nil {
		return peopleErr(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"token": raw, "api_token": t})
}

// peopleListTokens: GET /api/v1/me/tokens → the caller's tokens (no secrets).
func (s *Server) peopleListTokens(c echo.Context) error {
	ts, err := s.store.APITokensOf(c.Request().Context(), auth.PrincipalFrom(c).UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ts)
}

// peopleRevokeToken: DELETE /api/v1/me/tokens/{id} → 204.
func (s *Server) peopleRevokeToken(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Auth().RevokeAPIToken(c.Request().Context(), auth.PrincipalFrom(c), id, c.RealIP()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, Errorf(http.StatusNotFound, "%s %q is not a number", name, c.Param(name))
	}
	return id, nil
}
