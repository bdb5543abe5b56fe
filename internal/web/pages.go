package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/web/ui"
)

// The staff pages: the frame every page shares (layout data, navigation,
// flash messages, French error pages) and the sign-in, password and
// dashboard pages. Page handlers call s.page; errors they return are
// rendered by renderErrorPage (errors.go routes browsers there).
//
// Adding a page (e.g. the inbox):
//   - internal/web/ui/templates/tasks.html defines "title", "main" and, if
//     it needs vendored libraries, "head" ({{asset "vendor/form-js/…"}});
//     {{.Data}} is the handler's view, {{.CSRF}} goes in every POST form,
//     {{.Principal}} is the person; funcs: date, datetime, relative, number,
//     decimal, amount, bytes, plural, count, role, objtype, dict, asset.
//   - the handler: bind → service call → s.page(c, http.StatusOK, "tasks", view),
//     or on a refused form s.page(c, 422, …) with the French message
//     (formError / auth.MessageFR), or s.setFlash + 303 after a change;
//     s.pageFragment renders one block for htmx; a *PageError carries a
//     French message to the error page.
//   - the route in a RoutePerm table (RouteTable), its body type in
//     bodyTypes (mimeForm for forms), and the route in `matrix` of
//     internal/app/authz_matrix_test.go.
//   - the main navigation lists /tasks, /requests, /datasets, /designer,
//     /admin and /audit as soon as a GET route with that path exists, for
//     the people allowed the JSON route named in navEntries.

