package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Release is an immutable, numbered version of a dataset: the original and
// normalised blobs, the rows in a typed table of their own (Table, with
// Columns), the quality report, what anonymisation did, and the diff with
// the previous release.
type Release struct {
	DatasetID     string         `db:"dataset_id" json:"dataset"`
	Number        int            `db:"number" json:"number"`
	Key           string         `db:"idem_key" json:"-"`
	InstanceID    string         `db:"instance_id" json:"instance,omitempty"`
	FileID        string         `db:"file_id" json:"file,omitempty"`
	OriginalSHA   string         `db:"original_sha" json:"originalSha256,omitempty"`
	NormalizedSHA string         `db:"normalized_sha" json:"normalizedSha256"`
	SchemaName    string         `db:"schema_name" json:"schema,omitempty"`
	SchemaVersion string         `db:"schema_version" json:"schemaVersion,omitempty"`
	Table         string         `db:"table_name" json:"-"`
	Columns       ReleaseColumns `db:"columns" json:"columns"`
	PrimaryKey    Strings        `db:"primary_key" json:"primaryKey"`
	Rows          int64          `db:"row_count" json:"rows"`
	ReportID      *int64         `db:"report_id" json:"reportId,omitempty"`
	Anonymisation JSONText       `db:"anonymisation" json:"anonymisation"`
	Diff          Diff           `db:"diff" json:"diff"`
	CreatedAt     time.Time      `db:"created_at" json:"createdAt"`
}

const releaseColumns = `dataset_id, number, idem_key, instance_id, file_id, original_sha, normalized_sha, schema_name, schema_version,
	table_name, columns, primary_key, row_count, report_id, anonymisation, diff, created_at`

// Diff compares a release with the previous one: by primary key when both
// have the same one (Changed = same key, other values), else by row hash
// (a changed row counts as one removed and one added).
type Diff struct {
	Previous  int   `json:"previous"` // 0: first release
	ByKey     bool  `json:"byKey"`
	Added     int64 `json:"added"`
	Removed   int64 `json:"removed"`
	Changed   int64 `json:"changed"`
	Unchanged int64 `json:"unchanged"`
}

// Value implements driver.Valuer.
func (d Diff) Value() (driver.Value, error) { return jsonValue(d) }

// Scan implements sql.Scanner.
func (d *Diff) Scan(src any) error { return scanJSON(src, d) }

// NewRelease describes a release to create; Number, Table, Rows and Diff
// are computed by CreateRelease.
type NewRelease struct {
	DatasetID     string
	Key           string // idempotency key: the same key gives the same release
	InstanceID    string
	FileID        string
	OriginalSHA   string
	NormalizedSHA string
	SchemaName    string
	SchemaVersion string
	// Columns are the typed columns, in field order; their Column names are
	// assigned by CreateRelease.
	Columns    []ReleaseColumn
	PrimaryKey []string // field names
	Unique     [][]string
	// IndexFields are fields to index singly for the public API's facets
	// and sorts (at most MaxIndexFields are; see explore_index.go).
	IndexFields   []string
	ReportID      *int64
	Anonymisation JSONText
	// AnonymisationDone, if set, gives Anonymisation once every row is read
	// (when anonymisation runs while the rows stream in).
	AnonymisationDone func() JSONText
	// Progress, if set, is called after each committed chunk with the rows
	// loaded so far.
	Progress func(rows int64)
	// Step, if set, is told each step as it begins: "load", "index",
	// "diff", "record".
	Step func(step string)
	// Resumed, if set, is called when an earlier attempt under the same key
	// had loaded rows: the load goes on after them.
	Resumed func(rows int64)
}

