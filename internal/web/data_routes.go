package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// DataRoutes are the permissions of the schemas, validation and datasets
// routes. Datasets are department-scoped: the middleware checks "in some
// department", handlers narrow to the dataset's department.
var DataRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/api/v1/schemas", Public: true},
	{Method: http.MethodGet, Path: "/api/v1/schemas/:name", Public: true},
	{Method: http.MethodPost, Path: "/api/v1/schemas", Obj: "schemas", Act: "write"},
	{Method: http.MethodPost, Path: "/api/v1/validate", Public: true},

	{Method: http.MethodGet, Path: "/api/v1/datasets", Obj: "datasets", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/datasets", Obj: "datasets", Act: "create"},
	{Method: http.MethodGet, Path: "/api/v1/datasets/:id", Obj: "datasets", Act: "read"},
	{Method: http.MethodPatch, Path: "/api/v1/datasets/:id", Obj: "datasets", Act: "write"},
	{Method: http.MethodGet, Path: "/api/v1/datasets/:id/files", Obj: "datasets", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/datasets/:id/files", Obj: "datasets", Act: "write"},
	{Method: http.MethodGet, Path: "/api/v1/datasets/:id/releases/:n", Obj: "datasets", Act: "read"},
	{Method: http.MethodGet, Path: "/api/v1/reports/:id", Obj: "datasets", Act: "read"},
}

// dataRoutes registers schemas, validation and datasets routes.
func (s *Server) dataRoutes(api *echo.Group) {
	api.GET("/schemas", s.dataListSchemas)
	api.GET("/schemas/:name", s.dataGetSchema)
	api.POST("/schemas", s.dataPutSchema)
	api.POST("/validate", s.dataValidate)

	api.GET("/datasets", s.dataListDatasets)
	api.POST("/datasets", s.dataCreateDataset)
	api.GET("/datasets/:id", s.dataGetDataset)
	api.PATCH("/datasets/:id", s.dataPatchDataset)
	api.GET("/datasets/:id/files", s.dataListFiles)
	api.POST("/datasets/:id/files", s.dataStageFile)
	api.GET("/datasets/:id/releases/:n", s.dataGetRelease)
	api.GET("/reports/:id", s.dataGetReport)
}

// dataRouteTable lists the permissions of dataRoutes.
func dataRouteTable() []RoutePerm { return DataRoutes }