// pageRoutes are the permissions of the page routes of this file.
var pageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/static/*", Public: true},
	{Method: http.MethodGet, Path: "/login", Public: true},
	{Method: http.MethodPost, Path: "/login", Public: true},
	{Method: http.MethodPost, Path: "/logout", Public: true},
	{Method: http.MethodGet, Path: "/", Obj: auth.Authenticated, Act: "read"},
	{Method: http.MethodGet, Path: "/password", Obj: auth.Authenticated, Act: "read"},
	{Method: http.MethodPost, Path: "/password", Obj: auth.Authenticated, Act: "write"},
}

// mimeForm is the body type of the pages' forms.
const mimeForm = "application/x-www-form-urlencoded"

func init() {
	for _, r := range []string{"/login", "/logout", "/password"} {
		bodyTypes[http.MethodPost+" "+r] = []string{mimeForm}
	}
}

func (s *Server) registerPages() {
	static := s.ui.Static()
	s.e.GET("/static/*", func(c echo.Context) error {
		if !s.ui.HasAsset(path.Clean(c.Request().URL.Path)) {
			return echo.ErrNotFound
		}
		static.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	s.e.GET("/login", s.loginPage)
	s.e.POST("/login", s.loginSubmit)
	s.e.POST("/logout", s.logoutSubmit)
	s.e.GET("/", s.dashboardPage)
	s.e.GET("/password", s.passwordPage)
	s.e.POST("/password", s.passwordSubmit)
}

// navEntry is an entry of the main navigation: shown when its page exists
// (some pages arrive later) and the person may call the JSON route that
// the page is the face of (so that the route table stays the one place
// where access is decided).
type navEntry struct {
	Label, Href string
	Perm        string // "METHOD /api/v1/…" whose permission the entry needs; "" = any signed-in user
}

var navEntries = []navEntry{
	{Label: "Tableau de bord", Href: "/"},
	{Label: "Tâches", Href: "/tasks", Perm: "GET /api/v1/tasks"},
	{Label: "Demandes", Href: "/requests", Perm: "GET /api/v1/instances"},
	{Label: "Jeux de données", Href: "/datasets", Perm: "GET /api/v1/datasets"},
	{Label: "Concepteur", Href: "/designer", Perm: "POST /api/v1/flows"},
	{Label: "Administration", Href: "/admin", Perm: "GET /api/v1/users"},
	{Label: "Journal d'audit", Href: "/audit", Perm: "GET /api/v1/audit"},
}

// mayCall reports whether p passes the route table's check for a route
// ("METHOD /path" as in RouteTable), in any department.
func (s *Server) mayCall(c echo.Context, p auth.Principal, route string) bool {
	if p.Anonymous() {
		return false
	}
	method, path, _ := strings.Cut(route, " ")
	for _, r := range RouteTable() {
		if r.Method != method || r.Path != path {
			continue
		}
		if r.Public || r.Obj == auth.Authenticated {
			return true
		}
		svc := s.Auth()
		return svc != nil && svc.Allowed(c.Request().Context(), p, auth.AllDepartments, r.Obj, r.Act)
	}
	return false
}

// hasPage reports whether a page route is registered (GET path).
func (s *Server) hasPage(path string) bool {
	s.pageOnce.Do(func() {
		s.pageSet = map[string]bool{}
		for _, r := range s.e.Routes() {
			if r.Method == http.MethodGet {
				s.pageSet[r.Path] = true
			}
		}
	})
	return s.pageSet[path]
}

func (s *Server) nav(c echo.Context, p auth.Principal) []ui.NavItem {
	if p.Anonymous() {
		return nil
	}
	cur := c.Request().URL.Path
	var out []ui.NavItem
	for _, n := range navEntries {
		if !s.hasPage(n.Href) || (n.Perm != "" && !s.mayCall(c, p, n.Perm)) {
			continue
		}
		current := cur == n.Href || (n.Href != "/" && strings.HasPrefix(cur, n.Href+"/"))
		out = append(out, ui.NavItem{Label: n.Label, Href: n.Href, Current: current})
	}
	return out
}

// orgName is the collectivité's name in the header.
func (s *Server) orgName() string {
	if n := strings.TrimSpace(s.cfg.OrgName); n != "" {
		return n
	}
	return "civicflow"
}

// pageData fills the layout's common data around data.
func (s *Server) pageData(c echo.Context, data any) ui.Page {
	p := auth.PrincipalFrom(c)
	return ui.Page{
		Org:       s.orgName(),
		Principal: p,
		Nav:       s.nav(c, p),
		CSRF:      auth.CSRFHiddenInput(c),
		HXHeaders: auth.CSRFHXHeaders(c),
		Flash:     s.takeFlash(c),
		Path:      c.Request().URL.Path,
		Now:       time.Now(),
		Data:      data,
	}
}

// page renders the page name with data and the layout's common data.
// htmx requests that name a fragment (HX-Target matching a block of the
// page is the page handler's business: see pageFragment).
func (s *Server) page(c echo.Context, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := s.ui.Render(&buf, name, s.pageData(c, data)); err != nil {
		return err
	}
	return s.writeHTML(c, status, &buf)
}

func (s *Server) writeHTML(c echo.Context, status int, buf *bytes.Buffer) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Cookie")
	c.Response().WriteHeader(status)
	_, err := buf.WriteTo(c.Response())
	return err
}

// pageFragment renders one block of a page (htmx swaps).
func (s *Server) pageFragment(c echo.Context, status int, name, block string, data any) error {
	var buf bytes.Buffer
	if err := s.ui.RenderFragment(&buf, name, block, s.pageData(c, data)); err != nil {
		return err
	}
	return s.writeHTML(c, status, &buf)
}

// ---- flash messages: a short-lived cookie read by the next page ----

const flashCookie = "civicflow_flash"

// setFlash shows msg on the next page rendered (after a redirect).
func (s *Server) setFlash(c echo.Context, kind, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + msg))
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: v, Path: "/", MaxAge: 60, HttpOnly: true,
		Secure: s.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode})
}

func (s *Server) takeFlash(c echo.Context) *ui.Flash {
	ck, err := c.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(string(b), "\x00")
	if !ok || len(msg) > 500 {
		return nil
	}
	switch kind {
	case "info", "success", "error", "warning":
	default:
		return nil
	}
	return &ui.Flash{Kind: kind, Message: msg}
}

// SafeNext returns next if it is a relative path of this site ("/tasks?x=1"),
// else "/": never another host ("//evil", "/\evil", "https://…"), never
// control characters, never the sign-in or sign-out pages.
func SafeNext(next string) string {
	if next == "" || len(next) > 2000 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	for _, r := range next {
		if unicode.IsControl(r) || r == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" || strings.HasPrefix(u.Path, "/api/") || strings.HasPrefix(u.Path, "/static/") {
		return "/"
	}
	return u.RequestURI()
}

// ---- error pages ----

// errorTexts are the French titles and explanations of the error pages.
var errorTexts = map[int][2]string{
	http.StatusBadRequest:            {"Requête incorrecte", "La demande envoyée n'a pas pu être comprise. Revenez à la page précédente et réessayez."},
	http.StatusForbidden:             {"Accès refusé", "Vous n'avez pas les droits nécessaires pour ouvrir cette page ou faire cette action. Si vous pensez que c'est une erreur, adressez-vous à un administrateur."},
	http.StatusNotFound:              {"Page introuvable", "Cette page n'existe pas, ou plus, ou vous n'y avez pas accès. Vérifiez l'adresse ou revenez au tableau de bord."},
	http.StatusMethodNotAllowed:      {"Action impossible", "Cette action n'est pas possible sur cette page."},
	http.StatusConflict:              {"Action impossible dans l'état actuel", "L'objet a changé entre-temps (par exemple une tâche déjà traitée ou prise par quelqu'un d'autre). Rechargez la page pour voir son état actuel."},
	http.StatusRequestEntityTooLarge: {"Fichier trop volumineux", "Le fichier ou le formulaire envoyé dépasse la taille acceptée."},
	http.StatusUnsupportedMediaType:  {"Format non accepté", "Le format des données envoyées n'est pas accepté ici."},
	http.StatusUnprocessableEntity:   {"Données invalides", "Les données envoyées ne sont pas valides. Revenez au formulaire, corrigez-les et réessayez."},
	http.StatusTooManyRequests:       {"Trop de requêtes", "Vous avez fait trop de demandes en peu de temps. Patientez un moment puis réessayez."},
	http.StatusInternalServerError:   {"Erreur interne", "Une erreur inattendue s'est produite. Elle a été enregistrée ; réessayez dans un moment et, si elle persiste, signalez-la avec la référence ci-dessous."},
	http.StatusServiceUnavailable:    {"Service indisponible", "Le service est momentanément indisponible (maintenance ou surcharge). Réessayez dans quelques minutes."},
	http.StatusGatewayTimeout:        {"Délai dépassé", "Le traitement a pris trop de temps. Réessayez dans un moment."},
}

// errorPage is the data of error.html.
type errorPage struct {
	Status           int
	Title, Message   string
	Detail           string // a French detail, when the handler gave one
	RequestID        string
	RetryAfterSecond string
}

// PageError is an error of a page handler with a French message for the
// person (shown on the error page); Err is logged, never shown.
type PageError struct {
	Status int
	Msg    string
	Err    error
}

func (e *PageError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}
func (e *PageError) Unwrap() error { return e.Err }

// renderErrorPageHTML is the renderErrorPage hook: browsers get a French
// page; a 401 sends them to the sign-in page, back here afterwards.
func (s *Server) renderErrorPageHTML(c echo.Context, p Problem, err error) error {
	if p.Status == http.StatusUnauthorized {
		req := c.Request()
		next := "/"
		if req.Method == http.MethodGet {
			next = SafeNext(req.URL.RequestURI())
		}
		if ae := auth.AuthError(c); errors.Is(ae, auth.ErrSessionExpired) || errors.Is(ae, auth.ErrSessionInvalid) {
			s.setFlash(c, "info", "Votre session a expiré : reconnectez-vous pour continuer.")
		}
		to := "/login"
		if next != "/" {
			to += "?next=" + url.QueryEscape(next)
		}
		if req.Header.Get("HX-Request") != "" {
			c.Response().Header().Set("HX-Redirect", to)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
	txt, ok := errorTexts[p.Status]
	if !ok {
		if p.Status >= 500 {
			txt = errorTexts[http.StatusInternalServerError]
		} else {
			txt = [2]string{"Demande refusée", "Cette demande n'a pas pu aboutir."}
		}
	}
	d := errorPage{Status: p.Status, Title: txt[0], Message: txt[1]}
	var pe *PageError
	if errors.As(err, &pe) && p.Status < 500 {
		d.Detail = pe.Msg
	}
	var se *service.Error
	if errors.As(err, &se) && p.Status < 500 {
		d.Detail = se.Fr // the use case's French sentence, if it has one
	}
	if p.Status >= 500 {
		d.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	}
	return s.page(c, p.Status, "error", d)
}
