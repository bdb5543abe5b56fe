package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// The form editor of the designer: /designer/forms lists the deployed
// forms, /designer/forms/{id} opens the latest version in form-js's editor
// (vendored UMD, static/designer/forms.js) beside a viewer preview with
// sample data; saving deploys a new version through service.DeployForm, as
// POST /api/v1/forms does.

// designerFormRoutes: those who may deploy flows design their forms.
var designerFormRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/designer/forms", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/forms/new", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/designer/forms/:id", Obj: "flows", Act: "deploy"},
	{Method: http.MethodPost, Path: "/designer/forms/:id", Obj: "flows", Act: "deploy"},
}

func (s *Server) registerDesignerForms() {
	s.e.GET("/designer/forms", s.designerFormsPage)
	s.e.GET("/designer/forms/new", s.designerNewForm)
	s.e.GET("/designer/forms/:id", s.designerFormPage)
	s.e.POST("/designer/forms/:id", s.designerSaveForm)
}

type designerFormsView struct {
	Forms []store.Form
	Error string
	NewID string
}

func (s *Server) designerFormsPage(c echo.Context) error {
	fs, err := s.store.Forms(c.Request().Context())
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "designer_forms", designerFormsView{Forms: fs})
}

// designerNewForm opens the editor on a new form id (?id=).
func (s *Server) designerNewForm(c echo.Context) error {
	id := strings.TrimSpace(c.QueryParam("id"))
	if !designer.FormIDPattern.MatchString(id) {
		fs, err := s.store.Forms(c.Request().Context())
		if err != nil {
			return err
		}
		msg := "Donnez un identifiant : une lettre ou _, puis lettres, chiffres, _ . ou -, 128 caractères au plus."
		return s.page(c, http.StatusUnprocessableEntity, "designer_forms", designerFormsView{Forms: fs, Error: msg, NewID: id})
	}
	return c.Redirect(http.StatusSeeOther, "/designer/forms/"+url.PathEscape(id))
}

type designerFormView struct {
	ID       string
	Name     string
	Version  int // 0: a new form
	Versions []store.Form
	// Schema is the form-js document given to the editor (JSON, escaped by
	// html/template inside its <script type="application/json">).
	Schema json.RawMessage
}

func (s *Server) designerFormPage(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if !designer.FormIDPattern.MatchString(id) {
		return &PageError{Status: http.StatusNotFound, Msg: "Ce formulaire n'existe pas."}
	}
	v := designerFormView{ID: id}
	f, err := s.store.FormVersion(ctx, id, 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		schema, _ := json.Marshal(map[string]any{"id": id, "type": "default", "components": []any{}})
		v.Schema = schema
	case err != nil:
		return err
	default:
		v.Name, v.Version, v.Schema = f.Name, f.Version, json.RawMessage(f.Schema)
		if v.Versions, err = s.store.FormVersions(ctx, id); err != nil {
			return err
		}
	}
	return s.page(c, http.StatusOK, "designer_form", v)
}

// designerSaveForm deploys the editor's schema (JSON) as a new version and
// answers JSON with a French message.
func (s *Server) designerSaveForm(c echo.Context) error {
	id := c.Param("id")
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxFormSize+1))
	if err != nil || len(body) > maxFormSize {
		return c.JSON(http.StatusRequestEntityTooLarge, map[string]any{"error": "Le formulaire est trop volumineux (1 Mio au plus)."})
	}
	d, err := s.svc.DeployForm(c.Request().Context(), caller(c), body, id)
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) {
			msg := se.Fr
			if msg == "" {
				msg = se.Msg
			}
			return c.JSON(StatusOfKind(se.Kind), map[string]any{"error": msg})
		}
		return err
	}
	msg := "Version " + strconv.Itoa(d.Form.Version) + " enregistrée."
	if !d.Created {
		msg = "Aucun changement : la version " + strconv.Itoa(d.Form.Version) + " reste la dernière."
	}
	return c.JSON(http.StatusOK, map[string]any{"id": d.Form.ID, "version": d.Form.Version, "created": d.Created, "message": msg})
}
