package ingest

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type row struct {
	rec  []string
	line int
}

func readAll(t *testing.T, r Rows) ([]row, error) {
	t.Helper()
	var out []row
	for {
		rec, line, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, row{rec, line})
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opts   JSONOptions
		header []string
		rows   [][]string
		geo    bool
	}{
		{
			name:   "array of flat objects, union of keys",
			in:     `[{"nom":"AGORA","montant":17833,"ok":true},{"nom":"COSDEN","extra":null,"montant":1.5e3}]`,
			header: []string{"nom", "montant", "ok", "extra"},
			rows:   [][]string{{"AGORA", "17833", "true", ""}, {"COSDEN", "1.5e3", "", ""}},
		},
		{
			name:   "nested values become JSON text",
			in:     "\xEF\xBB\xBF" + `[{"a":{"b":[1,"x<y",{"c":null}]},"t":"é"}]`,
			header: []string{"a", "t"},
			rows:   [][]string{{`{"b":[1,"x<y",{"c":null}]}`, "é"}},
		},
		{
			name:   "wrapper object (ODS results)",
			in:     `{"total_count":2,"meta":{"x":[1]},"results":[{"id":1},{"id":2}]}`,
			header: []string{"id"},
			rows:   [][]string{{"1"}, {"2"}},
		},
		{
			name:   "empty array",
			in:     `[]`,
			header: nil,
			rows:   nil,
		},
		{
			name: "geojson points as geometry text",
			in: `{"type":"FeatureCollection","name":"arbres","features":[
				{"type":"Feature","id":7,"properties":{"espece":"Tilleul","hauteur":12},"geometry":{"type":"Point","coordinates":[2.35,48.85]}},
				{"type":"Feature","properties":{"espece":"Chêne","geometry":"x"},"geometry":null}]}`,
			header: []string{"id", "espece", "hauteur", "geometry", "geometry_"},
			rows: [][]string{
				{"7", "Tilleul", "12", "", `{"type":"Point","coordinates":[2.35,48.85]}`},
				{"", "Chêne", "", "x", ""},
			},
			geo: true,
		},
		{
			name:   "geojson points as lon/lat",
			in:     `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":"a"},"geometry":{"type":"Point","coordinates":[2.35,48.85]}}]}`,
			opts:   JSONOptions{Geometry: GeometryLonLat},
			header: []string{"n", "lon", "lat"},
			rows:   [][]string{{"a", "2.35", "48.85"}},
			geo:    true,
		},
		{
			name:   "header from the first object only",
			in:     `[{"a":1},{"a":2,"b":3}]`,
			opts:   JSONOptions{HeaderSample: 1, IgnoreUnknownKeys: true},
			header: []string{"a"},
			rows:   [][]string{{"1"}, {"2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := OpenJSON(strings.NewReader(tt.in), tt.opts)
			require.NoError(t, err)
			require.Equal(t, tt.header, j.Header())
			require.Equal(t, tt.geo, j.IsGeoJSON())
			got, err := readAll(t, j)
			require.NoError(t, err)
			var recs [][]string
			for i, r := range got {
				require.Equal(t, i+2, r.line)
				recs = append(recs, r.rec)
			}
			require.Equal(t, tt.rows, recs)
		})
	}
}

func TestJSONDroppedKeys(t *testing.T) {
	j, err := OpenJSON(strings.NewReader(`[{"a":1},{"a":2,"b":3}]`), JSONOptions{HeaderSample: 1, IgnoreUnknownKeys: true})
	require.NoError(t, err)
	_, err = readAll(t, j)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"b": 1}, j.Dropped())
}

func TestJSONErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	tests := []struct {
		name     string
		in       string
		opts     JSONOptions
		atOpen   bool
		wantErr  error
		contains string
	}{
		{"scalar document", `"hello"`, JSONOptions{}, true, ErrJSONShape, "expected an array"},
		{"object without records", `{"a":1}`, JSONOptions{}, true, ErrJSONShape, "FeatureCollection"},
		{"array of scalars", `[1,2]`, JSONOptions{}, true, ErrJSONShape, "record 1: expected an object, got a number"},
		{"too deep", `[` + deep + `]`, JSONOptions{}, true, ErrLimit, "nesting depth"},
		{"too deep custom", `[{"a":[[[1]]]}]`, JSONOptions{MaxDepth: 3}, true, ErrLimit, "nesting depth"},
		{"too big", `[{"a":"` + strings.Repeat("x", 2000) + `"}]`, JSONOptions{MaxBytes: 1000}, true, ErrLimit, "file size"},
		{"truncated", `[{"a":1},{"a":`, JSONOptions{}, true, io.ErrUnexpectedEOF, "truncated"},
		{"syntax error", `[{"a":1,}]`, JSONOptions{}, true, nil, "record 1"},
		{"unknown key after sample", `[{"a":1},{"b":2}]`, JSONOptions{HeaderSample: 1}, false, ErrJSONShape, `key "b" not in the header`},
		{"too many records", `[{"a":1},{"a":2},{"a":3}]`, JSONOptions{MaxRecords: 2, HeaderSample: 1}, false, ErrLimit, "records"},
		{"too many columns", `[{"a":1,"b":2,"c":3}]`, JSONOptions{MaxColumns: 2}, true, ErrLimit, "columns"},
		{"polygon as lon/lat", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[]}}]}`, JSONOptions{Geometry: GeometryLonLat}, true, ErrJSONShape, "Polygon"},
		{"properties not an object", `{"features":[{"properties":[1]}]}`, JSONOptions{}, true, ErrJSONShape, "properties"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := OpenJSON(strings.NewReader(tt.in), tt.opts)
			if !tt.atOpen {
				require.NoError(t, err)
				_, err = readAll(t, j)
			}
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.Contains(t, err.Error(), tt.contains)
		})
	}
}

// TestJSONStreams checks that a large array is not held in memory: only the
// header sample is buffered.
func TestJSONStreams(t *testing.T) {
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, "[")
		for i := 0; i < 50000; i++ {
			if i > 0 {
				_, _ = io.WriteString(pw, ",")
			}
			_, _ = io.WriteString(pw, `{"n":1,"s":"abc"}`)
		}
		_, _ = io.WriteString(pw, "]")
		_ = pw.Close()
	}()
	j, err := OpenJSON(pr, JSONOptions{HeaderSample: 10})
	require.NoError(t, err)
	require.LessOrEqual(t, len(j.pending), 10)
	got, err := readAll(t, j)
	require.NoError(t, err)
	require.Len(t, got, 50000)
	require.Equal(t, 50001, got[len(got)-1].line)
}
