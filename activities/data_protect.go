package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/civicflow/civicflow/internal/anonymise"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// The anonymisation policy of a dataset (its personalFields, set by its
// department's steward) is applied to everything a flow releases. A flow
// may add protections (fields that the policy does not name, through the
// param fields of civicflow.anonymise) but never lift one: no variable or
// param replaces the policy, and what counts as already anonymised is read
// from the runs recorded by civicflow.anonymise in the file's lineage, not
// from the "anonymisation" variable.

// maxLineage bounds the runs followed back from a derived file.
const maxLineage = 64

// ownBlob checks that sha, the "normalized" variable, is a file of ds: the
// output of a data activity run on ds, or the content of one of its staged
// files. Anything else (another department's file…) is refused.
func (d *Data) ownBlob(ctx context.Context, in workflows.ActivityInput, ds store.Dataset, sha string) error {
	runs, err := d.Store.DataRunsProducing(ctx, ds.ID, sha)
	if err != nil {
		return err
	}
	if len(runs) > 0 {
		return nil
	}
	files, err := d.Store.DataFiles(ctx, ds.ID)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.SHA256 == sha {
			return nil
		}
	}
	return d.refuse(ctx, in, "file", sha, fmt.Sprintf("the variable normalized (%.12s…) is not a file of dataset %q", sha, ds.ID))
}

// policyFields parses the dataset's personal fields.
func policyFields(ds store.Dataset) ([]anonymise.Field, error) {
	var fields []anonymise.Field
	if len(ds.PersonalFields) > 0 && string(ds.PersonalFields) != "null" {
		if err := json.Unmarshal(ds.PersonalFields, &fields); err != nil {
			return nil, badInput("dataset %q: personal fields config: %v", ds.ID, err)
		}
	}
	return fields, nil
}

// protections returns what the policy of ds, plus the extra fields a flow
// adds, still requires on the blob src whose columns are header: the
// fields left to apply (todo), and the reports of the anonymisation that
// civicflow.anonymise runs already applied in src's lineage (done). For a
// field the policy names, the policy's method wins over extra. A field
// already treated with the required method, or dropped, is not treated
// again; one treated otherwise gets the required method on top.
func (d *Data) protections(ctx context.Context, ds store.Dataset, src string, header []string, extra []anonymise.Field) (todo []anonymise.Field, done []anonymise.Report, err error) {
	fields, err := policyFields(ds)
	if err != nil {
		return nil, nil, err
	}
	named := map[string]bool{}
	for _, f := range fields {
		named[f.Name] = true
	}
	for _, f := range extra {
		if !named[f.Name] {
			fields = append(fields, f)
			named[f.Name] = true
		}
	}
	if done, err = d.lineageAnonymisation(ctx, ds.ID, src); err != nil {
		return nil, nil, err
	}
	for _, f := range fields {
		satisfied := false
		for _, r := range done {
			if r.Field == f.Name && (r.Method == f.Method || (r.Method == anonymise.Drop && !slices.Contains(header, f.Name))) {
				satisfied = true
			}
		}
		if !satisfied {
			todo = append(todo, f)
		}
	}
	return todo, done, nil
}

// lineageAnonymisation follows the runs that produced sha back to the
// staged file and collects what civicflow.anonymise runs did on the way,
// oldest first.
func (d *Data) lineageAnonymisation(ctx context.Context, datasetID, sha string) ([]anonymise.Report, error) {
	var chain [][]anonymise.Report
	seen := map[string]bool{}
	for i := 0; sha != "" && !seen[sha] && i < maxLineage; i++ {
		seen[sha] = true
		runs, err := d.Store.DataRunsProducing(ctx, datasetID, sha)
		if err != nil {
			return nil, err
		}
		var run *store.DataRun
		for j := range runs {
			r := &runs[j]
			if r.InputSHA == sha {
				continue // a run that changed nothing
			}
			if run == nil || (r.Activity == ActAnonymise && run.Activity != ActAnonymise) {
				run = r
			}
		}
		if run == nil {
			break
		}
		if run.Activity == ActAnonymise {
			reports, err := runReports(*run)
			if err != nil {
				return nil, err
			}
			chain = append(chain, reports)
		}
		sha = run.InputSHA
	}
	var out []anonymise.Report
	for i := len(chain) - 1; i >= 0; i-- {
		out = append(out, chain[i]...)
	}
	return out, nil
}

// runReports reads the reports a recorded civicflow.anonymise run
// returned (its "anonymisation" variable).
func runReports(run store.DataRun) ([]anonymise.Report, error) {
	var res struct {
		Variables struct {
			Anonymisation []anonymise.Report `json:"anonymisation"`
		} `json:"variables"`
	}
	if err := json.Unmarshal(run.Result, &res); err != nil {
		return nil, fmt.Errorf("recorded run %q: %w", run.Key, err)
	}
	return res.Variables.Anonymisation, nil
}
