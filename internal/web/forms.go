package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// maxFormSize bounds a deployed .form file.
const maxFormSize = 1 << 20

// formRouteTable lists the permissions of the forms routes. Forms are part
// of flow design: deploying one takes the right to deploy flows, reading
// one the right to read flows (the task pages render them).
var formRouteTable = []RoutePerm{
	{Method: http.MethodPost, Path: "/api/v1/forms", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/api/v1/forms", Obj: "flows", Act: "read"},
	{Method: http.MethodGet, Path: "/api/v1/forms/:id", Obj: "flows", Act: "read"},
}

func (s *Server) formRoutes(api *echo.Group) {
	api.POST("/forms", s.deployForm)
	api.GET("/forms", s.listForms)
	api.GET("/forms/:id", s.getForm)
}

// deployForm stores a form-js document (a Camunda Modeler .form file) as the
// next immutable version of its form. The id is the document's "id", or
// ?id= when the document has none (or to rename it).
func (s *Server) deployForm(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxFormSize+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "the form is too large (at most 1 MiB)")
		}
		return Errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	if len(body) > maxFormSize {
		return Errorf(http.StatusRequestEntityTooLarge, "the form is too large (at most 1 MiB)")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(http.StatusBadRequest, "the request body is empty: send the form-js JSON (a .form file)")
	}
	var doc struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		VersionTag string          `json:"versionTag"`
		Components json.RawMessage `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return Errorf(http.StatusUnprocessableEntity, "the form is not a form-js JSON object: %v", err)
	}
	if len(doc.Components) == 0 || doc.Components[0] != '[' {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "the form has no components: a form-js document has a \"components\" list",
			Problems: []FieldProblem{{Field: "components", Message: "a list of form-js components is expected"}}}
	}
	f, err := designer.ParseForm(body)
	if err != nil {
		return Errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	id := doc.ID
	if q := c.QueryParam("id"); q != "" {
		id = q
	}
	if id == "" {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: `the form has no "id": add one to the file or give ?id=`,
			Problems: []FieldProblem{{Field: "id", Message: "required"}}}
	}
	if !designer.FormIDPattern.MatchString(id) {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "form id " + strconv.Quote(id) + " is not valid",
			Problems: []FieldProblem{{Field: "id", Message: "a letter or _, then letters, digits, _ . or -, at most 128 characters"}}}
	}
	p := auth.PrincipalFrom(c)
	v, created, err := s.store.DeployForm(c.Request().Context(), store.Form{ID: id, Checksum: designer.Checksum(f.Schema),
		Name: doc.Name, VersionTag: doc.VersionTag, Schema: store.JSONText(f.Schema), DeployedBy: p.Name()})
	if err != nil {
		return err
	}
	s.audit(c, audit.Entry{Action: "form.deploy", ObjectType: "form", ObjectID: v.ID + "@" + strconv.Itoa(v.Version),
		Detail: audit.Detail(map[string]any{"checksum": v.Checksum, "new": created})})
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"id": v.ID, "version": v.Version, "checksum": v.Checksum, "created": created,
		"fields": orEmptyFields(f.Fields)})
}

func (s *Server) listForms(c echo.Context) error {
	fs, err := s.store.Forms(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"forms": fs})
}

// getForm returns a version of a form (?version=N, default the latest) with
// its schema and fields, and the list of its versions.
func (s *Server) getForm(c echo.Context) error {
	ctx := c.Request().Context()
	version, err := intParam(c, "version", 0, 1, 1<<31-1)
	if err != nil {
		return err
	}
	id := c.Param("id")
	v, err := s.store.FormVersion(ctx, id, version)
	if err != nil {
		return err
	}
	f, err := designer.ParseForm(v.Schema)
	if err != nil {
		return err
	}
	vs, err := s.store.FormVersions(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": v.ID, "version": v.Version, "checksum": v.Checksum, "name": v.Name,
		"versionTag": v.VersionTag, "deployedBy": v.DeployedBy, "deployedAt": v.DeployedAt, "schema": v.Schema,
		"fields": orEmptyFields(f.Fields), "versions": vs})
}

func orEmptyFields(fs []designer.FormField) []designer.FormField {
	if fs == nil {
		return []designer.FormField{}
	}
	return fs
}

// ResolveForms embeds in g the latest deployed version of every form its
// user tasks link by id (service.ResolveForms).
func ResolveForms(ctx context.Context, st *store.Store, g *designer.Graph) error {
	return service.ResolveForms(ctx, st, g)
}
