package ingest

import (
	"errors"
	"fmt"
	"io"
)

// ErrCSV is returned by Open for CSV files: their dialect and encoding are
// sniffed by internal/tableschema, which reads them.
var ErrCSV = errors.New("CSV files are read by tableschema")

// RowsCloser is a row stream holding resources.
type RowsCloser interface {
	Rows
	Close() error
}

// Options groups the options of the readers used by Open.
type Options struct {
	XLSX XLSXOptions
	JSON JSONOptions
}

// Open detects the format of the file (name + first bytes) and opens the
// matching reader. For CSV it returns FormatCSV and an error matching ErrCSV.
func Open(name string, r io.ReaderAt, size int64, opts Options) (RowsCloser, Format, error) {
	head := make([]byte, min(size, SniffLen))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("open %q: read head: %w", name, err)
	}
	format, err := Detect(name, head)
	if err != nil {
		return nil, "", err
	}
	switch format {
	case FormatXLSX:
		x, err := OpenXLSX(r, size, opts.XLSX)
		if err != nil {
			return nil, format, fmt.Errorf("open %q: %w", name, err)
		}
		return x, format, nil
	case FormatJSON, FormatGeoJSON:
		j, err := OpenJSON(io.NewSectionReader(r, 0, size), opts.JSON)
		if err != nil {
			return nil, format, fmt.Errorf("open %q: %w", name, err)
		}
		return j, format, nil
	}
	return nil, format, fmt.Errorf("open %q: %w", name, ErrCSV)
}

// Close is a no-op: JSONRows holds no resources beyond its reader, which the
// caller owns.
func (j *JSONRows) Close() error { return nil }
