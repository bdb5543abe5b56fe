package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/web/ui"
)

// The administration pages (/admin: accounts, roles, departments,
// delegations, permission rules) and the audit log (/audit). Each is the
// face of a JSON route and has the same permission; every change goes
// through the auth service, which validates, acts and audits.

var adminPageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/admin", Obj: "users", Act: "read"},
	{Method: http.MethodPost, Path: "/admin/users", Obj: "users", Act: "admin"},
	{Method: http.MethodGet, Path: "/admin/users/:id", Obj: "users", Act: "read"},
	{Method: http.MethodPost, Path: "/admin/users/:id", Obj: "users", Act: "admin"},
	{Method: http.MethodPost, Path: "/admin/users/:id/roles", Obj: "users", Act: "admin"},
	{Method: http.MethodPost, Path: "/admin/users/:id/roles/delete", Obj: "users", Act: "admin"},
	{Method: http.MethodGet, Path: "/admin/departments", Obj: "departments", Act: "read"},
	{Method: http.MethodPost, Path: "/admin/departments", Obj: "departments", Act: "admin"},
	{Method: http.MethodGet, Path: "/admin/delegations", Obj: auth.Authenticated, Act: "read"},
	{Method: http.MethodPost, Path: "/admin/delegations", Obj: "delegations", Act: "create"},
	{Method: http.MethodPost, Path: "/admin/delegations/:id/revoke", Obj: auth.Authenticated, Act: "write"},
	{Method: http.MethodGet, Path: "/admin/policies", Obj: "policies", Act: "read"},
	{Method: http.MethodPost, Path: "/admin/policies", Obj: "policies", Act: "admin"},
	{Method: http.MethodPost, Path: "/admin/policies/delete", Obj: "policies", Act: "admin"},
	{Method: http.MethodGet, Path: "/audit", Obj: "audit", Act: "read"},
	{Method: http.MethodGet, Path: "/audit/export", Obj: "audit", Act: "read"},
	{Method: http.MethodGet, Path: "/audit/verify", Obj: "audit", Act: "read"},
}

func init() {
	formPosts(adminPageRoutes)
}

func (s *Server) registerAdminPages() {
	s.e.GET("/admin", s.adminUsersPage)
	s.e.POST("/admin/users", s.adminCreateUser)
	s.e.GET("/admin/users/:id", s.adminUserPage)
	s.e.POST("/admin/users/:id", s.adminUpdateUser)
	s.e.POST("/admin/users/:id/roles", s.adminGrant)
	s.e.POST("/admin/users/:id/roles/delete", s.adminRevoke)
	s.e.GET("/admin/departments", s.adminDepartmentsPage)
	s.e.POST("/admin/departments", s.adminCreateDepartment)
	s.e.GET("/admin/delegations", s.adminDelegationsPage)
	s.e.POST("/admin/delegations", s.adminCreateDelegation)
	s.e.POST("/admin/delegations/:id/revoke", s.adminRevokeDelegation)
	s.e.GET("/admin/policies", s.adminPoliciesPage)
	s.e.POST("/admin/policies", s.adminAddPolicy)
	s.e.POST("/admin/policies/delete", s.adminRemovePolicy)
	s.e.GET("/audit", s.auditPage)
	s.e.GET("/audit/export", s.auditExport)
	s.e.GET("/audit/verify", s.auditVerifyPage)
}

// formError is the French message of a refused change: the service's own,
// else a general sentence; errors that are not the person's (database…) go on
// to the error page.
func formError(err error) (string, bool) {
	if auth.HTTPStatus(err) == 0 && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		return "", false
	}
	if m := auth.MessageFR(err); m != "" {
		return upperFirst(m) + ".", true
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		return "Cet élément existe déjà ou a changé entre-temps.", true
	case errors.Is(err, store.ErrNotFound):
		return "Cet élément n'existe pas (ou plus).", true
	}
	return "Les données envoyées ne sont pas valides.", true
}

