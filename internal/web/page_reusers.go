package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/web/ui"
)

// The reusers' self-service under /developers (issue #13): sign-up with an
// e-mail check, sign-in by e-mail link, "Mon compte" (their keys, their
// usage), and the public limits and status pages. Every route is public in
// the route table: a reuser is not a staff principal. Its session is the
// civicflow_reuser cookie (Path /developers, HttpOnly, SameSite=Strict),
// which the staff authentication never reads, so a reuser reaches no
// staff page or API. Forms carry _rcsrf (derived from the reuser session)
// besides the staff _csrf of a staff member who happens to be signed in;
// the forms without a session (sign-up, sign-in, links) refuse requests
// that a browser says come from another site.

// reuserCookie is the reuser session cookie.
const reuserCookie = "civicflow_reuser"

// reuserCSRFField carries the reuser session's CSRF token.
const reuserCSRFField = "_rcsrf"

var reuserPageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/developers/inscription", Public: true},
	{Method: http.MethodPost, Path: "/developers/inscription", Public: true},
	{Method: http.MethodGet, Path: "/developers/verification", Public: true},
	{Method: http.MethodPost, Path: "/developers/verification", Public: true},
	{Method: http.MethodGet, Path: "/developers/connexion", Public: true},
	{Method: http.MethodPost, Path: "/developers/connexion", Public: true},
	{Method: http.MethodGet, Path: "/developers/connexion/lien", Public: true},
	{Method: http.MethodPost, Path: "/developers/connexion/lien", Public: true},
	{Method: http.MethodPost, Path: "/developers/deconnexion", Public: true},
	{Method: http.MethodGet, Path: "/developers/compte", Public: true},
	{Method: http.MethodPost, Path: "/developers/compte/cles", Public: true},
	{Method: http.MethodPost, Path: "/developers/compte/cles/:id/renouveler", Public: true},
	{Method: http.MethodPost, Path: "/developers/compte/cles/:id/revoquer", Public: true},
	{Method: http.MethodGet, Path: "/developers/compte/usage.csv", Public: true},
	{Method: http.MethodGet, Path: "/developers/limites", Public: true},
	{Method: http.MethodGet, Path: "/developers/statut", Public: true},
}

func init() {
	formPosts(reuserPageRoutes)
}

func (s *Server) registerReuserPages() {
	s.e.GET("/developers/inscription", s.reuserSignUpPage)
	s.e.POST("/developers/inscription", s.reuserSignUpSubmit)
	s.e.GET("/developers/verification", s.reuserLinkPage(true))
	s.e.POST("/developers/verification", s.reuserLinkSubmit(true))
	s.e.GET("/developers/connexion", s.reuserSignInPage)
	s.e.POST("/developers/connexion", s.reuserSignInSubmit)
	s.e.GET("/developers/connexion/lien", s.reuserLinkPage(false))
	s.e.POST("/developers/connexion/lien", s.reuserLinkSubmit(false))
	s.e.POST("/developers/deconnexion", s.reuserSignOut)
	s.e.GET("/developers/compte", s.reuserAccountPage)
	s.e.POST("/developers/compte/cles", s.reuserCreateKey)
	s.e.POST("/developers/compte/cles/:id/renouveler", s.reuserRotateKey)
	s.e.POST("/developers/compte/cles/:id/revoquer", s.reuserRevokeKey)
	s.e.GET("/developers/compte/usage.csv", s.reuserUsageCSV)
	s.e.GET("/developers/limites", s.reuserLimitsPage)
	s.e.GET("/developers/statut", s.reuserStatusPage)
}

// ---- session and CSRF ----

func (s *Server) setReuserCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{Name: reuserCookie, Value: token, Path: "/developers", MaxAge: int(service.ReuserSessionTTL / time.Second),
		HttpOnly: true, Secure: s.cfg.SecureCookies(), SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearReuserCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: reuserCookie, Value: "", Path: "/developers", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookies(), SameSite: http.SameSiteStrictMode})
}

