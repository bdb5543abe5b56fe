package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/audit"
)

// CookieName is the session cookie.
const CookieName = "civicflow_session"

// Authenticated, as a route's object, means "any signed-in user" (me,
// logout, one's own API tokens): no permission beyond being known.
const Authenticated = "authenticated"

// CSRFHeader and CSRFField carry the CSRF token of browser form posts.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "_csrf"
)

const (
	keyPrincipal = "civicflow.principal"
	keyAuthErr   = "civicflow.auth_error"
	keySession   = "civicflow.session_token"
)

// PrincipalFrom returns the request's principal (anonymous if none).
func PrincipalFrom(c echo.Context) Principal {
	p, _ := c.Get(keyPrincipal).(Principal)
	return p
}

// WithPrincipal sets the request's principal (tests, custom sign-ins).
func WithPrincipal(c echo.Context, p Principal) { c.Set(keyPrincipal, p) }

// SessionToken is the secret of the session that authenticated the
// request (cookie or Bearer), "" for API tokens and anonymous requests.
func SessionToken(c echo.Context) string {
	t, _ := c.Get(keySession).(string)
	return t
}

// AuthError is why the credentials of the request were refused (nil if
// there were none or they were good).
func AuthError(c echo.Context) error {
	err, _ := c.Get(keyAuthErr).(error)
	return err
}

// Authenticate resolves the request's credentials — Authorization: Bearer
// (a "cf_" API token or a session token) or the session cookie — into a
// Principal in the context. Requests without valid credentials go on as
// anonymous, with the reason kept for Authorize's 401. Other schemes
// (Apikey, Basic) are left to the public API.
func (s *Service) Authenticate() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			var (
				p     Principal
				err   error
				found bool
			)
			if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
				scheme, cred, _ := strings.Cut(h, " ")
				cred = strings.TrimSpace(cred)
				if strings.EqualFold(scheme, "Bearer") {
					found = true
					if strings.HasPrefix(cred, TokenPrefix) {
						p, err = s.PrincipalForToken(ctx, cred)
					} else {
						p, err = s.PrincipalForSession(ctx, cred)
						if err == nil {
							c.Set(keySession, cred)
						}
					}
				}
			}
			if !found {
				if ck, cerr := c.Cookie(CookieName); cerr == nil && ck.Value != "" {
					p, err = s.PrincipalForSession(ctx, ck.Value)
					if err == nil {
						c.Set(keySession, ck.Value)
					} else if HTTPStatus(err) != 0 {
						s.ClearSessionCookie(c)
					}
				}
			}
			if err != nil {
				if HTTPStatus(err) == 0 {
					return err // the database failed: a real 500
				}
				c.Set(keyAuthErr, err)
				p = Principal{}
			}
			c.Set(keyPrincipal, p)
			return next(c)
		}
	}
}

// RouteLookup tells the permission a route needs: the object and action,
// or public; ok is false for routes missing from the table.
type RouteLookup func(method, routePath string) (obj, act string, public bool, ok bool)

