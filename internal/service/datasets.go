package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

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

// DatasetInput is the metadata of a dataset to create or change: absent
// (nil) fields are left as they are (update) or get their defaults
// (create).
type DatasetInput struct {
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

// errMetadata is the error of invalid dataset metadata.
func errMetadata(probs ...Problem) *Error {
	return &Error{Kind: Invalid, Msg: "the dataset metadata are invalid", Fr: "Les informations du jeu de données ne sont pas valides.", Problems: probs}
}

// applyDataset copies the given fields into d and checks the result;
// problems are collected per field.
func (s *Service) applyDataset(ctx context.Context, in DatasetInput, d *store.Dataset) error {
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
	var probs []Problem
	// bad records a problem of field: fr is its French message (pages).
	bad := func(field, fr, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...), Fr: fr})
	}
	if d.Title == "" || len(d.Title) > 350 {
		bad("title", "Un titre de 1 à 350 caractères est obligatoire.", "a title of 1 to 350 characters is required")
	}
	if len(d.Description) > 100_000 {
		bad("description", "La description ne dépasse pas 100 000 caractères.", "at most 100,000 characters")
	}
	if d.SchemaName != "" {
		if _, _, err := s.store.LoadSchema(ctx, d.SchemaName, d.SchemaVersion); err != nil {
			switch {
			case errors.Is(err, store.ErrTooManyColumns):
				bad("schema", "Ce schéma a trop de colonnes pour être publié dans cette base.", "%v", err)
			case errors.Is(err, store.ErrNotFound):
				bad("schema", fmt.Sprintf("Le schéma « %s » n'existe pas.", d.SchemaName), "no schema %q (version %d); GET /api/v1/schemas lists them", d.SchemaName, d.SchemaVersion)
			default:
				return err
			}
		}
	}
	if d.SchemaVersion < 0 {
		bad("schemaVersion", "Une version est un nombre positif, ou 0 pour la dernière.", "a version is a positive number, or 0 for the latest")
	}
	if d.Licence == "" {
		d.Licence = store.DefaultLicence
	}
	if d.Frequency == "" {
		d.Frequency = "unknown"
	}
	if !slices.Contains(Frequencies, d.Frequency) {
		bad("frequency", "Choisissez une fréquence de mise à jour dans la liste.", "unknown frequency %q (data.gouv.fr ids: daily, weekly, monthly, annual, irregular, unknown…)", d.Frequency)
	}
	for _, k := range d.Keywords {
		if k == "" || len(k) > 96 {
			bad("keywords", "Chaque mot-clé a de 1 à 96 caractères.", "keywords have 1 to 96 characters")
			break
		}
	}
	for _, f := range []struct{ name, v string }{{"temporalStart", d.TemporalStart}, {"temporalEnd", d.TemporalEnd}} {
		if f.v != "" {
			if _, err := time.Parse(time.DateOnly, f.v); err != nil {
				bad(f.name, fmt.Sprintf("Une date au format AAAA-MM-JJ est attendue, et non « %s ».", f.v), "a date YYYY-MM-DD is expected, not %q", f.v)
			}
		}
	}
	if d.TemporalStart != "" && d.TemporalEnd != "" && d.TemporalEnd < d.TemporalStart {
		bad("temporalEnd", "La fin de la période couverte est avant son début.", "the end of the temporal coverage is before its start")
	}
	if d.Visibility == "" {
		d.Visibility = store.VisibilityPrivate
	}
	if d.Visibility != store.VisibilityPublic && d.Visibility != store.VisibilityPrivate {
		bad("visibility", "Choisissez public ou privé.", "public or private")
	}
	if in.PersonalFields != nil {
		var fields []anonymise.Field
		raw := []byte(*in.PersonalFields)
		if string(raw) == "null" {
			raw = []byte("[]")
		}
		if err := json.Unmarshal(raw, &fields); err != nil {
			bad("personalFields", "La liste des champs personnels n'est pas lisible.", "an array of {\"field\",\"method\"} is expected: %v", err)
		} else {
			for _, f := range fields {
				switch f.Method {
				case anonymise.Drop, anonymise.Pseudonymise, anonymise.Generalise, anonymise.Mask, anonymise.RedactFreeText:
				default:
					bad("personalFields", fmt.Sprintf("Champ « %s » : méthode d'anonymisation inconnue « %s ».", f.Name, f.Method), "field %q: unknown method %q (drop, pseudonymise, generalise, mask, redact_free_text)", f.Name, f.Method)
				}
				if f.Name == "" {
					bad("personalFields", "Chaque entrée nomme son champ.", "each entry names its \"field\"")
				}
			}
			d.PersonalFields = store.JSONText(raw)
		}
	}
	if len(probs) > 0 {
		return errMetadata(probs...)
	}
	return nil
}

