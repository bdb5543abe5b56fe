package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// GeometryMode selects how GeoJSON geometries become columns.
type GeometryMode int

const (
	// GeometryGeoJSON adds a "geometry" column holding the geometry as
	// compact GeoJSON text (default).
	GeometryGeoJSON GeometryMode = iota
	// GeometryLonLat adds "lon" and "lat" columns; only Point (or null)
	// geometries are accepted, any other type is an error.
	GeometryLonLat
)

// JSONOptions tune OpenJSON. Zero values take the defaults.
type JSONOptions struct {
	// MaxBytes caps the input size; default 512 MiB.
	MaxBytes int64
	// MaxDepth caps nesting, the top-level array or object counting as 1;
	// default 64.
	MaxDepth int
	// HeaderSample is how many records are read ahead to build the header
	// (the union of their keys in first-seen order); default 1000. Use 1 for
	// "keys of the first object".
	HeaderSample int
	// MaxRecords caps the number of records; default 10 million.
	MaxRecords int64
	// MaxColumns caps the header width; default 2000.
	MaxColumns int
	// Geometry selects the geometry columns of a FeatureCollection.
	Geometry GeometryMode
	// IgnoreUnknownKeys drops keys first seen after the header sample instead
	// of failing; they are counted in JSONRows.Dropped.
	IgnoreUnknownKeys bool
}

const (
	defaultJSONDepth   = 64
	defaultJSONSample  = 1000
	defaultMaxRecords  = 10_000_000
	defaultMaxColumns  = 2000
	geometryColumn     = "geometry"
	lonColumn          = "lon"
	latColumn          = "lat"
	featureIDColumn    = "id"
	wrapperKeysMessage = `expected an array of objects, a GeoJSON FeatureCollection, or an object whose "results", "records" or "data" key holds the array`
)

// ErrJSONShape reports JSON that is well-formed but not tabular.
var ErrJSONShape = errors.New("JSON is not tabular")

// JSONRows reads an array of flat objects, an object wrapping one under
// "results"/"records"/"data", or a GeoJSON FeatureCollection, as rows. It
// streams with json.Decoder tokens and never holds more than HeaderSample
// records. Values: strings as is, numbers in their source form, booleans as
// true/false, null as "", objects and arrays as compact JSON text.
//
// JSON has no meaningful lines, so Next reports the record's ordinal + 1, as
// if the data were a CSV with a header on line 1.
type JSONRows struct {
	dec     *json.Decoder
	opts    JSONOptions
	geo     bool
	header  []string
	index   map[string]int
	pending [][]kv // sampled records not yet returned
	n       int64  // records decoded
	emitted int64
	done    bool
	dropped map[string]int
}

type kv struct{ k, v string }

// OpenJSON starts reading r and builds the header from the first records.
func OpenJSON(r io.Reader, opts JSONOptions) (*JSONRows, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultMaxBytes
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = defaultJSONDepth
	}
	if opts.HeaderSample <= 0 {
		opts.HeaderSample = defaultJSONSample
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = defaultMaxRecords
	}
	if opts.MaxColumns <= 0 {
		opts.MaxColumns = defaultMaxColumns
	}
	br := bufio.NewReader(&limitReader{r: r, left: opts.MaxBytes, limit: opts.MaxBytes})
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, bom) {
		_, _ = br.Discard(3)
	}
	j := &JSONRows{dec: json.NewDecoder(br), opts: opts, index: map[string]int{}, dropped: map[string]int{}}
	j.dec.UseNumber()
	if err := j.start(); err != nil {
		return nil, err
	}
	var keys []string
	seen := map[string]bool{}
	sawID := false
	for len(j.pending) < opts.HeaderSample {
		rec, err := j.decodeRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, p := range rec {
			if p.k == internalID {
				sawID = true
				continue
			}
			if len(p.k) > 0 && p.k[0] == 0 || seen[p.k] {
				continue
			}
			seen[p.k] = true
			keys = append(keys, p.k)
			if len(keys) > opts.MaxColumns {
				return nil, fmt.Errorf("json header: %w", &LimitError{What: "columns", Limit: int64(opts.MaxColumns)})
			}
		}
		j.pending = append(j.pending, rec)
	}
	// Header: [feature id] + keys + [geometry columns]; the pseudo-columns are
	// renamed with a trailing '_' when a property has the same name.
	unique := func(name string) string {
		for seen[name] {
			name += "_"
		}
		seen[name] = true
		return name
	}
	if sawID {
		if err := j.addColumn(internalID, unique(featureIDColumn)); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if err := j.addColumn(k, k); err != nil {
			return nil, err
		}
	}
	if j.geo {
		cols := [][2]string{{internalGeometry, geometryColumn}}
		if opts.Geometry == GeometryLonLat {
			cols = [][2]string{{internalLon, lonColumn}, {internalLat, latColumn}}
		}
		for _, c := range cols {
			if err := j.addColumn(c[0], unique(c[1])); err != nil {
				return nil, err
			}
		}
	}
	return j, nil
}

