package activities

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/harmonise"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/workflows"
)

// rowStream is an opened blob: its rows and what was detected.
type rowStream struct {
	rows      tableschema.Rows
	format    ingest.Format
	encoding  string
	delimiter string
	close     func()
}

// openBlob opens a stored file as rows: CSV through tableschema's sniffing
// reader, XLSX/JSON/GeoJSON through internal/ingest. An unreadable file is
// a business error.
func (d *Data) openBlob(sha, name string) (*rowStream, error) {
	f, err := d.Blobs.Open(sha)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, ingest.ErrBadHash) {
			return nil, badInput("file content %s is not in the blob store", sha)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		f.Close()
		return nil, badInput("the file %q is empty", name)
	}
	head := make([]byte, min(size, ingest.SniffLen))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, err
	}
	format, err := ingest.Detect(name, head)
	if err != nil {
		f.Close()
		return nil, badInput("the file %q cannot be read: %v", name, err)
	}
	if format == ingest.FormatCSV {
		cr, err := tableschema.NewCSVReader(f, tableschema.CSVOptions{})
		if err != nil {
			f.Close()
			var pe *tableschema.ParseError
			if errors.As(err, &pe) {
				return nil, badInput("the file %q cannot be read: %s", name, pe.Message)
			}
			return nil, err
		}
		return &rowStream{rows: cr, format: format, encoding: cr.Encoding(), delimiter: string(cr.Delimiter()), close: func() { f.Close() }}, nil
	}
	rc, _, err := ingest.Open(name, f, size, ingest.Options{})
	if err != nil {
		f.Close()
		return nil, badInput("the file %q cannot be read: %v", name, err)
	}
	return &rowStream{rows: rc, format: format, encoding: "UTF-8", close: func() { rc.Close(); f.Close() }}, nil
}

// writeBlob writes header + rows as a UTF-8, comma-separated CSV blob,
// heartbeating every 5,000 rows, and returns its SHA-256 and row count.
func (d *Data) writeBlob(ctx context.Context, header []string, next func() ([]string, error)) (string, int64, error) {
	pr, pw := io.Pipe()
	var rows int64
	go func() {
		w := csv.NewWriter(pw)
		err := w.Write(header)
		for err == nil {
			var rec []string
			rec, err = next()
			if errors.Is(err, io.EOF) {
				err = nil
				break
			}
			if err != nil {
				break
			}
			rows++
			err = w.Write(rec)
			if rows%5000 == 0 {
				heartbeat(ctx, rows)
			}
		}
		if err == nil {
			w.Flush()
			err = w.Error()
		}
		pw.CloseWithError(err)
	}()
	sha, _, err := d.Blobs.Put(ctx, pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return "", rows, err
	}
	return sha, rows, nil
}

// nextOf adapts Rows to writeBlob.
func nextOf(r tableschema.Rows) func() ([]string, error) {
	return func() ([]string, error) {
		rec, _, err := r.Next()
		return rec, err
	}
}

// kindsFor maps a schema's fields to harmonisation kinds. Fields whose
// declared format is not the ISO/dot default are left alone: repairing
// them towards ISO would break them.
func kindsFor(sch *tableschema.Schema) (map[string]harmonise.Kind, harmonise.Options) {
	kinds := map[string]harmonise.Kind{}
	opts := harmonise.Options{TrueValue: "true", FalseValue: "false", MissingValues: sch.MissingValues}
	for _, f := range sch.Fields {
		desc := f.Descriptor()
		format := f.Format()
		isoFormat := format == "" || format == "default" || format == "%Y-%m-%d" || format == "any"
		switch f.Type() {
		case "number":
			if _, custom := desc.Extra["decimalChar"]; !custom {
				kinds[f.Name()] = harmonise.Number
			}
		case "integer":
			kinds[f.Name()] = harmonise.Integer
		case "year":
			kinds[f.Name()] = harmonise.Year
		case "date":
			if isoFormat {
				kinds[f.Name()] = harmonise.Date
			}
		case "datetime":
			if format == "" || format == "default" {
				kinds[f.Name()] = harmonise.Datetime
			}
		case "boolean":
			var tv, fv []string
			_ = json.Unmarshal(desc.Extra["trueValues"], &tv)
			_ = json.Unmarshal(desc.Extra["falseValues"], &fv)
			if len(tv) > 0 && len(fv) > 0 {
				opts.TrueValue, opts.FalseValue = tv[0], fv[0]
			}
			kinds[f.Name()] = harmonise.Boolean
		case "string":
			p := desc.Constraints.Pattern
			switch {
			case strings.Contains(p, "{14}"):
				kinds[f.Name()] = harmonise.SIRET
			case strings.Contains(p, "{9}") && !strings.Contains(p, "W"):
				kinds[f.Name()] = harmonise.SIREN
			case strings.Contains(p, "2[AB"):
				kinds[f.Name()] = harmonise.INSEECommune
			case strings.Contains(p, "{4}") && strings.Contains(p, "{2}") && strings.Contains(p, "/"):
				kinds[f.Name()] = harmonise.DatePeriod
			}
		}
	}
	for _, cc := range sch.CustomChecks {
		col, _ := cc.Params["column"].(string)
		switch cc.Name {
		case "french-siret-value", "siret":
			kinds[col] = harmonise.SIRET
		case "french-siren-value", "siren":
			kinds[col] = harmonise.SIREN
		}
	}
	return kinds, opts
}