func reuserSessionToken(c echo.Context) string {
	ck, err := c.Cookie(reuserCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

// currentReuser is the signed-in reuser, or ErrReuserSession.
func (s *Server) currentReuser(c echo.Context) (store.Reuser, string, error) {
	tok := reuserSessionToken(c)
	r, err := s.svc.ReuserFromSession(c.Request().Context(), tok)
	if errors.Is(err, service.ErrReuserSession) && tok != "" {
		s.clearReuserCookie(c)
	}
	return r, tok, err
}

var errReuserSignedOut = &PageError{Status: http.StatusForbidden, Msg: "Votre session de réutilisateur a expiré ou a pris fin : reconnectez-vous."}

// reuserRefused answers a refused reuser form: without a session (it
// expired, or the person signed out in another tab) to the sign-in page.
func (s *Server) reuserRefused(c echo.Context, err error) error {
	if errors.Is(err, errReuserSignedOut) {
		s.setFlash(c, "info", errReuserSignedOut.Msg)
		return c.Redirect(http.StatusSeeOther, "/developers/connexion")
	}
	return err
}

// reuserPost checks a state-changing request of a signed-in reuser: the
// session and its CSRF token.
func (s *Server) reuserPost(c echo.Context) (store.Reuser, error) {
	r, tok, err := s.currentReuser(c)
	if errors.Is(err, service.ErrReuserSession) {
		return r, errReuserSignedOut
	}
	if err != nil {
		return r, err
	}
	if err := checkSameOrigin(c, s.cfg.PublicURL); err != nil {
		return r, err
	}
	got := c.FormValue(reuserCSRFField)
	if subtle.ConstantTimeCompare([]byte(got), []byte(service.ReuserCSRF(tok))) != 1 {
		return r, &PageError{Status: http.StatusForbidden, Msg: "Le formulaire a expiré ou ne vient pas de ce site (jeton de sécurité absent ou faux). Rechargez la page et recommencez."}
	}
	return r, nil
}

// checkSameOrigin refuses a request that the browser says comes from
// another site (Sec-Fetch-Site, else Origin); requests without either
// header (non-browser clients) pass.
func checkSameOrigin(c echo.Context, publicURL string) error {
	req := c.Request()
	refuse := &PageError{Status: http.StatusForbidden, Msg: "Ce formulaire doit être envoyé depuis les pages de ce site."}
	if sfs := strings.ToLower(req.Header.Get("Sec-Fetch-Site")); sfs != "" {
		if sfs == "same-origin" || sfs == "none" {
			return nil
		}
		return refuse
	}
	o := req.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return refuse
	}
	if strings.EqualFold(u.Host, req.Host) {
		return nil
	}
	if p, err := url.Parse(publicURL); err == nil && p.Host != "" && strings.EqualFold(p.Scheme+"://"+p.Host, o) {
		return nil
	}
	return refuse
}

// ReuserFrame is what every reuser page shows around its content.
type ReuserFrame struct {
	Reuser *store.Reuser // signed in, or nil
	RCSRF  string
	// StaffCSRF is the staff session's CSRF field, for a staff member who
	// is signed in as well (the staff CSRF check guards every form post of
	// a staff session).
	StaffCSRF template.HTML
}

func (s *Server) reuserFrame(c echo.Context) ReuserFrame {
	r, tok, err := s.currentReuser(c)
	if err != nil {
		return ReuserFrame{}
	}
	return ReuserFrame{Reuser: &r, RCSRF: service.ReuserCSRF(tok), StaffCSRF: auth.CSRFHiddenInput(c)}
}

// fieldErrors maps a service error's problems to French messages per field.
func fieldErrors(err error) (map[string]string, string, bool) {
	var se *service.Error
	if !errors.As(err, &se) || se.Kind != service.Invalid {
		return nil, "", false
	}
	m := map[string]string{}
	for _, p := range se.Problems {
		msg := p.Fr
		if msg == "" {
			msg = p.Message
		}
		m[p.Field] = msg
	}
	msg := se.Fr
	if msg == "" {
		msg = "Les données envoyées ne sont pas valides."
	}
	return m, msg, true
}

// formText reads a form field, cut at max bytes (hostile sizes).
func formText(c echo.Context, name string, max int) string {
	v := c.FormValue(name)
	if len(v) > max {
		v = v[:max]
	}
	return v
}

// ---- sign-up ----

type reuserSignUpView struct {
	ReuserFrame
	Form   map[string]string
	Errors map[string]string
	Error  string
	Sent   bool
	Email  string
}

func (s *Server) reuserSignUpPage(c echo.Context) error {
	return s.page(c, http.StatusOK, "reuser_signup", reuserSignUpView{ReuserFrame: s.reuserFrame(c), Form: map[string]string{}})
}

func (s *Server) reuserSignUpSubmit(c echo.Context) error {
	if err := checkSameOrigin(c, s.cfg.PublicURL); err != nil {
		return err
	}
	in := service.ReuserSignUpInput{Name: formText(c, "name", 1000), Email: formText(c, "email", 1000),
		Organisation: formText(c, "organisation", 1000), IntendedUse: formText(c, "intended_use", 10000)}
	err := s.svc.ReuserSignUp(c.Request().Context(), caller(c), in)
	if fe, msg, ok := fieldErrors(err); ok {
		return s.page(c, http.StatusUnprocessableEntity, "reuser_signup", reuserSignUpView{ReuserFrame: s.reuserFrame(c), Errors: fe, Error: msg,
			Form: map[string]string{"name": in.Name, "email": in.Email, "organisation": in.Organisation, "intended_use": in.IntendedUse}})
	}
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "reuser_signup", reuserSignUpView{ReuserFrame: s.reuserFrame(c), Sent: true, Email: strings.TrimSpace(in.Email)})
}

