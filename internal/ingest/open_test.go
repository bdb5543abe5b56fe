package ingest

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	xlsx := workbook(t)
	tests := []struct {
		name    string
		file    string
		data    []byte
		format  Format
		header  []string
		wantErr error
	}{
		{"xlsx", "subventions.xlsx", xlsx, FormatXLSX, []string{"nom", "siret", "date", "montant", "taux", "horodatage"}, nil},
		{"json", "data.json", []byte(`[{"a":1}]`), FormatJSON, []string{"a"}, nil},
		{"geojson", "arbres.geojson", []byte(`{"type":"FeatureCollection","features":[]}`), FormatGeoJSON, []string{"geometry"}, nil},
		{"csv", "data.csv", []byte("a;b\n"), FormatCSV, nil, ErrCSV},
		{"binary", "data.csv", []byte("a\x00b"), "", nil, ErrBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, format, err := Open(tt.file, bytes.NewReader(tt.data), int64(len(tt.data)), Options{})
			require.Equal(t, tt.format, format)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.header, rows.Header())
			require.NoError(t, rows.Close())
		})
	}
}