// Authorize enforces the route table after routing: public routes pass;
// routes missing from the table are refused (403, deny by default);
// anonymous callers get 401; signed-in callers without the permission
// 403. The department is the route's :department parameter, else "*"
// ("in some department"); handlers narrow further to the departments the
// caller may act in (Service.Departments). Every refusal is audited
// (anonymous ones counted per address and window, see refuse).
// Unrouted requests pass through to Echo's 404/405.
func (s *Service) Authorize(lookup RouteLookup) echo.MiddlewareFunc {
	var (
		once   sync.Once
		routed map[string]bool
	)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route := c.Path()
			obj, act, public, ok := lookup(req.Method, route)
			if !ok {
				once.Do(func() {
					routed = map[string]bool{}
					for _, r := range c.Echo().Routes() {
						routed[r.Method+" "+r.Path] = true
					}
				})
				if !routed[req.Method+" "+route] && !routed[echo.RouteNotFound+" "+route] {
					return next(c) // no such route: let Echo answer 404 or 405
				}
				return s.refuse(c, http.StatusForbidden, "this route is not in the permission table (deny by default)", "", "", "*")
			}
			if public {
				return next(c)
			}
			p := PrincipalFrom(c)
			if p.Anonymous() {
				msg := ErrUnauthenticated.Error()
				if err := AuthError(c); err != nil {
					msg = err.Error()
					if errors.Is(err, ErrDisabled) {
						return s.refuse(c, http.StatusForbidden, msg, obj, act, "*")
					}
				}
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="civicflow"`)
				return s.refuse(c, http.StatusUnauthorized, msg, obj, act, "*")
			}
			if obj == Authenticated {
				return next(c)
			}
			dept := c.Param("department")
			if dept == "" {
				dept = AllDepartments
			}
			if !s.az.Allowed(req.Context(), p.Username, dept, obj, act) {
				return s.refuse(c, http.StatusForbidden, "you are not allowed to "+act+" "+obj+deptPhrase(dept), obj, act, dept)
			}
			return next(c)
		}
	}
}

func deptPhrase(dept string) string {
	if dept == AllDepartments {
		return ""
	}
	return " in department " + dept
}

// refuse audits a refusal and returns it. A signed-in caller's refusal is
// an entry of its own; anonymous ones, which anybody can send by the
// thousand, are counted per address and window (one entry per burst).
func (s *Service) refuse(c echo.Context, status int, msg, obj, act, dept string) error {
	p := PrincipalFrom(c)
	req := c.Request()
	e := audit.Entry{
		Actor: p.Name(), Action: "access", ObjectType: obj, ObjectID: printable(req.URL.Path, 200), Department: dept,
		Outcome: audit.Denied, IP: c.RealIP(),
		Detail: audit.Detail(map[string]any{"method": req.Method, "route": c.Path(), "act": act, "status": status}),
	}
	if p.Anonymous() {
		s.recordBurst(e, fmt.Sprintf("%s %s %d", req.Method, c.Path(), status))
	} else {
		s.record(req.Context(), e)
	}
	return echo.NewHTTPError(status, msg)
}

// SetSessionCookie sends the session cookie: HttpOnly, SameSite=Lax,
// Secure when configured, expiring with the session.
func (s *Service) SetSessionCookie(c echo.Context, token string, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, Secure: s.o.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// ClearSessionCookie deletes the session cookie.
func (s *Service) ClearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.o.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// CSRFToken is the CSRF token of the request's session, to put in forms
// (field _csrf) or send as the X-CSRF-Token header. It is derived from the
// session secret, so it needs no storage and dies with the session.
func CSRFToken(c echo.Context) string {
	return csrfFor(SessionToken(c))
}

// CSRFTokenFor is the CSRF token of a session token (e.g. right after login).
func CSRFTokenFor(sessionToken string) string { return csrfFor(sessionToken) }

func csrfFor(session string) string {
	if session == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("civicflow-csrf\x00" + session))
	return hex.EncodeToString(sum[:16])
}

// CSRF protects browser form posts: an unsafe method (POST, PUT, PATCH,
// DELETE) authenticated by the session cookie must carry the session's
// CSRF token in X-CSRF-Token or the _csrf form field. Requests
// authenticated by a Bearer header, and anonymous ones, are not
// cookie-driven and pass. Install it after Authenticate on the page group.
func CSRF() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				return next(c)
			}
			session := SessionToken(c)
			if session == "" || c.Request().Header.Get(echo.HeaderAuthorization) != "" {
				return next(c)
			}
			got := c.Request().Header.Get(CSRFHeader)
			if got == "" {
				got = c.FormValue(CSRFField)
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(csrfFor(session))) != 1 {
				return echo.NewHTTPError(http.StatusForbidden, ErrCSRF.Error())
			}
			return next(c)
		}
	}
}
