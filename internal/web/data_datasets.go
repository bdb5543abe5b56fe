package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/civicflow/civicflow/internal/anonymise"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
)

// Frequencies are the udata (data.gouv.fr) update frequency ids.
var Frequencies = []string{"unknown", "punctual", "continuous", "oneMinute", "fiveMinutes", "tenMinutes", "fifteenMinutes",
	"thirtyMinutes", "hourly", "bihourly", "trihourly", "twelveHours", "severalTimesADay", "threeTimesADay", "semidaily", "daily",
	"fiveTimesAWeek", "threeTimesAWeek", "semiweekly", "weekly", "biweekly", "threeTimesAMonth", "semimonthly", "monthly",
	"bimonthly", "quarterly", "threeTimesAYear", "semiannual", "annual", "biennial", "triennial", "quadrennial", "quinquennial",
	"decennial", "bidecennial", "tridecennial", "irregular", "never", "notPlanned", "other"}

// datasetInput is the body of POST and PATCH /api/v1/datasets: absent
// fields are left as they are (PATCH) or get their defaults (POST).
type datasetInput struct {
	ID             *string          `json:"id"`
	Title          *string          `json:"title"`
	Description    *string          `json:"description"`
	Department     *string          `json:"department"`
	Schema         *string          `json:"schema"`
	SchemaVersion  *int             `json:"schemaVersion"`
	Licence        *string          `json:"licence"`
	Frequency      *string          `json:"frequency"`
	Keywords       *[]string        `json:"keywords"`
	Spatial        *string          `json:"spatial"`
	TemporalStart  *string          `json:"temporalStart"`
	TemporalEnd    *string          `json:"temporalEnd"`
	PersonalFields *json.RawMessage `json:"personalFields"`
	Visibility     *string          `json:"visibility"`
}

// apply copies the given fields into d and checks the result; problems
// are collected per field.
func (s *Server) applyDataset(c echo.Context, in datasetInput, d *store.Dataset) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&d.Title, in.Title)
	set(&d.Description, in.Description)
	set(&d.SchemaName, in.Schema)
	set(&d.Licence, in.Licence)
	set(&d.Frequency, in.Frequency)
	set(&d.Spatial, in.Spatial)
	set(&d.TemporalStart, in.TemporalStart)
	set(&d.TemporalEnd, in.TemporalEnd)
	set(&d.Visibility, in.Visibility)
	if in.SchemaVersion != nil {
		d.SchemaVersion = *in.SchemaVersion
	}
	if in.Keywords != nil {
		d.Keywords = store.Strings(*in.Keywords)
	}
	var probs []FieldProblem
	bad := func(field, format string, args ...any) {
		probs = append(probs, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if d.Title == "" || len(d.Title) > 350 {
		bad("title", "a title of 1 to 350 characters is required")
	}
	if len(d.Description) > 100_000 {
		bad("description", "at most 100,000 characters")
	}
	if d.SchemaName != "" {
		if _, _, err := s.store.LoadSchema(c.Request().Context(), d.SchemaName, d.SchemaVersion); err != nil {
			switch {
			case errors.Is(err, store.ErrTooManyColumns):
				bad("schema", "%v", err)
			case errors.Is(err, store.ErrNotFound):
				bad("schema", "no schema %q (version %d); GET /api/v1/schemas lists them", d.SchemaName, d.SchemaVersion)
			default:
				return err
			}
		}
	}
	if d.SchemaVersion < 0 {
		bad("schemaVersion", "a version is a positive number, or 0 for the latest")
	}
	if d.Licence == "" {
		d.Licence = store.DefaultLicence
	}
	if d.Frequency == "" {
		d.Frequency = "unknown"
	}
	if !slices.Contains(Frequencies, d.Frequency) {
		bad("frequency", "unknown frequency %q (data.gouv.fr ids: daily, weekly, monthly, annual, irregular, unknown…)", d.Frequency)
	}
	for _, k := range d.Keywords {
		if k == "" || len(k) > 96 {
			bad("keywords", "keywords have 1 to 96 characters")
			break
		}
	}
	for _, f := range []struct{ name, v string }{{"temporalStart", d.TemporalStart}, {"temporalEnd", d.TemporalEnd}} {
		if f.v != "" {
			if _, err := time.Parse(time.DateOnly, f.v); err != nil {
				bad(f.name, "a date YYYY-MM-DD is expected, not %q", f.v)
			}
		}
	}
	if d.TemporalStart != "" && d.TemporalEnd != "" && d.TemporalEnd < d.TemporalStart {
		bad("temporalEnd", "the end of the temporal coverage is before its start")
	}
	if d.Visibility == "" {
		d.Visibility = store.VisibilityPrivate
	}
	if d.Visibility != store.VisibilityPublic && d.Visibility != store.VisibilityPrivate {
		bad("visibility", "public or private")
	}
	if in.PersonalFields != nil {
		var fields []anonymise.Field
		raw := []byte(*in.PersonalFields)
		if string(raw) == "null" {
			raw = []byte("[]")
		}
		if err := json.Unmarshal(raw, &fields); err != nil {
			bad("personalFields", "an array of {\"field\",\"method\"} is expected: %v", err)
		} else {
			for _, f := range fields {
				switch f.Method {
				case anonymise.Drop, anonymise.Pseudonymise, anonymise.Generalise, anonymise.Mask, anonymise.RedactFreeText:
				default:
					bad("personalFields", "field %q: unknown method %q (drop, pseudonymise, generalise, mask, redact_free_text)", f.Name, f.Method)
				}
				if f.Name == "" {
					bad("personalFields", "each entry names its \"field\"")
				}
			}
			d.PersonalFields = store.JSONText(raw)
		}
	}
	if len(probs) > 0 {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "the dataset metadata are invalid", Problems: probs}
	}
	return nil
}

