package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// The public API's staff pages under /admin/api (issue #13; the admin
// role, apikeys write): reusers and their keys (prefixes only), plans and
// their limits, usage analytics with filters and the CSV export (the
// /api/v1/apiusage/export.csv route).

var adminAPIPageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/admin/api", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: "/admin/api/reutilisateurs/:id", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPost, Path: "/admin/api/reutilisateurs/:id/verifier", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPost, Path: "/admin/api/reutilisateurs/:id/suspendre", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPost, Path: "/admin/api/reutilisateurs/:id/retablir", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPost, Path: "/admin/api/cles/:id/revoquer", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: "/admin/api/offres", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: "/admin/api/offres/:id", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPost, Path: "/admin/api/offres/:id", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: "/admin/api/usage", Obj: "apikeys", Act: "write"},
}

func init() {
	formPosts(adminAPIPageRoutes)
}

func (s *Server) registerAdminAPIPages() {
	s.e.GET("/admin/api", s.adminReusersPage)
	s.e.GET("/admin/api/reutilisateurs/:id", s.adminReuserPage)
	s.e.POST("/admin/api/reutilisateurs/:id/verifier", s.adminVerifyReuser)
	s.e.POST("/admin/api/reutilisateurs/:id/suspendre", s.adminSuspendReuser(true))
	s.e.POST("/admin/api/reutilisateurs/:id/retablir", s.adminSuspendReuser(false))
	s.e.POST("/admin/api/cles/:id/revoquer", s.adminRevokeKey)
	s.e.GET("/admin/api/offres", s.adminPlansPage)
	s.e.GET("/admin/api/offres/:id", s.adminPlanPage)
	s.e.POST("/admin/api/offres/:id", s.adminPlanSubmit)
	s.e.GET("/admin/api/usage", s.adminUsagePage)
}

// apiTab is the sub-navigation of the API's staff pages.
type apiTab struct {
	Label, Href string
	Current     bool
}

func apiTabs(current string) []apiTab {
	var out []apiTab
	for _, t := range [][2]string{{"Réutilisateurs", "/admin/api"}, {"Offres et limites", "/admin/api/offres"}, {"Usage", "/admin/api/usage"}} {
		out = append(out, apiTab{Label: t[0], Href: t[1], Current: t[1] == current})
	}
	return out
}

// ---- reusers ----

type adminReusersView struct {
	Tabs    []adminTab
	APITabs []apiTab
	Reusers []store.Reuser
}

func (s *Server) adminReusersPage(c echo.Context) error {
	rs, err := s.svc.ListReusers(c.Request().Context(), caller(c))
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "admin_api_reusers", adminReusersView{Tabs: s.adminTabs(c, "/admin/api"), APITabs: apiTabs("/admin/api"), Reusers: rs})
}

type adminReuserView struct {
	Tabs    []adminTab
	APITabs []apiTab
	Reuser  store.Reuser
	Keys    []reuserKeyRow
	Usage   usageChart
}

func (s *Server) adminReuserPage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, ks, err := s.svc.ReuserDetail(ctx, caller(c), id)
	if err != nil {
		return err
	}
	days, err := s.svc.APIUsageByDay(ctx, caller(c), service.UsageQuery{Consumer: id, From: time.Now().UTC().AddDate(0, 0, -29).Truncate(24 * time.Hour)})
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "admin_api_reuser", adminReuserView{Tabs: s.adminTabs(c, "/admin/api"), APITabs: apiTabs("/admin/api"),
		Reuser: r, Keys: keyRows(ks, time.Now()), Usage: buildUsageChart(days, time.Now().UTC(), 30)})
}

func (s *Server) adminVerifyReuser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.svc.StaffVerifyReuser(c.Request().Context(), caller(c), id); err != nil {
		return err
	}
	s.setFlash(c, "success", "L'adresse du réutilisateur est marquée comme vérifiée.")
	return c.Redirect(http.StatusSeeOther, "/admin/api/reutilisateurs/"+strconv.FormatInt(id, 10))
}

func (s *Server) adminSuspendReuser(suspend bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		n, err := s.svc.SetReuserSuspended(c.Request().Context(), caller(c), id, suspend)
		if err != nil {
			return err
		}
		if s.gw != nil {
			s.gw.Forget()
		}
		if suspend {
			s.setFlash(c, "success", "Le réutilisateur est suspendu : "+countFR(n, "clé révoquée", "clés révoquées")+", ses sessions sont fermées.")
		} else {
			s.setFlash(c, "success", "La suspension est levée : le réutilisateur peut se reconnecter et créer de nouvelles clés.")
		}
		return c.Redirect(http.StatusSeeOther, "/admin/api/reutilisateurs/"+strconv.FormatInt(id, 10))
	}
}

func countFR(n int, one, many string) string {
	if n <= 1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}