// ---- sign-in ----

type reuserSignInView struct {
	ReuserFrame
	Email string
	Error string
	Sent  bool
}

func (s *Server) reuserSignInPage(c echo.Context) error {
	f := s.reuserFrame(c)
	if f.Reuser != nil {
		return c.Redirect(http.StatusSeeOther, "/developers/compte")
	}
	return s.page(c, http.StatusOK, "reuser_signin", reuserSignInView{ReuserFrame: f})
}

func (s *Server) reuserSignInSubmit(c echo.Context) error {
	if err := checkSameOrigin(c, s.cfg.PublicURL); err != nil {
		return err
	}
	email := formText(c, "email", 1000)
	err := s.svc.ReuserRequestSignIn(c.Request().Context(), caller(c), email)
	if fe, _, ok := fieldErrors(err); ok {
		return s.page(c, http.StatusUnprocessableEntity, "reuser_signin", reuserSignInView{ReuserFrame: s.reuserFrame(c), Email: email, Error: fe["email"]})
	}
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "reuser_signin", reuserSignInView{ReuserFrame: s.reuserFrame(c), Sent: true, Email: strings.TrimSpace(email)})
}

// ---- links: a page with a button (mail scanners that open links must not
// spend them), then the POST that spends the token ----

type reuserLinkView struct {
	ReuserFrame
	Verify bool
	Token  string
	Error  string
}

func (s *Server) reuserLinkPage(verify bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok := c.QueryParam("jeton")
		v := reuserLinkView{ReuserFrame: s.reuserFrame(c), Verify: verify, Token: tok}
		if tok == "" || len(tok) > 100 {
			v.Token, v.Error = "", "Ce lien est incomplet : copiez toute l'adresse reçue par courriel, ou demandez un nouveau lien."
			return s.page(c, http.StatusBadRequest, "reuser_link", v)
		}
		c.Response().Header().Set("Referrer-Policy", "no-referrer")
		return s.page(c, http.StatusOK, "reuser_link", v)
	}
}

func (s *Server) reuserLinkSubmit(verify bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := checkSameOrigin(c, s.cfg.PublicURL); err != nil {
			return err
		}
		tok := formText(c, "jeton", 200)
		var (
			session string
			err     error
		)
		if verify {
			session, _, err = s.svc.ReuserVerify(c.Request().Context(), caller(c), tok)
		} else {
			session, _, err = s.svc.ReuserSignIn(c.Request().Context(), caller(c), tok)
		}
		var se *service.Error
		if errors.As(err, &se) && se.Kind != 0 && StatusOfKind(se.Kind) < 500 {
			return s.page(c, StatusOfKind(se.Kind), "reuser_link", reuserLinkView{ReuserFrame: s.reuserFrame(c), Verify: verify, Error: se.Fr})
		}
		if err != nil {
			return err
		}
		s.setReuserCookie(c, session)
		if verify {
			s.setFlash(c, "success", "Votre adresse est confirmée : bienvenue ! Créez votre première clé d'API ci-dessous.")
		} else {
			s.setFlash(c, "success", "Vous êtes connecté à votre espace de réutilisateur.")
		}
		return c.Redirect(http.StatusSeeOther, "/developers/compte")
	}
}

