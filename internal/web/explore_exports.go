package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/parquet-go/parquet-go"
	"github.com/xuri/excelize/v2"

	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// The exports beyond csv and json (issue #12): jsonl, geojson, xlsx and
// parquet. Every one honours select, where, order_by, refine/exclude and
// timezone, and streams: rows are written as they are read (xlsx through
// excelize's stream writer, which spills to a temporary file; parquet
// holds one row group of at most parquetRowGroup rows).

var exploreExportRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/exports/jsonl", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/exports/geojson", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/exports/xlsx", Public: true},
	{Method: http.MethodGet, Path: explorePrefix + "/catalog/datasets/:id/exports/parquet", Public: true},
}

func (s *Server) registerExploreExports(g *echo.Group) {
	g.GET("/catalog/datasets/:id/exports/jsonl", s.exploreExportJSONL)
	g.GET("/catalog/datasets/:id/exports/geojson", s.exploreExportGeoJSON)
	g.GET("/catalog/datasets/:id/exports/xlsx", s.exploreExportXLSX)
	g.GET("/catalog/datasets/:id/exports/parquet", s.exploreExportParquet)
}

// exploreExportJSONL writes one JSON object per line.
func (s *Server) exploreExportJSONL(c echo.Context) error {
	var names []string
	return s.exploreExport(c, "application/jsonl", "jsonl", nil,
		func(w *bufio.Writer, cols []store.ReleaseColumn) error {
			names = fieldNames(cols)
			return nil
		},
		func(w *bufio.Writer, row []any) error {
			if err := writeRecord(w, names, row); err != nil {
				return err
			}
			return w.WriteByte('\n')
		},
		func(w *bufio.Writer) error { return nil })
}

// exploreExportGeoJSON writes a FeatureCollection: one Point feature per
// record, its geometry the first geopoint field of the selection (or the
// one named by geo_field), the other fields its properties. A record
// without a point has a null geometry.
func (s *Server) exploreExportGeoJSON(c echo.Context) error {
	geo := -1
	var names []string
	n := 0
	check := func(cols []store.ReleaseColumn) error {
		want := c.QueryParam("geo_field")
		for i, col := range cols {
			if col.Kind == store.KindGeopoint && (want == "" || col.Field == want) {
				geo = i
				break
			}
		}
		if geo < 0 {
			if want != "" {
				return &service.ParamError{Msg: "geo_field " + strconv.Quote(want) + " is not a geo_point_2d field of the selection"}
			}
			return &service.ParamError{Msg: "The geojson export needs a geo_point_2d field (a Table Schema geopoint) in the selection: this dataset or this select has none"}
		}
		return nil
	}
	return s.exploreExport(c, "application/geo+json", "geojson", check,
		func(w *bufio.Writer, cols []store.ReleaseColumn) error {
			names = fieldNames(cols)
			_, err := w.WriteString(`{"type":"FeatureCollection","features":[`)
			return err
		},
		func(w *bufio.Writer, row []any) error {
			if n > 0 {
				w.WriteByte(',')
			}
			n++
			w.WriteString(`{"type":"Feature","geometry":`)
			if p, ok := row[geo].(store.GeoPoint); ok {
				w.WriteString(`{"type":"Point","coordinates":[`)
				w.WriteString(strconv.FormatFloat(p.Lon, 'f', -1, 64))
				w.WriteByte(',')
				w.WriteString(strconv.FormatFloat(p.Lat, 'f', -1, 64))
				w.WriteString("]}")
			} else {
				w.WriteString("null")
			}
			w.WriteString(`,"properties":{`)
			first := true
			for i, name := range names {
				if i == geo {
					continue
				}
				if !first {
					w.WriteByte(',')
				}
				first = false
				k, _ := json.Marshal(name)
				w.Write(k)
				w.WriteByte(':')
				v, err := json.Marshal(row[i])
				if err != nil {
					return err
				}
				w.Write(v)
			}
			_, err := w.WriteString("}}")
			return err
		},
		func(w *bufio.Writer) error {
			_, err := w.WriteString("]}\n")
			return err
		})
}

// xlsxMaxRows is the rows of a worksheet (Excel's limit), header included:
// longer exports go on in further sheets, each with the header.
var xlsxMaxRows = 1 << 20

// xlsxMaxCell is the characters of a cell Excel keeps.
const xlsxMaxCell = 32767

