package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/workflows"
)

// reportSummary is the "report" variable: what the steward's review task
// shows; the whole report is at GET /api/v1/reports/{reportId}.
type reportSummary struct {
	Valid    bool                `json:"valid"`
	ReportID int64               `json:"reportId"`
	Schema   string              `json:"schema"`
	Stats    summaryStats        `json:"stats"`
	Errors   []tableschema.Issue `json:"errors"`
}

type summaryStats struct {
	Rows     int64 `json:"rows"`
	Errors   int64 `json:"errors"`
	Warnings int64 `json:"warnings"`
}

// Validate checks the current file (normalized, else the staged file)
// against the dataset's schema, stores the full report and returns valid
// and report (a summary with the first 5 errors and the report id). A file
// that cannot be read is invalid (with a source-error), not an incident.
func (d *Data) Validate(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	sch, version, err := d.schemaOf(ctx, ds)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	src, name, normalized, err := d.sourceBlob(ctx, in, ds)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	key := runKey(in, src, ds.SchemaName, version)
	if res, ok, err := d.cached(ctx, key); err != nil || ok {
		return res, err
	}
	heartbeat(ctx, "validate")
	// The pass of civicflow.ingest (or of an earlier validation) may have
	// made the report of this very file already.
	rep, err := d.precomputedReport(ctx, src, ds.SchemaName, version)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	if rep == nil {
		if rep, err = d.validateBlob(ctx, sch, src, name); err != nil {
			return workflows.ActivityResult{}, err
		}
	}
	if normalized {
		describeOrigin(rep, mapVar(in, "ingest"))
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	dsID := ds.ID
	qr := &store.QualityReport{Key: &key, DatasetID: &dsID, FileID: stringVar(in, "file"), InstanceID: in.InstanceID, NodeID: in.NodeID,
		BlobSHA: src, SchemaName: rep.Schema.Name, SchemaVersion: version, Valid: rep.Valid, Rows: rep.Stats.Rows,
		Errors: rep.Stats.Errors, Warnings: rep.Stats.Warnings, Report: store.JSONText(body)}
	if ds.SchemaName != "" {
		qr.SchemaName = ds.SchemaName
	}
	if err := d.Store.SaveQualityReport(ctx, qr); err != nil {
		return workflows.ActivityResult{}, err
	}
	sum := reportSummary{Valid: rep.Valid, ReportID: qr.ID, Schema: qr.SchemaName,
		Stats:  summaryStats{Rows: rep.Stats.Rows, Errors: rep.Stats.Errors, Warnings: rep.Stats.Warnings},
		Errors: rep.Errors[:min(5, len(rep.Errors))]}
	res := workflows.ActivityResult{Variables: map[string]any{"valid": rep.Valid, "report": toMap(sum)},
		Message: fmt.Sprintf("%d rows, %d errors, %d warnings (report %d)", rep.Stats.Rows, rep.Stats.Errors, rep.Stats.Warnings, qr.ID)}
	return d.remember(ctx, store.DataRun{Key: key, Activity: ActValidate, InstanceID: in.InstanceID, NodeID: in.NodeID,
		DatasetID: ds.ID, InputSHA: src}, res)
}

// validateBlob validates a stored file; without a schema, it checks only
// that the file reads as a table (every column a string).
func (d *Data) validateBlob(ctx context.Context, sch *tableschema.Schema, sha, name string) (*tableschema.Report, error) {
	rs, err := d.openBlob(sha, name)
	if err != nil {
		if msg, ok := businessMessage(err); ok {
			info := tableschema.SchemaInfo{}
			if sch != nil {
				info = tableschema.SchemaInfo{Name: sch.Name, Version: sch.Version}
			}
			return &tableschema.Report{Schema: info, Stats: tableschema.Stats{Errors: 1, ErrorsByType: map[string]int64{tableschema.TypeSourceError: 1}},
				Errors: []tableschema.Issue{{Type: tableschema.TypeSourceError, Message: msg}}, Warnings: []tableschema.Issue{}}, nil
		}
		return nil, err
	}
	defer rs.close()
	if sch == nil {
		fields := make([]map[string]string, 0, len(rs.rows.Header()))
		for _, h := range rs.rows.Header() {
			fields = append(fields, map[string]string{"name": h, "type": "string"})
		}
		desc, _ := json.Marshal(map[string]any{"name": "inferred", "fields": fields})
		if sch, err = tableschema.Parse(desc); err != nil {
			return nil, badInput("the header of %q cannot make a schema: %v", name, err)
		}
	}
	opts := tableschema.Options{MaxErrors: d.MaxErrors, Progress: func(rows, _ int64) { heartbeat(ctx, rows) }}
	rep, err := tableschema.Validate(ctx, sch, rs.rows, opts)
	if err != nil {
		if msg, ok := businessMessage(err); ok {
			return nil, badInput("%s", msg)
		}
		return nil, err
	}
	rep.Encoding, rep.Delimiter = rs.encoding, rs.delimiter
	return rep, nil
}

// describeOrigin reports on the file as the user sent it: its encoding and
// delimiter (from the ingest summary) and the repairs made, as warnings.
func describeOrigin(rep *tableschema.Report, ing map[string]any) {
	if ing == nil {
		return
	}
	if enc, _ := ing["encoding"].(string); enc != "" {
		rep.Encoding = enc
		if enc != "UTF-8" {
			rep.Warnings = append(rep.Warnings, tableschema.Issue{Type: tableschema.TypeEncodingWarn,
				Message: fmt.Sprintf("Le fichier est encodé en %s : l'encodage recommandé est UTF-8", enc)})
			rep.Stats.Warnings++
		}
	}
	if del, _ := ing["delimiter"].(string); del != "" {
		rep.Delimiter = del
	}
	fixes, _ := ing["fixes"].(map[string]any)
	rules := make([]string, 0, len(fixes))
	for r := range fixes {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		n, _ := fixes[r].(float64)
		if n == 0 || r == "trim" {
			continue
		}
		rep.Warnings = append(rep.Warnings, tableschema.Issue{Type: "harmonised-warn", Field: "",
			Message: fmt.Sprintf("%d valeur(s) réparée(s) automatiquement (règle %s) : vérifiez le fichier source", int64(n), r)})
		rep.Stats.Warnings++
	}
}
