package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// schemaItem is one entry of GET /api/v1/schemas.
type schemaItem struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	Fields      int    `json:"fields"`
	Origin      string `json:"origin"` // "shipped" or "custom"
}

func (s *Server) dataListSchemas(c echo.Context) error {
	out := []schemaItem{}
	for _, in := range tableschema.Shipped() {
		out = append(out, schemaItem{Name: in.Name, Title: in.Title, Version: in.Version, Description: in.Description, Fields: in.Fields, Origin: "shipped"})
	}
	custom, err := s.store.CustomSchemas(c.Request().Context())
	if err != nil {
		return err
	}
	for _, cs := range custom {
		item := schemaItem{Name: cs.Name, Title: cs.Title, Version: strconv.Itoa(cs.Version), Origin: "custom"}
		if sch, err := tableschema.Parse(cs.Descriptor); err == nil {
			item.Fields = len(sch.Fields)
			item.Description = sch.Description
		}
		out = append(out, item)
	}
	return c.JSON(http.StatusOK, map[string]any{"schemas": out})
}

// dataGetSchema returns the descriptor of a schema (?version=N for an older
// custom version).
func (s *Server) dataGetSchema(c echo.Context) error {
	name := c.Param("name")
	if data, err := tableschema.ShippedDescriptor(name); err == nil {
		return c.JSONBlob(http.StatusOK, data)
	}
	v := 0
	if q := c.QueryParam("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n <= 0 {
			return Errorf(http.StatusBadRequest, "version must be a positive integer")
		}
		v = n
	}
	cs, err := s.store.CustomSchema(c.Request().Context(), name, v)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(http.StatusNotFound, "no schema named %q", name)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("X-Schema-Version", strconv.Itoa(cs.Version))
	return c.JSONBlob(http.StatusOK, cs.Descriptor)
}

var schemaNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,79}$`)

// maxSchemaBytes bounds an uploaded descriptor.
const maxSchemaBytes = 2 << 20

// dataPutSchema stores a custom Table Schema: ?name=, else the descriptor's
// "name". A changed descriptor makes a new version; an identical one
// answers 200 with the existing version.
func (s *Server) dataPutSchema(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxSchemaBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "the schema is larger than %d bytes", mbe.Limit)
		}
		return Errorf(http.StatusBadRequest, "cannot read the request body")
	}
	if len(body) > maxSchemaBytes {
		return Errorf(http.StatusRequestEntityTooLarge, "the schema is larger than %d bytes", maxSchemaBytes)
	}
	if len(body) == 0 {
		return Errorf(http.StatusBadRequest, "the request body is empty; a Table Schema (JSON) is expected")
	}
	sch, err := tableschema.Parse(body)
	if err != nil {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: err.Error()}
	}
	name := c.QueryParam("name")
	if name == "" {
		name = sch.Name
	}
	if !schemaNameRE.MatchString(name) {
		return Errorf(http.StatusUnprocessableEntity, "schema name %q: give ?name= or a descriptor \"name\" of 2 to 80 lower-case letters, digits, dots, dashes or underscores", name)
	}
	if _, err := tableschema.LoadShipped(name); err == nil {
		return Errorf(http.StatusConflict, "%q is a shipped schema; upload yours under another name", name)
	}
	if err := s.store.CheckSchemaWidth(name, sch); err != nil {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: err.Error()}
	}
	var compact json.RawMessage = body
	if b, err := json.Marshal(compact); err == nil {
		body = b
	}
	sum := sha256.Sum256(body)
	cs := store.CustomSchema{Name: name, SHA256: hex.EncodeToString(sum[:]), Title: sch.Title, Descriptor: store.JSONText(body)}
	if p := auth.PrincipalFrom(c); !p.Anonymous() {
		cs.CreatedBy = &p.UserID
	}
	saved, created, err := s.store.PutCustomSchema(c.Request().Context(), cs)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, map[string]any{"name": saved.Name, "version": saved.Version, "sha256": saved.SHA256,
		"created": created, "fields": len(sch.Fields), "warnings": nonNil(sch.Warnings)})
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
