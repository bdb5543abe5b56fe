package activities

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/anonymise"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/workflows"
)

// Release creates the next immutable release of the dataset from the
// current file (normalized, else the staged file): its rows go to a typed
// table, with the quality report (report.reportId, else the dataset's
// latest), the anonymisation record (the dataset's personal fields are
// applied unless civicflow.anonymise already ran) and the diff with the
// previous release. Idempotent per instance, node and content. Output:
// release (number) and releaseInfo (rows, diff).
func (d *Data) Release(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	res, _, err := d.release(ctx, in)
	return res, err
}

// Publish is Release, then the dataset becomes public in the catalog.
func (d *Data) Publish(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	res, ds, err := d.release(ctx, in)
	if err != nil {
		return res, err
	}
	if err := d.Store.SetDatasetVisibility(ctx, ds.ID, store.VisibilityPublic); err != nil {
		return res, err
	}
	if ds.Visibility != store.VisibilityPublic {
		if err := d.auditDataset(ctx, in, ds, "dataset.publish", map[string]any{"visibility": ds.Visibility},
			map[string]any{"visibility": store.VisibilityPublic}); err != nil {
			return res, err
		}
	}
	res.Message += "; dataset public in the catalog"
	return res, nil
}

func (d *Data) release(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, store.Dataset, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, ds, err
	}
	sch, version, err := d.schemaOf(ctx, ds)
	if err != nil {
		return workflows.ActivityResult{}, ds, err
	}
	src, name, _, err := d.sourceBlob(ctx, in, ds)
	if err != nil {
		return workflows.ActivityResult{}, ds, err
	}
	rs, err := d.openBlob(src, name)
	if err != nil {
		return workflows.ActivityResult{}, ds, err
	}
	defer rs.close()
	rows := rs.rows
	header := rows.Header()

	// The dataset's policy, minus what civicflow.anonymise did in the
	// file's lineage (never what a variable says).
	todo, done, err := d.protections(ctx, ds, src, header, nil)
	if err != nil {
		return workflows.ActivityResult{}, ds, err
	}
	anonymised := map[string]bool{}
	for _, r := range done {
		anonymised[r.Field] = true
	}
	if done == nil {
		done = []anonymise.Report{}
	}
	anonRecord, _ := store.ToJSONText(done)
	var anon *anonymise.Anonymiser
	if len(todo) > 0 {
		if anon, err = d.anonymiser(ctx, header, todo); err != nil {
			return workflows.ActivityResult{}, ds, err
		}
		rows = anonymise.Wrap(rows, anon)
		header = rows.Header()
		for _, f := range todo {
			anonymised[f.Name] = true
		}
	}

	cols := make([]store.ReleaseColumn, len(header))
	casts := make([]tableschema.Field, len(header))
	for i, h := range header {
		cols[i] = store.ReleaseColumn{Field: h, Kind: store.KindText}
		if sch == nil || anonymised[h] {
			continue
		}
		if f, ok := sch.Field(h); ok {
			cols[i].Kind = columnKind(f.Type())
			if cols[i].Kind != store.KindText {
				casts[i] = f
			}
		}
	}
	// Facet candidates (enumerated and boolean fields), then dates (sorts):
	// indexed for the public API (store.MaxIndexFields at most).
	var indexFields []string
	if sch != nil {
		var dates []string
		for i, h := range header {
			f, ok := sch.Field(h)
			if !ok || anonymised[h] {
				continue
			}
			switch {
			case len(f.Descriptor().Constraints.Enum) > 0 || cols[i].Kind == store.KindBoolean:
				indexFields = append(indexFields, h)
			case cols[i].Kind == store.KindDate || cols[i].Kind == store.KindTimestamp:
				dates = append(dates, h)
			}
		}
		indexFields = append(indexFields, dates...)
	}
	var pk []string
	var unique [][]string
	if sch != nil {
		if len(sch.PrimaryKey) > 0 && allIn(sch.PrimaryKey, header) && !anyIn(sch.PrimaryKey, anonymised) {
			pk = sch.PrimaryKey
		}
		for _, u := range sch.UniqueKeys {
			if allIn(u, header) {
				unique = append(unique, u)
			}
		}
	}
	pkIdx := make([]int, len(pk))
	for i, f := range pk {
		pkIdx[i] = slices.Index(header, f)
	}
	missing := map[string]bool{"": true}
	if sch != nil {
		for _, m := range sch.MissingValues {
			missing[m] = true
		}
	}
	var castFailures int64
	var buf []byte
	var block []any // rows' values are cut from blocks: one allocation per 256 rows
	source := func() (store.ReleaseRow, error) {
		rec, _, err := rows.Next()
		if err != nil {
			return store.ReleaseRow{}, err
		}
		if len(block) < len(header) {
			block = make([]any, 256*len(header))
		}
		vals := block[:len(header):len(header)]
		block = block[len(header):]
		buf = buf[:0]
		for i := range header {
			cell := ""
			if i < len(rec) {
				cell = rec[i]
			}
			buf = append(append(buf, cell...), 0x1f)
			if missing[cell] {
				continue
			}
			if casts[i] == nil {
				vals[i] = cell
				continue
			}
			v, err := casts[i].Cast(cell)
			if err != nil || !fitsKind(cols[i].Kind, v) {
				castFailures++
				continue
			}
			vals[i] = v
		}
		sum := sha256.Sum256(buf)
		hash := hex.EncodeToString(sum[:16])
		key := ""
		if len(pkIdx) > 0 {
			parts := make([]string, len(pkIdx))
			for i, j := range pkIdx {
				if j < len(rec) {
					parts[i] = rec[j]
				}
			}
			key = strings.Join(parts, "\x1f")
		}
		return store.ReleaseRow{Values: vals, Key: key, Hash: hash}, nil
	}

	reportID, err := d.reportOf(ctx, in, ds)
	if err != nil {
		return workflows.ActivityResult{}, ds, err
	}
	fileID := stringVar(in, "file")
	original := ""
	if fileID != "" {
		if f, err := d.Store.DataFile(ctx, fileID); err == nil {
			original = f.SHA256
		}
	}
	nr := store.NewRelease{DatasetID: ds.ID, Key: runKey(in, src), InstanceID: in.InstanceID, FileID: fileID,
		OriginalSHA: original, NormalizedSHA: src, SchemaName: ds.SchemaName, SchemaVersion: version,
		Columns: cols, PrimaryKey: pk, Unique: unique, IndexFields: indexFields, ReportID: reportID, Anonymisation: anonRecord}
	total := expectedRows(in)
	step := "load"
	nr.Step = func(s string) { step = s; progress(ctx, s, total, total) }
	nr.Progress = func(n int64) { progress(ctx, step, n, total) }
	nr.Resumed = func(n int64) {
		resumed(ctx, n)
		d.log().Info("release load resumed", "dataset", ds.ID, "instance", in.InstanceID, "node", in.NodeID,
			"rows_kept", n, "rows_expected", total, "last_heartbeat", lastProgress(ctx).Done)
	}
	progress(ctx, "load", 0, total)
	if anon != nil {
		nr.AnonymisationDone = func() store.JSONText {
			j, _ := store.ToJSONText(append(append([]anonymise.Report{}, done...), anon.Reports()...))
			return j
		}
	}
	rel, created, err := d.Store.CreateRelease(ctx, nr, source)
	if err != nil {
		if msg, ok := businessMessage(err); ok {
			return workflows.ActivityResult{}, ds, badInput("%s", msg)
		}
		return workflows.ActivityResult{}, ds, err
	}
	if created {
		d.log().Info("release created", "dataset", ds.ID, "release", rel.Number, "rows", rel.Rows, "cast_failures", castFailures)
		if err := d.auditDataset(ctx, in, ds, "dataset.release", nil, map[string]any{"release": rel.Number, "rows": rel.Rows}); err != nil {
			return workflows.ActivityResult{}, ds, err
		}
	}
	res := workflows.ActivityResult{
		Variables: map[string]any{"release": rel.Number, "releaseInfo": map[string]any{
			"dataset": ds.ID, "number": rel.Number, "rows": rel.Rows, "diff": toMap(rel.Diff), "nullified": castFailures}},
		Message: fmt.Sprintf("release %d of %s: %d rows (+%d −%d ~%d)", rel.Number, ds.ID, rel.Rows, rel.Diff.Added, rel.Diff.Removed, rel.Diff.Changed),
	}
	return res, ds, nil
}

