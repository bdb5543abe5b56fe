package tableschema

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

func init() {
	Fields["duration"] = func() Field { return &DurationField{} }
	Fields["geopoint"] = func() Field { return &GeoPointField{} }
	Fields["geojson"] = func() Field { return &GeoJSONField{} }
	Fields["object"] = func() Field { return &ObjectField{} }
	Fields["array"] = func() Field { return &ArrayField{} }
	Fields["list"] = func() Field { return &ListField{} }
}

var (
	_ Field = (*DurationField)(nil)
	_ Field = (*GeoPointField)(nil)
	_ Field = (*GeoJSONField)(nil)
	_ Field = (*ObjectField)(nil)
	_ Field = (*ArrayField)(nil)
	_ Field = (*ListField)(nil)
)

// Duration is the logical value of an ISO 8601 duration (PnYnMnDTnHnMnS).
type Duration struct {
	Years, Months, Weeks, Days, Hours, Minutes float64
	Seconds                                    float64
}

// approxSeconds orders durations (a year is 365.25 days, a month 30 days).
func (d Duration) approxSeconds() float64 {
	return d.Years*365.25*86400 + d.Months*30*86400 + d.Weeks*7*86400 + d.Days*86400 +
		d.Hours*3600 + d.Minutes*60 + d.Seconds
}

