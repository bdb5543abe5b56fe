package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/internal/web/ui"
	"github.com/civicflow/civicflow/workflows"
)

// The task pages of the staff application: the inbox (/tasks) and a task
// (/tasks/{id}) with its form, the quality report of review and approval
// tasks and the request's timeline. Each handler binds the form, calls one
// use case of package service and renders; the decisions are the
// service's (the JSON API's handlers in tasks.go call the same functions).

// taskPageRoutes are the permissions of the task pages: those of the JSON
// routes they are the face of.
var taskPageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/tasks", Obj: "tasks", Act: "read"},
	{Method: http.MethodGet, Path: "/tasks/:id", Obj: "tasks", Act: "read"},
	{Method: http.MethodPost, Path: "/tasks/:id/claim", Obj: "tasks", Act: "claim"},
	{Method: http.MethodPost, Path: "/tasks/:id/unclaim", Obj: "tasks", Act: "claim"},
	{Method: http.MethodPost, Path: "/tasks/:id/complete", Obj: "tasks", Act: "complete"},
}

func init() {
	formPosts(taskPageRoutes)
}

func (s *Server) registerTaskPages() {
	s.e.GET("/tasks", s.tasksPage)
	s.e.GET("/tasks/:id", s.taskPage)
	s.e.POST("/tasks/:id/claim", s.claimTaskPage)
	s.e.POST("/tasks/:id/unclaim", s.unclaimTaskPage)
	s.e.POST("/tasks/:id/complete", s.completeTaskPage)
}

// inboxPageSize is how many tasks a page of the inbox shows.
const inboxPageSize = 25

// inboxFilter is the inbox's filter form, as typed.
type inboxFilter struct {
	Status, Department, Role, Flow, DueBefore string
	Overdue                                   bool
}

// query is the filter as a query string (pagination links keep it).
func (f inboxFilter) query(page int) string {
	v := url.Values{}
	for k, x := range map[string]string{"status": f.Status, "department": f.Department, "role": f.Role, "flow": f.Flow, "dueBefore": f.DueBefore} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Overdue {
		v.Set("overdue", "1")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/tasks"
	}
	return "/tasks?" + v.Encode()
}

type option struct{ Value, Label string }

type inboxRow struct {
	service.TaskView
	Overdue    bool
	Candidates string
}

type inboxData struct {
	Filter      inboxFilter
	Departments []option
	Roles       []option
	Rows        []inboxRow
	Total       int
	Page, Pages int
	First, Last int // the rows shown, 1-based
	Prev, Next  string
	Here        string // this page, where claim and unclaim come back
	Error       string
}

