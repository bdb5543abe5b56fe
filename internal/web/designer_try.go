package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/workflows"
)

// The designer's sandbox ("Essayer", service.StartSandbox): the modeler
// page sends its draft, polls the run's state and completes its user tasks
// in a side panel (static/designer/try.js). JSON in and out, with the CSRF
// header; the right of those who deploy flows. Only sandbox ids are
// accepted, and only their starter may drive them.
var designerTryRoutes = []RoutePerm{
	{Method: http.MethodPost, Path: "/designer/try", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/try/:id", Obj: "flows", Act: "deploy"},
	{Method: http.MethodPost, Path: "/designer/try/:id/tasks/:task/complete", Obj: "flows", Act: "deploy"},
	{Method: http.MethodPost, Path: "/designer/try/:id/cancel", Obj: "flows", Act: "deploy"},
	{Method: http.MethodPost, Path: "/designer/try/:id/services/:node/answer", Obj: "flows", Act: "deploy"},
	{Method: http.MethodPost, Path: "/designer/try/:id/timers/:node/fire", Obj: "flows", Act: "deploy"},
	{Method: http.MethodPost, Path: "/designer/try/:id/incidents/:node/resolve", Obj: "flows", Act: "deploy"},
}

func (s *Server) registerDesignerTry() {
	s.e.POST("/designer/try", s.designerTryStart)
	s.e.GET("/designer/try/:id", s.designerTryState)
	s.e.POST("/designer/try/:id/tasks/:task/complete", s.designerTryComplete)
	s.e.POST("/designer/try/:id/cancel", s.designerTryCancel)
	s.e.POST("/designer/try/:id/services/:node/answer", s.designerTryAnswerService)
	s.e.POST("/designer/try/:id/timers/:node/fire", s.designerTryFire)
	s.e.POST("/designer/try/:id/incidents/:node/resolve", s.designerTryResolve)
}

// designerTryRequest starts a sandbox run: the draft and, optionally, its
// start variables.
type designerTryRequest struct {
	XML       string         `json:"xml"`
	Variables map[string]any `json:"variables"`
	// Pause stops at every service task until the designer answers it.
	Pause bool `json:"pause"`
	// Answers replace the catalogue samples, by service task id.
	Answers map[string]workflows.SandboxAnswer `json:"answers"`
}

// designerTryAnswer is the answer of the state-changing sandbox routes.
type designerTryAnswer struct {
	OK       bool              `json:"ok"`
	Message  string            `json:"message,omitempty"`
	ID       string            `json:"id,omitempty"`
	Problems []designerProblem `json:"problems,omitempty"`
}

// tryRefusal answers a domain refusal in French (the deploy's wording for
// the draft's problems); other errors go to the error handler.
func tryRefusal(c echo.Context, err error) error {
	res, status, ok := designerRefusal(err)
	if !ok {
		return err
	}
	return c.JSON(status, designerTryAnswer{Message: res.Message, Problems: res.Problems})
}

// readTryJSON decodes a small JSON body; false when it answered a 400.
func readTryJSON(c echo.Context, limit int64, v any) (bool, error) {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	if err != nil {
		return false, err
	}
	if int64(len(body)) > limit {
		return false, c.JSON(http.StatusRequestEntityTooLarge, designerTryAnswer{Message: "La requête est trop volumineuse."})
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true, nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, c.JSON(http.StatusBadRequest, designerTryAnswer{Message: "La requête n'est pas lisible (JSON attendu)."})
	}
	return true, nil
}

func (s *Server) designerTryStart(c echo.Context) error {
	var req designerTryRequest
	if ok, err := readTryJSON(c, designer.MaxXMLSize*2+64<<10, &req); !ok {
		return err
	}
	if req.XML == "" {
		return c.JSON(http.StatusUnprocessableEntity, designerTryAnswer{Message: "Le schéma est vide : dessinez ou importez un processus avant de l'essayer."})
	}
	id, err := s.svc.StartSandboxWith(c.Request().Context(), caller(c), []byte(req.XML),
		service.SandboxStart{Variables: req.Variables, Pause: req.Pause, Answers: req.Answers})
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) && se.Kind == service.Invalid && len(se.Problems) > 0 {
			se.Fr = "L'essai est impossible : corrigez les éléments signalés."
		}
		return tryRefusal(c, err)
	}
	msg := "Essai lancé : les tâches de service répondent par leurs exemples."
	if req.Pause {
		msg = "Essai lancé : chaque tâche de service attend votre réponse."
	}
	return c.JSON(http.StatusCreated, designerTryAnswer{OK: true, ID: id, Message: msg})
}

func (s *Server) designerTryState(c echo.Context) error {
	st, err := s.svc.SandboxStateOf(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return tryRefusal(c, err)
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) designerTryComplete(c echo.Context) error {
	var req struct {
		Data map[string]any `json:"data"`
	}
	if ok, err := readTryJSON(c, 1<<20, &req); !ok {
		return err
	}
	if err := s.svc.CompleteSandboxTask(c.Request().Context(), caller(c), c.Param("id"), c.Param("task"), req.Data); err != nil {
		return tryRefusal(c, err)
	}
	return c.JSON(http.StatusOK, designerTryAnswer{OK: true, Message: "Tâche validée."})
}

func (s *Server) designerTryCancel(c echo.Context) error {
	if err := s.svc.CancelSandbox(c.Request().Context(), caller(c), c.Param("id")); err != nil {
		return tryRefusal(c, err)
	}
	return c.JSON(http.StatusOK, designerTryAnswer{OK: true, Message: "Essai arrêté."})
}

// designerTryAnswerService answers a service task of the run: its output
// variables ({"variables": {…}}) or a failure ({"fail": "message"}).
func (s *Server) designerTryAnswerService(c echo.Context) error {
	var req workflows.SandboxAnswer
	if ok, err := readTryJSON(c, 1<<20, &req); !ok {
		return err
	}
	if err := s.svc.AnswerSandboxService(c.Request().Context(), caller(c), c.Param("id"), c.Param("node"), req); err != nil {
		return tryRefusal(c, err)
	}
	msg := "Réponse enregistrée."
	if req.Fail != "" {
		msg = "Échec demandé : la tâche échouera."
	}
	return c.JSON(http.StatusOK, designerTryAnswer{OK: true, Message: msg})
}

// designerTryFire fires a waiting timer now.
func (s *Server) designerTryFire(c echo.Context) error {
	if err := s.svc.FireSandboxTimer(c.Request().Context(), caller(c), c.Param("id"), c.Param("node")); err != nil {
		return tryRefusal(c, err)
	}
	return c.JSON(http.StatusOK, designerTryAnswer{OK: true, Message: "Minuterie déclenchée."})
}

// designerTryResolve resolves an incident: {"action": "retry"|"skip"}.
func (s *Server) designerTryResolve(c echo.Context) error {
	var req struct {
		Action string `json:"action"`
	}
	if ok, err := readTryJSON(c, 4<<10, &req); !ok {
		return err
	}
	if err := s.svc.ResolveSandboxIncident(c.Request().Context(), caller(c), c.Param("id"), c.Param("node"), req.Action); err != nil {
		return tryRefusal(c, err)
	}
	return c.JSON(http.StatusOK, designerTryAnswer{OK: true, Message: "Incident réglé."})
}
