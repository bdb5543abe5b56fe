package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// TaskDetail is what the task page shows of a task: the task (as Task
// returns it), its request when the caller may read it, the quality
// report the request carries (review and approval tasks: the report
// variable) with a preview of the rows it was made on, and the request's
// timeline.
type TaskDetail struct {
	TaskView
	// Request is nil when the caller may not read the request.
	Request *Request
	// Report is the quality report of the request (nil: none, or the
	// caller may not read its dataset).
	Report *Report
	// Preview is the start of the file the report was made on.
	Preview *Preview
	// Timeline is the request's tasks, oldest first (from the read model).
	Timeline []store.Task
}

// Report is a stored quality report and its decoded document.
type Report struct {
	store.QualityReport
	Doc tableschema.Report
}

// Preview is the first rows of a tabular file.
type Preview struct {
	Header []string
	Rows   []PreviewRow
	// More says the file has more rows than shown.
	More bool
}

// PreviewRow is a record and its physical line in the file (header = 1),
// the row numbers of the quality report.
type PreviewRow struct {
	Line  int
	Cells []string
}

// PreviewRows is how many rows a preview shows.
const PreviewRows = 20

// TaskDetail is the task page's content for a task the caller may see.
func (s *Service) TaskDetail(ctx context.Context, c Caller, id string) (TaskDetail, error) {
	v, err := s.Task(ctx, c, id)
	if err != nil {
		return TaskDetail{}, err
	}
	d := TaskDetail{TaskView: v}
	if r, err := s.Request(ctx, c, v.InstanceID); err == nil {
		d.Request = &r
	} else if KindOf(err) == 0 {
		return d, err
	}
	vars := map[string]any{}
	_ = json.Unmarshal([]byte(v.VarsRaw), &vars)
	if d.Request != nil && d.Request.Variables != nil {
		vars = d.Request.Variables
	}
	if rep, ok := vars["report"].(map[string]any); ok {
		if n, ok := rep["reportId"].(float64); ok && n > 0 {
			r, err := s.QualityReport(ctx, c, int64(n))
			switch {
			case err == nil:
				d.Report = &Report{QualityReport: r}
				if err := json.Unmarshal(r.Report, &d.Report.Doc); err != nil {
					s.log.Warn("quality report does not decode", "report", r.ID, "err", err)
				}
				if p, err := s.preview(r); err != nil {
					s.log.Debug("no preview of the report's file", "report", r.ID, "err", err)
				} else {
					d.Preview = p
				}
			case KindOf(err) == 0 && !errors.Is(err, store.ErrNotFound):
				return d, err
			}
		}
	}
	if d.Request != nil {
		page, err := s.store.Tasks(ctx, store.TaskFilter{Instance: v.InstanceID, Limit: store.MaxTaskLimit})
		if err != nil {
			return d, err
		}
		d.Timeline = page.Tasks
		slices.SortStableFunc(d.Timeline, func(a, b store.Task) int { return a.CreatedAt.Compare(b.CreatedAt) })
	}
	return d, nil
}

// preview reads the first rows of the blob a report was made on.
func (s *Service) preview(r store.QualityReport) (*Preview, error) {
	if r.BlobSHA == "" {
		return nil, errors.New("no file")
	}
	name := r.FileID
	if df, err := s.store.DataFile(context.Background(), r.FileID); err == nil && df.Name != "" {
		name = df.Name
	}
	rows, done, err := s.openBlobRows(r.BlobSHA, name)
	if err != nil {
		return nil, err
	}
	defer done()
	p := &Preview{Header: rows.Header()}
	for {
		rec, line, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, nil // a preview stops at the first unreadable record
		}
		if len(p.Rows) == PreviewRows {
			p.More = true
			break
		}
		p.Rows = append(p.Rows, PreviewRow{Line: line, Cells: rec})
	}
	return p, nil
}

// openBlobRows reads the records of a staged or derived file (name gives
// its format); done releases it.
func (s *Service) openBlobRows(sha, name string) (rows ingest.Rows, done func(), err error) {
	f, err := s.blobs().Open(sha)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	head := make([]byte, min(st.Size(), ingest.SniffLen))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, nil, err
	}
	format, err := ingest.Detect(path.Base(name), head)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if format == ingest.FormatCSV {
		cr, err := tableschema.NewCSVReader(io.NewSectionReader(f, 0, st.Size()), tableschema.CSVOptions{})
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return cr, func() { f.Close() }, nil
	}
	rc, _, err := ingest.Open(path.Base(name), f, st.Size(), ingest.Options{})
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return rc, func() { rc.Close(); f.Close() }, nil
}

// frenchCheck translates a form check message (designer.Form.CheckData:
// "key: problem") into a field and a French sentence.
func frenchCheck(msg string) Problem {
	key, what, ok := strings.Cut(msg, ": ")
	if !ok {
		return Problem{Message: msg, Fr: msg}
	}
	p := Problem{Field: key, Message: what}
	var n float64
	var i int
	switch {
	case what == "required":
		p.Fr = "Ce champ est obligatoire."
	case scan(what, "shorter than %d characters", &i):
		p.Fr = fmt.Sprintf("Au moins %d caractères.", i)
	case scan(what, "longer than %d characters", &i):
		p.Fr = fmt.Sprintf("Au plus %d caractères.", i)
	case scan(what, "less than %g", &n):
		p.Fr = fmt.Sprintf("La valeur doit être au moins %s.", strings.Replace(fmt.Sprint(n), ".", ",", 1))
	case scan(what, "more than %g", &n):
		p.Fr = fmt.Sprintf("La valeur doit être au plus %s.", strings.Replace(fmt.Sprint(n), ".", ",", 1))
	case strings.HasPrefix(what, "expected a number"):
		p.Fr = "Un nombre est attendu."
	case strings.HasPrefix(what, "expected a string"):
		p.Fr = "Un texte est attendu."
	case strings.HasPrefix(what, "expected a bool"):
		p.Fr = "Oui ou non est attendu."
	case strings.Contains(what, "is not one of"):
		p.Fr = "Choisissez une des valeurs proposées."
	default:
		p.Fr = "Valeur refusée : " + what
	}
	return p
}

func scan(s, format string, v any) bool {
	n, err := fmt.Sscanf(s, format, v)
	return err == nil && n == 1
}