// mayActOnDatasets checks that the caller may do act on datasets in dept
// (the route table's middleware checked "in some department").
func (s *Service) mayActOnDatasets(ctx context.Context, c Caller, dept, act string) error {
	if s.auth == nil {
		return nil
	}
	if !s.auth.Allowed(ctx, c.Principal, dept, "datasets", act) {
		return Errorf(Forbidden, "you are not allowed to %s datasets in department %s", act, dept).
			French("Vous n'avez pas ce droit sur les jeux de données du service %s.", dept)
	}
	return nil
}

// visibleDepartments lists the departments whose datasets the caller may
// read; nil means all.
func (s *Service) visibleDepartments(ctx context.Context, c Caller) []string {
	if s.auth == nil {
		return nil
	}
	ds := s.auth.Departments(ctx, c.Principal, "datasets", "read")
	if slices.Contains(ds, store.AllDepartments) {
		return nil
	}
	if ds == nil {
		ds = []string{}
	}
	return ds
}

// CreateDataset creates a dataset in a department where the caller may
// create datasets; without an id, one is made from the title.
func (s *Service) CreateDataset(ctx context.Context, c Caller, in DatasetInput) (store.Dataset, error) {
	d := store.Dataset{}
	if in.Department == nil || *in.Department == "" {
		return d, errMetadata(Problem{Field: "department", Message: "the department (slug) that owns the dataset is required", Fr: "Choisissez le service propriétaire du jeu de données."})
	}
	d.Department = *in.Department
	if _, err := s.store.Department(ctx, d.Department); errors.Is(err, store.ErrNotFound) {
		return d, errMetadata(Problem{Field: "department", Message: fmt.Sprintf("no department %q", d.Department), Fr: fmt.Sprintf("Le service « %s » n'existe pas.", d.Department)})
	} else if err != nil {
		return d, err
	}
	if err := s.mayActOnDatasets(ctx, c, d.Department, "create"); err != nil {
		return d, err
	}
	if err := s.applyDataset(ctx, in, &d); err != nil {
		return d, err
	}
	if p := c.Principal; !p.Anonymous() {
		d.CreatedBy = &p.UserID
	}
	explicit := in.ID != nil && *in.ID != ""
	if explicit {
		d.ID = *in.ID
		if !store.ValidDatasetID(d.ID) {
			return d, errMetadata(Problem{Field: "id", Message: "2 to 80 lower-case letters, digits and dashes", Fr: "De 2 à 80 lettres minuscules, chiffres et tirets."})
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
				return d, Errorf(Conflict, "a dataset %q exists already", d.ID).French("Un jeu de données « %s » existe déjà.", d.ID)
			}
			return d, err
		}
	}
	s.auditDataset(ctx, c, "dataset.create", nil, &d)
	return d, nil
}

