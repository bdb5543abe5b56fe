package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"

	"github.com/civicflow/civicflow/internal/harmonise"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// One pass over a file: rows are read on one goroutine, harmonised in
// batches on every core (one Harmoniser per worker, their summaries merged
// in file order: the same counts and examples as one Harmoniser), written
// in order to a new blob, and — when a schema is given — validated as they
// go, so that civicflow.validate finds the report of the new blob made
// (see precomputedKey). civicflow.ingest used to read the file, harmonise
// it on one core and write it, then civicflow.validate read the new blob
// again; the pass does all of it once.

const passBatch = 512

// recBatch is a run of consecutive records; done is closed once they are
// harmonised.
type recBatch struct {
	recs  [][]string
	lines []int
	done  chan struct{}
}

// passOptions say what a pass does besides copying.
type passOptions struct {
	// columns and harmonise, when columns is set, repair the values.
	columns []harmonise.Column
	harm    harmonise.Options
	// schema, when set, validates the rows written.
	schema    *tableschema.Schema
	maxErrors int
}

// passResult is what a pass made.
type passResult struct {
	sha     string
	rows    int64
	summary *harmonise.Summary  // nil without harmonisation
	report  *tableschema.Report // nil without schema
}

func (d *Data) pass(ctx context.Context, rows tableschema.Rows, o passOptions) (passResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	header := rows.Header()
	workers := 0
	if o.columns != nil {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan *recBatch, max(workers, 1))
	order := make(chan *recBatch, 2*workers+4)
	var readErr error
	go func() { // reader
		defer close(order)
		defer close(jobs)
		for {
			b := &recBatch{recs: make([][]string, 0, passBatch), lines: make([]int, 0, passBatch), done: make(chan struct{})}
			var err error
			for len(b.recs) < passBatch {
				var rec []string
				var line int
				if rec, line, err = rows.Next(); err != nil {
					break
				}
				b.recs, b.lines = append(b.recs, rec), append(b.lines, line)
			}
			if len(b.recs) > 0 {
				if workers == 0 {
					close(b.done)
				}
				select {
				case order <- b:
				case <-ctx.Done():
					return
				}
				if workers > 0 {
					select {
					case jobs <- b:
					case <-ctx.Done():
						return
					}
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return
			}
		}
	}()
	summaries := make([]harmonise.Summary, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := harmonise.New(o.columns, o.harm)
			for b := range jobs {
				for i, rec := range b.recs {
					h.Repair(rec, b.lines[i]) // the reader's records are ours
				}
				close(b.done)
			}
			summaries[w] = h.Summary()
		}()
	}

	// The validator reads the rows written, from its own goroutine. The
	// channel is next's: it closes it at the end of the rows; on an error
	// the validator ends with the context.
	var (
		vch    chan *recBatch
		vdone  chan struct{}
		report *tableschema.Report
		verr   error
	)
	if o.schema != nil {
		vch, vdone = make(chan *recBatch, 8), make(chan struct{})
		src := &batchRows{ctx: ctx, header: header, ch: vch} // next sets vch to nil when done with it
		go func() {
			defer close(vdone)
			report, verr = tableschema.Validate(ctx, o.schema, src, tableschema.Options{MaxErrors: o.maxErrors})
		}()
	}
	var cur *recBatch
	i := 0
	next := func() ([]string, error) {
		for cur == nil || i == len(cur.recs) {
			b, ok := <-order
			if !ok {
				if readErr != nil {
					return nil, readErr
				}
				if vch != nil {
					close(vch)
					vch = nil
				}
				return nil, io.EOF
			}
			select {
			case <-b.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if vch != nil {
				select {
				case vch <- b:
				case <-vdone: // the validator stopped (its error says why)
					vch = nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			cur, i = b, 0
		}
		i++
		return cur.recs[i-1], nil
	}
	sha, n, err := d.writeBlob(ctx, header, next)
	if err != nil {
		cancel() // the reader, the workers, the validator and next end
	}
	if vdone != nil {
		<-vdone
	}
	for range order { // let the reader end
	}
	wg.Wait()
	if err != nil {
		return passResult{}, err
	}
	res := passResult{sha: sha, rows: n}
	if workers > 0 {
		s := mergeSummaries(summaries, o.harm.MaxExamples)
		res.summary = &s
	}
	if o.schema != nil && verr == nil && report != nil {
		report.Encoding, report.Delimiter = "UTF-8", ","
		res.report = report
	}
	return res, nil
}

// batchRows gives the batches of a pass to the validator as Rows.
type batchRows struct {
	ctx    context.Context
	header []string
	ch     <-chan *recBatch
	b      *recBatch
	i      int
}

func (r *batchRows) Header() []string { return r.header }

func (r *batchRows) Next() ([]string, int, error) {
	for r.b == nil || r.i == len(r.b.recs) {
		var b *recBatch
		var ok bool
		select {
		case b, ok = <-r.ch:
		case <-r.ctx.Done():
			return nil, 0, r.ctx.Err()
		}
		if !ok {
			return nil, 0, io.EOF
		}
		r.b, r.i = b, 0
	}
	r.i++
	return r.b.recs[r.i-1], r.b.lines[r.i-1], nil
}

// mergeSummaries adds up the summaries of harmonisers that each saw a part
// of the rows (whole batches, in file order within each) and keeps the
// first examples of each rule by line, as one harmoniser would have.
func mergeSummaries(parts []harmonise.Summary, maxExamples int) harmonise.Summary {
	switch {
	case maxExamples == 0:
		maxExamples = 5
	case maxExamples < 0:
		maxExamples = 0
	}
	out := harmonise.Summary{Fixes: map[harmonise.Rule]int{}, Issues: map[harmonise.Rule]int{}}
	var ex, iex []harmonise.Fix
	for _, p := range parts {
		out.Rows += p.Rows
		for k, v := range p.Fixes {
			out.Fixes[k] += v
		}
		for k, v := range p.Issues {
			out.Issues[k] += v
		}
		ex, iex = append(ex, p.Examples...), append(iex, p.IssueExamples...)
	}
	perRule := map[harmonise.Rule]int{}
	first := func(list []harmonise.Fix) []harmonise.Fix {
		sort.SliceStable(list, func(a, b int) bool { return list[a].Line < list[b].Line })
		kept := []harmonise.Fix{}
		for _, f := range list {
			if perRule[f.Rule] < maxExamples {
				perRule[f.Rule]++
				kept = append(kept, f)
			}
		}
		return kept
	}
	out.Examples, out.IssueExamples = first(ex), first(iex)
	return out
}

// precomputedKey names the report of a blob against a schema version, made
// by the pass that wrote the blob.
func precomputedKey(sha, schema, version string) string {
	return "report/" + sha + "/" + schema + "@" + version
}

// keepReport records the report a pass made of blob sha.
func (d *Data) keepReport(ctx context.Context, datasetID, sha, schema, version string, rep *tableschema.Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	_, err = d.Store.RecordDataRun(ctx, store.DataRun{Key: precomputedKey(sha, schema, version), Activity: ActValidate,
		DatasetID: datasetID, InputSHA: sha, Result: store.JSONText(b)})
	return err
}

// precomputedReport returns the report kept for blob sha, if any.
func (d *Data) precomputedReport(ctx context.Context, sha, schema, version string) (*tableschema.Report, error) {
	run, err := d.Store.DataRun(ctx, precomputedKey(sha, schema, version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep tableschema.Report
	if err := json.Unmarshal(run.Result, &rep); err != nil {
		return nil, nil // unreadable: validate again
	}
	return &rep, nil
}
