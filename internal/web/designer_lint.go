package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/service"
)

// Lint as you draw: POST /designer/lint answers the lint problems of the
// BPMN the modeler holds (static/designer/lint.js sends it on every
// change). The same rules (designer.Lint) refuse a deploy on errors and
// `civicflow flow validate` prints them, so that the browser, the API and
// CI agree.

// designerLintRoutes: the designer's lint, for those who may deploy.
var designerLintRoutes = []RoutePerm{
	{Method: http.MethodPost, Path: "/designer/lint", Obj: "flows", Act: "deploy"},
}

// bpmnBodyTypes are the body types of BPMN XML.
var bpmnBodyTypes = []string{"application/xml", "text/xml", "application/bpmn+xml"}

func init() {
	bodyTypes[http.MethodPost+" /designer/lint"] = bpmnBodyTypes
}

func (s *Server) registerDesignerLint() {
	s.e.POST("/designer/lint", s.designerLint)
}

// lintAnswer is the body of POST /designer/lint.
type lintAnswer struct {
	Problems []designer.LintProblem `json:"problems"`
	Errors   int                    `json:"errors"`
	Warnings int                    `json:"warnings"`
	// Error is a French message when the body could not be linted at all.
	Error string `json:"error,omitempty"`
}

func (s *Server) designerLint(c echo.Context) error {
	if c.Request().ContentLength > designer.MaxXMLSize {
		return c.JSON(http.StatusRequestEntityTooLarge, lintAnswer{Problems: []designer.LintProblem{},
			Error: "Le diagramme est trop volumineux (5 Mio au plus)."})
	}
	xml, err := designer.ReadLimited(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.Is(err, designer.ErrTooLarge) || errors.As(err, &mbe) {
			return c.JSON(http.StatusRequestEntityTooLarge, lintAnswer{Problems: []designer.LintProblem{},
				Error: "Le diagramme est trop volumineux (5 Mio au plus)."})
		}
		return c.JSON(http.StatusBadRequest, lintAnswer{Problems: []designer.LintProblem{}, Error: "Le diagramme n'a pas pu être lu."})
	}
	if len(xml) == 0 {
		return c.JSON(http.StatusBadRequest, lintAnswer{Problems: []designer.LintProblem{}, Error: "Aucun diagramme reçu : envoyez le XML BPMN."})
	}
	ps, err := service.LintFlow(c.Request().Context(), s.store, xml)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []designer.LintProblem{}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, lintAnswer{Problems: ps, Errors: len(designer.LintErrors(ps)), Warnings: len(designer.LintWarnings(ps))})
}
