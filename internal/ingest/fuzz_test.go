package ingest

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzJSON checks that no input makes the JSON reader panic or loop.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`[{"a":1}]`, `{"type":"FeatureCollection","features":[{"properties":{"a":[1,{"b":2}]},"geometry":{"type":"Point","coordinates":[1,2]}}]}`, `{"results":[{"x":null}]}`, `[[`, `{"features":{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, mode := range []GeometryMode{GeometryGeoJSON, GeometryLonLat} {
			j, err := OpenJSON(strings.NewReader(s), JSONOptions{MaxDepth: 8, HeaderSample: 2, Geometry: mode})
			if err != nil {
				continue
			}
			for i := 0; i < 1000; i++ {
				if _, _, err := j.Next(); err != nil {
					break
				}
			}
		}
	})
}

// FuzzDetect checks Detect on arbitrary heads.
func FuzzDetect(f *testing.F) {
	f.Add("a.csv", []byte("a;b"))
	f.Add("x", []byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, name string, head []byte) {
		_, _ = Detect(name, head)
	})
}

// FuzzXLSX feeds arbitrary bytes (seeded with a real workbook) to OpenXLSX.
func FuzzXLSX(f *testing.F) {
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := OpenXLSX(bytes.NewReader(data), int64(len(data)), XLSXOptions{MaxUncompressed: 1 << 20})
		if err != nil {
			return
		}
		defer func() { _ = x.Close() }()
		for i := 0; i < 1000; i++ {
			if _, _, err := x.Next(); err != nil {
				break
			}
		}
	})
}
