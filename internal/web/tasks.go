package web

import (
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// taskJSON is the task shape of the external contract.
type taskJSON struct {
	ID          string          `json:"id"`
	Instance    string          `json:"instance"`
	Flow        string          `json:"flow"`
	Node        string          `json:"node"`
	Name        string          `json:"name"`
	Department  string          `json:"department"`
	Role        string          `json:"role"`
	Candidates  []string        `json:"candidates"`
	Assignee    string          `json:"assignee"`
	Status      string          `json:"status"`
	Due         *time.Time      `json:"due"`
	Overdue     bool            `json:"overdue"`
	Form        json.RawMessage `json:"form"`
	Variables   json.RawMessage `json:"variables,omitempty"`
	Created     time.Time       `json:"created"`
	CompletedBy string          `json:"completedBy,omitempty"`
	OnBehalfOf  string          `json:"onBehalfOf,omitempty"`
	CompletedAt *time.Time      `json:"completedAt,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	Message     string          `json:"message,omitempty"`
}

func toTaskJSON(t store.Task, withVars bool) taskJSON {
	out := taskJSON{
		ID: t.ID, Instance: t.InstanceID, Flow: t.FlowKey, Node: t.Node, Name: t.Name, Department: t.Department,
		Role: t.Role, Candidates: t.Candidates(), Assignee: t.Assignee, Status: t.Status, Due: t.Due,
		Form: json.RawMessage(t.FormRaw), Created: t.CreatedAt, CompletedBy: t.CompletedBy, OnBehalfOf: t.OnBehalfOf,
		CompletedAt: t.CompletedAt, Message: t.Message,
	}
	if out.Candidates == nil {
		out.Candidates = []string{}
	}
	out.Overdue = service.Overdue(t, time.Now())
	if withVars {
		out.Variables = json.RawMessage(t.VarsRaw)
		if t.DataRaw != "" && t.DataRaw != "{}" {
			out.Data = json.RawMessage(t.DataRaw)
		}
	}
	return out
}

// caller is who asks, for the use cases.
func caller(c echo.Context) service.Caller {
	return service.Caller{Principal: auth.PrincipalFrom(c), IP: c.RealIP(), UserAgent: c.Request().UserAgent(),
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
}

// listTasks is the inbox (service.ListTasks).
func (s *Server) listTasks(c echo.Context) error {
	f := service.TaskFilter{Status: c.QueryParam("status"), Instance: c.QueryParam("instance"),
		Department: c.QueryParam("department"), Role: c.QueryParam("role"), Flow: c.QueryParam("flow")}
	var err error
	if f.Limit, err = intParam(c, "limit", store.DefaultTaskLimit, 1, store.MaxTaskLimit); err != nil {
		return err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, math.MaxInt); err != nil {
		return err
	}
	if v := c.QueryParam("dueBefore"); v != "" {
		if f.DueBefore, err = parseInstant(v); err != nil {
			return Errorf(http.StatusBadRequest, "dueBefore %q is not a date (2026-05-04) or a time (2026-05-04T12:00:00Z)", v)
		}
	}
	switch c.QueryParam("overdue") {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		return Errorf(http.StatusBadRequest, "overdue %q is not true or false", c.QueryParam("overdue"))
	}
	page, err := s.svc.ListTasks(c.Request().Context(), caller(c), f)
	if err != nil {
		return err
	}
	out := make([]taskJSON, 0, len(page.Tasks))
	for _, t := range page.Tasks {
		out = append(out, toTaskJSON(t.Task, false))
	}
	return c.JSON(http.StatusOK, map[string]any{"tasks": out, "total": page.Total, "limit": page.Limit, "offset": page.Offset})
}

// parseInstant reads an RFC 3339 time or a date (midnight UTC).
func parseInstant(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}

func (s *Server) getTask(c echo.Context) error {
	t, err := s.svc.Task(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTaskJSON(t.Task, true))
}

func (s *Server) claimTask(c echo.Context) error {
	t, err := s.svc.ClaimTask(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTaskJSON(t, false))
}

func (s *Server) unclaimTask(c echo.Context) error {
	t, err := s.svc.UnclaimTask(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTaskJSON(t, false))
}

type completeBody struct {
	Data map[string]any `json:"data"`
}

func (s *Server) completeTask(c echo.Context) error {
	var body completeBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	t, err := s.svc.CompleteTask(c.Request().Context(), caller(c), c.Param("id"), body.Data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTaskJSON(t, false))
}