func upperFirst(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// adminTab is an entry of the administration's sub-navigation.
type adminTab struct {
	Label, Href string
	Current     bool
}

func (s *Server) adminTabs(c echo.Context, current string) []adminTab {
	p := auth.PrincipalFrom(c)
	var out []adminTab
	for _, t := range []struct{ label, href string }{
		{"Utilisateurs", "/admin"}, {"Directions", "/admin/departments"}, {"Délégations", "/admin/delegations"}, {"Règles d'accès", "/admin/policies"}, {"API publique", "/admin/api"},
	} {
		if s.mayCall(c, p, "GET "+t.href) {
			out = append(out, adminTab{Label: t.label, Href: t.href, Current: t.href == current})
		}
	}
	return out
}

// ---- users ----

type adminUsersView struct {
	Tabs        []adminTab
	Users       []auth.UserWithRoles
	Departments []store.Department
	Roles       []string
	Error       string
	Form        map[string]string
}

func (s *Server) adminUsersView(c echo.Context) (adminUsersView, error) {
	ctx := c.Request().Context()
	us, err := s.Auth().UsersWithRoles(ctx)
	if err != nil {
		return adminUsersView{}, err
	}
	ds, err := s.store.Departments(ctx)
	if err != nil {
		return adminUsersView{}, err
	}
	return adminUsersView{Tabs: s.adminTabs(c, "/admin"), Users: us, Departments: ds, Roles: auth.Roles, Form: map[string]string{}}, nil
}

// adminUsersPage: GET /admin lists the accounts, with a form to create one.
func (s *Server) adminUsersPage(c echo.Context) error {
	v, err := s.adminUsersView(c)
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "admin_users", v)
}

// adminCreateUser: POST /admin/users (username, display_name, email,
// password?, role?, department?).
func (s *Server) adminCreateUser(c echo.Context) error {
	nu := auth.NewUser{Username: c.FormValue("username"), DisplayName: c.FormValue("display_name"), Email: c.FormValue("email"), Password: c.FormValue("password")}
	var roles []auth.Membership
	if r := c.FormValue("role"); r != "" {
		roles = append(roles, auth.Membership{Role: r, Department: c.FormValue("department")})
	}
	u, err := s.Auth().CreateUserWithRoles(c.Request().Context(), auth.PrincipalFrom(c), nu, roles, c.RealIP())
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		v, verr := s.adminUsersView(c)
		if verr != nil {
			return verr
		}
		v.Error = msg
		v.Form = map[string]string{"username": nu.Username, "display_name": nu.DisplayName, "email": nu.Email, "role": c.FormValue("role"), "department": c.FormValue("department")}
		return s.page(c, http.StatusUnprocessableEntity, "admin_users", v)
	}
	s.setFlash(c, "success", "Le compte « "+u.Username+" » a été créé.")
	return c.Redirect(http.StatusSeeOther, "/admin/users/"+strconv.FormatInt(u.ID, 10))
}

type adminUserView struct {
	Tabs        []adminTab
	User        auth.UserWithRoles
	Departments []store.Department
	Roles       []string
	Self        bool
	Error       string
}

func (s *Server) adminUserPageWith(c echo.Context, status int, msg string) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.Auth().UserWithRolesByID(ctx, id)
	if err != nil {
		return err
	}
	ds, err := s.store.Departments(ctx)
	if err != nil {
		return err
	}
	v := adminUserView{Tabs: s.adminTabs(c, "/admin"), User: u, Departments: ds, Roles: auth.Roles, Self: id == auth.PrincipalFrom(c).UserID, Error: msg}
	return s.page(c, status, "admin_user", v)
}

// adminUserPage: GET /admin/users/{id}: profile, roles, password reset, disabling.
func (s *Server) adminUserPage(c echo.Context) error {
	return s.adminUserPageWith(c, http.StatusOK, "")
}

