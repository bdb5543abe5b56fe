package web

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
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
	d, err := s.svc.DeployForm(c.Request().Context(), caller(c), body, c.QueryParam("id"))
	if err != nil {
		return err
	}
	v := d.Form
	status := http.StatusCreated
	if !d.Created {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"id": v.ID, "version": v.Version, "checksum": v.Checksum, "created": d.Created,
		"fields": orEmptyFields(d.Fields)})
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