// auditDataset records a dataset change with the fields that changed,
// before and after (for a creation, before is nil and after holds every
// field).
func (s *Service) auditDataset(ctx context.Context, c Caller, action string, before, after *store.Dataset) {
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
	s.audit(ctx, c, audit.Entry{Action: action, ObjectType: "dataset", ObjectID: after.ID, Department: after.Department, Detail: audit.Detail(detail)})
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

// DatasetFilter selects datasets.
type DatasetFilter struct {
	Department string
	Visibility string
	// Limit and Offset page the list (Limit 0: every dataset).
	Limit, Offset int
}

// storeFilter is f for the store, restricted to the departments whose
// datasets the caller may read.
func (s *Service) storeFilter(ctx context.Context, c Caller, f DatasetFilter) store.DatasetFilter {
	sf := store.DatasetFilter{Departments: s.visibleDepartments(ctx, c), Visibility: f.Visibility, Limit: f.Limit, Offset: f.Offset}
	if f.Department != "" {
		if sf.Departments != nil && !slices.Contains(sf.Departments, f.Department) {
			sf.Departments = []string{}
		} else {
			sf.Departments = []string{f.Department}
		}
	}
	return sf
}

// ListDatasets lists the datasets of the departments whose datasets the
// caller may read.
func (s *Service) ListDatasets(ctx context.Context, c Caller, f DatasetFilter) ([]store.Dataset, error) {
	return s.store.Datasets(ctx, s.storeFilter(ctx, c, f))
}

// CountDatasets counts what ListDatasets lists, paging aside.
func (s *Service) CountDatasets(ctx context.Context, c Caller, f DatasetFilter) (int, error) {
	return s.store.CountDatasets(ctx, s.storeFilter(ctx, c, f))
}

// datasetFor loads a dataset and checks the caller may do act on it. A
// dataset of a department the caller cannot read is reported missing.
func (s *Service) datasetFor(ctx context.Context, c Caller, id, act string) (store.Dataset, error) {
	missing := func() error {
		return Errorf(NotFound, "no dataset %q", id).French("Le jeu de données « %s » n'existe pas.", id)
	}
	d, err := s.store.Dataset(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return d, missing()
	}
	if err != nil {
		return d, err
	}
	if err := s.mayActOnDatasets(ctx, c, d.Department, "read"); err != nil {
		return d, missing()
	}
	if act != "read" {
		if err := s.mayActOnDatasets(ctx, c, d.Department, act); err != nil {
			return d, err
		}
	}
	return d, nil
}

// DatasetView is a dataset with its releases, its staged files, its
// latest quality report and what was pushed of it to data.gouv.fr.
type DatasetView struct {
	store.Dataset
	Releases      []store.Release      `json:"releases"`
	Files         []store.DataFile     `json:"files"`
	QualityReport *store.QualityReport `json:"qualityReport"`
	Datagouv      []store.DatagouvPush `json:"datagouv"`
}

// Dataset is a dataset the caller may read, with its releases, files and
// latest quality report.
func (s *Service) Dataset(ctx context.Context, c Caller, id string) (DatasetView, error) {
	d, err := s.datasetFor(ctx, c, id, "read")
	if err != nil {
		return DatasetView{}, err
	}
	v := DatasetView{Dataset: d}
	if v.Releases, err = s.store.Releases(ctx, d.ID); err != nil {
		return v, err
	}
	if v.Files, err = s.store.DataFiles(ctx, d.ID); err != nil {
		return v, err
	}
	if v.Datagouv, err = s.store.DatagouvPushes(ctx, d.ID); err != nil {
		return v, err
	}
	rep, err := s.store.LatestQualityReport(ctx, d.ID)
	switch {
	case err == nil:
		v.QualityReport = &rep
	case !errors.Is(err, store.ErrNotFound):
		return v, err
	}
	return v, nil
}

// UpdateDataset changes a dataset's metadata. Its id and department are
// fixed; its visibility and its anonymisation policy are a steward's
// (who may publish).
func (s *Service) UpdateDataset(ctx context.Context, c Caller, id string, in DatasetInput) (store.Dataset, error) {
	d, err := s.datasetFor(ctx, c, id, "write")
	if err != nil {
		return d, err
	}
	if in.ID != nil && *in.ID != d.ID {
		return d, Errorf(Invalid, "the id of a dataset cannot change").French("L'identifiant d'un jeu de données ne change pas.")
	}
	if in.Department != nil && *in.Department != d.Department {
		return d, Errorf(Invalid, "the department of a dataset cannot change").French("Le service propriétaire d'un jeu de données ne change pas.")
	}
	if in.Visibility != nil && *in.Visibility != d.Visibility {
		if err := s.mayActOnDatasets(ctx, c, d.Department, "publish"); err != nil {
			return d, err
		}
	}
	before := d
	if err := s.applyDataset(ctx, in, &d); err != nil {
		return d, err
	}
	if !samePolicy(before.PersonalFields, d.PersonalFields) {
		if err := s.mayActOnDatasets(ctx, c, d.Department, "publish"); err != nil {
			return d, Errorf(Forbidden, "the anonymisation policy (personalFields) of a dataset is set by a steward of department %s: you may not change it", d.Department).
				French("La politique d'anonymisation d'un jeu de données est fixée par un responsable des données du service %s.", d.Department)
		}
	}
	if err := s.store.UpdateDataset(ctx, &d); err != nil {
		return d, err
	}
	s.auditDataset(ctx, c, "dataset.update", &before, &d)
	return d, nil
}

// DataFiles lists the files staged for a dataset the caller may read.
func (s *Service) DataFiles(ctx context.Context, c Caller, id string) ([]store.DataFile, error) {
	d, err := s.datasetFor(ctx, c, id, "read")
	if err != nil {
		return nil, err
	}
	return s.store.DataFiles(ctx, d.ID)
}

// BlobDir is where staged and derived files live.
func BlobDir(dataDir string) string { return filepath.Join(dataDir, "blobs") }

func (s *Service) blobs() ingest.Blobs { return ingest.Blobs{Dir: BlobDir(s.cfg.DataDir)} }

// StageURL stages, for a dataset the caller may write, a file that the
// ingest activity will fetch from url.
func (s *Service) StageURL(ctx context.Context, c Caller, id, rawURL, name string) (store.DataFile, error) {
	d, err := s.datasetFor(ctx, c, id, "write")
	if err != nil {
		return store.DataFile{}, err
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(rawURL) > 2048 {
		return store.DataFile{}, &Error{Kind: Invalid, Msg: "an absolute http(s) URL is expected", Fr: "Une adresse http:// ou https:// complète est attendue.",
			Problems: []Problem{{Field: "url", Message: "an absolute http:// or https:// URL of at most 2048 characters",
				Fr: "Une adresse http:// ou https:// complète d'au plus 2048 caractères."}}}
	}
	f := s.newFile(c, d)
	f.Kind, f.URL, f.Name = store.FileURL, u.String(), name
	if f.Name == "" {
		f.Name = path.Base(u.Path)
	}
	if err := s.store.CreateDataFile(ctx, &f); err != nil {
		return f, err
	}
	s.auditFile(ctx, c, d, f)
	return f, nil
}

// Upload opens a file sent by the caller: its name and its content, read
// once as a stream. It is called after the caller is authorized, so that
// nobody's upload is read for nothing.
type Upload func() (name string, body io.Reader, err error)

// StageFile stores an uploaded file (CSV, XLSX, JSON or GeoJSON, at most
// the installation's upload limit) for a dataset the caller may write.
func (s *Service) StageFile(ctx context.Context, c Caller, id string, open Upload) (store.DataFile, error) {
	d, err := s.datasetFor(ctx, c, id, "write")
	if err != nil {
		return store.DataFile{}, err
	}
	name, body, err := open()
	if err != nil {
		return store.DataFile{}, uploadErr(err)
	}
	if max := s.cfg.MaxUploadBytes; max > 0 {
		body = &limitedReader{r: body, n: max}
	}
	head := make([]byte, ingest.SniffLen)
	n, err := io.ReadFull(body, head)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
	case err != nil:
		return store.DataFile{}, uploadErr(err)
	}
	head = head[:n]
	if n == 0 {
		return store.DataFile{}, Errorf(Invalid, "the file %q is empty", name).French("Le fichier « %s » est vide.", name)
	}
	format, err := ingest.Detect(name, head)
	if err != nil {
		return store.DataFile{}, Errorf(Invalid, "unsupported file: %s (CSV, XLSX, JSON or GeoJSON expected)", err.Error()).
			French("Ce type de fichier n'est pas pris en charge (CSV, XLSX, JSON ou GeoJSON attendu).")
	}
	sha, size, err := s.blobs().Put(ctx, io.MultiReader(bytes.NewReader(head), body))
	if err != nil {
		return store.DataFile{}, uploadErr(err)
	}
	f := s.newFile(c, d)
	f.Kind, f.Name, f.Format, f.SHA256, f.Size = store.FileUpload, path.Base(name), string(format), sha, size
	if err := s.store.CreateDataFile(ctx, &f); err != nil {
		return f, err
	}
	s.auditFile(ctx, c, d, f)
	return f, nil
}

// errTooLarge is the error of a body past the upload limit.
var errTooLarge = errors.New("upload too large")

// limitedReader fails with errTooLarge past n bytes (io.LimitReader would
// end the stream silently).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// uploadErr explains a failed read of an upload.
func uploadErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.Is(err, errTooLarge) || errors.As(err, &mbe) {
		return &Error{Kind: TooLarge, Msg: "the file is larger than the upload limit (--max-upload)",
			Fr: "Le fichier dépasse la taille maximale acceptée.", Err: err}
	}
	return err
}