// mayAct checks that the caller may do act on datasets in dept (handlers
// narrow the middleware's "in some department").
func (s *Server) mayAct(c echo.Context, dept, act string) error {
	svc := s.Auth()
	if svc == nil {
		return nil
	}
	p := auth.PrincipalFrom(c)
	if !svc.Allowed(c.Request().Context(), p, dept, "datasets", act) {
		return Errorf(http.StatusForbidden, "you are not allowed to %s datasets in department %s", act, dept)
	}
	return nil
}

// visibleDepartments lists the departments whose datasets the caller may
// read; nil means all.
func (s *Server) visibleDepartments(c echo.Context) []string {
	svc := s.Auth()
	if svc == nil {
		return nil
	}
	ds := svc.Departments(c.Request().Context(), auth.PrincipalFrom(c), "datasets", "read")
	if slices.Contains(ds, store.AllDepartments) {
		return nil
	}
	if ds == nil {
		ds = []string{}
	}
	return ds
}

func (s *Server) dataCreateDataset(c echo.Context) error {
	var in datasetInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	d := store.Dataset{}
	if in.Department == nil || *in.Department == "" {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "the dataset metadata are invalid",
			Problems: []FieldProblem{{Field: "department", Message: "the department (slug) that owns the dataset is required"}}}
	}
	d.Department = *in.Department
	ctx := c.Request().Context()
	if _, err := s.store.Department(ctx, d.Department); errors.Is(err, store.ErrNotFound) {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "the dataset metadata are invalid",
			Problems: []FieldProblem{{Field: "department", Message: fmt.Sprintf("no department %q", d.Department)}}}
	} else if err != nil {
		return err
	}
	if err := s.mayAct(c, d.Department, "create"); err != nil {
		return err
	}
	if err := s.applyDataset(c, in, &d); err != nil {
		return err
	}
	if p := auth.PrincipalFrom(c); !p.Anonymous() {
		d.CreatedBy = &p.UserID
	}
	explicit := in.ID != nil && *in.ID != ""
	if explicit {
		d.ID = *in.ID
		if !store.ValidDatasetID(d.ID) {
			return &Error{Status: http.StatusUnprocessableEntity, Msg: "the dataset metadata are invalid",
				Problems: []FieldProblem{{Field: "id", Message: "2 to 80 lower-case letters, digits and dashes"}}}
		}
	}
	base := slugify(d.Title)
	for i := 1; ; i++ {
		if !explicit {
			d.ID = base
			if i > 1 {
				d.ID = fmt.Sprintf("%s-%d", base, i)
			}
		}
		err := s.store.CreateDataset(ctx, &d)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || explicit || i >= 50 {
			if errors.Is(err, store.ErrConflict) {
				return Errorf(http.StatusConflict, "a dataset %q exists already", d.ID)
			}
			return err
		}
	}
	s.auditDataset(c, "dataset.create", nil, &d)
	return c.JSON(http.StatusCreated, map[string]any{"id": d.ID, "dataset": d})
}

// auditDataset records a dataset change with the fields that changed,
// before and after (for a creation, before is nil and after holds every
// field).
func (s *Server) auditDataset(c echo.Context, action string, before, after *store.Dataset) {
	asMap := func(d *store.Dataset) map[string]any {
		m := map[string]any{}
		if d == nil {
			return m
		}
		b, _ := json.Marshal(d)
		_ = json.Unmarshal(b, &m)
		delete(m, "createdAt")
		delete(m, "updatedAt")
		return m
	}
	b, a := asMap(before), asMap(after)
	detail := map[string]any{"before": nil, "after": a}
	if before != nil {
		changedBefore, changedAfter := map[string]any{}, map[string]any{}
		for k, v := range a {
			if !reflect.DeepEqual(v, b[k]) {
				changedBefore[k], changedAfter[k] = b[k], v
			}
		}
		if len(changedAfter) == 0 {
			return
		}
		detail = map[string]any{"before": changedBefore, "after": changedAfter}
	}
	s.audit(c, audit.Entry{Action: action, ObjectType: "dataset", ObjectID: after.ID, Department: after.Department, Detail: audit.Detail(detail)})
}