// adminChange runs a change of the user page; a refusal shows the page
// again with the French reason, a success goes back to it with flash.
func (s *Server) adminChange(c echo.Context, flash string, do func(id int64) error) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := do(id); err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		return s.adminUserPageWith(c, statusOr(err, http.StatusUnprocessableEntity), msg)
	}
	s.setFlash(c, "success", flash)
	return c.Redirect(http.StatusSeeOther, "/admin/users/"+strconv.FormatInt(id, 10))
}

// adminUpdateUser: POST /admin/users/{id} with op = profile (display_name,
// email), password (password), disable or enable.
func (s *Server) adminUpdateUser(c echo.Context) error {
	var ch auth.UserChange
	flash := ""
	switch c.FormValue("op") {
	case "profile":
		name, email := c.FormValue("display_name"), c.FormValue("email")
		ch.DisplayName, ch.Email = &name, &email
		flash = "Le profil a été enregistré."
	case "password":
		pw := c.FormValue("password")
		ch.Password = &pw
		flash = "Le mot de passe a été réinitialisé ; les sessions et jetons du compte ont été fermés."
	case "disable", "enable":
		d := c.FormValue("op") == "disable"
		ch.Disabled = &d
		flash = "Le compte a été réactivé."
		if d {
			flash = "Le compte a été désactivé ; ses sessions et jetons ont été fermés."
		}
	default:
		return &PageError{Status: http.StatusBadRequest, Msg: "Action inconnue sur ce compte."}
	}
	return s.adminChange(c, flash, func(id int64) error {
		return s.Auth().UpdateUser(c.Request().Context(), auth.PrincipalFrom(c), id, ch, c.RealIP())
	})
}

// adminGrant: POST /admin/users/{id}/roles (role, department).
func (s *Server) adminGrant(c echo.Context) error {
	role, dept := c.FormValue("role"), c.FormValue("department")
	return s.adminChange(c, "Le rôle a été attribué.", func(id int64) error {
		return s.Auth().GrantRole(c.Request().Context(), auth.PrincipalFrom(c), id, role, dept, c.RealIP())
	})
}

// adminRevoke: POST /admin/users/{id}/roles/delete (role, department).
func (s *Server) adminRevoke(c echo.Context) error {
	role, dept := c.FormValue("role"), c.FormValue("department")
	return s.adminChange(c, "Le rôle a été retiré.", func(id int64) error {
		return s.Auth().RevokeRole(c.Request().Context(), auth.PrincipalFrom(c), id, role, dept, c.RealIP())
	})
}

// ---- departments ----

type adminDepartmentsView struct {
	Tabs        []adminTab
	Departments []store.Department
	CanCreate   bool
	Error       string
	Form        map[string]string
}

func (s *Server) adminDepartmentsWith(c echo.Context, status int, msg string, form map[string]string) error {
	ds, err := s.store.Departments(c.Request().Context())
	if err != nil {
		return err
	}
	v := adminDepartmentsView{Tabs: s.adminTabs(c, "/admin/departments"), Departments: ds, Error: msg, Form: form,
		CanCreate: s.mayCall(c, auth.PrincipalFrom(c), "POST /admin/departments")}
	return s.page(c, status, "admin_departments", v)
}

// adminDepartmentsPage: GET /admin/departments.
func (s *Server) adminDepartmentsPage(c echo.Context) error {
	return s.adminDepartmentsWith(c, http.StatusOK, "", map[string]string{})
}

// adminCreateDepartment: POST /admin/departments (slug, name).
func (s *Server) adminCreateDepartment(c echo.Context) error {
	slug, name := c.FormValue("slug"), c.FormValue("name")
	d, err := s.Auth().CreateDepartment(c.Request().Context(), auth.PrincipalFrom(c), slug, name, c.RealIP())
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		return s.adminDepartmentsWith(c, statusOr(err, http.StatusUnprocessableEntity), msg, map[string]string{"slug": slug, "name": name})
	}
	s.setFlash(c, "success", "La direction « "+d.Name+" » a été créée.")
	return c.Redirect(http.StatusSeeOther, "/admin/departments")
}