func (s *Service) newFile(c Caller, d store.Dataset) store.DataFile {
	f := store.DataFile{ID: "f" + randomID(10), DatasetID: d.ID}
	if p := c.Principal; !p.Anonymous() {
		f.CreatedBy = &p.UserID
	}
	return f
}

// auditFile records a file staged for a dataset.
func (s *Service) auditFile(ctx context.Context, c Caller, d store.Dataset, f store.DataFile) {
	s.audit(ctx, c, audit.Entry{Action: "dataset.file", ObjectType: "dataset", ObjectID: d.ID, Department: d.Department,
		Detail: audit.Detail(map[string]any{"file": f.ID, "kind": f.Kind, "name": f.Name, "sha256": f.SHA256, "url": f.URL})})
}

// ReleasePage is a release of a dataset and a page of its rows.
type ReleasePage struct {
	Release store.Release
	Rows    []map[string]any
}

// Release is release n of a dataset the caller may read, with limit rows
// from offset.
func (s *Service) Release(ctx context.Context, c Caller, id string, n, limit, offset int) (ReleasePage, error) {
	d, err := s.datasetFor(ctx, c, id, "read")
	if err != nil {
		return ReleasePage{}, err
	}
	if n <= 0 {
		return ReleasePage{}, Errorf(BadRequest, "a release number is a positive integer")
	}
	rel, err := s.store.Release(ctx, d.ID, n)
	if err != nil {
		return ReleasePage{}, err
	}
	rows, err := s.store.ReleaseRows(ctx, rel, limit, offset)
	if err != nil {
		return ReleasePage{}, err
	}
	return ReleasePage{Release: rel, Rows: rows}, nil
}