// Internal keys for the feature id and geometry values; a NUL-prefixed key
// cannot clash with a real property name in practice.
const (
	internalID       = "\x00id"
	internalGeometry = "\x00geometry"
	internalLon      = "\x00lon"
	internalLat      = "\x00lat"
)

func (j *JSONRows) addColumn(key, name string) error {
	if _, ok := j.index[key]; ok {
		return nil
	}
	if len(j.header) >= j.opts.MaxColumns {
		return fmt.Errorf("json header: %w", &LimitError{What: "columns", Limit: int64(j.opts.MaxColumns)})
	}
	j.index[key] = len(j.header)
	j.header = append(j.header, name)
	return nil
}

// Header returns the column names.
func (j *JSONRows) Header() []string { return j.header }

// IsGeoJSON reports whether the input was a FeatureCollection.
func (j *JSONRows) IsGeoJSON() bool { return j.geo }

// Dropped returns, per key, how many values were dropped because the key was
// first seen after the header sample (only with IgnoreUnknownKeys).
func (j *JSONRows) Dropped() map[string]int { return j.dropped }

// Next returns the next record; see JSONRows for the line number.
func (j *JSONRows) Next() ([]string, int, error) {
	var rec []kv
	if len(j.pending) > 0 {
		rec, j.pending = j.pending[0], j.pending[1:]
	} else {
		var err error
		if rec, err = j.decodeRecord(); err != nil {
			return nil, int(j.emitted + 1), err
		}
	}
	j.emitted++
	line := int(j.emitted + 1)
	out := make([]string, len(j.header))
	for _, p := range rec {
		i, ok := j.index[p.k]
		if !ok {
			if !j.opts.IgnoreUnknownKeys {
				name := p.k
				if name != "" && name[0] == 0 {
					name = name[1:]
				}
				return nil, line, fmt.Errorf("json record %d: key %q not in the header built from the first %d records (raise HeaderSample or ignore unknown keys): %w", j.emitted, name, j.opts.HeaderSample, ErrJSONShape)
			}
			j.dropped[strings.TrimPrefix(p.k, "\x00")]++
			continue
		}
		out[i] = p.v
	}
	return out, line, nil
}

// start consumes the document up to the first record.
func (j *JSONRows) start() error {
	tok, err := j.dec.Token()
	if err != nil {
		return fmt.Errorf("json: %w", jsonErr(err))
	}
	switch tok {
	case json.Delim('['):
		return nil
	case json.Delim('{'):
	default:
		return fmt.Errorf("json: %s: %w", wrapperKeysMessage, ErrJSONShape)
	}
	for j.dec.More() {
		kt, err := j.dec.Token()
		if err != nil {
			return fmt.Errorf("json: %w", jsonErr(err))
		}
		key, _ := kt.(string)
		switch key {
		case "features", "results", "records", "data":
			tok, err := j.dec.Token()
			if err != nil {
				return fmt.Errorf("json %q: %w", key, jsonErr(err))
			}
			if tok != json.Delim('[') {
				if err := j.skipAfter(tok, 2); err != nil {
					return err
				}
				continue
			}
			j.geo = key == "features"
			return nil
		default:
			if _, err := j.readValue(2); err != nil {
				return fmt.Errorf("json %q: %w", key, err)
			}
		}
	}
	return fmt.Errorf("json: %s: %w", wrapperKeysMessage, ErrJSONShape)
}