// CreateRelease creates the next release of a dataset and its typed table,
// filled from rows. With a key already released it returns that release
// and created false, without reading rows.
//
// The rows go in by chunks of their own transactions (see release_load.go):
// an attempt that crashed is resumed by the next one with the same key,
// which skips the rows already loaded; the release itself (its number, its
// diff with the previous one) is recorded at the end in one short
// transaction. A source error or a bad row drops what was loaded.
func (s *Store) CreateRelease(ctx context.Context, nr NewRelease, rows RowSource) (Release, bool, error) {
	if nr.Key == "" {
		return Release{}, false, errors.New("create release: empty idempotency key")
	}
	if r, err := s.releaseByKey(ctx, nr.Key); err == nil {
		return r, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Release{}, false, err
	}
	if _, err := s.Dataset(ctx, nr.DatasetID); err != nil {
		return Release{}, false, err
	}
	if n, max := len(nr.Columns), s.MaxReleaseColumns(); n > max {
		return Release{}, false, &ColumnLimitError{What: "the file", Count: n, Max: max, Database: s.databaseName()}
	}
	cols, err := assignColumns(nr.Columns)
	if err != nil {
		return Release{}, false, err
	}
	if len(nr.Anonymisation) == 0 {
		nr.Anonymisation = JSONText("[]")
	}
	step := func(string) {}
	if nr.Step != nil {
		step = nr.Step
	}
	table := releaseTableName(nr.DatasetID, nr.Key)
	loaded, released, err := s.beginLoad(ctx, nr, table, cols)
	if err != nil {
		return Release{}, false, err
	}
	if released {
		r, err := s.releaseByKey(ctx, nr.Key)
		return r, false, err
	}
	if loaded > 0 && nr.Resumed != nil {
		nr.Resumed(loaded)
	}
	step("load")
	count, err := s.load(ctx, nr.Key, table, cols, loaded, rows, len(nr.PrimaryKey) == 0, nr.Progress)
	if errors.Is(err, ErrConflict) {
		// Another attempt took the load over, and may have ended it.
		if r, kerr := s.releaseByKey(ctx, nr.Key); kerr == nil {
			return r, false, nil
		}
		return Release{}, false, err
	}
	if err != nil {
		if ctx.Err() == nil {
			if aerr := s.abandonLoad(nr.Key, table, count); aerr != nil {
				err = errors.Join(err, fmt.Errorf("drop the partial release table: %w", aerr))
			}
		}
		return Release{}, false, err
	}
	rel := Release{
		DatasetID: nr.DatasetID, Key: nr.Key, InstanceID: nr.InstanceID, FileID: nr.FileID,
		OriginalSHA: nr.OriginalSHA, NormalizedSHA: nr.NormalizedSHA, SchemaName: nr.SchemaName, SchemaVersion: nr.SchemaVersion,
		Table: table, Columns: cols, PrimaryKey: Strings(nr.PrimaryKey), Rows: count, ReportID: nr.ReportID,
		Anonymisation: nr.Anonymisation,
	}
	if rel.PrimaryKey == nil {
		rel.PrimaryKey = Strings{}
	}
	if nr.AnonymisationDone != nil {
		rel.Anonymisation = nr.AnonymisationDone()
	}
	step("index")
	if err := s.index(ctx, append(indexSQL(s.dialect, table, cols, nr.PrimaryKey, nr.Unique, s.maxIndexKeys()),
		exploreIndexSQL(s.dialect, table, cols, nr.IndexFields)...)); err != nil {
		return Release{}, false, err
	}
	// The diff reads both tables outside the write transaction; the
	// numbering is checked again in it.
	step("diff")
	prev, err := s.Release(ctx, nr.DatasetID, 0)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Release{}, false, err
	}
	if prev.Number > 0 {
		if err := s.index(ctx, diffIndexSQL(prev, rel)); err != nil {
			return Release{}, false, err
		}
	}
	if rel.Diff, err = s.diffWith(ctx, s.rdb, prev, rel); err != nil {
		return Release{}, false, err
	}
	step("record")
	err = s.Tx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == "postgres" {
			// Number the releases of a dataset one at a time.
			if _, err := tx.ExecContext(ctx, s.q(`SELECT id FROM datasets WHERE id = ? FOR UPDATE`), nr.DatasetID); err != nil {
				return fmt.Errorf("lock dataset %q: %w", nr.DatasetID, err)
			}
		}
		var last Release
		err := tx.GetContext(ctx, &last, s.q(`SELECT `+releaseColumns+` FROM releases WHERE dataset_id = ? ORDER BY number DESC LIMIT 1`), nr.DatasetID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read last release of %q: %w", nr.DatasetID, err)
		}
		if last.Number != prev.Number { // another release came in meanwhile
			if last.Number > 0 {
				for _, q := range diffIndexSQL(last, rel) {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return fmt.Errorf("index release table: %w", err)
					}
				}
			}
			if rel.Diff, err = s.diffWith(ctx, tx, last, rel); err != nil {
				return err
			}
		}
		rel.Number = last.Number + 1
		rel.CreatedAt = ts(time.Now())
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM release_loads WHERE idem_key = ? AND rows_loaded = ?`), nr.Key, count)
		if err != nil {
			return fmt.Errorf("end release load %q: %w", nr.Key, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errOverlap(nr.Key)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO releases (`+releaseColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			rel.DatasetID, rel.Number, rel.Key, rel.InstanceID, rel.FileID, rel.OriginalSHA, rel.NormalizedSHA, rel.SchemaName,
			rel.SchemaVersion, rel.Table, rel.Columns, rel.PrimaryKey, rel.Rows, rel.ReportID, rel.Anonymisation, rel.Diff, rel.CreatedAt)
		if err != nil {
			return fmt.Errorf("create release %d of %q: %w", rel.Number, nr.DatasetID, err)
		}
		return nil
	})
	if err != nil {
		if IsUniqueViolation(err) || errors.Is(err, ErrConflict) {
			// A concurrent attempt with the same key won.
			if r, kerr := s.releaseByKey(ctx, nr.Key); kerr == nil {
				return r, false, nil
			}
			return Release{}, false, fmt.Errorf("create release of %q: %w", nr.DatasetID, ErrConflict)
		}
		return Release{}, false, err
	}
	return rel, true, nil
}

