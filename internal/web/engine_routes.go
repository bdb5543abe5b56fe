package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// engineRouteTable lists the permissions of flows, instances and tasks.
// Department-level checks (start in D, read an instance of D, act on a
// task) happen in the handlers through the same authorizer.
var engineRouteTable = []RoutePerm{
	{Method: http.MethodPost, Path: "/api/v1/flows", Obj: "flows", Act: "deploy"},
	{Method: http.MethodGet, Path: "/api/v1/flows", Obj: "flows", Act: "read"},
	{Method: http.MethodGet, Path: "/api/v1/flows/:key", Obj: "flows", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/instances", Obj: "instances", Act: "create"},
	{Method: http.MethodGet, Path: "/api/v1/instances", Obj: "instances", Act: "read"},
	{Method: http.MethodGet, Path: "/api/v1/instances/:id", Obj: "instances", Act: "read"},
	// Route level: may read requests; who may cancel (the department's
	// cancellers, the initiator) is the service's decision.
	{Method: http.MethodPost, Path: "/api/v1/instances/:id/cancel", Obj: "instances", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/instances/:id/resolve", Obj: "instances", Act: "cancel"},
	{Method: http.MethodGet, Path: "/api/v1/tasks", Obj: "tasks", Act: "read"},
	{Method: http.MethodGet, Path: "/api/v1/tasks/:id", Obj: "tasks", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/tasks/:id/claim", Obj: "tasks", Act: "claim"},
	{Method: http.MethodPost, Path: "/api/v1/tasks/:id/unclaim", Obj: "tasks", Act: "claim"},
	{Method: http.MethodPost, Path: "/api/v1/tasks/:id/complete", Obj: "tasks", Act: "complete"},
}

func (s *Server) engineRoutes(api *echo.Group) {
	api.POST("/flows", s.deployFlow)
	api.GET("/flows", s.listFlows)
	api.GET("/flows/:key", s.getFlow)
	api.POST("/instances", s.startInstance)
	api.GET("/instances", s.listInstances)
	api.GET("/instances/:id", s.getInstance)
	api.POST("/instances/:id/cancel", s.cancelInstance)
	api.POST("/instances/:id/resolve", s.resolveIncident)
	api.GET("/tasks", s.listTasks)
	api.GET("/tasks/:id", s.getTask)
	api.POST("/tasks/:id/claim", s.claimTask)
	api.POST("/tasks/:id/unclaim", s.unclaimTask)
	api.POST("/tasks/:id/complete", s.completeTask)
}
