package store

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Dataset visibilities.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// DefaultLicence is the licence of a new dataset (Licence Ouverte 2.0).
const DefaultLicence = "etalab-2.0"

// Dataset is the metadata of a dataset of the catalog. Its rows live in
// releases (see releases.go).
type Dataset struct {
	ID          string `db:"id" json:"id"`
	Title       string `db:"title" json:"title"`
	Description string `db:"description" json:"description"`
	Department  string `db:"department" json:"department"`
	// SchemaName is a shipped schema ("scdl-subventions") or a custom one;
	// SchemaVersion pins a custom schema version (0 = the latest).
	SchemaName    string  `db:"schema_name" json:"schema,omitempty"`
	SchemaVersion int     `db:"schema_version" json:"schemaVersion,omitempty"`
	Licence       string  `db:"licence" json:"licence"`
	Frequency     string  `db:"frequency" json:"frequency"`
	Keywords      Strings `db:"keywords" json:"keywords"`
	Spatial       string  `db:"spatial" json:"spatial,omitempty"`
	TemporalStart string  `db:"temporal_start" json:"temporalStart,omitempty"`
	TemporalEnd   string  `db:"temporal_end" json:"temporalEnd,omitempty"`
	// PersonalFields is the anonymisation config of the dataset: a JSON
	// array of anonymise.Field ({"field","method",…}).
	PersonalFields JSONText  `db:"personal_fields" json:"personalFields"`
	Visibility     string    `db:"visibility" json:"visibility"`
	ExposedRelease *int      `db:"exposed_release" json:"exposedRelease,omitempty"`
	CreatedBy      *int64    `db:"created_by" json:"createdBy,omitempty"`
	CreatedAt      time.Time `db:"created_at" json:"createdAt"`
	UpdatedAt      time.Time `db:"updated_at" json:"updatedAt"`
}

const datasetColumns = `id, title, description, department, schema_name, schema_version, licence, frequency, keywords,
	spatial, temporal_start, temporal_end, personal_fields, visibility, exposed_release, created_by, created_at, updated_at`

var datasetIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,79}$`)

// ValidDatasetID reports whether id is a dataset id: 2 to 80 characters,
// lower-case letters, digits and dashes, not starting with a dash.
func ValidDatasetID(id string) bool { return datasetIDRE.MatchString(id) }

// CreateDataset inserts d (defaults: licence etalab-2.0, frequency unknown,
// private). ErrConflict if the id is taken, ErrNotFound if the department
// does not exist.
func (s *Store) CreateDataset(ctx context.Context, d *Dataset) error {
	if !ValidDatasetID(d.ID) {
		return fmt.Errorf("dataset id %q: lower-case letters, digits and dashes expected", d.ID)
	}
	if d.Licence == "" {
		d.Licence = DefaultLicence
	}
	if d.Frequency == "" {
		d.Frequency = "unknown"
	}
	if d.Visibility == "" {
		d.Visibility = VisibilityPrivate
	}
	if d.Keywords == nil {
		d.Keywords = Strings{}
	}
	if len(d.PersonalFields) == 0 {
		d.PersonalFields = JSONText("[]")
	}
	now := ts(time.Now())
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	d.CreatedAt = ts(d.CreatedAt)
	d.UpdatedAt = d.CreatedAt
	if _, err := s.Department(ctx, d.Department); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO datasets (`+datasetColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		d.ID, d.Title, d.Description, d.Department, d.SchemaName, d.SchemaVersion, d.Licence, d.Frequency, d.Keywords,
		d.Spatial, d.TemporalStart, d.TemporalEnd, d.PersonalFields, d.Visibility, d.ExposedRelease, d.CreatedBy, d.CreatedAt, d.UpdatedAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("dataset %q: %w", d.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create dataset %q: %w", d.ID, err)
	}
	return nil
}

// Dataset returns the dataset id, or ErrNotFound.
func (s *Store) Dataset(ctx context.Context, id string) (Dataset, error) {
	return getOne[Dataset](ctx, s, fmt.Sprintf("dataset %q", id), `SELECT `+datasetColumns+` FROM datasets WHERE id = ?`, id)
}

// DatasetFilter narrows Datasets. Empty fields do not filter.
type DatasetFilter struct {
	// Departments keeps datasets of these departments (nil: all).
	Departments []string
	Visibility  string
	// Limit and Offset page the list (Limit 0: every dataset).
	Limit, Offset int
}