// decodeRecord reads the next element of the records array; io.EOF after the
// last one.
func (j *JSONRows) decodeRecord() ([]kv, error) {
	if j.done {
		return nil, io.EOF
	}
	if !j.dec.More() {
		if _, err := j.dec.Token(); err != nil { // closing ']'
			return nil, fmt.Errorf("json: %w", jsonErr(err))
		}
		j.done = true
		return nil, io.EOF
	}
	if j.n >= j.opts.MaxRecords {
		return nil, fmt.Errorf("json: %w", &LimitError{What: "records", Limit: j.opts.MaxRecords})
	}
	j.n++
	depth := 2
	if j.geo {
		depth = 3 // FeatureCollection object + features array
	}
	tok, err := j.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json record %d: %w", j.n, jsonErr(err))
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("json record %d: expected an object, got %s: %w", j.n, describe(tok), ErrJSONShape)
	}
	if j.geo {
		return j.feature(depth)
	}
	return j.object(depth, "")
}

// object reads the members of an object whose '{' was consumed, as flat
// key/values (nested values become JSON text).
func (j *JSONRows) object(depth int, prefix string) ([]kv, error) {
	if depth > j.opts.MaxDepth {
		return nil, fmt.Errorf("json record %d: %w", j.n, &LimitError{What: "nesting depth", Limit: int64(j.opts.MaxDepth)})
	}
	var rec []kv
	for j.dec.More() {
		kt, err := j.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("json record %d: %w", j.n, jsonErr(err))
		}
		key, _ := kt.(string)
		v, err := j.readValue(depth + 1)
		if err != nil {
			return nil, fmt.Errorf("json record %d, key %q: %w", j.n, key, err)
		}
		rec = append(rec, kv{prefix + key, v})
	}
	if _, err := j.dec.Token(); err != nil {
		return nil, fmt.Errorf("json record %d: %w", j.n, jsonErr(err))
	}
	return rec, nil
}

// feature reads a GeoJSON Feature whose '{' was consumed.
func (j *JSONRows) feature(depth int) ([]kv, error) {
	var rec []kv
	var id, geom string
	hasGeom := false
	for j.dec.More() {
		kt, err := j.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("geojson feature %d: %w", j.n, jsonErr(err))
		}
		key, _ := kt.(string)
		switch key {
		case "properties":
			tok, err := j.dec.Token()
			if err != nil {
				return nil, fmt.Errorf("geojson feature %d: %w", j.n, jsonErr(err))
			}
			if tok == nil {
				continue
			}
			if tok != json.Delim('{') {
				return nil, fmt.Errorf("geojson feature %d: properties is %s, want an object: %w", j.n, describe(tok), ErrJSONShape)
			}
			props, err := j.object(depth+1, "")
			if err != nil {
				return nil, err
			}
			rec = append(rec, props...)
		case "geometry":
			if geom, err = j.readValue(depth + 1); err != nil {
				return nil, fmt.Errorf("geojson feature %d geometry: %w", j.n, err)
			}
			hasGeom = true
		case "id":
			if id, err = j.readValue(depth + 1); err != nil {
				return nil, fmt.Errorf("geojson feature %d id: %w", j.n, err)
			}
		default:
			if _, err := j.readValue(depth + 1); err != nil {
				return nil, fmt.Errorf("geojson feature %d %q: %w", j.n, key, err)
			}
		}
	}
	if _, err := j.dec.Token(); err != nil {
		return nil, fmt.Errorf("geojson feature %d: %w", j.n, jsonErr(err))
	}
	if id != "" {
		rec = append(rec, kv{internalID, id})
	}
	if !hasGeom || geom == "" {
		return rec, nil
	}
	if j.opts.Geometry == GeometryLonLat {
		lon, lat, err := pointLonLat(geom)
		if err != nil {
			return nil, fmt.Errorf("geojson feature %d: %w", j.n, err)
		}
		return append(rec, kv{internalLon, lon}, kv{internalLat, lat}), nil
	}
	return append(rec, kv{internalGeometry, geom}), nil
}

