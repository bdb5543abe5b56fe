package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// ScheduleID names the Temporal schedule of a flow's timer start event.
func ScheduleID(flow, node string) string { return "flow-" + flow + "-" + node }

// SyncSchedules creates or replaces one Temporal schedule per timer start
// event of the deployed version: each firing starts an interpreter run at
// that start event, in department dept, with the start variables vars (for
// a collection: the dataset and the source URL). Older versions' schedules
// of the same flow and node are replaced: a schedule always runs the latest
// version. Firings do not wait for earlier runs (a nightly collection runs
// even while yesterday's review is open).
func SyncSchedules(ctx context.Context, tc client.Client, taskQueue string, g *designer.Graph, dept string, vars map[string]any) ([]string, error) {
	if vars == nil {
		vars = map[string]any{}
	}
	var ids []string
	for _, node := range g.TimerStarts {
		n := g.Nodes[node]
		if n == nil || n.Timer == nil {
			continue
		}
		spec, limit, err := scheduleSpec(*n.Timer, time.Now())
		if err != nil {
			return ids, fmt.Errorf("timer start %s: %w", node, err)
		}
		id := ScheduleID(g.Key, node)
		action := &client.ScheduleWorkflowAction{
			ID:        "scheduled-" + g.Key + "-" + node,
			Workflow:  workflows.InterpreterName,
			TaskQueue: taskQueue,
			Args: []any{workflows.Input{Flow: g.Key, Version: g.Version, Graph: *g, Department: dept,
				Initiator: workflows.Actor{Username: "schedule"}, StartEvent: node, Variables: vars}},
		}
		h := tc.ScheduleClient().GetHandle(ctx, id)
		_ = h.Delete(ctx) // replace a previous version's schedule
		opts := client.ScheduleOptions{ID: id, Spec: spec, Action: action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}
		if limit > 0 {
			opts.RemainingActions = limit
		}
		if _, err := tc.ScheduleClient().Create(ctx, opts); err != nil {
			var exists *serviceerror.AlreadyExists
			if !errors.As(err, &exists) {
				return ids, fmt.Errorf("create schedule %s: %w", id, err)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// scheduleSpec maps a BPMN timer to a Temporal schedule spec and the
// number of firings (0 = unbounded).
func scheduleSpec(t designer.Timer, now time.Time) (client.ScheduleSpec, int, error) {
	switch t.Type {
	case designer.TimerCycle:
		c, err := designer.ParseCycle(t.Value)
		if err != nil {
			return client.ScheduleSpec{}, 0, err
		}
		every := approx(c.Interval)
		if every < time.Second {
			return client.ScheduleSpec{}, 0, fmt.Errorf("interval %s is shorter than a second", t.Value)
		}
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
		if !c.Start.IsZero() {
			spec.StartAt = c.Start
			spec.Intervals[0].Offset = time.Duration(c.Start.UnixNano() % int64(every))
		}
		if c.Repeat < 0 {
			return spec, 0, nil
		}
		return spec, c.Repeat, nil
	case designer.TimerDate:
		at, err := designer.ParseDate(t.Value)
		if err != nil {
			return client.ScheduleSpec{}, 0, err
		}
		return onceAt(at), 1, nil
	case designer.TimerDuration:
		d, err := designer.ParseDuration(t.Value)
		if err != nil {
			return client.ScheduleSpec{}, 0, err
		}
		return onceAt(d.AddTo(now)), 1, nil
	}
	return client.ScheduleSpec{}, 0, fmt.Errorf("unknown timer type %q", t.Type)
}

func onceAt(at time.Time) client.ScheduleSpec {
	at = at.UTC()
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
		Second: []client.ScheduleRange{{Start: at.Second()}}, Minute: []client.ScheduleRange{{Start: at.Minute()}},
		Hour: []client.ScheduleRange{{Start: at.Hour()}}, DayOfMonth: []client.ScheduleRange{{Start: at.Day()}},
		Month: []client.ScheduleRange{{Start: int(at.Month())}}, Year: []client.ScheduleRange{{Start: at.Year()}},
	}}}
}

// approx turns an ISO duration into a fixed interval (months = 30 days,
// years = 365 days), as schedules need.
func approx(d designer.Duration) time.Duration {
	days := float64(d.Years*365 + d.Months*30 + d.Weeks*7 + d.Days)
	secs := days*86400 + float64(d.Hours*3600+d.Minutes*60) + d.Seconds
	return time.Duration(math.Round(secs * float64(time.Second)))
}

// scheduleRouteTable lists the permissions of the schedule routes: the
// parameters of a flow's scheduled instances are part of its deployment.
var scheduleRouteTable = []RoutePerm{
	{Method: http.MethodGet, Path: "/api/v1/flows/:key/schedule", Obj: "flows", Act: "read"},
	{Method: http.MethodPut, Path: "/api/v1/flows/:key/schedule", Obj: "flows", Act: "deploy"},
	{Method: http.MethodDelete, Path: "/api/v1/flows/:key/schedule", Obj: "flows", Act: "deploy"},
}

func (s *Server) scheduleRoutes(api *echo.Group) {
	api.GET("/flows/:key/schedule", s.getSchedule)
	api.PUT("/flows/:key/schedule", s.putSchedule)
	api.DELETE("/flows/:key/schedule", s.deleteSchedule)
}

// scheduleParams are the department and start variables of a flow's
// scheduled instances.
type scheduleParams struct {
	Department string         `json:"department"`
	Variables  map[string]any `json:"variables"`
}

// checkScheduleParams refuses parameters that would make every scheduled
// run fail: an unknown department, a dataset of another department, a
// source that is not an http(s) URL.
func (s *Server) checkScheduleParams(ctx context.Context, p scheduleParams) error {
	if p.Department == "" {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: `"department" is required: the department the scheduled instances belong to`,
			Problems: []FieldProblem{{Field: "department", Message: "required"}}}
	}
	if _, err := s.store.Department(ctx, p.Department); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &Error{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("department %q does not exist", p.Department),
				Problems: []FieldProblem{{Field: "department", Message: "unknown department"}}}
		}
		return err
	}
	if v, ok := p.Variables["dataset"]; ok {
		id, _ := v.(string)
		ds, err := s.store.Dataset(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound) || id == "":
			return &Error{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("dataset %v does not exist", v),
				Problems: []FieldProblem{{Field: "variables.dataset", Message: "unknown dataset"}}}
		case err != nil:
			return err
		case ds.Department != p.Department:
			return &Error{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("dataset %s belongs to department %s, not %s", ds.ID, ds.Department, p.Department),
				Problems: []FieldProblem{{Field: "variables.dataset", Message: "a dataset of the schedule's department is expected"}}}
		}
	}
	if v, ok := p.Variables["source"]; ok {
		raw, _ := v.(string)
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 {
			return &Error{Status: http.StatusUnprocessableEntity, Msg: "the source must be an absolute http(s) URL",
				Problems: []FieldProblem{{Field: "variables.source", Message: "an absolute http:// or https:// URL of at most 2048 characters"}}}
		}
	}
	return nil
}