// tasksPage is the inbox: the tasks offered to the person, filtered and
// paged (service.ListTasks).
func (s *Server) tasksPage(c echo.Context) error {
	q := c.QueryParams()
	f := inboxFilter{Status: q.Get("status"), Department: q.Get("department"), Role: q.Get("role"),
		Flow: strings.TrimSpace(q.Get("flow")), DueBefore: q.Get("dueBefore")}
	switch q.Get("overdue") {
	case "1", "true", "on":
		f.Overdue = true
	}
	d := inboxData{Filter: f, Page: 1}
	if f.Status != "all" {
		d.Filter.Status = ""
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && n < 1_000_000 {
		d.Page = n
	}
	sf := service.TaskFilter{Status: d.Filter.Status, Department: f.Department, Role: f.Role, Flow: f.Flow,
		Overdue: f.Overdue, Limit: inboxPageSize, Offset: (d.Page - 1) * inboxPageSize}
	if f.DueBefore != "" {
		t, err := time.ParseInLocation(time.DateOnly, f.DueBefore, ui.Paris)
		if err != nil {
			d.Error = fmt.Sprintf("La date « %s » n'est pas une date valide (jj/mm/aaaa) : le filtre d'échéance est ignoré.", f.DueBefore)
			d.Filter.DueBefore = ""
		} else {
			sf.DueBefore = t.AddDate(0, 0, 1) // due on that day included
		}
	}
	p := auth.PrincipalFrom(c)
	for _, dept := range p.Departments() {
		label := dept
		if dept == auth.AllDepartments {
			continue
		}
		d.Departments = append(d.Departments, option{dept, label})
	}
	for _, r := range []string{auth.RoleAgent, auth.RoleSteward, auth.RoleApprover} {
		d.Roles = append(d.Roles, option{r, ui.RoleLabel(r)})
	}
	page, err := s.svc.ListTasks(c.Request().Context(), caller(c), sf)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range page.Tasks {
		d.Rows = append(d.Rows, inboxRow{TaskView: t, Overdue: service.Overdue(t.Task, now), Candidates: strings.Join(t.Candidates(), ", ")})
	}
	d.Total = page.Total
	d.Pages = max(1, (page.Total+inboxPageSize-1)/inboxPageSize)
	if len(d.Rows) > 0 {
		d.First, d.Last = page.Offset+1, page.Offset+len(d.Rows)
	}
	if d.Page > 1 {
		d.Prev = d.Filter.query(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = d.Filter.query(d.Page + 1)
	}
	d.Here = d.Filter.query(d.Page)
	return s.page(c, http.StatusOK, "tasks", d)
}

// formField is a field of a task's form as the page shows it without
// JavaScript (and with, when the form-js viewer cannot load).
type formField struct {
	designer.FormField
	ID      string
	Value   string
	Checked bool
	Error   string
	Options []option
}

type taskData struct {
	service.TaskDetail
	Open      bool // waits for someone
	Overdue   bool
	Claimable bool // open, not claimed, the person may act
	Mine      bool // claimed by the person
	Form      *designer.Form
	Fields    []formField
	// Schema and Values are the form-js schema and the values it starts
	// with (JSON, read by tasks.js).
	Schema, Values string
	// Problems are the server's refusals of the submitted data;
	// ProblemsJSON gives them to tasks.js ([{field, fr}]).
	Problems     []service.Problem
	ProblemsJSON string
	Error        string
	// Charts of the quality report (errors by type, by column).
	ByType, ByColumn []bar
	ChartByType      template.HTML
	ChartByColumn    template.HTML
	// Issues are the report's first errors, with their French type.
	Issues []issueRow
	// Rows are the preview's rows, cells in error marked.
	Rows   []previewRow
	Events []timelineEvent
	// Submitted are the data a closed task was completed with, by field.
	Submitted []option
}

type issueRow struct {
	tableschema.Issue
	TypeLabel string
}

type previewCell struct {
	V   string
	Bad bool
}

type previewRow struct {
	Line  int
	Cells []previewCell
}

// maxIssuesShown bounds the error table of the task page.
const maxIssuesShown = 200

// taskPage shows a task: its form (when the person may act on it), the
// quality report of the request, the request's timeline.
func (s *Server) taskPage(c echo.Context) error {
	d, err := s.taskData(c, nil)
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "task", d)
}

// taskData builds the task page; submitted, when set, are the values of a
// refused submission (shown again with the problems).
func (s *Server) taskData(c echo.Context, submitted map[string]any) (taskData, error) {
	det, err := s.svc.TaskDetail(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return taskData{}, err
	}
	t := det.Task
	d := taskData{TaskDetail: det, Open: t.Status == workflows.TaskOpen || t.Status == workflows.TaskClaimed,
		Overdue: service.Overdue(t, time.Now())}
	me := auth.PrincipalFrom(c).Username
	d.Claimable = d.Open && det.MayAct && t.Assignee == ""
	d.Mine = d.Open && t.Assignee != "" && t.Assignee == me
	var form designer.Form
	if t.FormRaw != "" && json.Unmarshal([]byte(t.FormRaw), &form) == nil {
		d.Form = &form
	}
	values := map[string]any{}
	_ = json.Unmarshal([]byte(t.VarsRaw), &values)
	for k, v := range submitted {
		values[k] = v
	}
	if d.Form != nil {
		for i, fl := range d.Form.Fields {
			ff := formField{FormField: fl, ID: fmt.Sprintf("champ-%d", i+1)}
			switch v := values[fl.Key].(type) {
			case nil:
			case string:
				ff.Value = v
			case bool:
				ff.Checked = v
			case float64:
				ff.Value = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				b, _ := json.Marshal(v)
				ff.Value = string(b)
			}
			for _, e := range fl.Enum {
				ff.Options = append(ff.Options, option{e, e})
			}
			d.Fields = append(d.Fields, ff)
		}
		if len(d.Form.Schema) > 0 {
			d.Schema = string(d.Form.Schema)
		}
	}
	if b, err := json.Marshal(values); err == nil {
		d.Values = string(b)
	}
	if det.Report != nil {
		d.ByType, d.ByColumn = reportBars(det.Report.Doc)
		d.ChartByType = barChart("graphique-types", "Erreurs par type", d.ByType)
		d.ChartByColumn = barChart("graphique-colonnes", "Erreurs par colonne", d.ByColumn)
		bad := map[string]bool{} // "line/field"
		for i, is := range det.Report.Doc.Errors {
			bad[fmt.Sprintf("%d/%s", is.Row, is.Field)] = true
			if i < maxIssuesShown {
				d.Issues = append(d.Issues, issueRow{Issue: is, TypeLabel: issueLabel(is.Type)})
			}
		}
		if p := det.Preview; p != nil {
			for _, r := range p.Rows {
				row := previewRow{Line: r.Line}
				for i, v := range r.Cells {
					field := ""
					if i < len(p.Header) {
						field = p.Header[i]
					}
					row.Cells = append(row.Cells, previewCell{V: v, Bad: bad[fmt.Sprintf("%d/%s", r.Line, field)]})
				}
				d.Rows = append(d.Rows, row)
			}
		}
	}
	d.Events = timeline(det)
	if !d.Open && t.DataRaw != "" && t.DataRaw != "{}" {
		var data map[string]any
		if json.Unmarshal([]byte(t.DataRaw), &data) == nil {
			labels := map[string]string{}
			if d.Form != nil {
				for _, f := range d.Form.Fields {
					labels[f.Key] = f.Label
				}
			}
			keys := make([]string, 0, len(data))
			for k := range data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				v := data[k]
				txt, ok := v.(string)
				if !ok {
					b, _ := json.Marshal(v)
					txt = string(b)
				}
				d.Submitted = append(d.Submitted, option{Value: txt, Label: cmp.Or(labels[k], k)})
			}
		}
	}
	return d, nil
}