// ingestSummary is the "ingest" variable: small, for the flow.
type ingestSummary struct {
	File       string                 `json:"file"`
	Name       string                 `json:"name"`
	SHA256     string                 `json:"sha256"`
	Format     string                 `json:"format"`
	Encoding   string                 `json:"encoding"`
	Delimiter  string                 `json:"delimiter,omitempty"`
	Rows       int64                  `json:"rows"`
	Columns    int                    `json:"columns"`
	Harmonised bool                   `json:"harmonised"`
	Fixes      map[harmonise.Rule]int `json:"fixes,omitempty"`
	Issues     map[harmonise.Rule]int `json:"issues,omitempty"`
	Examples   []harmonise.Fix        `json:"examples,omitempty"`
	NotChanged bool                   `json:"notModified,omitempty"`
}

// Ingest reads the staged file (variables dataset and file; a URL source
// is fetched with If-None-Match / If-Modified-Since), detects format,
// encoding and delimiter, harmonises the values the dataset's schema
// types (param harmonise=false to skip), and stores a normalised UTF-8 CSV.
// Output: normalized (blob SHA-256) and ingest (summary).
func (d *Data) Ingest(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	f, err := d.stagedFile(ctx, in, ds)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	notModified := false
	if f.Kind == store.FileURL {
		if f, notModified, err = d.fetch(ctx, f); err != nil {
			return workflows.ActivityResult{}, err
		}
	}
	doHarmonise := in.Params["harmonise"] != "false"
	key := runKey(in, f.ID, f.SHA256, fmt.Sprint(doHarmonise))
	if res, ok, err := d.cached(ctx, key); err != nil || ok {
		return res, err
	}
	sch, version, err := d.schemaOf(ctx, ds)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	rs, err := d.openBlob(f.SHA256, f.Name)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	defer rs.close()
	heartbeat(ctx, "read")
	sum := ingestSummary{File: f.ID, Name: f.Name, SHA256: f.SHA256, Format: string(rs.format), Encoding: rs.encoding,
		Delimiter: rs.delimiter, Columns: len(rs.rows.Header()), NotChanged: notModified}
	o := passOptions{schema: sch, maxErrors: d.MaxErrors}
	if doHarmonise && sch != nil {
		kinds, opts := kindsFor(sch)
		o.columns, o.harm = harmonise.ColumnsFor(rs.rows.Header(), kinds), opts
		sum.Harmonised = true
	}
	out, err := d.pass(ctx, rs.rows, o)
	if err != nil {
		var pe *tableschema.ParseError
		if errors.As(err, &pe) {
			return workflows.ActivityResult{}, badInput("the file %q cannot be read: %s", f.Name, pe.Message)
		}
		if errors.Is(err, ingest.ErrLimit) {
			return workflows.ActivityResult{}, badInput("the file %q: %v", f.Name, err)
		}
		return workflows.ActivityResult{}, err
	}
	sha, n := out.sha, out.rows
	if out.report != nil {
		// civicflow.validate will find it instead of reading the file again.
		if err := d.keepReport(ctx, ds.ID, sha, ds.SchemaName, version, out.report); err != nil {
			return workflows.ActivityResult{}, err
		}
	}
	sum.Rows = n
	if hs := out.summary; hs != nil {
		sum.Fixes, sum.Issues = hs.Fixes, hs.Issues
		sum.Examples = hs.Examples[:min(5, len(hs.Examples))]
	}
	fixed := 0
	for _, c := range sum.Fixes {
		fixed += c
	}
	res := workflows.ActivityResult{
		Variables: map[string]any{"normalized": sha, "ingest": toMap(sum)},
		Message:   fmt.Sprintf("%d rows read (%s, %s), %d values repaired", n, sum.Format, sum.Encoding, fixed),
	}
	return d.remember(ctx, store.DataRun{Key: key, Activity: ActIngest, InstanceID: in.InstanceID, NodeID: in.NodeID,
		DatasetID: ds.ID, InputSHA: f.SHA256, OutputSHA: sha}, res)
}