// expectedRows is the row count of the current file as the validation or
// the ingest counted it (0 when unknown): the total shown with the
// progress (an estimate when a later step changed the file).
func expectedRows(in workflows.ActivityInput) int64 {
	stats, _ := mapVar(in, "report")["stats"].(map[string]any)
	for _, v := range []any{stats["rows"], mapVar(in, "ingest")["rows"]} {
		switch n := v.(type) {
		case float64:
			return int64(n)
		case json.Number:
			i, _ := n.Int64()
			return i
		}
	}
	return 0
}

func columnKind(typ string) string {
	switch typ {
	case "integer", "year":
		return store.KindInteger
	case "number":
		return store.KindNumeric
	case "boolean":
		return store.KindBoolean
	case "date":
		return store.KindDate
	case "datetime":
		return store.KindTimestamp
	case "geopoint":
		return store.KindGeopoint
	}
	return store.KindText
}

func fitsKind(kind string, v any) bool {
	switch kind {
	case store.KindInteger:
		_, ok := v.(int64)
		return ok
	case store.KindNumeric:
		_, ok := v.(float64)
		return ok
	case store.KindBoolean:
		_, ok := v.(bool)
		return ok
	case store.KindDate, store.KindTimestamp:
		_, ok := v.(time.Time)
		return ok
	case store.KindGeopoint:
		_, ok := store.AsGeoPoint(v)
		return ok
	}
	return true
}