// samePolicy reports whether two anonymisation policies (personalFields)
// say the same.
func samePolicy(a, b store.JSONText) bool {
	parse := func(j store.JSONText) []anonymise.Field {
		var fs []anonymise.Field
		_ = json.Unmarshal(j, &fs)
		return fs
	}
	x, y := parse(a), parse(b)
	if len(x) == 0 || len(y) == 0 {
		return len(x) == len(y)
	}
	return reflect.DeepEqual(x, y)
}

// slugify makes a dataset id from a title: "Subventions 2024 (Voirie)" →
// "subventions-2024-voirie".
func slugify(title string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	s, _, err := transform.String(t, strings.ToLower(title))
	if err != nil {
		s = strings.ToLower(title)
	}
	var b strings.Builder
	dash := false
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 70 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) < 2 {
		out = "jeu-" + randomID(4)
	}
	return out
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) dataListDatasets(c echo.Context) error {
	f := store.DatasetFilter{Departments: s.visibleDepartments(c)}
	if dept := c.QueryParam("department"); dept != "" {
		if f.Departments != nil && !slices.Contains(f.Departments, dept) {
			f.Departments = []string{}
		} else {
			f.Departments = []string{dept}
		}
	}
	if v := c.QueryParam("visibility"); v != "" {
		f.Visibility = v
	}
	ds, err := s.store.Datasets(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"datasets": ds})
}

// datasetFor loads the :id dataset and checks the caller may act on it.
// A dataset of a department the caller cannot read is reported missing.
func (s *Server) datasetFor(c echo.Context, act string) (store.Dataset, error) {
	d, err := s.store.Dataset(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return d, Errorf(http.StatusNotFound, "no dataset %q", c.Param("id"))
	}
	if err != nil {
		return d, err
	}
	if err := s.mayAct(c, d.Department, "read"); err != nil {
		return d, Errorf(http.StatusNotFound, "no dataset %q", c.Param("id"))
	}
	if act != "read" {
		if err := s.mayAct(c, d.Department, act); err != nil {
			return d, err
		}
	}
	return d, nil
}

// datasetView is GET /api/v1/datasets/{id}: the metadata, the releases,
// the staged files and the latest quality report.
type datasetView struct {
	store.Dataset
	Releases      []store.Release      `json:"releases"`
	Files         []store.DataFile     `json:"files"`
	QualityReport *store.QualityReport `json:"qualityReport"`
}

func (s *Server) dataGetDataset(c echo.Context) error {
	d, err := s.datasetFor(c, "read")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := datasetView{Dataset: d}
	if v.Releases, err = s.store.Releases(ctx, d.ID); err != nil {
		return err
	}
	if v.Files, err = s.store.DataFiles(ctx, d.ID); err != nil {
		return err
	}
	rep, err := s.store.LatestQualityReport(ctx, d.ID)
	switch {
	case err == nil:
		v.QualityReport = &rep
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) dataPatchDataset(c echo.Context) error {
	d, err := s.datasetFor(c, "write")
	if err != nil {
		return err
	}
	var in datasetInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.ID != nil && *in.ID != d.ID {
		return Errorf(http.StatusUnprocessableEntity, "the id of a dataset cannot change")
	}
	if in.Department != nil && *in.Department != d.Department {
		return Errorf(http.StatusUnprocessableEntity, "the department of a dataset cannot change")
	}
	if in.Visibility != nil && *in.Visibility != d.Visibility {
		if err := s.mayAct(c, d.Department, "publish"); err != nil {
			return err
		}
	}
	before := d
	if err := s.applyDataset(c, in, &d); err != nil {
		return err
	}
	if !samePolicy(before.PersonalFields, d.PersonalFields) {
		// The anonymisation policy is the steward's (who may publish).
		if err := s.mayAct(c, d.Department, "publish"); err != nil {
			return Errorf(http.StatusForbidden, "the anonymisation policy (personalFields) of a dataset is set by a steward of department %s: you may not change it", d.Department)
		}
	}
	if err := s.store.UpdateDataset(c.Request().Context(), &d); err != nil {
		return err
	}
	s.auditDataset(c, "dataset.update", &before, &d)
	return c.JSON(http.StatusOK, d)
}

func (s *Server) dataListFiles(c echo.Context) error {
	d, err := s.datasetFor(c, "read")
	if err != nil {
		return err
	}
	fs, err := s.store.DataFiles(c.Request().Context(), d.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"files": fs})
}

