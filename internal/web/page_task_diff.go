package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/service"
)

// The differences a publication would make, on review and approval tasks:
// the task page loads them after it shows (htmx), so that comparing a large
// file never slows the page down.

var taskDiffRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/tasks/:id/diff", Obj: "tasks", Act: "read"},
}

func (s *Server) registerTaskDiff() {
	s.e.GET("/tasks/:id/diff", s.taskDiffPage)
}

type taskDiffView struct {
	TaskID string
	Diff   service.ReleaseDiff
}

func (s *Server) taskDiffPage(c echo.Context) error {
	v := taskDiffView{TaskID: c.Param("id")}
	d, err := s.svc.TaskReleaseDiff(c.Request().Context(), caller(c), v.TaskID)
	if err != nil {
		return err
	}
	v.Diff = d
	if c.Request().Header.Get("HX-Request") != "" {
		return s.pageFragment(c, http.StatusOK, "task_diff", "diff", v)
	}
	return s.page(c, http.StatusOK, "task_diff", v)
}