func (s *Server) reuserSignOut(c echo.Context) error {
	if _, err := s.reuserPost(c); err != nil {
		return s.reuserRefused(c, err)
	}
	if err := s.svc.ReuserSignOut(c.Request().Context(), reuserSessionToken(c)); err != nil {
		return err
	}
	s.clearReuserCookie(c)
	s.setFlash(c, "info", "Vous êtes déconnecté de l'espace des réutilisateurs.")
	return c.Redirect(http.StatusSeeOther, "/developers/connexion")
}

// ---- Mon compte ----

type reuserKeyRow struct {
	store.APIKey
	State, StateClass string
}

type reuserAccountView struct {
	ReuserFrame
	Keys []reuserKeyRow
	// NewKey is a key just made or rotated: shown this once.
	NewKey, NewKeyName string
	Rotated            bool
	OldValidUntil      time.Time
	Overlap            string
	Error              string
	KeyName            string
	Days               int
	Chart              usageChart
	Plan               *store.APIPlan
}

func keyRows(ks []store.APIKey, now time.Time) []reuserKeyRow {
	out := make([]reuserKeyRow, 0, len(ks))
	for _, k := range ks {
		r := reuserKeyRow{APIKey: k, State: "active", StateClass: "badge-ok"}
		switch {
		case k.RevokedAt != nil:
			r.State, r.StateClass = "révoquée", "badge-ko"
		case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
			r.State, r.StateClass = "expirée", "badge-ko"
		case k.ReplacedBy != nil:
			r.State, r.StateClass = "renouvelée, valable jusqu'au "+formatFR(*k.ExpiresAt), "badge-warn"
		}
		out = append(out, r)
	}
	return out
}

func formatFR(t time.Time) string {
	return t.In(ui.Paris).Format("02/01/2006 à 15:04")
}

func (s *Server) reuserAccountView(c echo.Context, r store.Reuser, tok string) (reuserAccountView, error) {
	ctx := c.Request().Context()
	v := reuserAccountView{ReuserFrame: ReuserFrame{Reuser: &r, RCSRF: service.ReuserCSRF(tok), StaffCSRF: auth.CSRFHiddenInput(c)}, Days: 30, Overlap: "24 heures"}
	ks, err := s.svc.ReuserKeys(ctx, r)
	if err != nil {
		return v, err
	}
	v.Keys = keyRows(ks, time.Now())
	usage, err := s.svc.ReuserUsage(ctx, r, v.Days)
	if err != nil {
		return v, err
	}
	v.Chart = buildUsageChart(usage, time.Now().UTC(), v.Days)
	if p, err := s.store.APIPlan(ctx, store.PlanRegistered); err == nil {
		v.Plan = &p
	}
	return v, nil
}

func (s *Server) reuserAccountPage(c echo.Context) error {
	r, tok, err := s.currentReuser(c)
	if errors.Is(err, service.ErrReuserSession) {
		return c.Redirect(http.StatusSeeOther, "/developers/connexion")
	}
	if err != nil {
		return err
	}
	v, err := s.reuserAccountView(c, r, tok)
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "reuser_account", v)
}

// reuserKeyShown renders the account page with a key shown once (never
// cached, never in a redirect or a cookie).
func (s *Server) reuserKeyShown(c echo.Context, r store.Reuser, status int, mod func(*reuserAccountView)) error {
	v, err := s.reuserAccountView(c, r, reuserSessionToken(c))
	if err != nil {
		return err
	}
	mod(&v)
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.page(c, status, "reuser_account", v)
}