// Blobs is the content-addressed store of the installation (DATA/blobs).
func (s *Server) blobs() ingest.Blobs {
	return ingest.Blobs{Dir: BlobDir(s.cfg.DataDir)}
}

// BlobDir is where staged and derived files live.
func BlobDir(dataDir string) string { return filepath.Join(dataDir, "blobs") }

// dataStageFile stages a file for a dataset: multipart "file" (stored as a
// blob) or a JSON {"url"} source fetched by the ingest activity.
func (s *Server) dataStageFile(c echo.Context) error {
	d, err := s.datasetFor(c, "write")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f := store.DataFile{ID: "f" + randomID(10), DatasetID: d.ID}
	if p := auth.PrincipalFrom(c); !p.Anonymous() {
		f.CreatedBy = &p.UserID
	}
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), "application/json") {
		var in struct {
			URL  string `json:"url"`
			Name string `json:"name"`
		}
		if err := bindJSON(c, &in); err != nil {
			return err
		}
		u, err := url.Parse(strings.TrimSpace(in.URL))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.URL) > 2048 {
			return &Error{Status: http.StatusUnprocessableEntity, Msg: "an absolute http(s) URL is expected",
				Problems: []FieldProblem{{Field: "url", Message: "an absolute http:// or https:// URL of at most 2048 characters"}}}
		}
		f.Kind, f.URL, f.Name = store.FileURL, u.String(), in.Name
		if f.Name == "" {
			f.Name = path.Base(u.Path)
		}
		if err := s.store.CreateDataFile(ctx, &f); err != nil {
			return err
		}
		s.auditFile(c, d, f)
		return c.JSON(http.StatusCreated, map[string]any{"id": f.ID, "kind": f.Kind, "url": f.URL, "name": f.Name})
	}
	file, fh, err := formFile(c)
	if err != nil {
		return err
	}
	defer file.Close()
	if fh.Size == 0 {
		return Errorf(http.StatusUnprocessableEntity, "the file %q is empty", fh.Filename)
	}
	head := make([]byte, min(fh.Size, ingest.SniffLen))
	if _, err := file.ReadAt(head, 0); err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	format, err := ingest.Detect(fh.Filename, head)
	if err != nil {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: "unsupported file: " + err.Error() + " (CSV, XLSX, JSON or GeoJSON expected)"}
	}
	sha, size, err := s.blobs().Put(ctx, file)
	if err != nil {
		return err
	}
	f.Kind, f.Name, f.Format, f.SHA256, f.Size = store.FileUpload, path.Base(fh.Filename), string(format), sha, size
	if err := s.store.CreateDataFile(ctx, &f); err != nil {
		return err
	}
	s.auditFile(c, d, f)
	return c.JSON(http.StatusCreated, map[string]any{"id": f.ID, "sha256": f.SHA256, "size": f.Size, "name": f.Name, "format": f.Format, "kind": f.Kind})
}

// auditFile records a file staged for a dataset.
func (s *Server) auditFile(c echo.Context, d store.Dataset, f store.DataFile) {
	s.audit(c, audit.Entry{Action: "dataset.file", ObjectType: "dataset", ObjectID: d.ID, Department: d.Department,
		Detail: audit.Detail(map[string]any{"file": f.ID, "kind": f.Kind, "name": f.Name, "sha256": f.SHA256, "url": f.URL})})
}

// dataGetRelease returns a release and a page of its rows (?limit, ?offset).
func (s *Server) dataGetRelease(c echo.Context) error {
	d, err := s.datasetFor(c, "read")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n <= 0 {
		return Errorf(http.StatusBadRequest, "a release number is a positive integer")
	}
	limit, err := intParam(c, "limit", 20, 1, 1000)
	if err != nil {
		return err
	}
	offset, err := intParam(c, "offset", 0, 0, math.MaxInt)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rel, err := s.store.Release(ctx, d.ID, n)
	if err != nil {
		return err
	}
	rows, err := s.store.ReleaseRows(ctx, rel, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"release": rel, "rows": rows})
}

// dataGetReport returns a whole stored quality report.
func (s *Server) dataGetReport(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return Errorf(http.StatusBadRequest, "a report id is a positive integer")
	}
	ctx := c.Request().Context()
	rep, err := s.store.QualityReport(ctx, id)
	if err != nil {
		return err
	}
	if rep.DatasetID != nil {
		d, err := s.store.Dataset(ctx, *rep.DatasetID)
		if err != nil {
			return err
		}
		if err := s.mayAct(c, d.Department, "read"); err != nil {
			return Errorf(http.StatusNotFound, "no report %d", id)
		}
	}
	return c.JSON(http.StatusOK, rep)
}