func (s *Server) adminRevokeKey(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	k, err := s.svc.RevokeAPIKey(c.Request().Context(), caller(c), id)
	if err != nil {
		return err
	}
	if s.gw != nil {
		s.gw.Forget()
	}
	s.setFlash(c, "success", "La clé "+k.Prefix+"… est révoquée.")
	if k.ConsumerID != nil {
		return c.Redirect(http.StatusSeeOther, "/admin/api/reutilisateurs/"+strconv.FormatInt(*k.ConsumerID, 10))
	}
	return c.Redirect(http.StatusSeeOther, "/admin/api")
}

// ---- plans ----

type adminPlansView struct {
	Tabs    []adminTab
	APITabs []apiTab
	Plans   []store.APIPlan
}

func (s *Server) adminPlansPage(c echo.Context) error {
	ps, err := s.svc.ListAPIPlans(c.Request().Context(), caller(c))
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "admin_api_plans", adminPlansView{Tabs: s.adminTabs(c, "/admin/api"), APITabs: apiTabs("/admin/api/offres"), Plans: ps})
}

type adminPlanView struct {
	Tabs    []adminTab
	APITabs []apiTab
	ID      string
	Form    map[string]string
	Errors  map[string]string
	Error   string
}

func planForm(p store.APIPlan) map[string]string {
	return map[string]string{"label": p.Label, "rate": strconv.FormatFloat(p.RatePerSecond, 'f', -1, 64), "burst": strconv.Itoa(p.Burst),
		"per_day": strconv.FormatInt(p.PerDay, 10), "per_month": strconv.FormatInt(p.PerMonth, 10)}
}

func (s *Server) adminPlan(c echo.Context) (store.APIPlan, error) {
	ps, err := s.svc.ListAPIPlans(c.Request().Context(), caller(c))
	if err != nil {
		return store.APIPlan{}, err
	}
	for _, p := range ps {
		if p.ID == c.Param("id") {
			return p, nil
		}
	}
	return store.APIPlan{}, &PageError{Status: http.StatusNotFound, Msg: "Cette offre n'existe pas."}
}

func (s *Server) adminPlanPage(c echo.Context) error {
	p, err := s.adminPlan(c)
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "admin_api_plan", adminPlanView{Tabs: s.adminTabs(c, "/admin/api"), APITabs: apiTabs("/admin/api/offres"), ID: p.ID, Form: planForm(p), Errors: map[string]string{}})
}

// planNumbers are the plan form's numeric fields, read in French or
// English notation ("2,5", "1 000").
var planNumbers = []struct{ field, problem, fr string }{
	{"rate", "ratePerSecond", "Un nombre d'appels par seconde (0 = sans limite), par exemple 50 ou 2,5."},
	{"burst", "burst", "Un nombre entier d'appels."},
	{"per_day", "perDay", "Un nombre entier d'appels (0 = sans quota)."},
	{"per_month", "perMonth", "Un nombre entier d'appels (0 = sans quota)."},
}

func parseFRNumber(v string, integer bool) (float64, bool) {
	v = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "").Replace(strings.TrimSpace(v))
	v = strings.Replace(v, ",", ".", 1)
	if v == "" || len(v) > 30 {
		return 0, false
	}
	if integer {
		n, err := strconv.ParseInt(v, 10, 64)
		return float64(n), err == nil
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil && f == f
}

func (s *Server) adminPlanSubmit(c echo.Context) error {
	p, err := s.adminPlan(c)
	if err != nil {
		return err
	}
	form := map[string]string{"label": formText(c, "label", 1000)}
	errs := map[string]string{}
	vals := map[string]float64{}
	for _, n := range planNumbers {
		raw := formText(c, n.field, 100)
		form[n.field] = raw
		v, ok := parseFRNumber(raw, n.field != "rate")
		if !ok {
			errs[n.field] = n.fr
		}
		vals[n.field] = v
	}
	view := adminPlanView{Tabs: s.adminTabs(c, "/admin/api"), APITabs: apiTabs("/admin/api/offres"), ID: p.ID, Form: form, Errors: errs}
	if len(errs) > 0 {
		view.Error = "L'offre n'est pas valide : corrigez les champs signalés."
		return s.page(c, http.StatusUnprocessableEntity, "admin_api_plan", view)
	}
	if vals["burst"] > 1e9 || vals["per_day"] > 1e15 || vals["per_month"] > 1e15 {
		errs["burst"] = "Valeur trop grande."
		view.Error = "L'offre n'est pas valide : corrigez les champs signalés."
		return s.page(c, http.StatusUnprocessableEntity, "admin_api_plan", view)
	}
	in := service.APIPlanInput{ID: p.ID, Label: form["label"], RatePerSecond: vals["rate"], Burst: int(vals["burst"]), PerDay: int64(vals["per_day"]), PerMonth: int64(vals["per_month"])}
	_, err = s.svc.UpdateAPIPlan(c.Request().Context(), caller(c), p.ID, in)
	if fe, msg, ok := fieldErrors(err); ok {
		back := map[string]string{"label": "label", "ratePerSecond": "rate", "burst": "burst", "perDay": "per_day", "perMonth": "per_month", "id": "label"}
		for f, m := range fe {
			errs[back[f]] = m
		}
		view.Error = msg
		return s.page(c, http.StatusUnprocessableEntity, "admin_api_plan", view)
	}
	if err != nil {
		return err
	}
	s.setFlash(c, "success", "L'offre « "+in.Label+" » est enregistrée : ses limites s'appliquent dans la seconde.")
	return c.Redirect(http.StatusSeeOther, "/admin/api/offres")
}

