// Package ingest brings files into civicflow: it detects their format, reads
// the non-CSV ones (XLSX, JSON, GeoJSON) as row streams, fetches remote files
// over HTTP(S) with conditional requests and an SSRF guard, and keeps raw
// files in a content-addressed blob store.
//
// CSV sniffing and validation live in internal/tableschema; this package never
// imports it. Readers here implement the product's row-stream interface
// structurally (see Rows). Every reader enforces size, depth, row and column
// limits and fails with an error that names the limit, so a hostile or broken
// upload gets a clear message instead of exhausting the worker.
package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Rows is a stream of records read from a tabular file. It is the same
// interface as tableschema.Rows, repeated so that the two packages stay
// independent.
type Rows interface {
	Header() []string
	// Next returns the next record and its 1-based physical line number
	// (header = 1); io.EOF at the end.
	Next() (record []string, line int, err error)
}

// Format is a file format that ingest recognises.
type Format string

// Recognised formats.
const (
	FormatCSV     Format = "csv"
	FormatXLSX    Format = "xlsx"
	FormatJSON    Format = "json"
	FormatGeoJSON Format = "geojson"
)

// Errors returned by Detect; test with errors.Is.
var (
	ErrBinary      = errors.New("binary content (NUL bytes): not a tabular text file")
	ErrUnsupported = errors.New("unsupported file format")
)

// SniffLen is how many leading bytes Detect wants to see.
const SniffLen = 4096

var (
	magicZip = []byte("PK\x03\x04")
	magicOLE = []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") // legacy .xls / .doc
	magicGz  = []byte("\x1F\x8B")
	magicPDF = []byte("%PDF-")
	bom      = []byte("\xEF\xBB\xBF")
)

// Detect returns the format of a file from its name and its first bytes (up to
// SniffLen; fewer is fine). Magic bytes win over the extension: a zip is XLSX
// (or refused if the extension says another zip format), content starting
// with '{' or '[' is JSON unless the extension is .csv/.tsv/.txt, NUL bytes
// are refused as binary, and anything else is CSV. A .json/.geojson name whose
// content does not start like JSON is refused.
func Detect(name string, head []byte) (Format, error) {
	ext := strings.ToLower(filepath.Ext(name))
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	switch {
	case bytes.HasPrefix(head, magicZip):
		switch ext {
		case "", ".xlsx", ".xlsm", ".bin", ".dat":
			return FormatXLSX, nil
		}
		return "", fmt.Errorf("detect %q: zip archive with extension %q (only .xlsx workbooks are read): %w", name, ext, ErrUnsupported)
	case bytes.HasPrefix(head, magicOLE):
		return "", fmt.Errorf("detect %q: legacy Excel 97-2003 (.xls) or other OLE file; save it as .xlsx or CSV: %w", name, ErrUnsupported)
	case bytes.HasPrefix(head, magicGz):
		return "", fmt.Errorf("detect %q: gzip-compressed; decompress it first: %w", name, ErrUnsupported)
	case bytes.HasPrefix(head, magicPDF):
		return "", fmt.Errorf("detect %q: PDF is not tabular data: %w", name, ErrUnsupported)
	case bytes.IndexByte(head, 0) >= 0:
		return "", fmt.Errorf("detect %q: %w", name, ErrBinary)
	}
	body := bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	looksJSON := len(body) > 0 && (body[0] == '{' || body[0] == '[')
	switch ext {
	case ".csv", ".tsv", ".txt", ".tab":
		return FormatCSV, nil
	case ".json", ".geojson":
		if !looksJSON {
			return "", fmt.Errorf("detect %q: extension %s but the content does not start with '{' or '[': %w", name, ext, ErrUnsupported)
		}
		if ext == ".geojson" || bytes.Contains(body, []byte(`"FeatureCollection"`)) {
			return FormatGeoJSON, nil
		}
		return FormatJSON, nil
	case ".xlsx", ".xlsm":
		return "", fmt.Errorf("detect %q: extension %s but not a zip archive: %w", name, ext, ErrUnsupported)
	case ".xls", ".ods", ".pdf", ".doc", ".docx", ".zip", ".gz":
		return "", fmt.Errorf("detect %q: %s files are not read; export as CSV or XLSX: %w", name, ext, ErrUnsupported)
	}
	if looksJSON {
		if bytes.Contains(body, []byte(`"FeatureCollection"`)) {
			return FormatGeoJSON, nil
		}
		return FormatJSON, nil
	}
	return FormatCSV, nil
}

// LimitError reports input that exceeds a configured limit.
type LimitError struct {
	What  string // "file size", "uncompressed size", "rows", "columns", "depth"…
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s exceeds the limit of %d", e.What, e.Limit)
}

// ErrLimit matches every *LimitError with errors.Is.
var ErrLimit = errors.New("limit exceeded")

// Is makes errors.Is(err, ErrLimit) true for limit errors.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// The readers implement the product's row-stream interface.
var (
	_ Rows = (*XLSXRows)(nil)
	_ Rows = (*JSONRows)(nil)
)
