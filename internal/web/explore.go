package web

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/odsql"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// The public records API, compatible with Opendatasoft Explore v2.1 (a
// subset: see the README). Read-only, open to anyone, CORS open; errors in
// Opendatasoft's shape {"error_code","message"}, not problem+json.

const explorePrefix = "/api/explore/v2.1"

var exploreRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/records", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/records/:record_id", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/exports/csv", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/exports/json", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/facets", Public: true},
}

func (s *Server) registerExplore() {
	g := s.e.Group(explorePrefix, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", "Content-Disposition")
			return next(c)
		}
	})
	// Metered by the gateway (apigw.go): keys, limits, usage log.
	g.Use(s.meter())
	g.GET("/catalog/datasets", s.exploreCatalog)
	g.GET("/catalog/datasets/:id", s.exploreDataset)
	g.GET("/catalog/datasets/:id/records", s.exploreRecords)
	g.GET("/catalog/datasets/:id/records/:record_id", s.exploreRecord)
	g.GET("/catalog/datasets/:id/exports/csv", s.exploreExportCSV)
	g.GET("/catalog/datasets/:id/exports/json", s.exploreExportJSON)
	g.GET("/catalog/datasets/:id/facets", s.exploreFacets)
	g.GET("/usage", s.exploreUsage) // the reuser's own usage (apigw.go)
	s.registerExploreExports(g)
}

// exploreError is Opendatasoft's error body.
type exploreError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// exploreFail answers err in Opendatasoft's shape: 400 for query and
// parameter mistakes, 404 for unknown (or private) datasets; anything else
// is logged and answered 500 without detail.
func (s *Server) exploreFail(c echo.Context, err error) error {
	var qe *odsql.Error
	var pe *service.ParamError
	for _, h := range []string{"ETag", "Last-Modified", "Cache-Control"} { // errors are not cached
		c.Response().Header().Del(h)
	}
	switch {
	case errors.As(err, &qe):
		return c.JSON(http.StatusBadRequest, exploreError{"ODSQLError", qe.Error()})
	case errors.As(err, &pe):
		return c.JSON(http.StatusBadRequest, exploreError{"InvalidRESTParameterError", pe.Msg})
	case errors.Is(err, service.ErrRecordNotFound):
		var se *service.Error
		errors.As(err, &se)
		return c.JSON(http.StatusNotFound, exploreError{"NoSuchRecord", se.Msg})
	case service.KindOf(err) == service.NotFound:
		return c.JSON(http.StatusNotFound, exploreError{"NoSuchDataset", err.Error()})
	}
	s.log.Error("public records API", "path", c.Request().URL.Path, "err", err)
	return c.JSON(http.StatusInternalServerError, exploreError{"InternalError", "internal error"})
}

// exploreField is a field of a dataset in Opendatasoft's shape.
type exploreField struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"`
}

// odsType maps a release column kind to Opendatasoft's field type.
func odsType(kind string) string {
	switch kind {
	case store.KindNumeric:
		return "double"
	case store.KindInteger:
		return "int"
	case store.KindBoolean:
		return "boolean"
	case store.KindDate:
		return "date"
	case store.KindTimestamp:
		return "datetime"
	case store.KindGeopoint:
		return "geo_point_2d"
	}
	return "text"
}

func exploreDatasetJSON(pd service.PublicDataset) map[string]any {
	d, rel := pd.Dataset, pd.Release
	fields := []exploreField{}
	for _, col := range rel.Columns {
		fields = append(fields, exploreField{Name: col.Field, Label: col.Field, Type: odsType(col.Kind)})
	}
	keywords := []string(d.Keywords)
	if keywords == nil {
		keywords = []string{}
	}
	return map[string]any{
		"dataset_id":  d.ID,
		"has_records": rel.Rows > 0,
		"metas": map[string]any{"default": map[string]any{
			"title":            d.Title,
			"description":      d.Description,
			"keyword":          keywords,
			"license":          d.Licence,
			"modified":         rel.CreatedAt.UTC().Format(time.RFC3339),
			"records_count":    rel.Rows,
			"publisher":        d.Department,
			"language":         "fr",
			"update_frequency": d.Frequency,
		}},
		"fields": fields,
	}
}

