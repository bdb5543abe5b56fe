package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// The browser designer: the list of flows and forms, a flow open in the
// BPMN modeler (camunda-bpmn-js, vendored) with its properties panel, a
// read-only version, a new flow, the element templates generated from the
// activity catalogue, and deploying from the page through the same
// service as POST /api/v1/flows. Everything needs the right to deploy
// flows (designer and admin). The page's script (static/designer/
// modeler.js) reads its URLs from data attributes: no inline script.

var designerPageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/designer", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/new", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/element-templates.json", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/flows/:key", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/flows/:key/versions/:n", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/flows/:key/versions/:n/bpmn", Obj: "flows", Act: "deploy"},
	{Method: http.MethodPost, Path: "/designer/deploy", Obj: "flows", Act: "deploy"},
}

func (s *Server) registerDesignerPages() {
	s.e.GET("/designer", s.designerPage)
	s.e.GET("/designer/new", s.designerNewPage)
	s.e.GET("/designer/element-templates.json", s.designerTemplates)
	s.e.GET("/designer/flows/:key", s.designerFlowPage)
	s.e.GET("/designer/flows/:key/versions/:n", s.designerVersionPage)
	s.e.GET("/designer/flows/:key/versions/:n/bpmn", s.designerVersionBPMN)
	s.e.POST("/designer/deploy", s.designerDeploy)
}

type designerView struct {
	Flows []service.FlowSummary
	Forms []store.Form
	// FormEditor: the form editor page exists (/designer/forms/{id}).
	FormEditor bool
}

func (s *Server) designerPage(c echo.Context) error {
	flows, forms, err := s.svc.DesignerFlows(c.Request().Context())
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "designer", designerView{Flows: flows, Forms: forms, FormEditor: s.hasRoute(http.MethodGet, "/designer/forms/:id")})
}

// hasRoute reports whether a route is registered.
func (s *Server) hasRoute(method, path string) bool {
	for _, r := range s.e.Routes() {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}

// modelerView is the modeler page's data.
type modelerView struct {
	Key     string // "" for a new flow
	Name    string
	Version int
	// Source is the URL of the BPMN to open ("" = an empty diagram).
	Source   string
	Versions []service.VersionSummary
	// Lint: the lint script exists (static/designer/lint.js).
	Lint bool
	// Departments are offered for the scheduled instances of timer-started flows.
	Departments []string
}

func (s *Server) designerNewPage(c echo.Context) error {
	v := modelerView{Lint: s.ui.HasAsset("designer/lint.js")}
	if err := s.designerDepartments(c, &v); err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "designer_flow", v)
}

func (s *Server) designerDepartments(c echo.Context, v *modelerView) error {
	o, err := s.svc.TemplateOptions(c.Request().Context(), nil)
	v.Departments = o.Departments
	return err
}

func (s *Server) designerFlowPage(c echo.Context) error {
	f, vs, err := s.svc.FlowHistory(c.Request().Context(), c.Param("key"))
	if errors.Is(err, store.ErrNotFound) {
		return &PageError{Status: http.StatusNotFound, Msg: "Cette démarche n'existe pas."}
	}
	if err != nil {
		return err
	}
	v := modelerView{Key: f.Key, Name: f.Name, Version: f.LatestVersion,
		Source:   "/designer/flows/" + f.Key + "/versions/" + strconv.Itoa(f.LatestVersion) + "/bpmn",
		Versions: vs, Lint: s.ui.HasAsset("designer/lint.js")}
	if err := s.designerDepartments(c, &v); err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "designer_flow", v)
}

type versionView struct {
	Flow     store.Flow
	Version  service.VersionSummary
	Versions []service.VersionSummary
	Source   string
	// Previous is the BPMN URL of the version before ("" for the first).
	Previous        string
	PreviousVersion int
}

func versionParam(c echo.Context) (int, error) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return 0, &PageError{Status: http.StatusNotFound, Msg: "Cette version n'existe pas."}
	}
	return n, nil
}

func (s *Server) designerVersionPage(c echo.Context) error {
	n, err := versionParam(c)
	if err != nil {
		return err
	}
	f, vs, err := s.svc.FlowHistory(c.Request().Context(), c.Param("key"))
	if errors.Is(err, store.ErrNotFound) {
		return &PageError{Status: http.StatusNotFound, Msg: "Cette démarche n'existe pas."}
	}
	if err != nil {
		return err
	}
	v := versionView{Flow: f, Versions: vs, Source: "/designer/flows/" + f.Key + "/versions/" + strconv.Itoa(n) + "/bpmn"}
	found := false
	for _, x := range vs {
		if x.Version == n {
			v.Version, found = x, true
		}
		if x.Version < n && x.Version > v.PreviousVersion {
			v.PreviousVersion = x.Version
			v.Previous = "/designer/flows/" + f.Key + "/versions/" + strconv.Itoa(x.Version) + "/bpmn"
		}
	}
	if !found {
		return &PageError{Status: http.StatusNotFound, Msg: "Cette version n'existe pas."}
	}
	return s.page(c, http.StatusOK, "designer_version", v)
}

