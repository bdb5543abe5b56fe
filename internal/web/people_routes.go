package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
)

// PeopleRoutes are the permissions of the people & permissions routes.
// Obj auth.Authenticated means "any signed-in user".
var PeopleRoutes = []RoutePerm{
	{Method: http.MethodPost, Path: "/api/v1/login", Public: true},
	{Method: http.MethodPost, Path: "/api/v1/logout", Public: true},
	{Method: http.MethodGet, Path: "/api/v1/me", Obj: auth.Authenticated, Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/me/password", Obj: auth.Authenticated, Act: "write"},
	{Method: http.MethodGet, Path: "/api/v1/me/tokens", Obj: auth.Authenticated, Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/me/tokens", Obj: auth.Authenticated, Act: "write"},
	{Method: http.MethodDelete, Path: "/api/v1/me/tokens/:id", Obj: auth.Authenticated, Act: "write"},

	{Method: http.MethodGet, Path: "/api/v1/users", Obj: "users", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/users", Obj: "users", Act: "admin"},
	{Method: http.MethodGet, Path: "/api/v1/users/:id", Obj: "users", Act: "read"},
	{Method: http.MethodPatch, Path: "/api/v1/users/:id", Obj: "users", Act: "admin"},
	{Method: http.MethodPost, Path: "/api/v1/users/:id/memberships", Obj: "users", Act: "admin"},
	{Method: http.MethodDelete, Path: "/api/v1/users/:id/memberships/:role/:dept", Obj: "users", Act: "admin"},

	{Method: http.MethodGet, Path: "/api/v1/departments", Obj: "departments", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/departments", Obj: "departments", Act: "admin"},

	{Method: http.MethodGet, Path: "/api/v1/delegations", Obj: auth.Authenticated, Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/delegations", Obj: "delegations", Act: "create"},
	{Method: http.MethodDelete, Path: "/api/v1/delegations/:id", Obj: auth.Authenticated, Act: "write"},

	{Method: http.MethodGet, Path: "/api/v1/policies", Obj: "policies", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/policies", Obj: "policies", Act: "admin"},
	{Method: http.MethodDelete, Path: "/api/v1/policies", Obj: "policies", Act: "admin"},

	{Method: http.MethodGet, Path: "/api/v1/audit", Obj: "audit", Act: "read"},
	{Method: http.MethodGet, Path: "/api/v1/audit/verify", Obj: "audit", Act: "read"},

	{Method: http.MethodGet, Path: "/auth/oidc/login", Public: true},
	{Method: http.MethodGet, Path: "/auth/oidc/callback", Public: true},
}

// Auth is the server's authentication service (nil when the database
// could not be read at start: every request then gets a 503).
func (s *Server) Auth() *auth.Service { return s.authSvc }

// newAuth builds the authentication service of the server.
func (s *Server) newAuth() (*auth.Service, error) {
	opts := AuthOptions(s.cfg)
	opts.Logger = s.log
	if s.tuneAuth != nil {
		s.tuneAuth(&opts)
	}
	return auth.New(context.Background(), s.store, opts)
}

// AuthOptions are the auth.Options of a configuration.
func AuthOptions(cfg config.Config) auth.Options {
	return auth.Options{
		SessionTTL:    cfg.SessionTTL,
		SecureCookies: cfg.SecureCookies(),
		OIDC: auth.OIDCConfig{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: cfg.OIDCRedirectURL, Scopes: strings.Fields(cfg.OIDCScopes), AutoProvision: cfg.OIDCAutoProvision,
		},
	}
}

// peopleRoutes registers login, users, departments, delegations, tokens,
// policies and audit routes, and installs authentication and
// authorization (from RouteTable) on every route.
func (s *Server) peopleRoutes(api *echo.Group) {
	svc := s.authSvc
	if svc == nil {
		s.log.Error("authentication is unavailable", "err", s.authErr)
		s.e.Use(func(echo.HandlerFunc) echo.HandlerFunc {
			return func(echo.Context) error {
				return Errorf(http.StatusServiceUnavailable, "authentication is unavailable: the database could not be read")
			}
		})
		return
	}
	table := map[string]RoutePerm{}
	for _, r := range RouteTable() {
		table[r.Method+" "+r.Path] = r
	}
	s.e.Use(svc.Authenticate(), svc.CSRF(csrfOptions(s.cfg)), svc.Authorize(func(method, path string) (string, string, bool, bool) {
		r, ok := table[method+" "+path]
		if !ok && method == http.MethodHead {
			r, ok = table[http.MethodGet+" "+path]
		}
		return r.Obj, r.Act, r.Public, ok
	}))

	api.POST("/login", s.peopleLogin)
	api.POST("/logout", s.peopleLogout)
	api.GET("/me", s.peopleMe)
	api.POST("/me/password", s.peopleChangePassword)
	api.GET("/me/tokens", s.peopleListTokens)
	api.POST("/me/tokens", s.peopleCreateToken)
	api.DELETE("/me/tokens/:id", s.peopleRevokeToken)

	api.GET("/users", s.peopleListUsers)
	api.POST("/users", s.peopleCreateUser)
	api.GET("/users/:id", s.peopleGetUser)
	api.PATCH("/users/:id", s.peopleUpdateUser)
	api.POST("/users/:id/memberships", s.peopleGrant)
	api.DELETE("/users/:id/memberships/:role/:dept", s.peopleRevoke)

	api.GET("/departments", s.peopleListDepartments)
	api.POST("/departments", s.peopleCreateDepartment)

	api.GET("/delegations", s.peopleListDelegations)
	api.POST("/delegations", s.peopleCreateDelegation)
	api.DELETE("/delegations/:id", s.peopleRevokeDelegation)

	api.GET("/policies", s.peopleListPolicies)
	api.POST("/policies", s.peopleAddPolicy)
	api.DELETE("/policies", s.peopleRemovePolicy)

	api.GET("/audit", s.peopleListAudit)
	api.GET("/audit/verify", s.peopleVerifyAudit)

	s.e.GET("/auth/oidc/login", s.peopleOIDCLogin)
	s.e.GET("/auth/oidc/callback", s.peopleOIDCCallback)
}

// peopleRouteTable lists the permissions of peopleRoutes.
func peopleRouteTable() []RoutePerm { return PeopleRoutes }

// peopleErr turns auth errors into user-facing *Error with their status
// (and Retry-After / WWW-Authenticate headers); other errors go through.
func peopleErr(c echo.Context, err error) error {
	st := auth.SetErrorHeaders(c, err)
	if st == 0 {
		return err
	}
	return &Error{Status: st, Msg: err.Error(), Err: err}
}