// fieldErrors puts the problems next to their fields; the others are
// returned for the summary.
func (d *taskData) fieldErrors(probs []service.Problem) {
	for _, p := range probs {
		msg := p.Fr
		if msg == "" {
			msg = p.Message
		}
		label := p.Field
		for i, f := range d.Fields {
			if f.Key == p.Field {
				d.Fields[i].Error = msg
				if f.Label != "" {
					label = f.Label
				}
			}
		}
		summary := msg
		if p.Field != "" {
			summary = label + " : " + msg
		}
		d.Problems = append(d.Problems, service.Problem{Field: p.Field, Message: label, Fr: summary})
	}
	type jsProblem struct {
		Field string `json:"field"`
		Fr    string `json:"fr"`
	}
	var js []jsProblem
	for _, p := range probs {
		js = append(js, jsProblem{p.Field, cmp.Or(p.Fr, p.Message)})
	}
	if b, err := json.Marshal(js); err == nil {
		d.ProblemsJSON = string(b)
	}
}

// completeTaskPage completes a task with the submitted form: the form-js
// viewer's data (a JSON "data" field), or the plain fields of the page.
// Refused data come back on the page, in French, next to their fields.
func (s *Server) completeTaskPage(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	data, err := s.boundTaskData(c)
	if err != nil {
		return err
	}
	t, err := s.svc.CompleteTask(ctx, caller(c), id, data)
	var se *service.Error
	if errors.As(err, &se) {
		// Shown on the task page, if the person may still see it.
		d, derr := s.taskData(c, data)
		if derr != nil {
			return derr
		}
		d.fieldErrors(se.Problems)
		d.Error = frenchOf(se)
		return s.page(c, StatusOfKind(se.Kind), "task", d)
	}
	if err != nil {
		return err
	}
	s.setFlash(c, "success", fmt.Sprintf("La tâche « %s » est validée.", taskName(t)))
	return c.Redirect(http.StatusSeeOther, "/tasks")
}