// QualityReport is a stored quality report; one of a dataset the caller
// may not read is reported missing.
func (s *Service) QualityReport(ctx context.Context, c Caller, id int64) (store.QualityReport, error) {
	if id <= 0 {
		return store.QualityReport{}, Errorf(BadRequest, "a report id is a positive integer")
	}
	rep, err := s.store.QualityReport(ctx, id)
	if err != nil {
		return rep, err
	}
	if rep.DatasetID != nil {
		d, err := s.store.Dataset(ctx, *rep.DatasetID)
		if err != nil {
			return rep, err
		}
		if err := s.mayActOnDatasets(ctx, c, d.Department, "read"); err != nil {
			return store.QualityReport{}, Errorf(NotFound, "no report %d", id).French("Ce rapport n'existe pas.")
		}
	}
	return rep, nil
}

// DatasetDepartments are the departments the caller may create datasets
// in (every department when the caller may create them everywhere).
func (s *Service) DatasetDepartments(ctx context.Context, c Caller) []string {
	if s.auth == nil {
		return nil
	}
	ds := s.auth.Departments(ctx, c.Principal, "datasets", "create")
	if slices.Contains(ds, auth.AllDepartments) {
		all, err := s.store.Departments(ctx)
		if err != nil {
			return nil
		}
		ds = make([]string, 0, len(all))
		for _, d := range all {
			ds = append(ds, d.Slug)
		}
	}
	return ds
}

// DatasetRights says what the caller may do with a dataset they can read:
// change it (metadata, files) and start its publication. The pages show
// only the actions these allow; the use cases check them again.
type DatasetRights struct {
	Write, Publish bool
}

// RightsOn is the caller's rights on d.
func (s *Service) RightsOn(ctx context.Context, c Caller, d store.Dataset) DatasetRights {
	return DatasetRights{
		Write:   s.mayActOnDatasets(ctx, c, d.Department, "write") == nil,
		Publish: s.allowedIn(ctx, c, "instances", "create", d.Department),
	}
}