func (s *Server) reuserCreateKey(c echo.Context) error {
	r, err := s.reuserPost(c)
	if err != nil {
		return s.reuserRefused(c, err)
	}
	name := formText(c, "name", 1000)
	k, key, err := s.svc.ReuserCreateKey(c.Request().Context(), caller(c), r, name)
	var se *service.Error
	if errors.As(err, &se) && (se.Kind == service.Invalid || se.Kind == service.Conflict) {
		return s.reuserKeyShown(c, r, StatusOfKind(se.Kind), func(v *reuserAccountView) { v.Error, v.KeyName = se.Fr, name })
	}
	if err != nil {
		return err
	}
	return s.reuserKeyShown(c, r, http.StatusCreated, func(v *reuserAccountView) { v.NewKey, v.NewKeyName = key, k.Name })
}

func (s *Server) reuserRotateKey(c echo.Context) error {
	r, err := s.reuserPost(c)
	if err != nil {
		return s.reuserRefused(c, err)
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	k, key, until, err := s.svc.ReuserRotateKey(c.Request().Context(), caller(c), r, id)
	if err != nil {
		return err
	}
	return s.reuserKeyShown(c, r, http.StatusCreated, func(v *reuserAccountView) {
		v.NewKey, v.NewKeyName, v.Rotated, v.OldValidUntil = key, k.Name, true, until
	})
}

func (s *Server) reuserRevokeKey(c echo.Context) error {
	r, err := s.reuserPost(c)
	if err != nil {
		return s.reuserRefused(c, err)
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	k, err := s.svc.ReuserRevokeKey(c.Request().Context(), caller(c), r, id)
	if err != nil {
		return err
	}
	if s.gw != nil {
		s.gw.Forget()
	}
	s.setFlash(c, "success", "La clé « "+k.Name+" » ("+k.Prefix+"…) est révoquée : elle ne fonctionne plus.")
	return c.Redirect(http.StatusSeeOther, "/developers/compte")
}

func (s *Server) reuserUsageCSV(c echo.Context) error {
	r, _, err := s.currentReuser(c)
	if errors.Is(err, service.ErrReuserSession) {
		return c.Redirect(http.StatusSeeOther, "/developers/connexion")
	}
	if err != nil {
		return err
	}
	days := 30
	if v := c.QueryParam("jours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			return &PageError{Status: http.StatusBadRequest, Msg: "Le nombre de jours va de 1 à 366."}
		}
		days = n
	}
	var b strings.Builder
	if err := s.svc.ReuserUsageCSV(c.Request().Context(), r, days, &b); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="mon-usage-api.csv"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

// ---- limits and status (public, DINUM R10–R12) ----

type reuserLimitsView struct {
	ReuserFrame
	Plans []store.APIPlan
}

func (s *Server) reuserLimitsPage(c echo.Context) error {
	ps, err := s.svc.PublicAPIPlans(c.Request().Context())
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "reuser_limits", reuserLimitsView{ReuserFrame: s.reuserFrame(c), Plans: ps})
}

type reuserStatusView struct {
	ReuserFrame
	Status    service.APIStatus
	Day, Week []latencyRow
	Measured  time.Time
}

type latencyRow struct {
	Endpoint, Median, P95 string
	Calls, Errors         int64
}

func latencyRows(ls []store.EndpointLatency) []latencyRow {
	out := make([]latencyRow, 0, len(ls))
	for _, l := range ls {
		out = append(out, latencyRow{Endpoint: l.Endpoint, Median: msOf(l.MedianUS), P95: msOf(l.P95US), Calls: l.Calls, Errors: l.Errors})
	}
	return out
}

// statusCache keeps the status page's last measure for statusTTL when it
// was costly (a large usage log): the page is public, and its percentiles
// read a week of calls. One entry: one server per process.
var statusCache struct {
	sync.Mutex
	srv *Server
	at  time.Time
	st  service.APIStatus
}

const (
	statusTTL    = 30 * time.Second
	statusCostly = 100 * time.Millisecond
)

func (s *Server) apiStatus(c echo.Context) (service.APIStatus, time.Time, error) {
	statusCache.Lock()
	defer statusCache.Unlock() // one measure at a time; the others wait for it
	now := time.Now()
	if statusCache.srv == s && now.Sub(statusCache.at) < statusTTL {
		return statusCache.st, statusCache.at, nil
	}
	st, err := s.svc.PublicAPIStatus(c.Request().Context(), now)
	if err != nil {
		return st, now, err
	}
	if time.Since(now) >= statusCostly {
		statusCache.srv, statusCache.at, statusCache.st = s, now, st
	}
	return st, now, nil
}

func (s *Server) reuserStatusPage(c echo.Context) error {
	st, now, err := s.apiStatus(c)
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "reuser_status", reuserStatusView{ReuserFrame: s.reuserFrame(c), Status: st, Day: latencyRows(st.Day), Week: latencyRows(st.Week), Measured: now})
}

