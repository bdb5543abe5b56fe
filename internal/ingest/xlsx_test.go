package ingest

import (
	"archive/zip"
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// workbook builds a test workbook: an empty first sheet, then "Subventions"
// with typed cells, a blank row and a date-formatted column.
func workbook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer func() { require.NoError(t, f.Close()) }()
	_, err := f.NewSheet("Subventions")
	require.NoError(t, err)
	_, err = f.NewSheet("Autre")
	require.NoError(t, err)
	s := "Subventions"
	set := func(cell string, v any) { require.NoError(t, f.SetCellValue(s, cell, v)) }
	style := func(cell string, st *excelize.Style) {
		id, err := f.NewStyle(st)
		require.NoError(t, err)
		require.NoError(t, f.SetCellStyle(s, cell, cell, id))
	}
	for i, h := range []string{"nom", "siret", "date", "montant", "taux", "horodatage"} {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		set(cell, h)
	}
	set("A2", "AGORA")
	set("B2", 44306184100047.0)
	set("C2", time.Date(2018, 1, 30, 0, 0, 0, 0, time.UTC)) // built-in date format
	set("D2", 1234.5)
	style("D2", &excelize.Style{NumFmt: 4}) // #,##0.00
	set("E2", 0.25)
	style("E2", &excelize.Style{NumFmt: 9}) // 0%
	set("F2", time.Date(2018, 1, 30, 14, 5, 0, 0, time.UTC))
	// row 3 left blank
	set("A4", "COSDEN")
	set("C4", time.Date(2016, 12, 5, 0, 0, 0, 0, time.UTC))
	frDate := "dd/mm/yyyy"
	style("C4", &excelize.Style{CustomNumFmt: &frDate})
	set("D4", 40000)
	require.NoError(t, f.SetCellValue("Autre", "A1", "x"))
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	return buf.Bytes()
}

func TestXLSX(t *testing.T) {
	t.Parallel()
	data := workbook(t)
	tests := []struct {
		name   string
		opts   XLSXOptions
		sheet  string
		header []string
		rows   []row
	}{
		{
			name:   "first non-empty sheet, ISO dates, plain numbers",
			sheet:  "Subventions",
			header: []string{"nom", "siret", "date", "montant", "taux", "horodatage"},
			rows: []row{
				{[]string{"AGORA", "44306184100047", "2018-01-30", "1234.5", "0.25", "2018-01-30 14:05:00"}, 2},
				{[]string{"COSDEN", "", "2016-12-05", "40000", "", ""}, 4},
			},
		},
		{
			name:   "displayed numbers",
			opts:   XLSXOptions{Sheet: "Subventions", DisplayedNumbers: true},
			sheet:  "Subventions",
			header: []string{"nom", "siret", "date", "montant", "taux", "horodatage"},
			rows: []row{
				{[]string{"AGORA", "44306184100047", "2018-01-30", "1,234.50", "25%", "2018-01-30 14:05:00"}, 2},
				{[]string{"COSDEN", "", "2016-12-05", "40000", "", ""}, 4},
			},
		},
		{
			name:   "by index",
			opts:   XLSXOptions{SheetIndex: 3},
			sheet:  "Autre",
			header: []string{"x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := OpenXLSX(bytes.NewReader(data), int64(len(data)), tt.opts)
			require.NoError(t, err)
			defer func() { require.NoError(t, x.Close()) }()
			require.Equal(t, tt.sheet, x.Sheet())
			require.Equal(t, []string{"Sheet1", "Subventions", "Autre"}, x.Sheets())
			require.Equal(t, tt.header, x.Header())
			got, err := readAll(t, x)
			require.NoError(t, err)
			require.Equal(t, tt.rows, got)
		})
	}
	x, err := OpenXLSX(bytes.NewReader(data), int64(len(data)), XLSXOptions{})
	require.NoError(t, err)
	_, err = readAll(t, x)
	require.NoError(t, err)
	require.Equal(t, 1, x.BlankRows())
	require.NoError(t, x.Close())
}

// zipWith builds a zip holding one entry of n zero bytes (highly compressible).
func zipWith(t *testing.T, name string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	require.NoError(t, err)
	_, err = w.Write(make([]byte, n))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestXLSXErrors(t *testing.T) {
	t.Parallel()
	data := workbook(t)
	bomb := zipWith(t, "xl/worksheets/sheet1.xml", 20<<20)
	tests := []struct {
		name     string
		data     []byte
		opts     XLSXOptions
		atOpen   bool
		wantErr  error
		contains string
	}{
		{"unknown sheet", data, XLSXOptions{Sheet: "Nope"}, true, nil, `no sheet named "Nope"`},
		{"index out of range", data, XLSXOptions{SheetIndex: 9}, true, nil, "sheet 9 requested"},
		{"empty sheet by name", data, XLSXOptions{Sheet: "Sheet1"}, true, nil, "is empty"},
		{"file too big", data, XLSXOptions{MaxBytes: 100}, true, ErrLimit, "file size"},
		{"uncompressed too big", data, XLSXOptions{MaxUncompressed: 1000}, true, ErrLimit, "uncompressed size"},
		{"zip bomb ratio", bomb, XLSXOptions{}, true, ErrZipBomb, "ratio"},
		{"too many entries", data, XLSXOptions{MaxEntries: 2}, true, ErrLimit, "zip entries"},
		{"not a zip", []byte("a;b\n1;2\n"), XLSXOptions{}, true, nil, "not a valid xlsx"},
		{"too many rows", data, XLSXOptions{MaxRows: 1}, false, ErrLimit, "rows"},
		{"too many columns", data, XLSXOptions{MaxColumns: 3}, true, ErrLimit, "columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := OpenXLSX(bytes.NewReader(tt.data), int64(len(tt.data)), tt.opts)
			if !tt.atOpen {
				require.NoError(t, err)
				defer func() { _ = x.Close() }()
				_, err = readAll(t, x)
			}
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.Contains(t, err.Error(), tt.contains)
		})
	}
}

func TestCustomKind(t *testing.T) {
	tests := []struct {
		code string
		want fmtKind
	}{
		{"dd/mm/yyyy", fmtDate},
		{`[$-40C]d\ mmmm\ yyyy`, fmtDate},
		{"dd/mm/yyyy hh:mm", fmtDateTime},
		{"hh:mm:ss", fmtTime},
		{"[h]:mm", fmtTime},
		{"#,##0.00\\ \"€\"", fmtNumber},
		{`0.00" jours"`, fmtNumber},
		{"[Red]#,##0;-#,##0", fmtNumber},
		{"@", fmtOther},
		{"General", fmtOther},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			require.Equal(t, tt.want, customKind(tt.code))
		})
	}
}
