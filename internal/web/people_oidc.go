package web

import (
	"github.com/labstack/echo/v4"
)

// peopleOIDCLogin: GET /auth/oidc/login redirects to the provider.
func (s *Server) peopleOIDCLogin(c echo.Context) error {
	return s.Auth().OIDCLogin(c)
}

// peopleOIDCCallback: GET /auth/oidc/callback signs the user in.
func (s *Server) peopleOIDCCallback(c echo.Context) error {
	return s.Auth().OIDCCallback(c)
}