func (s *Server) exploreCatalog(c echo.Context) error {
	for _, p := range []string{"where", "select", "group_by", "order_by", "refine", "exclude"} {
		if c.QueryParam(p) != "" {
			return s.exploreFail(c, &service.ParamError{Msg: p + " is not supported on the catalog yet"})
		}
	}
	q, err := service.ParseExplore(service.ExploreParams{Limit: c.QueryParam("limit"), Offset: c.QueryParam("offset"),
		Lang: c.QueryParam("lang"), Timezone: c.QueryParam("timezone")}, false)
	if err != nil {
		return s.exploreFail(c, err)
	}
	total, list, err := s.svc.PublicDatasets(c.Request().Context(), q.Limit, q.Offset)
	if err != nil {
		return s.exploreFail(c, err)
	}
	results := []map[string]any{}
	for _, pd := range list {
		results = append(results, exploreDatasetJSON(pd))
	}
	return c.JSON(http.StatusOK, map[string]any{"total_count": total, "results": results})
}

func (s *Server) exploreDataset(c echo.Context) error {
	pd, done, err := s.exploreRelease(c)
	if done {
		return err
	}
	return c.JSON(http.StatusOK, exploreDatasetJSON(pd))
}

// exploreRelease finds the public dataset of the request and sets the
// validators of the answer: a release is immutable, so the answer to the
// same request on the same exposed release is the same (ETag, Last-Modified;
// clients revalidate, Cache-Control no-cache). done: the request is
// answered already — 304 (the client holds the answer) or an error.
func (s *Server) exploreRelease(c echo.Context) (pd service.PublicDataset, done bool, err error) {
	pd, err = s.svc.PublicDataset(c.Request().Context(), c.Param("id"))
	if err != nil {
		return pd, true, s.exploreFail(c, err)
	}
	rel := pd.Release
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\x00%s", rel.DatasetID, rel.Number, rel.CreatedAt.UTC().Format(time.RFC3339Nano),
		pd.Dataset.UpdatedAt.UTC().Format(time.RFC3339Nano), c.Request().URL.Path, c.Request().URL.RawQuery)
	etag := `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
	hd := c.Response().Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "public, no-cache")
	hd.Set("Last-Modified", rel.CreatedAt.UTC().Format(http.TimeFormat))
	for _, m := range strings.Split(c.Request().Header.Get("If-None-Match"), ",") {
		if m = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m), "W/")); m == etag || m == "*" {
			return pd, true, c.NoContent(http.StatusNotModified)
		}
	}
	return pd, false, nil
}

func exploreParams(c echo.Context) service.ExploreParams {
	q := c.QueryParams()
	return service.ExploreParams{
		Select: q.Get("select"), Where: q.Get("where"), GroupBy: q.Get("group_by"), OrderBy: q.Get("order_by"),
		Refine: q["refine"], Exclude: q["exclude"], Limit: q.Get("limit"), Offset: q.Get("offset"),
		Lang: q.Get("lang"), Timezone: q.Get("timezone"),
	}
}

// writeRecord writes one result as a JSON object, keys in select order.
func writeRecord(w *bufio.Writer, names []string, row []any) error {
	w.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			w.WriteByte(',')
		}
		k, _ := json.Marshal(n)
		w.Write(k)
		w.WriteByte(':')
		v, err := json.Marshal(row[i])
		if err != nil {
			return err
		}
		w.Write(v)
	}
	return w.WriteByte('}')
}

func (s *Server) exploreRecords(c echo.Context) error {
	pd, done, err := s.exploreRelease(c)
	if done {
		return err
	}
	res, err := s.svc.ExploreRecords(c.Request().Context(), pd, exploreParams(c))
	if err != nil {
		return s.exploreFail(c, err)
	}
	resp := c.Response()
	resp.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	resp.WriteHeader(http.StatusOK)
	w := bufio.NewWriter(resp)
	w.WriteString(`{"total_count":` + strconv.FormatInt(res.Total, 10) + `,"results":[`)
	for i, row := range res.Rows {
		if i > 0 {
			w.WriteByte(',')
		}
		if err := writeRecord(w, res.Names, row); err != nil {
			return err
		}
	}
	w.WriteString("]}\n")
	return w.Flush()
}

// exploreRecord answers one record, {"_id", fields…}.
func (s *Server) exploreRecord(c echo.Context) error {
	pd, done, err := s.exploreRelease(c)
	if done {
		return err
	}
	id := c.Param("record_id")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	names, row, err := s.svc.ExploreRecord(c.Request().Context(), pd, id, exploreParams(c))
	if err != nil {
		return s.exploreFail(c, err)
	}
	resp := c.Response()
	resp.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	resp.WriteHeader(http.StatusOK)
	w := bufio.NewWriter(resp)
	if err := writeRecord(w, names, row); err != nil {
		return err
	}
	w.WriteByte('\n')
	return w.Flush()
}

// exploreExport streams an export: check may refuse the output columns
// (400, nothing written); begin is called once the query is known to be
// valid (before any byte is written, errors answer 400/404).
func (s *Server) exploreExport(c echo.Context, contentType, ext string, check func(cols []store.ReleaseColumn) error, begin func(w *bufio.Writer, cols []store.ReleaseColumn) error, row func(w *bufio.Writer, row []any) error, end func(w *bufio.Writer) error) error {
	pd, done, err := s.exploreRelease(c)
	if done {
		return err
	}
	resp := c.Response()
	var w *bufio.Writer
	cols := func(cs []store.ReleaseColumn) error {
		if check != nil {
			if err := check(cs); err != nil {
				return err
			}
		}
		resp.Header().Set(echo.HeaderContentType, contentType)
		resp.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+pd.Dataset.ID+"."+ext+`"`)
		resp.WriteHeader(http.StatusOK)
		w = bufio.NewWriterSize(resp, 64<<10)
		return begin(w, cs)
	}
	err = s.svc.ExploreExport(c.Request().Context(), pd, exploreParams(c), cols, func(r []any) error { return row(w, r) })
	if err != nil {
		if w == nil {
			return s.exploreFail(c, err)
		}
		// Headers are sent: cut the stream short so the client sees an error.
		s.log.Error("public export", "path", c.Request().URL.Path, "err", err)
		w.Flush()
		panic(http.ErrAbortHandler)
	}
	if err := end(w); err != nil {
		return err
	}
	return w.Flush()
}

