package store

import (
	"reflect"
	"strconv"
	"strings"
)

// KindGeopoint is a Table Schema geopoint column. A release table stores
// it as two DOUBLE columns, <column>_lon and <column>_lat (WGS 84
// degrees), so that geographic filters (within_distance, in_bbox) compile
// to plain comparisons on both databases; it is read back as a GeoPoint.
const KindGeopoint = "geopoint"

// GeoPoint is a geopoint value: longitude and latitude in degrees. Its
// JSON is Opendatasoft's geo_point_2d, {"lon":…,"lat":…}.
type GeoPoint struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// AsGeoPoint reads a geopoint value: a GeoPoint, or any struct with float64
// fields Lon and Lat (the Table Schema cast's own type).
func AsGeoPoint(v any) (GeoPoint, bool) {
	switch p := v.(type) {
	case GeoPoint:
		return p, true
	case *GeoPoint:
		if p != nil {
			return *p, true
		}
		return GeoPoint{}, false
	case nil:
		return GeoPoint{}, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return GeoPoint{}, false
	}
	lon, lat := rv.FieldByName("Lon"), rv.FieldByName("Lat")
	if !lon.IsValid() || !lat.IsValid() || lon.Kind() != reflect.Float64 || lat.Kind() != reflect.Float64 {
		return GeoPoint{}, false
	}
	return GeoPoint{Lon: lon.Float(), Lat: lat.Float()}, true
}

// storedColumns are the SQL columns of a release column: two for a
// geopoint, else one.
func storedColumns(c ReleaseColumn) []string {
	if c.Kind == KindGeopoint {
		return []string{c.Column + "_lon", c.Column + "_lat"}
	}
	return []string{c.Column}
}

// appendStored appends the stored values of v for a column of the kind
// (a geopoint gives its longitude and latitude, NULL both when missing).
func appendStored(dst []any, kind string, v any) []any {
	if kind != KindGeopoint {
		return append(dst, v)
	}
	if p, ok := AsGeoPoint(v); ok {
		return append(dst, p.Lon, p.Lat)
	}
	return append(dst, nil, nil)
}

// readSQL is the expression reading a release column back: the column,
// or for a geopoint "lon,lat" as text with every digit (NULL when absent),
// which normaliseValue turns into a GeoPoint.
func readSQL(dialect string, c ReleaseColumn) string {
	if c.Kind == kindRecordID {
		return recordIDSQL(dialect)
	}
	if c.Kind != KindGeopoint {
		return quoteIdent(c.Column)
	}
	lon, lat := quoteIdent(c.Column+"_lon"), quoteIdent(c.Column+"_lat")
	if dialect == "postgres" {
		// float8 text output is the shortest exact form (PostgreSQL ≥ 12).
		return "(CAST(" + lon + " AS TEXT) || ',' || CAST(" + lat + " AS TEXT))"
	}
	return "(CASE WHEN " + lon + " IS NULL OR " + lat + " IS NULL THEN NULL ELSE printf('%.17g,%.17g', " + lon + ", " + lat + ") END)"
}

// parseGeoPoint reads readSQL's text.
func parseGeoPoint(s string) (GeoPoint, bool) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return GeoPoint{}, false
	}
	lon, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lat, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err1 != nil || err2 != nil {
		return GeoPoint{}, false
	}
	return GeoPoint{Lon: lon, Lat: lat}, true
}