// ---- usage charts (SVG drawn by the template; no script) ----

// usageChart is the calls per day (vertical bars) and per dataset
// (horizontal bars) of a period.
type usageChart struct {
	Days      []dayBar
	Datasets  []labelBar
	Total     int64
	Errors    int64
	Max       int64
	Height    int
	DSHeight  int
	FirstDay  time.Time
	LastDay   time.Time
	HasCalls  bool
	AxisLabel string
}

type dayBar struct {
	Day                string
	Date               time.Time
	Calls              int64
	X, Y, W, H, LabelY float64
}

type labelBar struct {
	Label                       string
	Href                        string
	Calls, Errors               int64
	RectY, TextY, Width, ValueX int
}

// buildUsageChart lays out the last n days ending today (UTC).
func buildUsageChart(rows []store.UsageDay, today time.Time, n int) usageChart {
	perDay := map[string]int64{}
	perDS := map[string][2]int64{}
	ch := usageChart{Height: 200}
	for _, r := range rows {
		perDay[r.Day] += r.Calls
		v := perDS[r.Dataset]
		v[0] += r.Calls
		v[1] += r.Errors
		perDS[r.Dataset] = v
		ch.Total += r.Calls
		ch.Errors += r.Errors
	}
	ch.HasCalls = ch.Total > 0
	first := today.Truncate(24*time.Hour).AddDate(0, 0, -n+1)
	for i := 0; i < n; i++ {
		t := first.AddDate(0, 0, i)
		d := t.Format(time.DateOnly)
		ch.Days = append(ch.Days, dayBar{Day: d, Date: t.Add(12 * time.Hour), Calls: perDay[d]})
		if perDay[d] > ch.Max {
			ch.Max = perDay[d]
		}
	}
	if len(ch.Days) > 0 {
		ch.FirstDay, ch.LastDay = ch.Days[0].Date, ch.Days[len(ch.Days)-1].Date
	}
	const plotH, top = 160.0, 10.0
	w := 620.0 / float64(max(n, 1))
	for i := range ch.Days {
		b := &ch.Days[i]
		h := 0.0
		if ch.Max > 0 {
			h = plotH * float64(b.Calls) / float64(ch.Max)
		}
		if b.Calls > 0 && h < 2 {
			h = 2
		}
		b.X, b.W, b.H = 10+float64(i)*w+w*0.1, w*0.8, h
		b.Y = top + plotH - h
		b.LabelY = top + plotH + 16
	}
	type ds struct {
		name          string
		calls, errors int64
	}
	var list []ds
	for k, v := range perDS {
		list = append(list, ds{k, v[0], v[1]})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].calls != list[j].calls {
			return list[i].calls > list[j].calls
		}
		return list[i].name < list[j].name
	})
	if len(list) > 15 {
		list = list[:15]
	}
	var dsMax int64
	for _, d := range list {
		dsMax = max(dsMax, d.calls)
	}
	for i, d := range list {
		label := d.name
		if label == "" {
			label = "(catalogue, hors jeu de données)"
		}
		width := 0
		if dsMax > 0 {
			width = int(360 * d.calls / dsMax)
		}
		ch.Datasets = append(ch.Datasets, labelBar{Label: label, Calls: d.calls, Errors: d.errors, RectY: i*26 + 4, TextY: i*26 + 18, Width: width, ValueX: 230 + width + 6})
	}
	ch.DSHeight = len(list)*26 + 8
	return ch
}

// msOf formats microseconds as French milliseconds.
func msOf(us int64) string {
	return strings.Replace(fmt.Sprintf("%.1f", float64(us)/1000), ".", ",", 1)
}
