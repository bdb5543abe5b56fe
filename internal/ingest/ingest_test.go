package ingest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		head    string
		want    Format
		wantErr error
	}{
		{"csv by extension", "a.csv", "a;b\n1;2\n", FormatCSV, nil},
		{"csv starting with [ stays csv", "a.csv", "[x];b\n", FormatCSV, nil},
		{"csv by default", "export", "nom,montant\n", FormatCSV, nil},
		{"xlsx by magic", "upload.bin", "PK\x03\x04rest", FormatXLSX, nil},
		{"xlsx named", "subventions.xlsx", "PK\x03\x04rest", FormatXLSX, nil},
		{"zip not xlsx", "archive.zip", "PK\x03\x04rest", "", ErrUnsupported},
		{"xlsx extension but not zip", "a.xlsx", "a;b\n", "", ErrUnsupported},
		{"legacy xls", "a.xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1....", "", ErrUnsupported},
		{"json array", "data", "  [{\"a\":1}]", FormatJSON, nil},
		{"json with BOM", "data.json", "\xEF\xBB\xBF{\"results\":[]}", FormatJSON, nil},
		{"geojson by content", "x.json", `{"type":"FeatureCollection","features":[]}`, FormatGeoJSON, nil},
		{"geojson by extension", "x.geojson", `{"features":[]}`, FormatGeoJSON, nil},
		{"json extension, not json", "x.json", "a,b\n", "", ErrUnsupported},
		{"NUL bytes", "x.csv", "a,b\x00\x00", "", ErrBinary},
		{"gzip", "x.csv.gz", "\x1F\x8B\x08", "", ErrUnsupported},
		{"empty is csv", "x.csv", "", FormatCSV, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(tt.file, []byte(tt.head))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLimitErrorIs(t *testing.T) {
	var err error = &LimitError{What: "rows", Limit: 3}
	require.ErrorIs(t, err, ErrLimit)
	var le *LimitError
	require.True(t, errors.As(err, &le))
	require.Equal(t, "rows exceeds the limit of 3", err.Error())
}
