package ingest

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// XLSXOptions tune OpenXLSX. Zero values take the defaults.
type XLSXOptions struct {
	// Sheet selects a sheet by name; it wins over SheetIndex.
	Sheet string
	// SheetIndex selects a sheet by 1-based position; 0 means the first sheet
	// with a non-empty cell.
	SheetIndex int
	// MaxBytes caps the size of the .xlsx file itself; default 256 MiB.
	MaxBytes int64
	// MaxUncompressed caps the sum of the declared uncompressed sizes of the
	// zip entries; default 1 GiB.
	MaxUncompressed int64
	// MaxRatio caps the compression ratio of any entry larger than 1 MiB
	// once uncompressed (zip-bomb guard); default 200.
	MaxRatio int64
	// MaxEntries caps the number of zip entries; default 10 000.
	MaxEntries int
	// MaxRows caps the data rows read; default 1 048 576 (Excel's maximum).
	MaxRows int
	// MaxColumns caps the width of the header and of any row; default 16 384.
	MaxColumns int
	// DisplayedNumbers keeps Excel's number formats ("1,234.50", "25%").
	// By default numbers are returned as stored ("1234.5", "0.25"), because
	// display formats depend on the author's locale and would mislead the
	// harmonisation of decimal separators. Dates are rendered ISO either way.
	DisplayedNumbers bool
}

const (
	defaultXLSXBytes        = 256 << 20
	defaultXLSXUncompressed = 1 << 30
	defaultXLSXRatio        = 200
	defaultXLSXEntries      = 10_000
	defaultXLSXRows         = 1_048_576
	defaultXLSXColumns      = 16_384
	ratioFloor              = 1 << 20
	xmlInMemory             = 16 << 20
)

// ErrZipBomb reports a workbook whose zip entries expand suspiciously.
var ErrZipBomb = errors.New("suspicious compression (zip bomb?)")

// XLSXRows streams one sheet of a workbook. The header is the first row with
// a non-empty cell; line numbers are Excel row numbers, so a message points at
// the row the user sees. Entirely empty rows are skipped (counted by
// BlankRows). Dates are rendered ISO (2018-01-30, or 2018-01-30 14:05:00 with
// a time); see XLSXOptions.DisplayedNumbers for numbers. Close releases the
// temporary files excelize may create.
type XLSXRows struct {
	f      *excelize.File
	rows   *excelize.Rows
	sheet  string
	sheets []string
	header []string
	row    int // Excel row number of the last row read
	data   int // data rows returned
	blank  int
	opts   XLSXOptions
}

// OpenXLSX opens the workbook in r (size bytes), checks it against the limits
// before decompressing anything, selects the sheet and reads its header.
func OpenXLSX(r io.ReaderAt, size int64, opts XLSXOptions) (*XLSXRows, error) {
	setXLSXDefaults(&opts)
	if size > opts.MaxBytes {
		return nil, fmt.Errorf("xlsx: %w", &LimitError{What: "file size", Limit: opts.MaxBytes})
	}
	if err := checkZip(r, size, opts); err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{
		UnzipSizeLimit:    opts.MaxUncompressed,
		UnzipXMLSizeLimit: min(opts.MaxUncompressed, xmlInMemory),
	})
	if err != nil {
		return nil, fmt.Errorf("xlsx: open workbook: %w", err)
	}
	x := &XLSXRows{f: f, sheets: f.GetSheetList(), opts: opts}
	if err := x.normaliseFormats(); err != nil {
		_ = x.Close()
		return nil, err
	}
	if err := x.selectSheet(); err != nil {
		_ = x.Close()
		return nil, err
	}
	return x, nil
}

func setXLSXDefaults(o *XLSXOptions) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultXLSXBytes
	}
	if o.MaxUncompressed <= 0 {
		o.MaxUncompressed = defaultXLSXUncompressed
	}
	if o.MaxRatio <= 0 {
		o.MaxRatio = defaultXLSXRatio
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = defaultXLSXEntries
	}
	if o.MaxRows <= 0 {
		o.MaxRows = defaultXLSXRows
	}
	if o.MaxColumns <= 0 {
		o.MaxColumns = defaultXLSXColumns
	}
}