// boundTaskData reads the submitted form of a task.
func (s *Server) boundTaskData(c echo.Context) (map[string]any, error) {
	if err := c.Request().ParseForm(); err != nil {
		return nil, &PageError{Status: http.StatusBadRequest, Msg: "Le formulaire envoyé ne peut pas être lu.", Err: err}
	}
	form := c.Request().PostForm
	if raw := form.Get("data"); raw != "" {
		var data map[string]any
		if err := json.Unmarshal([]byte(raw), &data); err != nil {
			return nil, &PageError{Status: http.StatusBadRequest, Msg: "Les données du formulaire ne peuvent pas être lues.", Err: err}
		}
		return data, nil
	}
	// Without JavaScript: the fields of the task's form.
	v, err := s.svc.Task(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return nil, err
	}
	var f designer.Form
	_ = json.Unmarshal([]byte(v.FormRaw), &f)
	data := map[string]any{}
	for _, fl := range f.Fields {
		if fl.ReadOnly {
			continue
		}
		vals, sent := form[fl.Key]
		switch fl.ValueType {
		case "boolean":
			data[fl.Key] = sent && len(vals) > 0 && (vals[0] == "on" || vals[0] == "true")
		case "array":
			if sent {
				data[fl.Key] = toAny(vals)
			}
		case "number":
			if sent && strings.TrimSpace(vals[0]) != "" {
				txt := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(vals[0]), "\u00a0", ""), ",", ".")
				if n, err := strconv.ParseFloat(txt, 64); err == nil {
					data[fl.Key] = n
				} else {
					data[fl.Key] = vals[0] // refused by the check, in French
				}
			}
		default:
			if sent && vals[0] != "" {
				data[fl.Key] = vals[0]
			}
		}
	}
	return data, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (s *Server) claimTaskPage(c echo.Context) error {
	t, err := s.svc.ClaimTask(c.Request().Context(), caller(c), c.Param("id"))
	return s.afterAssign(c, t, err, "Vous avez pris en charge la tâche « %s ».")
}

func (s *Server) unclaimTaskPage(c echo.Context) error {
	t, err := s.svc.UnclaimTask(c.Request().Context(), caller(c), c.Param("id"))
	return s.afterAssign(c, t, err, "La tâche « %s » est rendue à ses destinataires.")
}

// afterAssign goes back where the claim came from with a flash message:
// the refusals of the use case are told in French there.
func (s *Server) afterAssign(c echo.Context, t store.Task, err error, done string) error {
	next := SafeNext(c.FormValue("next"))
	if next == "/" {
		next = "/tasks/" + url.PathEscape(c.Param("id"))
	}
	htmx := c.Request().Header.Get("HX-Request") == "true"
	var se *service.Error
	switch {
	case errors.As(err, &se) && (htmx || se.Kind == service.Conflict || se.Kind == service.Unavailable):
		// htmx: a whole page, with the message, rather than a row.
		s.setFlash(c, "error", frenchOf(se))
		if htmx {
			c.Response().Header().Set("HX-Redirect", next)
			return c.NoContent(http.StatusNoContent)
		}
		return c.Redirect(http.StatusSeeOther, next)
	case err != nil:
		return err
	}
	msg := fmt.Sprintf(done, taskName(t))
	if htmx {
		// The row again, in its new state; the message goes to the inbox's
		// status line (tasks.js).
		v, err := s.svc.Task(c.Request().Context(), caller(c), t.ID)
		if err != nil {
			return err
		}
		if b, err := json.Marshal(map[string]string{"inboxStatus": msg}); err == nil {
			c.Response().Header().Set("HX-Trigger", asciiJSON(b))
		}
		row := inboxRow{TaskView: v, Overdue: service.Overdue(v.Task, time.Now()), Candidates: strings.Join(v.Candidates(), ", ")}
		return s.pageFragment(c, http.StatusOK, "tasks", "rowfragment", map[string]any{"Row": row, "Here": next})
	}
	s.setFlash(c, "success", msg)
	return c.Redirect(http.StatusSeeOther, next)
}

// frenchOf is the French sentence of a domain error.
func frenchOf(e *service.Error) string {
	if e.Fr != "" {
		return e.Fr
	}
	if txt, ok := errorTexts[StatusOfKind(e.Kind)]; ok {
		return txt[1]
	}
	return "La demande n'a pas pu aboutir."
}

func taskName(t store.Task) string {
	if t.Name != "" {
		return t.Name
	}
	return t.Node
}

// asciiJSON escapes the non-ASCII characters of a JSON text (\uXXXX):
// header values travel as Latin-1 in browsers.
func asciiJSON(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			sb.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, "\\u%04x\\u%04x", r1, r2)
		default:
			fmt.Fprintf(&sb, "\\u%04x", r)
		}
	}
	return sb.String()
}