// pointLonLat extracts lon/lat text from a GeoJSON Point.
func pointLonLat(geom string) (string, string, error) {
	var g struct {
		Type        string        `json:"type"`
		Coordinates []json.Number `json:"coordinates"`
	}
	d := json.NewDecoder(bytes.NewReader([]byte(geom)))
	d.UseNumber()
	if err := d.Decode(&g); err != nil || g.Type != "Point" {
		if g.Type == "" {
			g.Type = "unreadable"
		}
		return "", "", fmt.Errorf("geometry type %s cannot be written as lon/lat (only Point): %w", g.Type, ErrJSONShape)
	}
	if len(g.Coordinates) < 2 {
		return "", "", fmt.Errorf("point with %d coordinates: %w", len(g.Coordinates), ErrJSONShape)
	}
	return g.Coordinates[0].String(), g.Coordinates[1].String(), nil
}

// readValue reads one value: scalars as text, containers as compact JSON.
func (j *JSONRows) readValue(depth int) (string, error) {
	tok, err := j.dec.Token()
	if err != nil {
		return "", jsonErr(err)
	}
	switch t := tok.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	case bool:
		return strconv.FormatBool(t), nil
	case nil:
		return "", nil
	case json.Delim:
		var buf bytes.Buffer
		if err := j.writeContainer(&buf, t, depth); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	return "", fmt.Errorf("unexpected token %v", tok)
}

// skipAfter skips the rest of a value whose first token was tok.
func (j *JSONRows) skipAfter(tok json.Token, depth int) error {
	if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
		return j.writeContainer(io.Discard, d, depth)
	}
	return nil
}

// writeContainer writes the object or array opened by open as compact JSON.
func (j *JSONRows) writeContainer(w io.Writer, open json.Delim, depth int) error {
	if depth > j.opts.MaxDepth {
		return &LimitError{What: "nesting depth", Limit: int64(j.opts.MaxDepth)}
	}
	_, _ = io.WriteString(w, open.String())
	first := true
	for j.dec.More() {
		if !first {
			_, _ = io.WriteString(w, ",")
		}
		first = false
		if open == '{' {
			kt, err := j.dec.Token()
			if err != nil {
				return jsonErr(err)
			}
			writeJSONString(w, kt.(string))
			_, _ = io.WriteString(w, ":")
		}
		tok, err := j.dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		if err := j.writeToken(w, tok, depth); err != nil {
			return err
		}
	}
	end, err := j.dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	_, _ = io.WriteString(w, end.(json.Delim).String())
	return nil
}

func (j *JSONRows) writeToken(w io.Writer, tok json.Token, depth int) error {
	switch t := tok.(type) {
	case json.Delim:
		return j.writeContainer(w, t, depth+1)
	case string:
		writeJSONString(w, t)
	case json.Number:
		_, _ = io.WriteString(w, t.String())
	case bool:
		_, _ = io.WriteString(w, strconv.FormatBool(t))
	case nil:
		_, _ = io.WriteString(w, "null")
	}
	return nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(w io.Writer, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return string(t)
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// jsonErr turns a premature EOF into a clear truncation error.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("unexpected end of JSON (truncated file?): %w", io.ErrUnexpectedEOF)
	}
	return err
}

// limitReader fails, rather than truncating, once more than limit bytes were
// read.
type limitReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &LimitError{What: "file size", Limit: l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, &LimitError{What: "file size", Limit: l.limit}
	}
	return n, err
}