// checkZip reads the zip central directory and refuses archives whose
// declared sizes or compression ratios exceed the limits. archive/zip, used
// by excelize, then refuses any entry that inflates beyond its declared size.
func checkZip(r io.ReaderAt, size int64, opts XLSXOptions) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("not a valid xlsx (zip) file: %w", err)
	}
	if len(zr.File) > opts.MaxEntries {
		return &LimitError{What: "zip entries", Limit: int64(opts.MaxEntries)}
	}
	var total uint64
	for _, e := range zr.File {
		u := e.UncompressedSize64
		total += u
		if u > uint64(opts.MaxUncompressed) || total > uint64(opts.MaxUncompressed) {
			return fmt.Errorf("entry %q: %w", e.Name, &LimitError{What: "uncompressed size", Limit: opts.MaxUncompressed})
		}
		if u > ratioFloor {
			c := e.CompressedSize64
			if c == 0 || u/c > uint64(opts.MaxRatio) {
				return fmt.Errorf("entry %q expands %d bytes to %d (ratio above %d): %w", e.Name, c, u, opts.MaxRatio, ErrZipBomb)
			}
		}
	}
	return nil
}

// Sheet returns the name of the sheet being read.
func (x *XLSXRows) Sheet() string { return x.sheet }

// Sheets returns the names of all sheets, in workbook order.
func (x *XLSXRows) Sheets() []string { return x.sheets }

// Header returns the header row.
func (x *XLSXRows) Header() []string { return x.header }

// BlankRows returns how many entirely empty rows were skipped so far.
func (x *XLSXRows) BlankRows() int { return x.blank }

// Close releases the workbook and its temporary files.
func (x *XLSXRows) Close() error {
	var errs []error
	if x.rows != nil {
		errs = append(errs, x.rows.Close())
		x.rows = nil
	}
	if x.f != nil {
		errs = append(errs, x.f.Close())
		x.f = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("xlsx close: %w", err)
	}
	return nil
}

// Next returns the next non-empty row, padded to the header width.
func (x *XLSXRows) Next() ([]string, int, error) {
	for {
		cells, ok, err := x.nextRow()
		if err != nil {
			return nil, x.row, err
		}
		if !ok {
			return nil, x.row, io.EOF
		}
		if isBlank(cells) {
			x.blank++
			continue
		}
		x.data++
		if x.data > x.opts.MaxRows {
			return nil, x.row, fmt.Errorf("xlsx sheet %q: %w", x.sheet, &LimitError{What: "rows", Limit: int64(x.opts.MaxRows)})
		}
		if len(cells) < len(x.header) {
			cells = append(cells, make([]string, len(x.header)-len(cells))...)
		}
		return cells, x.row, nil
	}
}

// nextRow reads the next physical row (empty rows included).
func (x *XLSXRows) nextRow() ([]string, bool, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, false, fmt.Errorf("xlsx sheet %q row %d: %w", x.sheet, x.row+1, err)
		}
		return nil, false, nil
	}
	x.row++
	cells, err := x.rows.Columns()
	if err != nil {
		return nil, false, fmt.Errorf("xlsx sheet %q row %d: %w", x.sheet, x.row, err)
	}
	if len(cells) > x.opts.MaxColumns {
		return nil, false, fmt.Errorf("xlsx sheet %q row %d: %w", x.sheet, x.row, &LimitError{What: "columns", Limit: int64(x.opts.MaxColumns)})
	}
	return cells, true, nil
}

func isBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// selectSheet picks the sheet and reads the header (first non-empty row).
func (x *XLSXRows) selectSheet() error {
	switch {
	case x.opts.Sheet != "":
		found := false
		for _, s := range x.sheets {
			if s == x.opts.Sheet {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("xlsx: no sheet named %q (sheets: %s)", x.opts.Sheet, strings.Join(x.sheets, ", "))
		}
		return x.open(x.opts.Sheet, true)
	case x.opts.SheetIndex > 0:
		if x.opts.SheetIndex > len(x.sheets) {
			return fmt.Errorf("xlsx: sheet %d requested, the workbook has %d", x.opts.SheetIndex, len(x.sheets))
		}
		return x.open(x.sheets[x.opts.SheetIndex-1], true)
	}
	for _, s := range x.sheets {
		if err := x.open(s, false); err != nil {
			return err
		}
		if x.header != nil {
			return nil
		}
	}
	return fmt.Errorf("xlsx: every sheet is empty (%s)", strings.Join(x.sheets, ", "))
}

// open starts streaming sheet and reads its header; with must, an empty sheet
// is an error, otherwise it leaves x.header nil.
func (x *XLSXRows) open(sheet string, must bool) error {
	if x.rows != nil {
		_ = x.rows.Close()
	}
	rows, err := x.f.Rows(sheet)
	if err != nil {
		return fmt.Errorf("xlsx sheet %q: %w", sheet, err)
	}
	x.rows, x.sheet, x.row, x.header = rows, sheet, 0, nil
	for {
		cells, ok, err := x.nextRow()
		if err != nil {
			return err
		}
		if !ok {
			if must {
				return fmt.Errorf("xlsx sheet %q is empty", sheet)
			}
			return nil
		}
		if !isBlank(cells) {
			for len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
				cells = cells[:len(cells)-1]
			}
			x.header = cells
			return nil
		}
	}
}