// Datasets lists datasets by id.
func (s *Store) Datasets(ctx context.Context, f DatasetFilter) ([]Dataset, error) {
	var w where
	w.in("department", f.Departments)
	w.eq("visibility", f.Visibility)
	if w.none {
		return []Dataset{}, nil
	}
	q, args := `SELECT `+datasetColumns+` FROM datasets`+w.sql()+` ORDER BY id`, w.args
	if f.Limit > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, max(f.Offset, 0))
	}
	ds := []Dataset{}
	if err := s.rdb.SelectContext(ctx, &ds, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	return ds, nil
}

// CountDatasets counts the datasets of f (its Limit and Offset aside).
func (s *Store) CountDatasets(ctx context.Context, f DatasetFilter) (int, error) {
	var w where
	w.in("department", f.Departments)
	w.eq("visibility", f.Visibility)
	if w.none {
		return 0, nil
	}
	var n int
	if err := s.rdb.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM datasets`+w.sql()), w.args...); err != nil {
		return 0, fmt.Errorf("count datasets: %w", err)
	}
	return n, nil
}

// UpdateDataset writes every metadata field of d (not id, department,
// created_*); ErrNotFound if it does not exist.
func (s *Store) UpdateDataset(ctx context.Context, d *Dataset) error {
	if d.Keywords == nil {
		d.Keywords = Strings{}
	}
	if len(d.PersonalFields) == 0 {
		d.PersonalFields = JSONText("[]")
	}
	d.UpdatedAt = ts(time.Now())
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE datasets SET title = ?, description = ?, schema_name = ?, schema_version = ?,
		licence = ?, frequency = ?, keywords = ?, spatial = ?, temporal_start = ?, temporal_end = ?, personal_fields = ?,
		visibility = ?, updated_at = ? WHERE id = ?`),
		d.Title, d.Description, d.SchemaName, d.SchemaVersion, d.Licence, d.Frequency, d.Keywords, d.Spatial,
		d.TemporalStart, d.TemporalEnd, d.PersonalFields, d.Visibility, d.UpdatedAt, d.ID)
	s.metaChanged()
	if err != nil {
		return fmt.Errorf("update dataset %q: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("dataset %q: %w", d.ID, ErrNotFound)
	}
	return nil
}

// SetDatasetVisibility makes a dataset public or private.
func (s *Store) SetDatasetVisibility(ctx context.Context, id, visibility string) error {
	if visibility != VisibilityPublic && visibility != VisibilityPrivate {
		return fmt.Errorf("visibility %q: public or private expected", visibility)
	}
	return s.updateDataset(ctx, id, `visibility = ?`, visibility)
}

// ExposeRelease marks release n as the one served by the public API;
// ErrNotFound if the dataset has no such release.
func (s *Store) ExposeRelease(ctx context.Context, id string, n int) error {
	if _, err := s.Release(ctx, id, n); err != nil {
		return err
	}
	return s.updateDataset(ctx, id, `exposed_release = ?`, n)
}

// WithdrawDataset takes a dataset out of the catalog and the public API
// at once: private, no exposed release (its releases are kept).
// ErrNotFound if it does not exist.
func (s *Store) WithdrawDataset(ctx context.Context, id string) error {
	return s.updateDataset(ctx, id, `visibility = ?, exposed_release = NULL`, VisibilityPrivate)
}

func (s *Store) updateDataset(ctx context.Context, id, set string, arg any) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE datasets SET `+set+`, updated_at = ? WHERE id = ?`), arg, ts(time.Now()), id)
	s.metaChanged()
	if err != nil {
		return fmt.Errorf("update dataset %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("dataset %q: %w", id, ErrNotFound)
	}
	return nil
}

// Strings is a list of strings stored as a JSON array.
type Strings []string

// Value implements driver.Valuer.
func (l Strings) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

// Scan implements sql.Scanner.
func (l *Strings) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = Strings{}
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan Strings from %T", src)
	}
	out := Strings{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return fmt.Errorf("scan Strings: %w", err)
		}
	}
	*l = out
	return nil
}

// JSONText is a JSON document stored as text; it marshals as itself.
type JSONText []byte

// Value implements driver.Valuer.
func (j JSONText) Value() (driver.Value, error) {
	if len(j) == 0 {
		return "null", nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *JSONText) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case string:
		*j = JSONText(v)
	case []byte:
		*j = append(JSONText(nil), v...)
	default:
		return fmt.Errorf("scan JSONText from %T", src)
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (j JSONText) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (j *JSONText) UnmarshalJSON(b []byte) error {
	*j = append(JSONText(nil), b...)
	return nil
}

// ToJSONText encodes v as a JSONText.
func ToJSONText(v any) (JSONText, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return JSONText(b), nil
}