func fieldNames(cols []store.ReleaseColumn) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Field
	}
	return out
}

func (s *Server) exploreExportJSON(c echo.Context) error {
	var names []string
	n := 0
	return s.exploreExport(c, echo.MIMEApplicationJSON, "json", nil,
		func(w *bufio.Writer, cols []store.ReleaseColumn) error {
			names = fieldNames(cols)
			return w.WriteByte('[')
		},
		func(w *bufio.Writer, row []any) error {
			if n > 0 {
				w.WriteByte(',')
			}
			n++
			return writeRecord(w, names, row)
		},
		func(w *bufio.Writer) error {
			_, err := w.WriteString("]\n")
			return err
		})
}

// csvParams reads the CSV exports' delimiter (";" by default, ",", "|" or a
// tab) and with_bom (true by default), as Opendatasoft's.
func csvParams(c echo.Context) (delim rune, bom bool, err error) {
	delim, bom = ';', true
	switch d := c.QueryParam("delimiter"); d {
	case "", ";":
	case ",", "|", "\t":
		delim = rune(d[0])
	default:
		return 0, false, &service.ParamError{Msg: `Invalid value for delimiter: ";", ",", "|" or a tab expected`}
	}
	if b := c.QueryParam("with_bom"); b != "" {
		v, err := strconv.ParseBool(b)
		if err != nil {
			return 0, false, &service.ParamError{Msg: "Invalid value for with_bom: true or false expected"}
		}
		bom = v
	}
	return delim, bom, nil
}

