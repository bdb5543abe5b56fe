package web

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/catalog"
	"github.com/civicflow/civicflow/internal/service"
)

// The catalog in DCAT-AP, for harvesters (data.gouv.fr and the European
// data portal): /catalog.jsonld (JSON-LD), /catalog.ttl (Turtle), and
// Opendatasoft's catalog exports: /api/explore/v2.1/catalog/exports/dcat
// (JSON-LD, the same document as /catalog.jsonld: data.gouv.fr's DCAT
// harvester reads JSON-LD as well as RDF/XML), …/csv and …/json (the list
// of public datasets and their metadata).

var exploreCatalogRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/catalog.jsonld", Public: true},
	{Method: http.MethodGet, Path: "/catalog.ttl", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/exports/csv", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/exports/json", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/exports/dcat", Public: true},
}

func (s *Server) registerExploreCatalog() {
	cors := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Access-Control-Allow-Origin", "*")
			return next(c)
		}
	}
	// Machine-facing like the records API: metered by the gateway (apigw.go).
	meter := s.meter()
	s.e.GET("/catalog.jsonld", s.catalogJSONLD, cors, meter)
	s.e.GET("/catalog.ttl", s.catalogTurtle, cors, meter)
	s.e.GET(explorePrefix+"/catalog/exports/csv", s.catalogExportCSV, cors, meter)
	s.e.GET(explorePrefix+"/catalog/exports/json", s.catalogExportJSON, cors, meter)
	s.e.GET(explorePrefix+"/catalog/exports/dcat", s.catalogJSONLD, cors, meter)
}

// publicBase is the site's public address for the links and IRIs of the
// catalog: --public-url, else the address the request came to (a host
// name or address and port only; anything odd falls back to --http).
func (s *Server) publicBase(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	host := c.Request().Host
	ok := host != "" && len(host) <= 255
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			ok = false
			break
		}
	}
	if !ok {
		return s.cfg.BaseURL()
	}
	scheme := "http"
	if c.Request().TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + host
}

// catalogOptions describe the catalog: the collectivité as publisher.
func (s *Server) catalogOptions(c echo.Context) catalog.Options {
	org := s.orgName()
	pub := strings.TrimSpace(s.cfg.PublisherName)
	if pub == "" {
		pub = org
	}
	return catalog.Options{
		BaseURL:     s.publicBase(c),
		Title:       "Données ouvertes — " + org,
		Description: "Catalogue des données publiques publiées par " + pub + " : jeux de données, téléchargements et API.",
		Publisher:   catalog.Publisher{Name: pub, URI: s.cfg.PublisherURI},
	}
}

// serveCached answers body with a strong ETag (its hash) and a short public
// cache: harvesters revalidate with If-None-Match and get 304.
func serveCached(c echo.Context, contentType string, body []byte) error {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=300")
	h.Add("Vary", "Accept-Encoding")
	for _, m := range strings.Split(c.Request().Header.Get("If-None-Match"), ",") {
		if m = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m), "W/")); m == etag || m == "*" {
			return c.NoContent(http.StatusNotModified)
		}
	}
	return c.Blob(http.StatusOK, contentType, body)
}

// catalogDocs keeps the last DCAT documents built, by the key of what they
// describe (catalogKey): harvesters fetch the same catalog again and
// again, and building it costs ~0.2 s for 500 datasets (docs/benchmarks.md).
var catalogDocs struct {
	sync.Mutex
	byFormat map[string]cachedDoc
}

type cachedDoc struct {
	key  string
	body []byte
}

// catalogKey hashes everything catalog.Build reads: the options and, per
// entry, every field of the dataset, the exposed release (immutable per
// number), the first release date and the department's name.
func catalogKey(o catalog.Options, entries []catalog.Entry) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %q\n", o.BaseURL, o.Title, o.Description, o.Publisher.Name, o.Publisher.URI)
	enc := json.NewEncoder(h)
	for _, e := range entries {
		if err := enc.Encode(e.Dataset); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d %s %d %s %q\n", e.Release.Number, e.Release.CreatedAt.UTC().Format(time.RFC3339Nano), e.Release.Rows,
			e.Issued.UTC().Format(time.RFC3339Nano), e.DepartmentName)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// catalogDoc answers the catalog in one serialisation, from the cache when