// ---- delegations ----

type adminDelegationsView struct {
	Tabs        []adminTab
	Delegations []store.Delegation
	Now         time.Time
	CanCreate   bool
	IsAdmin     bool
	Roles       []auth.Membership // the roles the person may lend (their own)
	Error       string
	Form        map[string]string
}

func (s *Server) adminDelegationsWith(c echo.Context, status int, msg string, form map[string]string) error {
	ctx := c.Request().Context()
	p := auth.PrincipalFrom(c)
	ds, err := s.Auth().DelegationsFor(ctx, p, false)
	if err != nil {
		return err
	}
	v := adminDelegationsView{Tabs: s.adminTabs(c, "/admin/delegations"), Delegations: ds, Now: time.Now(), Roles: p.Memberships,
		CanCreate: s.mayCall(c, p, "POST /admin/delegations"), IsAdmin: s.Auth().Allowed(ctx, p, auth.AllDepartments, "delegations", "admin"),
		Error: msg, Form: form}
	return s.page(c, status, "admin_delegations", v)
}

// adminDelegationsPage: GET /admin/delegations: the delegations the person
// gave or received (all of them for an administrator).
func (s *Server) adminDelegationsPage(c echo.Context) error {
	return s.adminDelegationsWith(c, http.StatusOK, "", map[string]string{})
}

// parseFormDate reads a date field (YYYY-MM-DD, Paris time); end dates
// count to the end of the day.
func parseFormDate(v string, end bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.ParseInLocation("2006-01-02", v, ui.Paris)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}

// adminCreateDelegation: POST /admin/delegations (delegate, role as
// "role@department", from, until, reason, delegator? for administrators).
func (s *Server) adminCreateDelegation(c echo.Context) error {
	form := map[string]string{}
	for _, k := range []string{"delegator", "delegate", "group", "from", "until", "reason"} {
		form[k] = c.FormValue(k)
	}
	role, dept, _ := strings.Cut(form["group"], "@")
	from, ok1 := parseFormDate(form["from"], false)
	until, ok2 := parseFormDate(form["until"], true)
	if !ok1 || !ok2 || form["until"] == "" {
		return s.adminDelegationsWith(c, http.StatusUnprocessableEntity, "Indiquez des dates valides (au moins la date de fin).", form)
	}
	r := auth.DelegationRequest{Delegator: form["delegator"], Delegate: form["delegate"], Role: role, Department: dept, From: from, Until: until, Reason: form["reason"]}
	if _, err := s.Auth().CreateDelegation(c.Request().Context(), auth.PrincipalFrom(c), r, c.RealIP()); err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		return s.adminDelegationsWith(c, statusOr(err, http.StatusUnprocessableEntity), msg, form)
	}
	s.setFlash(c, "success", "La délégation a été enregistrée.")
	return c.Redirect(http.StatusSeeOther, "/admin/delegations")
}

// adminRevokeDelegation: POST /admin/delegations/{id}/revoke (the
// delegator, the delegate or an administrator: the service decides).
func (s *Server) adminRevokeDelegation(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Auth().RevokeDelegation(c.Request().Context(), auth.PrincipalFrom(c), id, c.RealIP()); err != nil {
		if st := auth.HTTPStatus(err); st != 0 {
			return &PageError{Status: st, Msg: upperFirst(auth.MessageFR(err)) + ".", Err: err}
		}
		return err
	}
	s.setFlash(c, "success", "La délégation a pris fin.")
	return c.Redirect(http.StatusSeeOther, "/admin/delegations")
}

// ---- permission rules ----