// Built-in number format ids (ECMA-376 §18.8.30).
func builtinKind(id int) fmtKind {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id >= 34 && id <= 36, id >= 50 && id <= 58:
		return fmtDate
	case id == 22:
		return fmtDateTime
	case id >= 18 && id <= 21, id == 32, id == 33, id >= 45 && id <= 47:
		return fmtTime
	case id == 0 || id == 49:
		return fmtOther
	}
	return fmtNumber
}

type fmtKind int

const (
	fmtOther fmtKind = iota
	fmtNumber
	fmtDate
	fmtDateTime
	fmtTime
)

// customKind classifies a custom number format code by its first section,
// ignoring quoted text, escapes and [..] modifiers (except elapsed [h]).
func customKind(code string) fmtKind {
	if i := strings.IndexByte(code, ';'); i >= 0 {
		code = code[:i]
	}
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				i = len(code)
			} else {
				i += j + 1
			}
		case '\\', '_', '*':
			i++
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				i = len(code)
				continue
			}
			inner := strings.ToLower(code[i+1 : i+j])
			if inner == "h" || inner == "hh" || inner == "m" || inner == "mm" || inner == "s" || inner == "ss" {
				b.WriteString("h")
			}
			i += j
		default:
			b.WriteByte(c)
		}
	}
	s := strings.ToLower(b.String())
	hasDate := strings.ContainsAny(s, "yd")
	hasTime := strings.ContainsAny(s, "hs")
	switch {
	case s == "general" || s == "@" || s == "":
		return fmtOther
	case hasDate && hasTime:
		return fmtDateTime
	case hasDate:
		return fmtDate
	case hasTime:
		return fmtTime
	}
	return fmtNumber
}

// normaliseFormats repoints cell styles so that excelize renders dates as ISO
// 8601 and, unless DisplayedNumbers, numbers as stored. It uses excelize's
// public NewStyle to register the ISO formats, then edits the (exported)
// numFmtId of the workbook's cell formats in memory; the file is never saved.
func (x *XLSXRows) normaliseFormats() error {
	isoDate, isoDateTime := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	dateID, err := x.numFmtIDOf(&isoDate)
	if err != nil {
		return err
	}
	dateTimeID, err := x.numFmtIDOf(&isoDateTime)
	if err != nil {
		return err
	}
	st := x.f.Styles
	if st == nil || st.CellXfs == nil {
		return nil
	}
	custom := map[int]string{}
	if st.NumFmts != nil {
		for _, nf := range st.NumFmts.NumFmt {
			code := nf.FormatCode
			if nf.FormatCode16 != "" {
				code = nf.FormatCode16
			}
			custom[nf.NumFmtID] = code
		}
	}
	general := 0
	for i := range st.CellXfs.Xf {
		xf := &st.CellXfs.Xf[i]
		if xf.NumFmtID == nil {
			continue
		}
		id := *xf.NumFmtID
		if id == dateID || id == dateTimeID {
			continue
		}
		kind := builtinKind(id)
		if code, ok := custom[id]; ok && id >= 164 {
			kind = customKind(code)
		}
		switch kind {
		case fmtDate:
			xf.NumFmtID = &dateID
		case fmtDateTime:
			xf.NumFmtID = &dateTimeID
		case fmtNumber:
			if !x.opts.DisplayedNumbers {
				xf.NumFmtID = &general
			}
		}
	}
	return nil
}

// numFmtIDOf registers a custom number format and returns its id.
func (x *XLSXRows) numFmtIDOf(code *string) (int, error) {
	idx, err := x.f.NewStyle(&excelize.Style{CustomNumFmt: code})
	if err != nil {
		return 0, fmt.Errorf("xlsx: register format %q: %w", *code, err)
	}
	st := x.f.Styles
	if st == nil || st.CellXfs == nil || idx >= len(st.CellXfs.Xf) || st.CellXfs.Xf[idx].NumFmtID == nil {
		return 0, fmt.Errorf("xlsx: register format %q: style %d not found", *code, idx)
	}
	return *st.CellXfs.Xf[idx].NumFmtID, nil
}
