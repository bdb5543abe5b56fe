package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/store"
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

// LintFlow lints BPMN XML with the deployed forms of st (nil: forms are
// not looked up).
func LintFlow(ctx context.Context, st *store.Store, xml []byte) ([]designer.LintProblem, error) {
	opts := designer.LintOptions{}
	if st != nil {
		opts.Form = func(id string) (*designer.Form, error) {
			v, err := st.FormVersion(ctx, id, 0)
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			f, err := designer.ParseForm(v.Schema)
			if err != nil {
				return nil, err
			}
			f.Version = v.Version
			return f, nil
		}
	}
	ps, err := designer.Lint(xml, opts)
	if err != nil && len(ps) == 0 {
		return nil, err
	}
	return ps, nil
}

// lintRefusal is the 422 of a deploy refused by lint errors; nil when there
// are none.
func lintRefusal(ps []designer.LintProblem) error {
	errs := designer.LintErrors(ps)
	if len(errs) == 0 {
		return nil
	}
	e := &Error{Status: http.StatusUnprocessableEntity, Msg: "the flow cannot be deployed: " + strconv.Itoa(len(errs)) + " problem(s)"}
	for _, p := range errs {
		e.Problems = append(e.Problems, FieldProblem{Element: p.ElementID, Rule: p.Rule, Severity: p.Severity, Message: p.MessageEN})
	}
	return e
}

// lintWarnings are the warnings of a deploy, for its 201 body.
func lintWarnings(ps []designer.LintProblem) []map[string]string {
	out := []map[string]string{}
	for _, p := range designer.LintWarnings(ps) {
		out = append(out, map[string]string{"element": p.ElementID, "rule": p.Rule, "severity": p.Severity,
			"message": p.MessageEN, "messageFr": p.Message})
	}
	return out
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
	ps, err := LintFlow(c.Request().Context(), s.store, xml)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []designer.LintProblem{}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, lintAnswer{Problems: ps, Errors: len(designer.LintErrors(ps)), Warnings: len(designer.LintWarnings(ps))})
}
