package web

import (
	"net/http"
)

// RoutePerm says which permission a route needs: Casbin object and action,
// or Public for routes open to anyone. A route missing from the table is
// refused (deny by default), and a test fails.
type RoutePerm struct {
	Method string
	Path   string
	Obj    string
	Act    string
	Public bool
}

// coreRoutes are the routes of this file's handlers.
var coreRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/healthz", Public: true},
	{Method: http.MethodGet, Path: "/metrics", Public: true},
}

func (s *Server) routes() {
	s.e.GET("/healthz", s.health)
	s.e.HEAD("/healthz", s.health)
	s.e.GET("/metrics", s.metrics())
	api := s.e.Group("/api/v1")
	s.peopleRoutes(api)
	s.dataRoutes(api)
	s.engineRoutes(api)
	s.formRoutes(api)
	s.scheduleRoutes(api)
	s.registerPages()
	s.registerRequestPages()
	s.registerDatasetPages()
	s.registerTaskPages()
	s.registerTaskDiff()
	s.registerAdminPages()
	// The designer's lint and form editor (designer_lint.go, designer_forms.go).
	s.registerDesignerLint()
	s.registerDesignerForms()
	// Designer (h/designer).
	s.registerDesignerPages()
	// The designer's sandbox, "Essayer" (designer_try.go).
	s.registerDesignerTry()
	// The public records API, Opendatasoft Explore v2.1 (explore.go). Public.
	s.registerExplore()
	// The DCAT-AP catalog and the catalog exports (explore_catalog.go, h/portal). Public.
	s.registerExploreCatalog()
	// The public portal: /catalog, /catalog/{id}, /reutiliser (page_catalog.go, h/portal). Public.
	s.registerPortal()
	// The public API's gateway: keys, plans, consumers, usage (apigw.go).
	s.registerAPIGateway(api)
	// The developers' documentation: OpenAPI documents, /developers (page_developers.go). Public.
	s.registerDevelopers()
	// The reusers' self-service and the API's staff pages (page_reusers.go, page_admin_api.go; h/devpages).
	s.registerReuserPages()
	s.registerAdminAPIPages()
}

// RouteTable is every route's permission.
func RouteTable() []RoutePerm {
	var all []RoutePerm
	all = append(all, coreRoutes...)
	all = append(all, peopleRouteTable()...)
	all = append(all, dataRouteTable()...)
	all = append(all, engineRouteTable...)
	all = append(all, formRouteTable...)
	all = append(all, scheduleRouteTable...)
	all = append(all, pageRoutes...)
	all = append(all, requestPageRoutes...)
	all = append(all, datasetPageRoutes...)
	all = append(all, taskPageRoutes...)
	all = append(all, taskDiffRoutes...)
	all = append(all, adminPageRoutes...)
	// The public records API, Opendatasoft Explore v2.1 (explore.go): Public.
	all = append(all, exploreRoutes...)
	// The DCAT-AP catalog and the catalog exports (explore_catalog.go, h/portal): Public.
	all = append(all, exploreCatalogRoutes...)
	// The public portal (page_catalog.go, h/portal): Public.
	all = append(all, portalRoutes...)
	// The public records API's further exports, jsonl/geojson/xlsx/parquet (explore_exports.go, issue #12): Public.
	all = append(all, exploreExportRoutes...)
	// The designer's lint and form editor (designer_lint.go, designer_forms.go).
	all = append(all, designerLintRoutes...)
	all = append(all, designerFormRoutes...)
	// Designer (h/designer).
	all = append(all, designerPageRoutes...)
	// The designer's sandbox, "Essayer" (designer_try.go).
	all = append(all, designerTryRoutes...)
	// The public API's gateway: keys, plans, consumers, usage (apigw.go).
	all = append(all, apigwRoutes...)
	// The developers' documentation: OpenAPI documents, /developers (page_developers.go). Public.
	all = append(all, developerRoutes...)
	// The reusers' self-service and the API's staff pages (page_reusers.go, page_admin_api.go; h/devpages).
	all = append(all, reuserPageRoutes...)
	all = append(all, adminAPIPageRoutes...)
	return all
}