// fetch refreshes a URL source into the blob store.
func (d *Data) fetch(ctx context.Context, f store.DataFile) (store.DataFile, bool, error) {
	tmp, err := os.CreateTemp(d.DataDir, "fetch-*")
	if err != nil {
		return f, false, fmt.Errorf("fetch %s: %w", f.URL, err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	opts := d.Fetch
	if opts.Guard == nil {
		opts.Guard = d.Guard
	}
	if f.SHA256 != "" {
		opts.ETag, opts.LastModified = f.ETag, f.LastModified
	}
	heartbeat(ctx, "fetching "+f.URL)
	r, err := ingest.Fetch(ctx, f.URL, tmp, opts)
	if err != nil {
		var hs *ingest.HTTPStatusError
		switch {
		case errors.Is(err, ingest.ErrScheme), errors.Is(err, ingest.ErrBlocked), errors.Is(err, ingest.ErrLimit):
			return f, false, badInput("fetch %s: %v", f.URL, err)
		case errors.As(err, &hs) && hs.StatusCode >= 400 && hs.StatusCode < 500:
			return f, false, badInput("fetch %s: %v", f.URL, err)
		}
		return f, false, fmt.Errorf("fetch %s: %w", f.URL, err)
	}
	if r.NotModified {
		return f, true, nil
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return f, false, err
	}
	sha, size, err := d.Blobs.Put(ctx, tmp)
	if err != nil {
		return f, false, err
	}
	head := make([]byte, min(size, ingest.SniffLen))
	_, _ = tmp.ReadAt(head, 0)
	format, _ := ingest.Detect(f.Name, head)
	if err := d.Store.RecordFetch(ctx, f.ID, sha, size, string(format), r.ETag, r.LastModified, time.Now()); err != nil {
		return f, false, err
	}
	f.SHA256, f.Size, f.Format, f.ETag, f.LastModified = sha, size, string(format), r.ETag, r.LastModified
	return f, false, nil
}

// toMap turns a struct into the map[string]any a flow variable holds.
func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return m
}

// sourceBlob is the blob a processing activity reads: the "normalized"
// variable (a file derived from ds, see ownBlob), else the staged "file".
func (d *Data) sourceBlob(ctx context.Context, in workflows.ActivityInput, ds store.Dataset) (sha, name string, normalized bool, err error) {
	if sha := stringVar(in, "normalized"); sha != "" {
		return sha, "normalized.csv", true, d.ownBlob(ctx, in, ds, sha)
	}
	f, err := d.stagedFile(ctx, in, ds)
	if err != nil {
		return "", "", false, err
	}
	if f.SHA256 == "" {
		return "", "", false, badInput("file %q has not been fetched yet: run civicflow.ingest first", f.ID)
	}
	return f.SHA256, f.Name, false, nil
}

// Harmonise repairs the values of the current file (normalized, else the
// staged file) by the dataset's schema, or by param kinds
// ("montant:number,date:date"). Output: normalized and harmonise (fixes).
func (d *Data) Harmonise(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	src, name, _, err := d.sourceBlob(ctx, in, ds)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	key := runKey(in, src, in.Params["kinds"])
	if res, ok, err := d.cached(ctx, key); err != nil || ok {
		return res, err
	}
	var kinds map[string]harmonise.Kind
	opts := harmonise.Options{}
	if spec := in.Params["kinds"]; spec != "" {
		kinds = map[string]harmonise.Kind{}
		for _, part := range strings.Split(spec, ",") {
			col, k, ok := strings.Cut(strings.TrimSpace(part), ":")
			kind, err := harmonise.ParseKind(strings.TrimSpace(k))
			if !ok || err != nil {
				return workflows.ActivityResult{}, badInput("param kinds: %q is not column:kind (kinds: number, integer, date, datetime, boolean, siret, siren, insee_commune, year, date_period)", part)
			}
			kinds[strings.TrimSpace(col)] = kind
		}
	} else {
		sch, _, err := d.schemaOf(ctx, ds)
		if err != nil {
			return workflows.ActivityResult{}, err
		}
		if sch == nil {
			return workflows.ActivityResult{}, badInput("dataset %q has no schema: give the param kinds", ds.ID)
		}
		kinds, opts = kindsFor(sch)
	}
	rs, err := d.openBlob(src, name)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	defer rs.close()
	heartbeat(ctx, "harmonise")
	out, err := d.pass(ctx, rs.rows, passOptions{columns: harmonise.ColumnsFor(rs.rows.Header(), kinds), harm: opts})
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	sha, n, hs := out.sha, out.rows, *out.summary
	hs.Examples = hs.Examples[:min(5, len(hs.Examples))]
	hs.IssueExamples = hs.IssueExamples[:min(5, len(hs.IssueExamples))]
	fixed := 0
	for _, c := range hs.Fixes {
		fixed += c
	}
	res := workflows.ActivityResult{Variables: map[string]any{"normalized": sha, "harmonise": toMap(hs)},
		Message: fmt.Sprintf("%d rows, %d values repaired", n, fixed)}
	return d.remember(ctx, store.DataRun{Key: key, Activity: ActHarmonise, InstanceID: in.InstanceID, NodeID: in.NodeID,
		DatasetID: ds.ID, InputSHA: src, OutputSHA: sha}, res)
}