type adminPoliciesView struct {
	Tabs        []adminTab
	Rules       []auth.Rule
	Departments []store.Department
	Roles       []string
	CanEdit     bool
	Error       string
	Form        map[string]string
}

func (s *Server) adminPoliciesWith(c echo.Context, status int, msg string, form map[string]string) error {
	ctx := c.Request().Context()
	rs, err := s.Auth().Rules(ctx)
	if err != nil {
		return err
	}
	ds, err := s.store.Departments(ctx)
	if err != nil {
		return err
	}
	v := adminPoliciesView{Tabs: s.adminTabs(c, "/admin/policies"), Rules: rs, Departments: ds, Roles: auth.Roles,
		CanEdit: s.mayCall(c, auth.PrincipalFrom(c), "POST /admin/policies"), Error: msg, Form: form}
	return s.page(c, status, "admin_policies", v)
}

// adminPoliciesPage: GET /admin/policies.
func (s *Server) adminPoliciesPage(c echo.Context) error {
	return s.adminPoliciesWith(c, http.StatusOK, "", map[string]string{})
}

func formRule(c echo.Context) auth.Rule {
	return auth.Rule{Role: c.FormValue("role"), Department: c.FormValue("department"), Object: c.FormValue("object"), Action: c.FormValue("action")}
}

// adminAddPolicy: POST /admin/policies (role, department, object, action).
func (s *Server) adminAddPolicy(c echo.Context) error {
	r := formRule(c)
	_, added, err := s.Auth().AddRule(c.Request().Context(), auth.PrincipalFrom(c), r, c.RealIP())
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		return s.adminPoliciesWith(c, http.StatusUnprocessableEntity, msg, map[string]string{"role": r.Role, "department": r.Department, "object": r.Object, "action": r.Action})
	}
	if added {
		s.setFlash(c, "success", "La règle a été ajoutée.")
	} else {
		s.setFlash(c, "info", "Cette règle existait déjà.")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/policies")
}

// adminRemovePolicy: POST /admin/policies/delete (role, department, object, action).
func (s *Server) adminRemovePolicy(c echo.Context) error {
	if err := s.Auth().RemoveRule(c.Request().Context(), auth.PrincipalFrom(c), formRule(c), c.RealIP()); err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		return s.adminPoliciesWith(c, http.StatusUnprocessableEntity, msg, map[string]string{})
	}
	s.setFlash(c, "success", "La règle a été retirée.")
	return c.Redirect(http.StatusSeeOther, "/admin/policies")
}

// ---- audit ----

const auditPageSize = 50

type auditView struct {
	Filter      store.AuditQuery
	From, To    string // the period as typed (YYYY-MM-DD)
	Departments []store.Department
	Entries     []store.AuditEntry
	// Next is the link to the next (older) page ("" on the last one), First
	// to the newest entries, Export to the CSV of the same filters.
	Next, First, Export template.URL
}

// auditFilter reads the filters of /audit and /audit/export: actor,
// action, outcome, department, from and to (dates, both included), before.
func auditFilter(c echo.Context) (store.AuditQuery, url.Values, error) {
	f := store.AuditQuery{AuditFilter: store.AuditFilter{Actor: strings.TrimSpace(c.QueryParam("actor")), Action: strings.TrimSpace(c.QueryParam("action")), Outcome: c.QueryParam("outcome")},
		Department: strings.TrimSpace(c.QueryParam("department"))}
	switch f.Outcome {
	case "", audit.OK, audit.Denied, audit.Error:
	default:
		return f, nil, &PageError{Status: http.StatusBadRequest, Msg: "Le filtre « résultat » ne peut valoir que ok, denied ou error."}
	}
	var ok1, ok2 bool
	f.From, ok1 = parseFormDate(c.QueryParam("from"), false)
	f.To, ok2 = parseFormDate(c.QueryParam("to"), true)
	if !ok1 || !ok2 {
		return f, nil, &PageError{Status: http.StatusBadRequest, Msg: "Les dates de la période doivent être de la forme AAAA-MM-JJ."}
	}
	if v := c.QueryParam("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return f, nil, &PageError{Status: http.StatusBadRequest, Msg: "Le numéro de page demandé n'est pas valide."}
		}
		f.BeforeID = n
	}
	q := url.Values{}
	for _, k := range []string{"actor", "action", "outcome", "department", "from", "to"} {
		setIf(q, k, strings.TrimSpace(c.QueryParam(k)))
	}
	return f, q, nil
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// statusOr is the status of an auth error, else def.
func statusOr(err error, def int) int {
	if st := auth.HTTPStatus(err); st != 0 && st != http.StatusUnauthorized {
		return st
	}
	if errors.Is(err, store.ErrConflict) {
		return http.StatusConflict
	}
	return def
}