func allIn(fields, header []string) bool {
	for _, f := range fields {
		if !slices.Contains(header, f) {
			return false
		}
	}
	return len(fields) > 0
}

func anyIn(fields []string, set map[string]bool) bool {
	for _, f := range fields {
		if set[f] {
			return true
		}
	}
	return false
}

// anonymiser builds an Anonymiser with the installation's key.
func (d *Data) anonymiser(ctx context.Context, header []string, fields []anonymise.Field) (*anonymise.Anonymiser, error) {
	key, err := d.anonKey(ctx)
	if err != nil {
		return nil, err
	}
	a, err := anonymise.New(header, anonymise.Config{Key: key, Fields: fields})
	if err != nil {
		return nil, badInput("%v", err)
	}
	return a, nil
}

const anonKeySetting = "anonymise.key"

// anonKey returns the pseudonymisation key: AnonymiseKey, else one made
// once and kept in the settings.
func (d *Data) anonKey(ctx context.Context) ([]byte, error) {
	if len(d.AnonymiseKey) > 0 {
		return d.AnonymiseKey, nil
	}
	v, err := d.Store.Setting(ctx, anonKeySetting)
	if err == nil {
		return hex.DecodeString(v)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := d.Store.SetSetting(ctx, anonKeySetting, hex.EncodeToString(b)); err != nil {
		return nil, err
	}
	// Another worker may have written first: read back the stored key.
	if v, err = d.Store.Setting(ctx, anonKeySetting); err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}

// Expose marks the release (variable release, else the latest) as the
// one served by the public API.
func (d *Data) Expose(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	rel, err := d.Store.Release(ctx, ds.ID, intVar(in, "release"))
	if errors.Is(err, store.ErrNotFound) {
		if n := intVar(in, "release"); n > 0 {
			return workflows.ActivityResult{}, badInput("dataset %q has no release %d to expose", ds.ID, n)
		}
		return workflows.ActivityResult{}, badInput("dataset %q has no release to expose", ds.ID)
	}
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	if err := d.Store.ExposeRelease(ctx, ds.ID, rel.Number); err != nil {
		return workflows.ActivityResult{}, err
	}
	if ds.ExposedRelease == nil || *ds.ExposedRelease != rel.Number {
		if err := d.auditDataset(ctx, in, ds, "dataset.expose", map[string]any{"exposedRelease": ds.ExposedRelease},
			map[string]any{"exposedRelease": rel.Number}); err != nil {
			return workflows.ActivityResult{}, err
		}
	}
	return workflows.ActivityResult{Variables: map[string]any{"exposed": rel.Number},
		Message: fmt.Sprintf("release %d exposed", rel.Number)}, nil
}