// nothing changed.
func (s *Server) catalogDoc(c echo.Context, format, contentType string, write func(*catalog.Graph) ([]byte, error)) error {
	entries, err := s.svc.PublicCatalog(c.Request().Context())
	if err != nil {
		return s.exploreFail(c, err)
	}
	opts := s.catalogOptions(c)
	key, err := catalogKey(opts, entries)
	if err != nil {
		return s.exploreFail(c, err)
	}
	catalogDocs.Lock()
	doc, ok := catalogDocs.byFormat[format]
	catalogDocs.Unlock()
	if !ok || doc.key != key {
		body, err := write(catalog.Build(opts, entries))
		if err != nil {
			return s.exploreFail(c, err)
		}
		doc = cachedDoc{key: key, body: body}
		catalogDocs.Lock()
		if catalogDocs.byFormat == nil {
			catalogDocs.byFormat = map[string]cachedDoc{}
		}
		catalogDocs.byFormat[format] = doc
		catalogDocs.Unlock()
	}
	return serveCached(c, contentType, doc.body)
}

func (s *Server) catalogJSONLD(c echo.Context) error {
	return s.catalogDoc(c, "jsonld", "application/ld+json; charset=utf-8", func(g *catalog.Graph) ([]byte, error) { return g.MarshalJSONLD() })
}

func (s *Server) catalogTurtle(c echo.Context) error {
	return s.catalogDoc(c, "ttl", "text/turtle; charset=utf-8", func(g *catalog.Graph) ([]byte, error) {
		var buf bytes.Buffer
		err := g.WriteTurtle(&buf)
		return buf.Bytes(), err
	})
}

func (s *Server) catalogList(c echo.Context) ([]service.PublicDataset, error) {
	_, list, err := s.svc.PublicDatasets(c.Request().Context(), -1, 0)
	return list, err
}

// catalogExportJSON is the list of public datasets, each as the catalog
// API describes it.
func (s *Server) catalogExportJSON(c echo.Context) error {
	list, err := s.catalogList(c)
	if err != nil {
		return s.exploreFail(c, err)
	}
	out := make([]map[string]any, 0, len(list))
	for _, pd := range list {
		out = append(out, exploreDatasetJSON(pd))
	}
	body, err := json.Marshal(out)
	if err != nil {
		return s.exploreFail(c, err)
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="catalog.json"`)
	return serveCached(c, echo.MIMEApplicationJSONCharsetUTF8, body)
}

// catalogExportCSV is the list of public datasets in CSV (";" and a BOM,
// as Opendatasoft's; delimiter and with_bom as on the records exports).
func (s *Server) catalogExportCSV(c echo.Context) error {
	delim, bom, err := csvParams(c)
	if err != nil {
		return s.exploreFail(c, err)
	}
	list, err := s.catalogList(c)
	if err != nil {
		return s.exploreFail(c, err)
	}
	base := s.publicBase(c)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if bom {
		w.WriteString("\uFEFF")
	}
	cw := csv.NewWriter(w)
	cw.Comma = delim
	cw.Write([]string{"dataset_id", "title", "description", "publisher", "keyword", "theme", "license", "update_frequency",
		"schema", "modified", "records_count", "spatial", "temporal_start", "temporal_end", "landing_page", "records_url"})
	for _, pd := range list {
		d := pd.Dataset
		var themes []string
		for _, t := range catalog.ThemesOf(d.SchemaName, d.Keywords) {
			themes = append(themes, t.Code)
		}
		cw.Write([]string{d.ID, csvSafe(d.Title), csvSafe(d.Description), d.Department, csvSafe(strings.Join(d.Keywords, ",")), strings.Join(themes, ","),
			csvSafe(d.Licence), d.Frequency, d.SchemaName, pd.Release.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
			strconv.FormatInt(pd.Release.Rows, 10), csvSafe(d.Spatial), d.TemporalStart, d.TemporalEnd,
			catalog.DatasetURL(base, d.ID), catalog.RecordsURL(base, d.ID)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return s.exploreFail(c, err)
	}
	w.Flush()
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="catalog.csv"`)
	return serveCached(c, "text/csv; charset=utf-8", buf.Bytes())
}

// csvSafe defuses spreadsheet formulas in free text (a cell starting with
// = + - @ is read as a formula by spreadsheet programs): it gets a leading
// apostrophe.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
