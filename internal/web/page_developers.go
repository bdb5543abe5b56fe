package web

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/apidoc"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// The developers' documentation (issue #12): the OpenAPI 3.1 documents of
// the public records API, one per public dataset (its records typed from
// its Table Schema) and one for the catalogue; the public page
// /developers (what the API is, its licence, how to call it, the public
// datasets) and a try-it view per dataset (/developers/api/{id}, the
// vendored Swagger UI, initialised by static/developers/tryit.js: no
// inline script). Private or unexposed datasets answer 404, as in the API.
var developerRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: explorePrefix + "/openapi.json", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/openapi.json", Public: true},
	{Method: http.MethodGet, Path: "/developers", Public: true},
	{Method: http.MethodGet, Path: "/developers/api/:id", Public: true},
}

func (s *Server) registerDevelopers() {
	s.e.GET(explorePrefix+"/openapi.json", s.openAPICatalog)
	s.e.GET(explorePrefix+"/catalog/datasets/:id/openapi.json", s.openAPIDataset)
	s.e.GET("/developers", s.developersPage)
	s.e.GET("/developers/api/:id", s.developersTryPage)
}

var routeParam = regexp.MustCompile(`:[^/]+|\{[^}]+\}`)

// apiDocOptions describes the server to the documents: who publishes,
// where the API is, and which public API routes it serves.
func (s *Server) apiDocOptions() apidoc.Options {
	served := map[string]bool{}
	for _, r := range s.e.Routes() {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, explorePrefix+"/") {
			served[routeParam.ReplaceAllString(strings.TrimPrefix(r.Path, explorePrefix), "{}")] = true
		}
	}
	o := apidoc.Options{Org: s.orgName(), Served: func(path string) bool {
		return served[routeParam.ReplaceAllString(path, "{}")]
	}}
	if s.cfg.PublicURL != "" {
		o.ServerURL = strings.TrimSuffix(s.cfg.PublicURL, "/") + explorePrefix
	}
	return o
}

// apiDocDataset is what a document says of a dataset.
func apiDocDataset(d service.PublicAPIDataset) apidoc.Dataset {
	ds, rel := d.Dataset, d.Release
	out := apidoc.Dataset{ID: ds.ID, Title: ds.Title, Description: ds.Description, Licence: ds.Licence, Publisher: ds.Department,
		Keywords: ds.Keywords, Records: rel.Rows, Modified: rel.CreatedAt, Schema: rel.SchemaName, SchemaVersion: rel.SchemaVersion}
	for _, col := range rel.Columns {
		f := apidoc.Field{Name: col.Field, Kind: col.Kind}
		if d.Schema != nil {
			if sf, ok := d.Schema.Field(col.Field); ok {
				fd := sf.Descriptor()
				f.Type, f.Format, f.Title, f.Description = sf.Type(), sf.Format(), fd.Title, fd.Description
				c := fd.Constraints
				f.Required, f.Enum, f.Pattern, f.Minimum, f.Maximum, f.MinLen, f.MaxLen = c.Required, c.Enum, c.Pattern, c.Minimum, c.Maximum, c.MinLength, c.MaxLength
				f.Example = fd.Example
			}
		}
		out.Fields = append(out.Fields, f)
	}
	return out
}

// openAPIJSON answers a document, open to any origin like the API.
func openAPIJSON(c echo.Context, doc map[string]any) error {
	h := c.Response().Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "public, no-cache")
	return c.JSON(http.StatusOK, doc)
}

func (s *Server) openAPIDataset(c echo.Context) error {
	d, err := s.svc.PublicAPIDataset(c.Request().Context(), c.Param("id"))
	if err != nil {
		c.Response().Header().Set("Access-Control-Allow-Origin", "*")
		return s.exploreFail(c, err)
	}
	return openAPIJSON(c, apidoc.ForDataset(s.apiDocOptions(), apiDocDataset(d)))
}

func (s *Server) openAPICatalog(c echo.Context) error {
	list, err := s.svc.PublicAPIDatasets(c.Request().Context())
	if err != nil {
		return s.exploreFail(c, err)
	}
	ds := make([]apidoc.Dataset, 0, len(list))
	for _, d := range list {
		ds = append(ds, apiDocDataset(d))
	}
	return openAPIJSON(c, apidoc.ForCatalog(s.apiDocOptions(), ds))
}

// developersView is the /developers page's data.
type developersView struct {
	BaseURL  string // the API's base URL, for the examples
	Example  string // a public dataset id for the examples ("" when none)
	Datasets []developersDataset
}

type developersDataset struct {
	ID, Title, Description, Licence, LicenceURL, Schema string
	Records                                             int64
}

// apiBase is the API's base URL as the reader reaches it.
func (s *Server) apiBase(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/") + explorePrefix
	}
	return c.Scheme() + "://" + c.Request().Host + explorePrefix
}

func (s *Server) developersPage(c echo.Context) error {
	list, err := s.svc.PublicAPIDatasets(c.Request().Context())
	if err != nil {
		return err
	}
	v := developersView{BaseURL: s.apiBase(c)}
	for _, d := range list {
		v.Datasets = append(v.Datasets, developersDataset{ID: d.Dataset.ID, Title: d.Dataset.Title, Description: d.Dataset.Description,
			Licence: apidoc.LicenceName(d.Dataset.Licence), LicenceURL: apidoc.LicenceURL(d.Dataset.Licence),
			Schema: d.Release.SchemaName, Records: d.Release.Rows})
	}
	if len(v.Datasets) > 0 {
		v.Example = v.Datasets[0].ID
	}
	return s.page(c, http.StatusOK, "developers", v)
}

// developersTryView is the try-it page's data.
type developersTryView struct {
	ID, Title, Licence, LicenceURL, DocURL, BaseURL string
}

func (s *Server) developersTryPage(c echo.Context) error {
	d, err := s.svc.PublicAPIDataset(c.Request().Context(), c.Param("id"))
	if service.KindOf(err) == service.NotFound {
		return &PageError{Status: http.StatusNotFound, Msg: "Ce jeu de données n'existe pas ou n'est pas public."}
	}
	if err != nil {
		return err
	}
	id := d.Dataset.ID
	if !store.ValidDatasetID(id) { // never: PublicAPIDataset checked it
		return &PageError{Status: http.StatusNotFound, Msg: "Ce jeu de données n'existe pas ou n'est pas public."}
	}
	return s.page(c, http.StatusOK, "developers_api", developersTryView{ID: id, Title: d.Dataset.Title,
		Licence: apidoc.LicenceName(d.Dataset.Licence), LicenceURL: apidoc.LicenceURL(d.Dataset.Licence),
		DocURL: explorePrefix + "/catalog/datasets/" + id + "/openapi.json", BaseURL: s.apiBase(c)})
}