func (s *Server) exploreExportCSV(c echo.Context) error {
	delim, bom, err := csvParams(c)
	if err != nil {
		return s.exploreFail(c, err)
	}
	var buf []byte
	return s.exploreExport(c, "text/csv; charset=utf-8", "csv", nil,
		func(w *bufio.Writer, cols []store.ReleaseColumn) error {
			if bom {
				w.WriteString("\uFEFF")
			}
			for i, n := range fieldNames(cols) {
				if i > 0 {
					buf = utf8.AppendRune(buf, delim)
				}
				buf = appendCSVField(buf, n, delim)
			}
			buf = append(buf, '\n')
			_, err := w.Write(buf)
			return err
		},
		func(w *bufio.Writer, row []any) error {
			buf = buf[:0]
			for i, v := range row {
				if i > 0 {
					buf = utf8.AppendRune(buf, delim)
				}
				buf = appendCSVValue(buf, v, delim)
			}
			buf = append(buf, '\n')
			_, err := w.Write(buf)
			return err
		},
		func(w *bufio.Writer) error { return nil })
}

// appendCSVValue appends v as a CSV field: csvValue's text, without its
// allocations for numbers.
func appendCSVValue(b []byte, v any, delim rune) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case string:
		return appendCSVField(b, x, delim)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	}
	return appendCSVField(b, csvValue(v), delim)
}

// appendCSVField appends a field as encoding/csv's Writer writes it (the
// same bytes: quoted when it holds the delimiter, a quote, a line break,
// starts with a space or is \., quotes doubled, \n line ends).
func appendCSVField(b []byte, f string, delim rune) []byte {
	if !csvNeedsQuotes(f, delim) {
		return append(b, f...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(f, '"')
		if i < 0 {
			break
		}
		b = append(b, f[:i+1]...)
		b = append(b, '"')
		f = f[i+1:]
	}
	b = append(b, f...)
	return append(b, '"')
}

// csvNeedsQuotes is encoding/csv's fieldNeedsQuotes (the delimiters
// accepted are ASCII).
func csvNeedsQuotes(f string, delim rune) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		if c := f[i]; c == '\n' || c == '\r' || c == '"' || c == byte(delim) {
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case store.GeoPoint: // Opendatasoft's CSV form of a geo_point_2d: "lat, lon"
		return strconv.FormatFloat(x.Lat, 'f', -1, 64) + ", " + strconv.FormatFloat(x.Lon, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// exploreFacets answers {"facets":[{"name","facets":[{"name","value","count","state"}]}]}.
func (s *Server) exploreFacets(c echo.Context) error {
	pd, done, err := s.exploreRelease(c)
	if done {
		return err
	}
	facets, err := s.svc.ExploreFacets(c.Request().Context(), pd, exploreParams(c), c.QueryParams()["facet"])
	if err != nil {
		return s.exploreFail(c, err)
	}
	type value struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Count int64  `json:"count"`
		State string `json:"state"`
	}
	type facet struct {
		Name   string  `json:"name"`
		Facets []value `json:"facets"`
	}
	out := []facet{}
	for _, f := range facets {
		vs := []value{}
		for _, v := range f.Values {
			text := csvValue(v.Value)
			vs = append(vs, value{Name: text, Value: text, Count: v.Count, State: "displayed"})
		}
		out = append(out, facet{Name: f.Name, Facets: vs})
	}
	return c.JSON(http.StatusOK, map[string]any{"links": []any{}, "facets": out})
}
