package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/workflows"
)

// The requests pages: the list of requests (instances of flows) the person
// may read, and one request with its diagram, timeline, variables, the
// steps in progress and its incidents. Every decision is the service's.

var requestPageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/requests", Obj: "instances", Act: "read"},
	{Method: http.MethodGet, Path: "/requests/:id", Obj: "instances", Act: "read"},
	{Method: http.MethodGet, Path: "/requests/:id/diagram", Obj: "instances", Act: "read"},
	{Method: http.MethodPost, Path: "/requests/:id/cancel", Obj: "instances", Act: "read"},
	{Method: http.MethodPost, Path: "/requests/:id/resolve", Obj: "instances", Act: "cancel"},
}

func init() {
	for _, r := range []string{"/requests/:id/cancel", "/requests/:id/resolve"} {
		bodyTypes[http.MethodPost+" "+r] = []string{mimeForm}
	}
}

func (s *Server) registerRequestPages() {
	s.e.GET("/requests", s.requestsPage)
	s.e.GET("/requests/:id", s.requestPage)
	s.e.GET("/requests/:id/diagram", s.requestDiagram)
	s.e.POST("/requests/:id/cancel", s.requestCancel)
	s.e.POST("/requests/:id/resolve", s.requestResolve)
}

// requestStatuses are the statuses a person filters on, with their French names.
var requestStatuses = []struct{ Value, Label string }{
	{"", "Tous les états"},
	{workflows.StatusRunning, "En cours"},
	{workflows.StatusIncident, "En incident"},
	{workflows.StatusCompleted, "Terminées"},
	{workflows.StatusCancelled, "Annulées"},
	{workflows.StatusFailed, "En échec"},
	{workflows.StatusTerminated, "Arrêtées"},
}

const requestsPerPage = 50

// statusLabel is the French name of a request's status.
func statusLabel(status string) string {
	for _, st := range requestStatuses {
		if st.Value == status && st.Value != "" {
			return map[string]string{
				workflows.StatusRunning: "en cours", workflows.StatusIncident: "en incident", workflows.StatusCompleted: "terminée",
				workflows.StatusCancelled: "annulée", workflows.StatusFailed: "en échec", workflows.StatusTerminated: "arrêtée",
			}[status]
		}
	}
	return status
}

type requestRow struct {
	service.RequestRow
	StatusLabel string
}

// timelineEntry is a line of a request's timeline, in French.
type timelineEntry struct {
	At      time.Time
	What    string
	Node    string
	Actor   string
	Message string
	Kind    string // ok, incident, end
}

// eventLabels name the interpreter's history events.
var eventLabels = map[string]string{
	"started":   "Demande lancée",
	"continued": "Historique poursuivi",
	"entered":   "Étape commencée",
	"completed": "Étape terminée",
	"reached":   "Fin atteinte",
	"waiting":   "En attente",
	"fired":     "Minuteur déclenché",
	"incident":  "Incident",
	"opened":    "Tâche ouverte",
	"claimed":   "Tâche prise en charge",
	"unclaimed": "Tâche rendue",
	"resolved":  "Incident résolu",
	"escalated": "Tâche relancée",
}

func requestTimeline(r service.Request, d service.Diagram) []timelineEntry {
	out := make([]timelineEntry, 0, len(r.History))
	for i := len(r.History) - 1; i >= 0; i-- { // newest first
		h := r.History[i]
		e := timelineEntry{At: h.At, Actor: h.Actor, Message: h.Message, Kind: "ok"}
		if h.Node != "" {
			e.Node = d.Name(h.Node)
		}
		switch {
		case h.Node == "" && h.Event != "started" && h.Event != "continued":
			e.What = "Demande " + statusLabel(h.Event)
			e.Kind = "end"
		case eventLabels[h.Event] != "":
			e.What = eventLabels[h.Event]
		default:
			e.What = h.Event
		}
		if h.Event == "incident" {
			e.Kind = "incident"
		}
		switch h.Event {
		case "continued", "opened", "claimed", "unclaimed":
			e.Message = "" // run numbers and task ids: noise to a person
		case "resolved":
			e.Message = map[string]string{workflows.ResolveRetry: "étape relancée", workflows.ResolveSkip: "étape passée",
				workflows.ResolveCancel: "demande annulée"}[h.Message]
		}
		out = append(out, e)
	}
	return out
}

// variableRow is a request variable as the page shows it.
type variableRow struct {
	Name  string
	Value string
	Long  bool
}

