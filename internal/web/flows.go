package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// CompileFlow compiles BPMN XML (service.CompileFlow): refusals are a 422
// that lists every problem with its element id.
func CompileFlow(xml []byte) (*designer.Graph, error) { return service.CompileFlow(xml) }

// DeployFlow stores a compiled flow as a new immutable version
// (service.StoreFlow); the demo seed uses it.
func DeployFlow(ctx context.Context, st *store.Store, xml []byte, g *designer.Graph, by string) (store.FlowVersion, bool, error) {
	return service.StoreFlow(ctx, st, xml, g, by)
}

func (s *Server) deployFlow(c echo.Context) error {
	if c.Request().ContentLength > designer.MaxXMLSize {
		return Errorf(http.StatusRequestEntityTooLarge, "the BPMN file is too large (%d bytes; at most %d)", c.Request().ContentLength, designer.MaxXMLSize)
	}
	xml, err := designer.ReadLimited(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.Is(err, designer.ErrTooLarge) || errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "the BPMN file is too large (at most 5 MiB)")
		}
		return Errorf(http.StatusBadRequest, "cannot read the BPMN file: %v", err)
	}
	if len(xml) == 0 {
		return Errorf(http.StatusBadRequest, "the request body is empty: send the BPMN XML")
	}
	ctx := c.Request().Context()
	dept := c.QueryParam("department")
	if dept != "" {
		if _, err := s.store.Department(ctx, dept); err != nil {
			return Errorf(http.StatusUnprocessableEntity, "department %q does not exist", dept)
		}
	}
	d, schedules, err := s.deployFlowWith(c, xml, c.QueryParam("comment"), "api", dept, c.QueryParam("variables"))
	if err != nil {
		return err
	}
	v := d.Version
	status := http.StatusCreated
	if !d.Created {
		status = http.StatusOK
	}
	out := map[string]any{"key": v.FlowKey, "version": v.Version, "checksum": v.Checksum, "created": d.Created,
		"warnings": d.Warnings}
	if len(schedules) > 0 {
		out["schedules"] = schedules
	}
	return c.JSON(status, out)
}

// deployFlowWith deploys a flow through service.DeployFlow (the same path
// for the API and the designer page), with the schedule of timer-started
// flows (department and variables: ?department=, ?variables= for the API)
// checked before storing and applied after.
func (s *Server) deployFlowWith(c echo.Context, xml []byte, comment, source, dept, vars string) (service.DeployedFlow, []string, error) {
	ctx := c.Request().Context()
	p := auth.PrincipalFrom(c)
	var sched *scheduleParams
	d, err := s.svc.DeployFlow(ctx, caller(c), service.DeployFlowInput{XML: xml, Comment: comment, Source: source,
		BeforeStore: func(g *designer.Graph) error {
			if len(g.TimerStarts) > 0 {
				sp, err := s.deployScheduleParams(c, g, dept, vars)
				if err != nil {
					if source == "designer" {
						return designerScheduleRefusal(err, g)
					}
					return err
				}
				sched = &sp
			} else if vars != "" {
				return Errorf(http.StatusUnprocessableEntity, "?variables= sets the start variables of scheduled instances, but flow %q has no timer start event", g.ID)
			}
			return nil
		}})
	if err != nil {
		return d, nil, err
	}
	var schedules []string
	if sched != nil {
		if schedules, err = s.applySchedule(ctx, d.Graph, *sched, p.Name()); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status == http.StatusServiceUnavailable {
				e.Msg = fmt.Sprintf("flow %s version %d is deployed, but its schedule could not be created; deploy again to retry", d.Version.FlowKey, d.Version.Version)
			}
			return d, nil, err
		}
	}
	return d, schedules, nil
}

// deployScheduleParams are the parameters of the scheduled instances of a
// flow being deployed: ?department= and ?variables= (a JSON object), each
// defaulting to what the flow's schedule holds from an earlier deployment
// or PUT /api/v1/flows/{key}/schedule.
func (s *Server) deployScheduleParams(c echo.Context, g *designer.Graph, dept, vars string) (scheduleParams, error) {
	ctx := c.Request().Context()
	p := scheduleParams{Department: dept}
	stored, err := s.store.FlowSchedule(ctx, g.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return p, err
	}
	if raw := vars; raw != "" {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&p.Variables); err != nil || p.Variables == nil {
			return p, &Error{Status: http.StatusBadRequest, Msg: "?variables= must be a JSON object, e.g. {\"dataset\":\"…\",\"source\":\"https://…\"}",
				Problems: []FieldProblem{{Field: "variables", Message: "a JSON object is expected"}}}
		}
	} else if err == nil && len(stored.Variables) > 0 {
		if err := json.Unmarshal(stored.Variables, &p.Variables); err != nil {
			return p, err
		}
	}
	if p.Department == "" {
		p.Department = stored.Department
	}
	if p.Department == "" {
		return p, Errorf(http.StatusUnprocessableEntity, "flow %q starts on a timer (%s): add ?department=… to say which department its scheduled instances belong to", g.ID, strings.Join(g.TimerStarts, ", "))
	}
	return p, s.checkScheduleParams(ctx, p)
}

func (s *Server) listFlows(c echo.Context) error {
	fs, err := s.store.Flows(c.Request().Context())
	if err != nil {
		return err
	}
	if fs == nil {
		fs = []store.Flow{}
	}
	return c.JSON(http.StatusOK, map[string]any{"flows": fs})
}

func (s *Server) getFlow(c echo.Context) error {
	ctx := c.Request().Context()
	key := c.Param("key")
	f, err := s.store.Flow(ctx, key)
	if err != nil {
		return err
	}
	version := 0
	if v := c.QueryParam("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Errorf(http.StatusBadRequest, "version %q is not a positive integer", v)
		}
		version = n
	}
	switch c.QueryParam("format") {
	case "bpmn", "xml":
		v, err := s.store.FlowVersion(ctx, key, version)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Content-Disposition", `attachment; filename="`+v.FlowKey+"-v"+strconv.Itoa(v.Version)+`.bpmn"`)
		return c.Blob(http.StatusOK, "application/xml", []byte(v.BPMN))
	case "graph":
		v, err := s.store.FlowVersion(ctx, key, version)
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, []byte(v.Graph))
	case "", "json":
	default:
		return Errorf(http.StatusBadRequest, "format %q is not one of json, bpmn, graph", c.QueryParam("format"))
	}
	vs, err := s.store.FlowVersions(ctx, key)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"key": f.Key, "name": f.Name, "latestVersion": f.LatestVersion, "versions": vs})
}

// audit records a state change made through HTTP by the caller.
func (s *Server) audit(c echo.Context, e audit.Entry) {
	svc := s.Auth()
	if svc == nil || svc.Audit() == nil {
		return
	}
	p := auth.PrincipalFrom(c)
	if e.Actor == "" {
		e.Actor = p.Name()
	}
	if e.Outcome == "" {
		e.Outcome = audit.OK
	}
	e.IP = c.RealIP()
	if err := svc.Audit().Record(c.Request().Context(), e); err != nil {
		s.log.Error("audit record failed", "err", err, "action", e.Action)
	}
}
