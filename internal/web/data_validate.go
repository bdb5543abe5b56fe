package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// dataValidate validates an uploaded file against a schema and answers the
// validation report (the external contract). It needs no login. A file that
// cannot be read (empty, binary, unsupported format, broken workbook) gives
// an invalid report with a source-error or format-error, not an HTTP error.
func (s *Server) dataValidate(c echo.Context) error {
	name := c.QueryParam("schema")
	if name == "" {
		return Errorf(http.StatusBadRequest, "give the schema to validate against: ?schema=NAME (GET /api/v1/schemas lists them)")
	}
	ctx := c.Request().Context()
	sch, _, err := s.store.LoadSchema(ctx, name, 0)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(http.StatusNotFound, "no schema named %q (GET /api/v1/schemas lists them)", name)
	}
	if err != nil {
		return err
	}
	f, fh, err := formFile(c)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := validateFile(ctx, sch, fh.Filename, f, fh.Size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// formFile returns the multipart part "file": 400 when absent or not
// multipart, 413 when larger than the upload limit.
func formFile(c echo.Context) (multipart.File, *multipart.FileHeader, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(ct, "multipart/form-data") {
		return nil, nil, Errorf(http.StatusBadRequest, "send the file as multipart/form-data in a part named \"file\"")
	}
	fh, err := c.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe), strings.Contains(err.Error(), "request body too large"):
			return nil, nil, Errorf(http.StatusRequestEntityTooLarge, "the file is larger than the upload limit (--max-upload)")
		case errors.Is(err, http.ErrMissingFile):
			return nil, nil, Errorf(http.StatusBadRequest, "no file: send it in a multipart part named \"file\"")
		}
		return nil, nil, &Error{Status: http.StatusBadRequest, Msg: "the multipart body cannot be read", Err: err}
	}
	f, err := fh.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open uploaded file: %w", err)
	}
	return f, fh, nil
}

// fileReader is what an uploaded or stored file offers.
type fileReader interface {
	io.Reader
	io.ReaderAt
}

// validateFile validates CSV (streamed, encoding and delimiter sniffed),
// XLSX, JSON and GeoJSON files.
func validateFile(ctx context.Context, sch *tableschema.Schema, name string, f fileReader, size int64) (*tableschema.Report, error) {
	if size == 0 {
		return sourceReport(sch, tableschema.TypeSourceError, "Le fichier est vide."), nil
	}
	head := make([]byte, min(size, ingest.SniffLen))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read uploaded file: %w", err)
	}
	format, err := ingest.Detect(name, head)
	if err != nil {
		return sourceReport(sch, issueTypeOf(err), frenchFileError(err)), nil
	}
	if format == ingest.FormatCSV {
		return tableschema.ValidateCSV(ctx, sch, io.NewSectionReader(f, 0, size), tableschema.Options{})
	}
	rows, _, err := ingest.Open(name, f, size, ingest.Options{})
	if err != nil {
		return sourceReport(sch, issueTypeOf(err), frenchFileError(err)), nil
	}
	defer rows.Close()
	rep, err := tableschema.Validate(ctx, sch, rows, tableschema.Options{})
	if err != nil {
		return sourceReport(sch, tableschema.TypeSourceError, "Le fichier ne peut pas être lu jusqu'au bout : "+err.Error()), nil
	}
	rep.Encoding = "UTF-8"
	return rep, nil
}

func issueTypeOf(err error) string {
	if errors.Is(err, ingest.ErrUnsupported) {
		return "format-error"
	}
	return tableschema.TypeSourceError
}

func frenchFileError(err error) string {
	switch {
	case errors.Is(err, ingest.ErrBinary):
		return "Le fichier est binaire (octets NUL) : ce n'est pas un fichier tabulaire texte. Déposez un CSV, un XLSX ou un JSON."
	case errors.Is(err, ingest.ErrUnsupported):
		return "Format de fichier non pris en charge (CSV, XLSX, JSON ou GeoJSON attendus) : " + err.Error()
	case errors.Is(err, ingest.ErrLimit):
		return "Le fichier dépasse une limite : " + err.Error()
	}
	return "Le fichier ne peut pas être lu : " + err.Error()
}

func sourceReport(sch *tableschema.Schema, typ, msg string) *tableschema.Report {
	return &tableschema.Report{
		Valid:    false,
		Schema:   tableschema.SchemaInfo{Name: sch.Name, Version: sch.Version},
		Stats:    tableschema.Stats{Errors: 1, ErrorsByType: map[string]int64{typ: 1}},
		Errors:   []tableschema.Issue{{Type: typ, Message: msg}},
		Warnings: []tableschema.Issue{},
	}
}