func variableRows(vars map[string]any) []variableRow {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]variableRow, 0, len(names))
	for _, k := range names {
		var v string
		switch x := vars[k].(type) {
		case string:
			v = x
		case nil:
			v = "—"
		default:
			b, _ := json.MarshalIndent(x, "", "  ")
			v = string(b)
		}
		out = append(out, variableRow{Name: k, Value: v, Long: len(v) > 80 || strings.Contains(v, "\n")})
	}
	return out
}

type requestsView struct {
	Rows       []requestRow
	Status     string
	Flow       string
	Department string
	Statuses   []struct{ Value, Label string }
	Page       int
	PrevHref   string
	NextHref   string
}

func (s *Server) requestsPage(c echo.Context) error {
	page := 1
	if v := c.QueryParam("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return &PageError{Status: http.StatusBadRequest, Msg: "Le numéro de page doit être un entier positif."}
		}
		page = n
	}
	f := service.RequestFilter{Status: c.QueryParam("status"), Flow: c.QueryParam("flow"), Department: c.QueryParam("department"),
		Limit: requestsPerPage + 1, Offset: (page - 1) * requestsPerPage}
	rows, err := s.svc.ListRequests(c.Request().Context(), caller(c), f)
	if err != nil {
		return err
	}
	v := requestsView{Status: f.Status, Flow: f.Flow, Department: f.Department, Statuses: requestStatuses, Page: page}
	q := url.Values{}
	for k, val := range map[string]string{"status": f.Status, "flow": f.Flow, "department": f.Department} {
		if val != "" {
			q.Set(k, val)
		}
	}
	href := func(p int) string {
		q.Set("page", strconv.Itoa(p))
		return "/requests?" + q.Encode()
	}
	if len(rows) > requestsPerPage {
		rows = rows[:requestsPerPage]
		v.NextHref = href(page + 1)
	}
	if page > 1 {
		v.PrevHref = href(page - 1)
	}
	for _, r := range rows {
		v.Rows = append(v.Rows, requestRow{RequestRow: r, StatusLabel: statusLabel(r.Status)})
	}
	return s.page(c, http.StatusOK, "requests", v)
}

type requestView struct {
	R           service.Request
	D           service.Diagram
	StatusLabel string
	Timeline    []timelineEntry
	Variables   []variableRow
	// DiagramMarks is the diagram's marks as JSON, for the viewer script.
	DiagramMarks string
	MayCancel    bool
	// Ended says the request will not move any more.
	Ended bool
}

func (s *Server) requestPage(c echo.Context) error {
	ctx := c.Request().Context()
	who := caller(c)
	r, err := s.svc.Request(ctx, who, c.Param("id"))
	if err != nil {
		return err
	}
	d, err := s.svc.RequestDiagram(ctx, who, r.ID)
	if err != nil {
		return err
	}
	marks, _ := json.Marshal(d)
	v := requestView{R: r, D: d, StatusLabel: statusLabel(r.Status), Timeline: requestTimeline(r, d), Variables: variableRows(r.Variables),
		DiagramMarks: string(marks), MayCancel: s.svc.MayCancel(ctx, who, r.Instance),
		Ended: r.Status != workflows.StatusRunning && r.Status != workflows.StatusIncident}
	if v.Ended {
		v.MayCancel = false
	}
	if c.Request().Header.Get("HX-Request") != "" && c.QueryParam("part") == "live" {
		return s.pageFragment(c, http.StatusOK, "request", "live", v)
	}
	return s.page(c, http.StatusOK, "request", v)
}

// requestDiagram is the BPMN XML of the request's flow version, for the
// viewer on the request page.
func (s *Server) requestDiagram(c echo.Context) error {
	d, err := s.svc.RequestDiagram(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.Blob(http.StatusOK, "application/xml; charset=utf-8", []byte(d.BPMN))
}

func (s *Server) requestCancel(c echo.Context) error {
	in, err := s.svc.CancelRequest(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	s.setFlash(c, "success", "L'annulation de la demande a été demandée ; elle s'arrête dans un instant.")
	return c.Redirect(http.StatusSeeOther, "/requests/"+url.PathEscape(in.ID))
}

func (s *Server) requestResolve(c echo.Context) error {
	in, err := s.svc.ResolveIncident(c.Request().Context(), caller(c), c.Param("id"),
		service.ResolveInput{Node: c.FormValue("node"), Action: c.FormValue("action")})
	if err != nil {
		return err
	}
	msg := map[string]string{
		workflows.ResolveRetry:  "L'étape va être relancée.",
		workflows.ResolveSkip:   "L'étape a été passée ; la demande continue.",
		workflows.ResolveCancel: "La demande a été annulée.",
	}[c.FormValue("action")]
	s.setFlash(c, "success", msg)
	return c.Redirect(http.StatusSeeOther, "/requests/"+url.PathEscape(in.ID))
}