// index runs index statements: on SQLite through a bulk connection, one
// statement at a time between the other writers.
func (s *Store) index(ctx context.Context, stmts []string) error {
	if len(stmts) == 0 {
		return nil
	}
	if s.dialect != "postgres" {
		return s.indexSQLite(ctx, stmts)
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("index release table: %w", err)
		}
	}
	return nil
}

// diffWith compares rel with prev (none when prev.Number is 0).
func (s *Store) diffWith(ctx context.Context, q sqlx.QueryerContext, prev, rel Release) (Diff, error) {
	if prev.Number == 0 {
		return Diff{Added: rel.Rows}, nil
	}
	return diffReleases(ctx, q, prev, rel)
}

func (s *Store) releaseByKey(ctx context.Context, key string) (Release, error) {
	var r Release
	err := s.db.GetContext(ctx, &r, s.q(`SELECT `+releaseColumns+` FROM releases WHERE idem_key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("release %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read release %q: %w", key, err)
	}
	return r, nil
}

// Release returns release n of a dataset (n ≤ 0: the latest), or ErrNotFound.
func (s *Store) Release(ctx context.Context, datasetID string, n int) (Release, error) {
	var r Release
	var err error
	if n <= 0 {
		err = s.rdb.GetContext(ctx, &r, s.q(`SELECT `+releaseColumns+` FROM releases WHERE dataset_id = ? ORDER BY number DESC LIMIT 1`), datasetID)
	} else {
		err = s.rdb.GetContext(ctx, &r, s.q(`SELECT `+releaseColumns+` FROM releases WHERE dataset_id = ? AND number = ?`), datasetID, n)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("release %d of dataset %q: %w", n, datasetID, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read release %d of %q: %w", n, datasetID, err)
	}
	return r, nil
}

// Releases lists the releases of a dataset, newest first.
func (s *Store) Releases(ctx context.Context, datasetID string) ([]Release, error) {
	rs := []Release{}
	if err := s.rdb.SelectContext(ctx, &rs, s.q(`SELECT `+releaseColumns+` FROM releases WHERE dataset_id = ? ORDER BY number DESC`), datasetID); err != nil {
		return nil, fmt.Errorf("list releases of %q: %w", datasetID, err)
	}
	return rs, nil
}

// FirstReleaseDates gives, per dataset id, when its first release was
// made (the catalog's dct:issued), in one query.
func (s *Store) FirstReleaseDates(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		DatasetID string    `db:"dataset_id"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT dataset_id, created_at FROM releases WHERE number = 1`)); err != nil {
		return nil, fmt.Errorf("first release dates: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.DatasetID] = r.CreatedAt
	}
	return out, nil
}

// QualityReport is a stored validation report (the full JSON in Report).
type QualityReport struct {
	ID            int64     `db:"id" json:"id"`
	Key           *string   `db:"idem_key" json:"-"`
	DatasetID     *string   `db:"dataset_id" json:"dataset,omitempty"`
	FileID        string    `db:"file_id" json:"file,omitempty"`
	InstanceID    string    `db:"instance_id" json:"instance,omitempty"`
	NodeID        string    `db:"node_id" json:"node,omitempty"`
	BlobSHA       string    `db:"blob_sha256" json:"sha256,omitempty"`
	SchemaName    string    `db:"schema_name" json:"schema"`
	SchemaVersion string    `db:"schema_version" json:"schemaVersion,omitempty"`
	Valid         bool      `db:"valid" json:"valid"`
	Rows          int64     `db:"row_count" json:"rows"`
	Errors        int64     `db:"errors" json:"errors"`
	Warnings      int64     `db:"warnings" json:"warnings"`
	Report        JSONText  `db:"report" json:"report"`
	CreatedAt     time.Time `db:"created_at" json:"createdAt"`
}

const reportColumns = `id, idem_key, dataset_id, file_id, instance_id, node_id, blob_sha256, schema_name, schema_version, valid,
	row_count, errors, warnings, report, created_at`

// SaveQualityReport stores r and sets its ID. With a Key already used it
// loads the stored report into r instead (idempotent).
func (s *Store) SaveQualityReport(ctx context.Context, r *QualityReport) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	r.CreatedAt = ts(r.CreatedAt)
	if r.Key != nil {
		err := s.db.GetContext(ctx, r, s.q(`SELECT `+reportColumns+` FROM quality_reports WHERE idem_key = ?`), *r.Key)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read quality report: %w", err)
		}
	}
	err := s.db.GetContext(ctx, &r.ID, s.q(`INSERT INTO quality_reports (idem_key, dataset_id, file_id, instance_id, node_id, blob_sha256,
		schema_name, schema_version, valid, row_count, errors, warnings, report, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		r.Key, r.DatasetID, r.FileID, r.InstanceID, r.NodeID, r.BlobSHA, r.SchemaName, r.SchemaVersion, r.Valid,
		r.Rows, r.Errors, r.Warnings, r.Report, r.CreatedAt)
	if err != nil {
		return fmt.Errorf("save quality report: %w", err)
	}
	return nil
}

// QualityReport returns the report id, or ErrNotFound.
func (s *Store) QualityReport(ctx context.Context, id int64) (QualityReport, error) {
	return getOne[QualityReport](ctx, s, fmt.Sprintf("quality report %d", id), `SELECT `+reportColumns+` FROM quality_reports WHERE id = ?`, id)
}

// LatestQualityReport returns the newest report of a dataset, or ErrNotFound.
func (s *Store) LatestQualityReport(ctx context.Context, datasetID string) (QualityReport, error) {
	var r QualityReport
	err := s.rdb.GetContext(ctx, &r, s.q(`SELECT `+reportColumns+` FROM quality_reports WHERE dataset_id = ? ORDER BY id DESC LIMIT 1`), datasetID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("quality report of %q: %w", datasetID, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read quality report of %q: %w", datasetID, err)
	}
	return r, nil
}

// Notification is a message recorded for a recipient (a username, a role
// or an address); the sender that delivers them is a separate piece.
type Notification struct {
	ID         int64      `db:"id" json:"id"`
	Key        *string    `db:"idem_key" json:"-"`
	Recipient  string     `db:"recipient" json:"to"`
	Template   string     `db:"template" json:"template"`
	InstanceID string     `db:"instance_id" json:"instance,omitempty"`
	NodeID     string     `db:"node_id" json:"node,omitempty"`
	Payload    JSONText   `db:"payload" json:"payload"`
	CreatedAt  time.Time  `db:"created_at" json:"created"`
	SentAt     *time.Time `db:"sent_at" json:"sent,omitempty"`
}

const notificationColumns = `id, idem_key, recipient, template, instance_id, node_id, payload, created_at, sent_at`

// RecordNotification stores n (idempotent by Key) and sets its ID; created
// is false when the key was already used.
func (s *Store) RecordNotification(ctx context.Context, n *Notification) (bool, error) {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	n.CreatedAt = ts(n.CreatedAt)
	if len(n.Payload) == 0 {
		n.Payload = JSONText("{}")
	}
	if n.Key != nil {
		err := s.db.GetContext(ctx, n, s.q(`SELECT `+notificationColumns+` FROM notifications WHERE idem_key = ?`), *n.Key)
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("read notification: %w", err)
		}
	}
	err := s.db.GetContext(ctx, &n.ID, s.q(`INSERT INTO notifications (idem_key, recipient, template, instance_id, node_id, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), n.Key, n.Recipient, n.Template, n.InstanceID, n.NodeID, n.Payload, n.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("record notification: %w", err)
	}
	return true, nil
}

// Notifications lists the notifications of an instance ("" = all), oldest first.
func (s *Store) Notifications(ctx context.Context, instanceID string) ([]Notification, error) {
	ns := []Notification{}
	q, args := `SELECT `+notificationColumns+` FROM notifications ORDER BY id`, []any{}
	if instanceID != "" {
		q, args = `SELECT `+notificationColumns+` FROM notifications WHERE instance_id = ? ORDER BY id`, []any{instanceID}
	}
	if err := s.rdb.SelectContext(ctx, &ns, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return ns, nil
}

func jsonValue(v any) (driver.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func scanJSON(src, dst any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan %T from %T", dst, src)
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("scan %T: %w", dst, err)
	}
	return nil
}
