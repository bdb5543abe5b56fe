package web

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
)

// The CSV export writes its rows itself (no encoding/csv, no string per
// value): the bytes must stay those encoding/csv writes.
func TestCSVRowsAsEncodingCSV(t *testing.T) {
	rows := [][]any{
		{"simple", int64(-42), 3.5, true, nil, ""},
		{`a "quoted" word`, "a;b", "a,b", "a|b", "a\tb", "line\nbreak", "cr\rhere", "crlf\r\nx"},
		{" leading space", "\tleading tab", "\u00a0nbsp", `\.`, `\.x`, `"`, `""`, "é;à", "trailing "},
		{1e21, 0.1, float64(-0), int64(0), false, store.GeoPoint{Lat: 48.85, Lon: 2.35}, []string{"x"}},
	}
	for _, delim := range []rune{';', ',', '|', '\t'} {
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		cw.Comma = delim
		var got []byte
		for _, row := range rows {
			rec := make([]string, len(row))
			for i, v := range row {
				rec[i] = csvValue(v)
				if i > 0 {
					got = append(got, string(delim)...)
				}
				got = appendCSVValue(got, v, delim)
			}
			require.NoError(t, cw.Write(rec))
			got = append(got, '\n')
		}
		cw.Flush()
		require.Equal(t, want.String(), string(got), "delimiter %q", delim)
	}
}