// exploreExportXLSX writes an Excel workbook through excelize's stream
// writer (rows go to a temporary file, not to memory; the zip is written
// at the end).
func (s *Server) exploreExportXLSX(c echo.Context) error {
	f := excelize.NewFile()
	defer f.Close() // removes the stream writer's temporary files, on every path
	var sw *excelize.StreamWriter
	var header []any
	line, sheet := 0, 0
	vals := []any{}
	newSheet := func() error {
		sheet++
		name := "data"
		if sheet == 1 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else {
			name = "data" + strconv.Itoa(sheet)
			if _, err := f.NewSheet(name); err != nil {
				return err
			}
			if err := sw.Flush(); err != nil {
				return err
			}
		}
		var err error
		if sw, err = f.NewStreamWriter(name); err != nil {
			return err
		}
		line = 1
		return sw.SetRow("A1", header)
	}
	return s.exploreExport(c, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", func(cols []store.ReleaseColumn) error {
		if len(cols) > 16384 {
			return &service.ParamError{Msg: "An xlsx sheet holds at most 16,384 columns"}
		}
		return nil
	},
		func(w *bufio.Writer, cols []store.ReleaseColumn) error {
			for _, n := range fieldNames(cols) {
				header = append(header, n)
			}
			return newSheet()
		},
		func(w *bufio.Writer, row []any) error {
			if line == xlsxMaxRows {
				if err := newSheet(); err != nil {
					return err
				}
			}
			line++
			vals = vals[:0]
			for _, v := range row {
				vals = append(vals, xlsxValue(v))
			}
			cell, err := excelize.CoordinatesToCellName(1, line)
			if err != nil {
				return err
			}
			return sw.SetRow(cell, vals)
		},
		func(w *bufio.Writer) error {
			if err := sw.Flush(); err != nil {
				return err
			}
			return f.Write(w)
		})
}

func xlsxValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if len(x) > xlsxMaxCell && utf8.RuneCountInString(x) > xlsxMaxCell {
			return string([]rune(x)[:xlsxMaxCell])
		}
		return x
	case int64, float64, bool:
		return x
	}
	return csvValue(v)
}

// parquetRowGroup bounds the rows a parquet export holds in memory.
var parquetRowGroup int64 = 65536

// parquetNode is the parquet type of a column kind: every column is
// optional (NULL cells); dates are DATE, timestamps TIMESTAMP(µs, UTC),
// geopoints text "lat, lon" as in the CSV.
func parquetNode(kind string) parquet.Node {
	switch kind {
	case store.KindNumeric:
		return parquet.Optional(parquet.Leaf(parquet.DoubleType))
	case store.KindInteger:
		return parquet.Optional(parquet.Int(64))
	case store.KindBoolean:
		return parquet.Optional(parquet.Leaf(parquet.BooleanType))
	case store.KindDate:
		return parquet.Optional(parquet.Date())
	case store.KindTimestamp:
		return parquet.Optional(parquet.Timestamp(parquet.Microsecond))
	}
	return parquet.Optional(parquet.String())
}

// exploreExportParquet writes an Apache Parquet file whose schema comes
// from the columns' kinds (Table Schema types).
func (s *Server) exploreExportParquet(c echo.Context) error {
	var pw *parquet.Writer
	var kinds []string
	var index []int // output column → parquet leaf
	var rows []parquet.Row
	row := make(parquet.Row, 0)
	return s.exploreExport(c, "application/vnd.apache.parquet", "parquet", nil,
		func(w *bufio.Writer, cols []store.ReleaseColumn) error {
			g := parquet.Group{}
			for _, col := range cols {
				g[col.Field] = parquetNode(col.Kind)
				kinds = append(kinds, col.Kind)
			}
			schema := parquet.NewSchema("record", g)
			leaves := schema.Columns() // in the schema's (sorted) order
			for _, col := range cols {
				index = append(index, slices.IndexFunc(leaves, func(p []string) bool { return len(p) == 1 && p[0] == col.Field }))
			}
			pw = parquet.NewWriter(w, schema, parquet.MaxRowsPerRowGroup(parquetRowGroup), parquet.CreatedBy("civicflow", "", ""))
			rows = make([]parquet.Row, 1)
			return nil
		},
		func(w *bufio.Writer, r []any) error {
			row = row[:0]
			for i, v := range r {
				pv, err := parquetValue(kinds[i], v)
				if err != nil {
					return err
				}
				if pv.IsNull() {
					row = append(row, parquet.NullValue().Level(0, 0, index[i]))
				} else {
					row = append(row, pv.Level(0, 1, index[i]))
				}
			}
			slices.SortFunc(row, func(a, b parquet.Value) int { return a.Column() - b.Column() })
			rows[0] = row
			_, err := pw.WriteRows(rows)
			return err
		},
		func(w *bufio.Writer) error { return pw.Close() })
}

func parquetValue(kind string, v any) (parquet.Value, error) {
	if v == nil {
		return parquet.NullValue(), nil
	}
	switch kind {
	case store.KindNumeric:
		switch x := v.(type) {
		case float64:
			return parquet.DoubleValue(x), nil
		case int64:
			return parquet.DoubleValue(float64(x)), nil
		}
	case store.KindInteger:
		switch x := v.(type) {
		case int64:
			return parquet.Int64Value(x), nil
		case float64:
			return parquet.Int64Value(int64(x)), nil
		}
	case store.KindBoolean:
		if b, ok := v.(bool); ok {
			return parquet.BooleanValue(b), nil
		}
	case store.KindDate:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return parquet.Value{}, fmt.Errorf("parquet date %q: %w", s, err)
			}
			return parquet.Int32Value(int32(t.Unix() / 86400)), nil
		}
	case store.KindTimestamp:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return parquet.Value{}, fmt.Errorf("parquet timestamp %q: %w", s, err)
			}
			return parquet.Int64Value(t.UnixMicro()), nil
		}
	}
	return parquet.ByteArrayValue([]byte(csvValue(v))), nil
}