// auditPage: GET /audit?actor=&action=&outcome=&department=&from=&to=&before=ID:
// the audit log, newest first, 50 entries a page.
func (s *Server) auditPage(c echo.Context) error {
	f, q, err := auditFilter(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f.Limit = auditPageSize + 1
	es, err := s.store.AuditSearch(ctx, f)
	if err != nil {
		return err
	}
	ds, err := s.store.Departments(ctx)
	if err != nil {
		return err
	}
	v := auditView{Filter: f, From: q.Get("from"), To: q.Get("to"), Departments: ds, Entries: es}
	// The values are escaped by Encode: safe as URLs.
	v.First, v.Export = template.URL("/audit?"+q.Encode()), template.URL("/audit/export?"+q.Encode())
	if len(es) > auditPageSize {
		v.Entries = es[:auditPageSize]
		q.Set("before", strconv.FormatInt(v.Entries[auditPageSize-1].ID, 10))
		v.Next = template.URL("/audit?" + q.Encode())
	}
	return s.page(c, http.StatusOK, "audit", v)
}

// auditExportMax bounds one CSV export.
const auditExportMax = 100000

// auditExport: GET /audit/export?filters → CSV (";"-separated, UTF-8 with
// BOM, as French spreadsheets open it), newest first.
func (s *Server) auditExport(c echo.Context) error {
	f, _, err := auditFilter(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.Comma = ';'
	_ = w.Write([]string{"id", "date", "acteur", "pour_le_compte_de", "action", "type_objet", "objet", "direction", "resultat", "ip", "detail", "hash"})
	n := 0
	for n < auditExportMax {
		f.Limit = 1000
		es, err := s.store.AuditSearch(c.Request().Context(), f)
		if err != nil {
			return err
		}
		for _, e := range es {
			_ = w.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), csvCell(e.Actor), csvCell(e.OnBehalfOf), csvCell(e.Action),
				csvCell(e.ObjectType), csvCell(e.ObjectID), csvCell(e.Department), e.Outcome, csvCell(e.IP), csvCell(e.Detail), e.Hash})
		}
		n += len(es)
		if len(es) < f.Limit {
			break
		}
		f.BeforeID = es[len(es)-1].ID
	}
	w.Flush()
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="journal-audit-`+time.Now().In(ui.Paris).Format("2006-01-02")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// csvCell keeps a spreadsheet from reading a cell as a formula (CSV injection).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type auditVerifyView struct {
	Intact   bool
	FirstBad int64
	Reason   string
	Checked  time.Time
}

// auditVerifyPage: GET /audit/verify checks the hash chain of the log.
func (s *Server) auditVerifyPage(c echo.Context) error {
	v := auditVerifyView{Intact: true, Checked: time.Now()}
	_, err := audit.Verify(c.Request().Context(), s.store)
	var be *audit.BrokenError
	switch {
	case errors.As(err, &be):
		v.Intact, v.FirstBad, v.Reason = false, be.ID, be.Reason
	case err != nil:
		return err
	}
	return s.page(c, http.StatusOK, "audit_verify", v)
}