// applySchedule stores the parameters and (re)creates the Temporal
// schedules of the flow's latest version.
func (s *Server) applySchedule(ctx context.Context, g *designer.Graph, p scheduleParams, by string) ([]string, error) {
	vars, err := store.ToJSONText(p.Variables)
	if err != nil {
		return nil, Errorf(http.StatusUnprocessableEntity, "the variables cannot be stored: %v", err)
	}
	if err := s.store.SetFlowSchedule(ctx, &store.FlowSchedule{FlowKey: g.Key, Department: p.Department, Variables: vars, UpdatedBy: by}); err != nil {
		return nil, err
	}
	if s.temporal == nil {
		return nil, Errorf(http.StatusServiceUnavailable, "Temporal is not connected: the schedule is stored and will be created at the next deployment")
	}
	ids, err := SyncSchedules(ctx, s.temporal, s.cfg.WorkerTaskQueue, g, p.Department, p.Variables)
	if err != nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Msg: fmt.Sprintf("flow %s version %d: its schedule could not be created; try again", g.Key, g.Version), Err: err}
	}
	return ids, nil
}

// latestGraph loads the latest deployed version of a flow.
func (s *Server) latestGraph(ctx context.Context, key string) (*designer.Graph, error) {
	v, err := s.store.FlowVersion(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	var g designer.Graph
	if err := json.Unmarshal([]byte(v.Graph), &g); err != nil {
		return nil, err
	}
	g.Key, g.Version = v.FlowKey, v.Version
	return &g, nil
}

// getSchedule answers the parameters of a flow's scheduled instances and
// the next firings of its schedules.
func (s *Server) getSchedule(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.latestGraph(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	out := map[string]any{"flow": g.Key, "version": g.Version, "timerStarts": orEmptyStrings(g.TimerStarts)}
	fs, err := s.store.FlowSchedule(ctx, g.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		out["scheduled"] = false
		return c.JSON(http.StatusOK, out)
	case err != nil:
		return err
	}
	out["scheduled"], out["department"], out["variables"] = true, fs.Department, fs.Variables
	out["updatedBy"], out["updatedAt"] = fs.UpdatedBy, fs.UpdatedAt
	var next []time.Time
	ids := []string{}
	for _, node := range g.TimerStarts {
		id := ScheduleID(g.Key, node)
		ids = append(ids, id)
		if s.temporal == nil {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		d, err := s.temporal.ScheduleClient().GetHandle(dctx, id).Describe(dctx)
		cancel()
		if err == nil {
			next = append(next, d.Info.NextActionTimes...)
		}
	}
	sort.Slice(next, func(i, j int) bool { return next[i].Before(next[j]) })
	out["schedules"], out["nextRuns"] = ids, next
	return c.JSON(http.StatusOK, out)
}

// putSchedule sets the department and start variables of a flow's
// scheduled instances ({"department","variables":{"dataset","source"}})
// and re-creates its schedules with them.
func (s *Server) putSchedule(c echo.Context) error {
	var p scheduleParams
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	ctx := c.Request().Context()
	g, err := s.latestGraph(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	if err := s.checkScheduleParams(ctx, p); err != nil {
		return err
	}
	if len(g.TimerStarts) == 0 {
		return Errorf(http.StatusUnprocessableEntity, "flow %s (version %d) has no timer start event: there is nothing to schedule", g.Key, g.Version)
	}
	ids, err := s.applySchedule(ctx, g, p, auth.PrincipalFrom(c).Name())
	if err != nil {
		return err
	}
	s.audit(c, audit.Entry{Action: "flow.schedule", ObjectType: "flow", ObjectID: g.Key, Department: p.Department,
		Detail: audit.Detail(map[string]any{"variables": p.Variables, "schedules": ids})})
	return c.JSON(http.StatusOK, map[string]any{"flow": g.Key, "version": g.Version, "department": p.Department,
		"variables": orEmptyMap(p.Variables), "schedules": ids})
}

// deleteSchedule stops a flow's schedules and forgets their parameters.
func (s *Server) deleteSchedule(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.latestGraph(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	if len(g.TimerStarts) > 0 {
		if s.temporal == nil {
			return Errorf(http.StatusServiceUnavailable, "Temporal is not connected: the schedules cannot be stopped now")
		}
		for _, node := range g.TimerStarts {
			err := s.temporal.ScheduleClient().GetHandle(ctx, ScheduleID(g.Key, node)).Delete(ctx)
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				return &Error{Status: http.StatusServiceUnavailable, Msg: "the schedule could not be stopped; try again", Err: err}
			}
		}
	}
	if err := s.store.DeleteFlowSchedule(ctx, g.Key); err != nil {
		return err
	}
	s.audit(c, audit.Entry{Action: "flow.unschedule", ObjectType: "flow", ObjectID: g.Key})
	return c.NoContent(http.StatusNoContent)
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
