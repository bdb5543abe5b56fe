package web

import (
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/service"
)

func (s *Server) dataCreateDataset(c echo.Context) error {
	var in service.DatasetInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	d, err := s.svc.CreateDataset(c.Request().Context(), caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": d.ID, "dataset": d})
}

func (s *Server) dataListDatasets(c echo.Context) error {
	ds, err := s.svc.ListDatasets(c.Request().Context(), caller(c),
		service.DatasetFilter{Department: c.QueryParam("department"), Visibility: c.QueryParam("visibility")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"datasets": ds})
}

// dataGetDataset is GET /api/v1/datasets/{id}: the metadata, the releases,
// the staged files and the latest quality report.
func (s *Server) dataGetDataset(c echo.Context) error {
	v, err := s.svc.Dataset(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) dataPatchDataset(c echo.Context) error {
	var in service.DatasetInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	d, err := s.svc.UpdateDataset(c.Request().Context(), caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) dataListFiles(c echo.Context) error {
	fs, err := s.svc.DataFiles(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"files": fs})
}

// BlobDir is where staged and derived files live.
func BlobDir(dataDir string) string { return service.BlobDir(dataDir) }

// dataStageFile stages a file for a dataset: multipart "file" (streamed
// to a blob) or a JSON {"url"} source fetched by the ingest activity.
func (s *Server) dataStageFile(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), "application/json") {
		var in struct {
			URL  string `json:"url"`
			Name string `json:"name"`
		}
		if err := bindJSON(c, &in); err != nil {
			return err
		}
		f, err := s.svc.StageURL(ctx, caller(c), id, in.URL, in.Name)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, map[string]any{"id": f.ID, "kind": f.Kind, "url": f.URL, "name": f.Name})
	}
	f, err := s.svc.StageFile(ctx, caller(c), id, func() (string, io.Reader, error) { return multipartFile(c) })
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": f.ID, "sha256": f.SHA256, "size": f.Size, "name": f.Name, "format": f.Format, "kind": f.Kind})
}

// multipartFile streams the part named "file" of a multipart body: its
// file name and content (the body is not spooled to disk).
func multipartFile(c echo.Context) (string, io.Reader, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "multipart/form-data" {
		return "", nil, Errorf(http.StatusBadRequest, "send the file as multipart/form-data in a part named \"file\"")
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return "", nil, &Error{Status: http.StatusBadRequest, Msg: "the multipart body cannot be read", Err: err}
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", nil, Errorf(http.StatusBadRequest, "no file: send it in a multipart part named \"file\"")
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, Errorf(http.StatusRequestEntityTooLarge, "the file is larger than the upload limit (--max-upload)")
			}
			return "", nil, &Error{Status: http.StatusBadRequest, Msg: "the multipart body cannot be read", Err: err}
		}
		if part.FormName() == "file" && part.FileName() != "" {
			return part.FileName(), part, nil
		}
	}
}

// dataGetRelease returns a release and a page of its rows (?limit, ?offset).
func (s *Server) dataGetRelease(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		n = 0 // refused by the use case, once the dataset is known
	}
	limit, err := intParam(c, "limit", 20, 1, 1000)
	if err != nil {
		return err
	}
	offset, err := intParam(c, "offset", 0, 0, math.MaxInt)
	if err != nil {
		return err
	}
	p, err := s.svc.Release(c.Request().Context(), caller(c), c.Param("id"), n, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"release": p.Release, "rows": p.Rows})
}

// dataGetReport returns a whole stored quality report.
func (s *Server) dataGetReport(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		id = 0 // refused by the use case
	}
	rep, err := s.svc.QualityReport(c.Request().Context(), caller(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}
