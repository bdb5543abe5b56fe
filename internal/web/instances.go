package web

import (
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/service"
)

// maxStartBody bounds the body of POST /api/v1/instances.
const maxStartBody = service.MaxStartVariablesBytes + 16<<10

func (s *Server) startInstance(c echo.Context) error {
	r := c.Request()
	if r.ContentLength > maxStartBody {
		return Errorf(http.StatusRequestEntityTooLarge, "the request body (%d bytes) is larger than the %d bytes a start accepts (start variables: at most %d KiB of JSON)",
			r.ContentLength, maxStartBody, service.MaxStartVariablesBytes>>10)
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxStartBody)
	}
	var req service.StartInput
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	id, err := s.svc.StartRequest(r.Context(), caller(c), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": id})
}

func (s *Server) getInstance(c echo.Context) error {
	r, err := s.svc.Request(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	in := r.Instance
	out := map[string]any{
		"id": in.ID, "flow": in.FlowKey, "version": in.Version, "department": in.Department,
		"status": r.Status, "current": r.Current, "variables": r.Variables, "history": r.History,
		"startedBy": in.StartedBy, "startedAt": in.StartedAt, "updatedAt": in.UpdatedAt, "endedAt": in.EndedAt,
		"message": r.Message,
	}
	if r.Live {
		out["openTasks"] = r.OpenTasks
		out["incidents"] = r.Incidents
	}
	if r.Activities != nil {
		out["activities"] = r.Activities
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listInstances(c echo.Context) error {
	f := service.RequestFilter{Status: c.QueryParam("status"), Flow: c.QueryParam("flow"), Department: c.QueryParam("department")}
	var err error
	if f.Limit, err = intParam(c, "limit", 100, 0, math.MaxInt); err != nil {
		return err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, math.MaxInt); err != nil {
		return err
	}
	list, err := s.svc.ListRequests(c.Request().Context(), caller(c), f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, r := range list {
		in := r.Instance
		out = append(out, map[string]any{
			"id": in.ID, "flow": in.FlowKey, "version": in.Version, "department": in.Department, "status": in.Status,
			"current": in.Current(), "startedBy": in.StartedBy, "startedAt": in.StartedAt, "endedAt": in.EndedAt, "message": in.Message,
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"instances": out})
}

// intParam reads an optional integer query parameter within [min, max];
// absent, it is def; out of range or not a number, a 400 naming it.
func intParam(c echo.Context, name string, def, min, max int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		if max == math.MaxInt {
			return 0, Errorf(http.StatusBadRequest, "%s %q is not an integer of at least %d", name, v, min)
		}
		return 0, Errorf(http.StatusBadRequest, "%s %q is not an integer from %d to %d", name, v, min, max)
	}
	return n, nil
}

func (s *Server) cancelInstance(c echo.Context) error {
	in, err := s.svc.CancelRequest(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"id": in.ID, "status": "cancelling"})
}

func (s *Server) resolveIncident(c echo.Context) error {
	var req service.ResolveInput
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in, err := s.svc.ResolveIncident(c.Request().Context(), caller(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": in.ID, "action": req.Action})
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