var durationRe = regexp.MustCompile(`^P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

// DurationField is a "duration" column (ISO 8601).
type DurationField struct{ baseField }

// Configure implements Field.
func (f *DurationField) Configure(d *FieldDescriptor) error { return f.setup(d, f) }

// Cast implements Field.
func (f *DurationField) Cast(cell string) (any, error) {
	m := durationRe.FindStringSubmatch(cell)
	if m == nil || cell == "P" || strings.HasSuffix(cell, "T") {
		return nil, fmt.Errorf("La valeur « %s » n'est pas une durée ISO 8601 valide (exemple : P1Y2M10DT2H30M)", short(cell))
	}
	var parts [7]float64
	for i := range parts {
		if m[i+1] != "" {
			parts[i], _ = strconv.ParseFloat(strings.Replace(m[i+1], ",", ".", 1), 64)
		}
	}
	return Duration{parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]}, nil
}

func (f *DurationField) compare(a, b any) int {
	return cmp.Compare(a.(Duration).approxSeconds(), b.(Duration).approxSeconds())
}

// CheckValue implements Field.
func (f *DurationField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

// SQLType implements Field.
func (f *DurationField) SQLType() string { return "TEXT" }

// GeoPoint is the logical value of a geopoint cell.
type GeoPoint struct{ Lon, Lat float64 }

// GeoPointField is a "geopoint" column: default "lon, lat", array "[lon, lat]",
// object {"lon": …, "lat": …}.
type GeoPointField struct {
	baseField
	format string
}

// Configure implements Field.
func (f *GeoPointField) Configure(d *FieldDescriptor) error {
	switch d.Format {
	case "default", "array", "object":
		f.format = d.Format
	default:
		return fmt.Errorf("unknown geopoint format %q (want default, array or object)", d.Format)
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *GeoPointField) Cast(cell string) (any, error) {
	p, ok := f.parse(cell)
	if !ok {
		want := map[string]string{"default": "« lon, lat » (exemple : 2.3522, 48.8566)",
			"array": "« [lon, lat] » (exemple : [2.3522, 48.8566])", "object": `« {"lon": …, "lat": …} »`}[f.format]
		return nil, fmt.Errorf("La valeur « %s » n'est pas un point géographique valide : la forme attendue est %s", short(cell), want)
	}
	return p, nil
}

func (f *GeoPointField) parse(cell string) (GeoPoint, bool) {
	var lon, lat float64
	switch f.format {
	case "default":
		a, b, found := strings.Cut(cell, ",")
		if !found {
			return GeoPoint{}, false
		}
		var ok1, ok2 bool
		lon, ok1 = parseDecimal(strings.TrimSpace(a))
		lat, ok2 = parseDecimal(strings.TrimSpace(b))
		if !ok1 || !ok2 {
			return GeoPoint{}, false
		}
	case "array":
		var arr []json.Number
		dec := json.NewDecoder(strings.NewReader(cell))
		dec.UseNumber()
		if err := dec.Decode(&arr); err != nil || len(arr) != 2 || dec.More() {
			return GeoPoint{}, false
		}
		var err1, err2 error
		lon, err1 = arr[0].Float64()
		lat, err2 = arr[1].Float64()
		if err1 != nil || err2 != nil {
			return GeoPoint{}, false
		}
	case "object":
		var obj map[string]json.Number
		if err := json.Unmarshal([]byte(cell), &obj); err != nil || len(obj) != 2 {
			return GeoPoint{}, false
		}
		lo, ok1 := obj["lon"]
		la, ok2 := obj["lat"]
		if !ok1 || !ok2 {
			return GeoPoint{}, false
		}
		var err1, err2 error
		lon, err1 = lo.Float64()
		lat, err2 = la.Float64()
		if err1 != nil || err2 != nil {
			return GeoPoint{}, false
		}
	}
	if lon < -180 || lon > 180 || lat < -90 || lat > 90 || lon != lon || lat != lat {
		return GeoPoint{}, false
	}
	return GeoPoint{lon, lat}, true
}

// CheckValue implements Field.
func (f *GeoPointField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

// SQLType implements Field.
func (f *GeoPointField) SQLType() string { return "TEXT" }

// GeoJSONField is a "geojson" column; format topojson is checked leniently.
type GeoJSONField struct {
	baseField
	topo bool
}

var geometryTypes = map[string]bool{"Point": true, "MultiPoint": true, "LineString": true,
	"MultiLineString": true, "Polygon": true, "MultiPolygon": true}

// Configure implements Field.
func (f *GeoJSONField) Configure(d *FieldDescriptor) error {
	f.topo = d.Format == "topojson"
	return f.setup(d, f)
}

// Cast implements Field.
func (f *GeoJSONField) Cast(cell string) (any, error) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(cell), &obj); err != nil {
		return nil, fmt.Errorf("La valeur « %s » n'est pas un objet JSON valide", short(cell))
	}
	if f.topo {
		if t, _ := obj["type"].(string); t != "Topology" {
			return nil, fmt.Errorf("La valeur « %s » n'est pas un objet TopoJSON (type « Topology » attendu)", short(cell))
		}
		return obj, nil
	}
	if err := checkGeoJSON(obj); err != "" {
		return nil, fmt.Errorf("La valeur « %s » n'est pas un GeoJSON valide : %s", short(cell), err)
	}
	return obj, nil
}

func checkGeoJSON(obj map[string]any) string {
	t, _ := obj["type"].(string)
	switch {
	case geometryTypes[t]:
		if _, ok := obj["coordinates"].([]any); !ok {
			return "membre « coordinates » manquant"
		}
	case t == "GeometryCollection":
		gs, ok := obj["geometries"].([]any)
		if !ok {
			return "membre « geometries » manquant"
		}
		for _, g := range gs {
			m, ok := g.(map[string]any)
			if !ok {
				return "géométrie invalide"
			}
			if e := checkGeoJSON(m); e != "" {
				return e
			}
		}
	case t == "Feature":
		if g, ok := obj["geometry"]; ok && g != nil {
			m, ok := g.(map[string]any)
			if !ok {
				return "géométrie invalide"
			}
			return checkGeoJSON(m)
		}
		if _, ok := obj["geometry"]; !ok {
			return "membre « geometry » manquant"
		}
	case t == "FeatureCollection":
		fs, ok := obj["features"].([]any)
		if !ok {
			return "membre « features » manquant"
		}
		for _, ft := range fs {
			m, ok := ft.(map[string]any)
			if !ok {
				return "entité invalide"
			}
			if e := checkGeoJSON(m); e != "" {
				return e
			}
		}
	default:
		return fmt.Sprintf("type « %s » inconnu", t)
	}
	return ""
}

// CheckValue implements Field.
func (f *GeoJSONField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

// SQLType implements Field.
func (f *GeoJSONField) SQLType() string { return "JSON" }

// ObjectField is an "object" column (a JSON object).
type ObjectField struct{ baseField }

// Configure implements Field.
func (f *ObjectField) Configure(d *FieldDescriptor) error { return f.setup(d, f) }

// Cast implements Field.
func (f *ObjectField) Cast(cell string) (any, error) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(cell), &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("La valeur « %s » n'est pas un objet JSON valide", short(cell))
	}
	return obj, nil
}

func (f *ObjectField) fromJSON(raw any) (any, error) {
	if m, ok := raw.(map[string]any); ok {
		return m, nil
	}
	return nil, fmt.Errorf("want a JSON object")
}

// CheckValue implements Field.
func (f *ObjectField) CheckValue(v any, cell string) *ConstraintViolation { return f.check(v, cell, f) }

// SQLType implements Field.
func (f *ObjectField) SQLType() string { return "JSON" }

// ArrayField is an "array" column (a JSON array). The schema.data.gouv.fr
// extension arrayItem gives a field descriptor that every item must satisfy.
type ArrayField struct {
	baseField
	item Field
}

// Configure implements Field.
func (f *ArrayField) Configure(d *FieldDescriptor) error {
	if raw, ok := d.Extra["arrayItem"]; ok {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("arrayItem: want an object: %w", err)
		}
		if _, ok := m["name"]; !ok {
			m["name"] = json.RawMessage(strconv.Quote(d.Name + "[]"))
		}
		b, _ := json.Marshal(m)
		id, err := parseFieldDescriptor(b, 0, func(string) {})
		if err != nil {
			return fmt.Errorf("arrayItem: %w", err)
		}
		if id.Type == "array" {
			return fmt.Errorf("arrayItem: nested arrays are not supported")
		}
		item, err := newField(id)
		if err != nil {
			return fmt.Errorf("arrayItem: %w", err)
		}
		f.item = item
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *ArrayField) Cast(cell string) (any, error) {
	var arr []any
	if err := json.Unmarshal([]byte(cell), &arr); err != nil || arr == nil {
		return nil, fmt.Errorf("La valeur « %s » n'est pas une liste JSON valide (exemple : [\"a\",\"b\"])", short(cell))
	}
	return arr, nil
}

func (f *ArrayField) fromJSON(raw any) (any, error) {
	if a, ok := raw.([]any); ok {
		return a, nil
	}
	return nil, fmt.Errorf("want a JSON array")
}

// CheckValue implements Field; with arrayItem each item is cast and checked.
func (f *ArrayField) CheckValue(v any, cell string) *ConstraintViolation {
	if cv := f.check(v, cell, f); cv != nil {
		return cv
	}
	if f.item == nil {
		return nil
	}
	for i, it := range v.([]any) {
		text := jsonText(it)
		if it == nil || text == "" {
			if f.item.Descriptor().Constraints.Required {
				return &ConstraintViolation{"arrayItem", fmt.Sprintf("L'élément n°%d de la liste « %s » est vide alors qu'il est obligatoire", i+1, short(cell))}
			}
			continue
		}
		iv, err := f.item.Cast(text)
		if err != nil {
			return &ConstraintViolation{"arrayItem", fmt.Sprintf("L'élément n°%d de la liste est invalide : %s", i+1, err.Error())}
		}
		if cv := f.item.CheckValue(iv, text); cv != nil {
			return &ConstraintViolation{"arrayItem", fmt.Sprintf("L'élément n°%d de la liste est invalide : %s", i+1, cv.Message)}
		}
	}
	return nil
}

// Item is the field descriptor items must satisfy (arrayItem), or nil.
func (f *ArrayField) Item() Field { return f.item }

// SQLType implements Field.
func (f *ArrayField) SQLType() string { return "JSON" }

// ListField is a Table Schema v2 "list" column: items separated by delimiter
// (default ","), each of itemType.
type ListField struct {
	baseField
	delimiter string
	item      Field
}

// Configure implements Field.
func (f *ListField) Configure(d *FieldDescriptor) error {
	f.delimiter = ","
	if raw, ok := d.Extra["delimiter"]; ok {
		if err := json.Unmarshal(raw, &f.delimiter); err != nil || f.delimiter == "" {
			return fmt.Errorf("delimiter: want a non-empty string")
		}
	}
	itemType, itemFormat := "string", "default"
	if raw, ok := d.Extra["itemType"]; ok {
		_ = json.Unmarshal(raw, &itemType)
	}
	if raw, ok := d.Extra["itemFormat"]; ok {
		_ = json.Unmarshal(raw, &itemFormat)
	}
	switch itemType {
	case "string", "integer", "number", "boolean", "date", "datetime", "time", "duration":
	default:
		return fmt.Errorf("itemType %q not allowed in a list", itemType)
	}
	item, err := newField(&FieldDescriptor{Name: d.Name + "[]", Type: itemType, Format: itemFormat, Extra: map[string]json.RawMessage{}})
	if err != nil {
		return err
	}
	f.item = item
	return f.setup(d, f)
}

// Cast implements Field.
func (f *ListField) Cast(cell string) (any, error) {
	parts := strings.Split(cell, f.delimiter)
	out := make([]any, len(parts))
	for i, p := range parts {
		v, err := f.item.Cast(p)
		if err != nil {
			return nil, fmt.Errorf("L'élément n°%d de la liste « %s » est invalide : %s", i+1, short(cell), err.Error())
		}
		out[i] = v
	}
	return out, nil
}

// CheckValue implements Field.
func (f *ListField) CheckValue(v any, cell string) *ConstraintViolation { return f.check(v, cell, f) }

// SQLType implements Field.
func (f *ListField) SQLType() string { return "JSON" }