// designerVersionBPMN is a version's BPMN file (the modeler's source; a
// download with ?download=1).
func (s *Server) designerVersionBPMN(c echo.Context) error {
	n, err := versionParam(c)
	if err != nil {
		return err
	}
	v, err := s.svc.FlowVersionXML(c.Request().Context(), c.Param("key"), n)
	if errors.Is(err, store.ErrNotFound) {
		return &PageError{Status: http.StatusNotFound, Msg: "Cette version n'existe pas."}
	}
	if err != nil {
		return err
	}
	if c.QueryParam("download") != "" {
		c.Response().Header().Set("Content-Disposition", `attachment; filename="`+v.FlowKey+"-v"+strconv.Itoa(v.Version)+`.bpmn"`)
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600") // a version never changes
	return c.Blob(http.StatusOK, "application/xml; charset=utf-8", []byte(v.BPMN))
}

// designerTemplates are the element templates: one per activity of the
// catalogue and per task kind, with the real groups, forms and mail
// templates as choices.
func (s *Server) designerTemplates(c echo.Context) error {
	o, err := s.svc.TemplateOptions(c.Request().Context(), mail.Templates())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, designer.ElementTemplates(o))
}

// designerDeployRequest is what the modeler page sends.
type designerDeployRequest struct {
	XML     string `json:"xml"`
	Comment string `json:"comment"`
	// Department of the scheduled instances of a timer-started flow.
	Department string `json:"department"`
}

// designerProblem is a refusal on one element, in French.
type designerProblem struct {
	Element string `json:"element,omitempty"`
	Message string `json:"message"`
}

// designerDeployResult is the page's answer: ok with the version, or the
// French refusal with the offending elements.
type designerDeployResult struct {
	OK       bool              `json:"ok"`
	Message  string            `json:"message"`
	Key      string            `json:"key,omitempty"`
	Version  int               `json:"version,omitempty"`
	Created  bool              `json:"created,omitempty"`
	URL      string            `json:"url,omitempty"`
	Problems []designerProblem `json:"problems,omitempty"`
}

func (s *Server) designerDeploy(c echo.Context) error {
	var req designerDeployRequest
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, designer.MaxXMLSize*2+64<<10))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return c.JSON(http.StatusBadRequest, designerDeployResult{Message: "La requête n'est pas lisible (JSON attendu : xml, comment)."})
	}
	if req.Department != "" {
		if _, err := s.store.Department(c.Request().Context(), req.Department); err != nil {
			return c.JSON(http.StatusUnprocessableEntity, designerDeployResult{Message: "La direction « " + req.Department + " » n'existe pas."})
		}
	}
	d, _, err := s.deployFlowWith(c, []byte(req.XML), req.Comment, "designer", req.Department, "")
	if err != nil {
		res, status, ok := designerRefusal(err)
		if !ok {
			return err
		}
		return c.JSON(status, res)
	}
	v := d.Version
	res := designerDeployResult{OK: true, Key: v.FlowKey, Version: v.Version, Created: d.Created,
		URL: "/designer/flows/" + v.FlowKey + "/versions/" + strconv.Itoa(v.Version)}
	status := http.StatusCreated
	if d.Created {
		res.Message = "Version " + strconv.Itoa(v.Version) + " de « " + v.FlowKey + " » déployée."
	} else {
		status = http.StatusOK
		res.Message = "Aucun changement : la version " + strconv.Itoa(v.Version) + " de « " + v.FlowKey + " » est déjà celle-ci."
	}
	return c.JSON(status, res)
}

// designerScheduleRefusal explains, on the timer start events, why a
// timer-started flow cannot be deployed from the page (no department for
// its scheduled instances, or a bad one).
func designerScheduleRefusal(err error, g *designer.Graph) error {
	var we *Error
	if !errors.As(err, &we) || we.Status >= 500 {
		return err
	}
	se := service.Errorf(service.Invalid, "%s", we.Msg).
		French("Cette démarche démarre sur une minuterie : choisissez la direction de ses demandes planifiées (liste « Direction des demandes planifiées »).")
	for _, id := range g.TimerStarts {
		se.Problems = append(se.Problems, service.Problem{Element: id, Message: we.Msg, Fr: "démarrage planifié : la direction de ses demandes est à choisir"})
	}
	return se
}

// designerRefusal turns a domain refusal into the page's French answer;
// false for errors that are not the designer's to explain (a 500).
func designerRefusal(err error) (designerDeployResult, int, bool) {
	var se *service.Error
	if errors.As(err, &se) {
		status := StatusOfKind(se.Kind)
		if status >= 500 && status != http.StatusServiceUnavailable {
			return designerDeployResult{}, 0, false
		}
		res := designerDeployResult{Message: se.Fr}
		if res.Message == "" {
			res.Message = "Le déploiement est refusé : " + se.Msg
		}
		for _, p := range se.Problems {
			m := p.Fr
			if m == "" {
				m = p.Message
			}
			res.Problems = append(res.Problems, designerProblem{Element: p.Element, Message: m})
		}
		return res, status, true
	}
	var we *Error
	if errors.As(err, &we) && we.Status < 500 {
		res := designerDeployResult{Message: "Le déploiement est refusé : " + we.Msg}
		for _, p := range we.Problems {
			res.Problems = append(res.Problems, designerProblem{Element: p.Element, Message: designer.ProblemFR(p.Message)})
		}
		return res, we.Status, true
	}
	return designerDeployResult{}, 0, false
}
