package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
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
	keyViaCookie = "civicflow.via_cookie"
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

// ViaCookie reports whether the request was authenticated by the session
// cookie: the browser's ambient credential, which CSRF checks guard.
func ViaCookie(c echo.Context) bool {
	v, _ := c.Get(keyViaCookie).(bool)
	return v
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
						c.Set(keyViaCookie, true)
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

// CSRFHiddenInput is the hidden form field carrying the request's CSRF
// token, for the forms of the pages: {{.CSRFInput}} inside every <form
// method="post">. Empty for requests without a session.
func CSRFHiddenInput(c echo.Context) template.HTML {
	t := CSRFToken(c)
	if t == "" {
		return ""
	}
	// The token is hex: nothing to escape.
	return template.HTML(`<input type="hidden" name="` + CSRFField + `" value="` + t + `">`)
}

// CSRFHXHeaders is the hx-headers attribute that makes htmx send the CSRF
// token with every request of the element's subtree (put it on <body>).
func CSRFHXHeaders(c echo.Context) template.HTMLAttr {
	t := CSRFToken(c)
	if t == "" {
		return ""
	}
	return template.HTMLAttr(`hx-headers='{"` + CSRFHeader + `":"` + t + `"}'`)
}

// ErrCrossOrigin refuses a state-changing request that a browser sent from
// another origin (another site, or a sibling host of the same site).
var ErrCrossOrigin = errors.New("cross-origin request refused: this action must come from civicflow's own pages or an API client with a token")

// CSRFOptions configure CSRF.
type CSRFOptions struct {
	// PublicURL is the --public-url: its origin is accepted in the Origin
	// header besides the request's own host (a proxy may rewrite Host).
	PublicURL string
	// SessionRoutes are the routes (echo paths, e.g. "/api/v1/login") that
	// open a session: they refuse cross-origin browser requests even from
	// anonymous callers, so that no other site can sign a visitor in to an
	// account of its choosing (login CSRF, session fixation).
	SessionRoutes []string
}

// CSRF guards state-changing requests (POST, PUT, PATCH, DELETE) against
// cross-site request forgery. Install it after Authenticate and before
// Authorize.
//
//   - Requests with an Authorization header (Bearer session or API token,
//     Apikey…) pass: a browser never adds that header to a forged request,
//     and other sites cannot make it send one (no CORS here).
//   - Requests authenticated by the session cookie need a same-origin proof:
//     Sec-Fetch-Site "same-origin" or "none", else an Origin equal to the
//     request's host or to the public URL. A browser that says the request
//     comes from elsewhere ("cross-site", "same-site", another Origin,
//     "null") is refused. A request with neither header (an old browser, a
//     script holding the cookie) must carry the session's CSRF token.
//   - Form posts (application/x-www-form-urlencoded, multipart/form-data,
//     text/plain: what an HTML form can send) authenticated by the cookie
//     must carry the CSRF token in the X-CSRF-Token header or the _csrf
//     field, whatever the headers say.
//   - Anonymous requests pass, except on SessionRoutes, where a browser
//     saying "cross-origin" is refused.
//
// Refusals are 403 and audited.
func (s *Service) CSRF(o CSRFOptions) echo.MiddlewareFunc {
	publicOrigin := ""
	if u, err := url.Parse(o.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		publicOrigin = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	sessionRoute := map[string]bool{}
	for _, r := range o.SessionRoutes {
		sessionRoute[r] = true
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			switch req.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				return next(c)
			}
			if req.Header.Get(echo.HeaderAuthorization) != "" {
				return next(c)
			}
			origin := sameOrigin(req, publicOrigin)
			if !ViaCookie(c) {
				if origin == originCross && sessionRoute[c.Path()] {
					return s.refuse(c, http.StatusForbidden, ErrCrossOrigin.Error(), "session", "create", AllDepartments)
				}
				return next(c)
			}
			if origin == originCross {
				return s.refuse(c, http.StatusForbidden, ErrCrossOrigin.Error(), "csrf", "write", AllDepartments)
			}
			if origin == originUnknown || isFormPost(req) {
				got := req.Header.Get(CSRFHeader)
				if got == "" && isFormPost(req) {
					got = c.FormValue(CSRFField)
				}
				if subtle.ConstantTimeCompare([]byte(got), []byte(csrfFor(SessionToken(c)))) != 1 {
					return s.refuse(c, http.StatusForbidden, ErrCSRF.Error(), "csrf", "write", AllDepartments)
				}
			}
			return next(c)
		}
	}
}

type originVerdict int

const (
	originUnknown originVerdict = iota // no Sec-Fetch-Site, no Origin
	originSame
	originCross
)

// sameOrigin reads what the browser says about where the request comes
// from: Sec-Fetch-Site first (browsers since 2020–2023), else Origin.
func sameOrigin(r *http.Request, publicOrigin string) originVerdict {
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" {
		switch strings.ToLower(sfs) {
		case "same-origin", "none":
			return originSame
		}
		return originCross
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return originUnknown
	}
	if publicOrigin != "" && strings.EqualFold(o, publicOrigin) {
		return originSame
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return originCross // "null" (sandboxed frames, file://, redirects) and garbage
	}
	if strings.EqualFold(u.Host, r.Host) {
		return originSame
	}
	return originCross
}

// isFormPost reports whether the body has a type an HTML form (or a
// no-CORS fetch) can send cross-origin without a preflight.
func isFormPost(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil {
		return false
	}
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
		return true
	}
	return false
}