// ---- usage analytics ----

type adminUsageView struct {
	Tabs      []adminTab
	APITabs   []apiTab
	From, To  string
	Dataset   string
	Consumer  int64
	Reusers   []store.Reuser
	Errors    map[string]string
	Chart     usageChart
	Consumers []labelBar
	ConsH     int
	ExportURL string
}

func (s *Server) adminUsagePage(c echo.Context) error {
	ctx := c.Request().Context()
	now := time.Now().UTC()
	v := adminUsageView{Tabs: s.adminTabs(c, "/admin/api"), APITabs: apiTabs("/admin/api/usage"), Errors: map[string]string{},
		From: now.AddDate(0, 0, -29).Format(time.DateOnly), To: now.Format(time.DateOnly)}
	if x := c.QueryParam("du"); x != "" {
		v.From = x
	}
	if x := c.QueryParam("au"); x != "" {
		v.To = x
	}
	v.Dataset = strings.TrimSpace(formText(c, "jeu", 200))
	from, errF := time.Parse(time.DateOnly, v.From)
	to, errT := time.Parse(time.DateOnly, v.To)
	if errF != nil || len(v.From) > 10 {
		v.Errors["du"] = "Une date au format AAAA-MM-JJ."
	}
	if errT != nil || len(v.To) > 10 {
		v.Errors["au"] = "Une date au format AAAA-MM-JJ."
	}
	if errF == nil && errT == nil && to.Before(from) {
		v.Errors["au"] = "La date de fin doit suivre la date de début."
	}
	if errF == nil && errT == nil && to.Sub(from) > 366*24*time.Hour {
		v.Errors["du"] = "Une période d'un an au plus."
	}
	if x := c.QueryParam("reutilisateur"); x != "" {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil || n <= 0 {
			v.Errors["reutilisateur"] = "Choisissez un réutilisateur de la liste."
		} else {
			v.Consumer = n
		}
	}
	rs, err := s.svc.ListReusers(ctx, caller(c))
	if err != nil {
		return err
	}
	v.Reusers = rs
	if len(v.Errors) > 0 {
		return s.page(c, http.StatusBadRequest, "admin_api_usage", v)
	}
	q := service.UsageQuery{Consumer: v.Consumer, Dataset: v.Dataset, From: from, To: to.AddDate(0, 0, 1), Limit: 10000}
	days, err := s.svc.APIUsageByDay(ctx, caller(c), q)
	if err != nil {
		return err
	}
	n := int(to.Sub(from)/(24*time.Hour)) + 1
	v.Chart = buildUsageChart(days, to, n)
	cons, err := s.svc.APIUsageByConsumer(ctx, caller(c), q)
	if err != nil {
		return err
	}
	var cmax int64
	for _, u := range cons {
		cmax = max(cmax, u.Calls)
	}
	for i, u := range cons {
		if i >= 15 {
			break
		}
		label, href := u.Name, "/admin/api/reutilisateurs/"+strconv.FormatInt(u.ConsumerID, 10)
		if u.ConsumerID == 0 {
			label, href = "(anonymes et clés sans compte)", ""
		}
		w := 0
		if cmax > 0 {
			w = int(360 * u.Calls / cmax)
		}
		v.Consumers = append(v.Consumers, labelBar{Label: label, Href: href, Calls: u.Calls, Errors: u.Errors, RectY: i*26 + 4, TextY: i*26 + 18, Width: w, ValueX: 230 + w + 6})
	}
	v.ConsH = len(v.Consumers)*26 + 8
	ex := url.Values{"from": {v.From}, "to": {v.To}}
	if v.Dataset != "" {
		ex.Set("dataset", v.Dataset)
	}
	if v.Consumer > 0 {
		ex.Set("consumer", strconv.FormatInt(v.Consumer, 10))
	}
	v.ExportURL = "/api/v1/apiusage/export.csv?" + ex.Encode()
	return s.page(c, http.StatusOK, "admin_api_usage", v)
}
