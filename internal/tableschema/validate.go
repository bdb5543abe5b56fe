package tableschema

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Options tune Validate. Zero values mean defaults.
type Options struct {
	// MaxErrors is the number of errors (and of warnings) kept in the report,
	// default 1,000; counting goes on past it and Report.Truncated is set.
	MaxErrors int
	// MaxRows stops the validation after this many data rows (0: no limit),
	// reporting the error table-dimensions like Validata's VALIDATA_MAX_ROWS.
	MaxRows int64
	// IgnoreHeaderCase matches header labels to field names case-insensitively.
	IgnoreHeaderCase bool
	// Progress, when set, is called every ProgressEvery rows and at the end
	// with the rows read and the rows without error so far, from the
	// goroutine that called Validate.
	Progress      func(rowsRead, rowsValid int64)
	ProgressEvery int64 // default 10,000
	// Workers is the number of goroutines casting and checking rows
	// (default GOMAXPROCS).
	Workers int
	// MaxKeys bounds the memory of the table-wide checks (duplicate-row,
	// unique, primaryKey, uniqueKeys, foreignKeys): each remembers at most
	// this many distinct values (default 1,000,000, at most about 24 MiB per check);
	// past it, new values are no longer tracked and the report has a warning.
	MaxKeys int
	// CSV tunes ValidateCSV's reader.
	CSV CSVOptions
}

const batchSize = 512

// ValidateCSV validates a CSV stream: it sniffs encoding and delimiter, and
// reports them. A file that cannot be read as CSV (empty, binary, too many
// columns…) gives an invalid report with a source-error, not a Go error.
func ValidateCSV(ctx context.Context, s *Schema, r io.Reader, opts Options) (*Report, error) {
	cr, err := NewCSVReader(r, opts.CSV)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			rep := newReport(s)
			c := &collector{r: rep, max: maxErrors(opts)}
			c.addError(Issue{Type: TypeSourceError, Row: pe.Line, Message: pe.Message})
			c.finish()
			return rep, nil
		}
		return nil, fmt.Errorf("validate csv: %w", err)
	}
	rep, err := Validate(ctx, s, cr, opts)
	if err != nil {
		return nil, err
	}
	rep.Encoding, rep.BOM = cr.Encoding(), cr.BOM()
	rep.Delimiter = string(cr.Delimiter())
	if n := cr.Fallbacks(); n > 0 {
		rep.Warnings = append(rep.Warnings, Issue{Type: TypeEncodingWarn, Message: fmt.Sprintf(
			"%d cellule(s) n'étaient pas encodées en UTF-8 valide : elles ont été lues en Windows-1252. Enregistrez le fichier en UTF-8.", n)})
		rep.Stats.Warnings++
	} else if rep.Encoding != "UTF-8" {
		rep.Warnings = append(rep.Warnings, Issue{Type: TypeEncodingWarn, Message: fmt.Sprintf(
			"Le fichier est encodé en %s : l'encodage recommandé est UTF-8", rep.Encoding)})
		rep.Stats.Warnings++
	}
	return rep, nil
}

func maxErrors(o Options) int {
	if o.MaxErrors <= 0 {
		return 1000
	}
	return o.MaxErrors
}

func newReport(s *Schema) *Report {
	return &Report{Schema: SchemaInfo{Name: s.Name, Version: s.Version},
		Errors: []Issue{}, Warnings: []Issue{}, Stats: Stats{ErrorsByType: map[string]int64{}}}
}

// plan is what the workers share: the header mapping and the compiled checks.
type plan struct {
	s         *Schema
	header    []string
	fieldCol  []int  // column of each field, -1 when absent
	present   []bool // field present in the header
	missing   [][]string
	emptyOnly []bool        // field's missing values are exactly [""]
	text      []textChecker // per field, nil unless the kind checks text directly
	required  []bool
	checks    []rowCheck
	unique    []int   // fields with constraint unique
	pk        []int   // primary key fields
	uks       [][]int // unique keys
	fks       []fkPlan
	seed      maphash.Seed
}

type fkPlan struct {
	from, to []int
	label    string
}

// rowView is one row as custom checks see it, indexed by field. values is
// nil for text kinds (the cell is the value) and for invalid cells.
type rowView struct {
	p       *plan
	cells   []string
	values  []any
	missing []bool
	invalid []bool // type error
	present []bool
}

func (r *rowView) name(i int) string { return r.p.s.Fields[i].Name() }

type rowResult struct {
	line    int
	blank   bool
	issues  []Issue
	hash    uint64
	unique  []keyHash // per plan.unique, ok=false when null
	pk      keyHash
	uks     []keyHash
	fkFrom  []keyHash
	fkTo    []keyHash
	fkValue []string
}

// reset clears r for a new row, keeping its slices' memory.
func (r *rowResult) reset() {
	*r = rowResult{issues: r.issues[:0], unique: r.unique[:0], uks: r.uks[:0], fkFrom: r.fkFrom[:0], fkTo: r.fkTo[:0]}
}

type keyHash struct {
	h     uint64
	ok    bool
	value string
}

// batch is a run of consecutive records: their cells lie in one byte arena
// (each cell followed by a 0 byte), so reading them costs no allocation per
// cell or per row. Batches are recycled once the collector is done with them:
// strings that point into the arena (cells) must not outlive the batch, so
// whatever is kept (report issues, foreign key values) is copied.
type batch struct {
	arena []byte
	cells []cellSpan
	rows  []rowSpan
	res   []rowResult
	done  chan struct{}
}

// rowSpan is one record of a batch: cells[c0:c0+n], physical line.
type rowSpan struct {
	c0, n int32
	line  int
}

const (
	batchRows  = 1024      // records per batch at most
	batchBytes = 256 << 10 // a batch is cut once its arena reaches this size
)

func (b *batch) full() bool { return len(b.rows) >= batchRows || len(b.arena) >= batchBytes }

func (b *batch) reset() {
	b.arena, b.cells, b.rows = b.arena[:0], b.cells[:0], b.rows[:0]
	b.done = make(chan struct{})
}

// add appends a record read as strings (generic Rows).
func (b *batch) add(rec []string, line int) {
	c0 := len(b.cells)
	for _, f := range rec {
		from := len(b.arena)
		b.arena = append(b.arena, f...)
		b.cells = append(b.cells, cellSpan{int32(from), int32(len(b.arena))})
		b.arena = append(b.arena, 0)
	}
	b.rows = append(b.rows, rowSpan{int32(c0), int32(len(rec)), line})
}

// record returns the cells of row i as strings pointing into the arena,
// in dst, and the record's bytes (cells and separators) for hashing.
func (b *batch) record(i int, dst []string) ([]string, []byte) {
	r := b.rows[i]
	dst = dst[:0]
	cells := b.cells[r.c0 : r.c0+r.n]
	for _, sp := range cells {
		dst = append(dst, unsafe.String(unsafe.SliceData(b.arena[sp.start:]), int(sp.end-sp.start)))
	}
	if len(cells) == 0 {
		return dst, nil
	}
	return dst, b.arena[cells[0].start : cells[len(cells)-1].end+1]
}

// Validate checks rows against s and returns the report. It streams: rows
// are read on one goroutine, cast and checked in batches by Options.Workers
// goroutines, and gathered in file order, so memory stays bounded (except the
// hashes kept for duplicate-row, unique and key checks). The error is non-nil
// only when the context ends or the source fails (not for invalid data).
func Validate(ctx context.Context, s *Schema, rows Rows, opts Options) (*Report, error) {
	rep := newReport(s)
	col := &collector{r: rep, max: maxErrors(opts)}
	header := rows.Header()
	rep.Header = header
	p := buildPlan(s, header, opts, col)

	every := opts.ProgressEvery
	if every <= 0 {
		every = 10000
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *batch, workers)
	order := make(chan *batch, 2*workers+2)
	free := make(chan *batch, 3*workers+4)
	var readErr error
	var limitHit bool
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(p)
			for b := range jobs {
				if cap(b.res) < len(b.rows) {
					b.res = make([]rowResult, len(b.rows), batchRows)
				}
				b.res = b.res[:len(b.rows)]
				for i := range b.rows {
					rec, raw := b.record(i, w.rec)
					w.rec = rec
					res := &b.res[i]
					res.reset()
					w.row(rec, b.rows[i].line, res)
					res.hash = maphash.Bytes(p.seed, raw)
				}
				close(b.done)
			}
		}()
	}
	cr, _ := rows.(*CSVReader)
	go func() { // reader
		defer close(order)
		defer close(jobs)
		var read int64
		var hint struct{ arena, cells, rows int }
		newBatch := func() *batch {
			var b *batch
			select {
			case b = <-free:
			default:
				// Sized like the largest batch so far: a small file costs
				// little, and later batches do not grow (copy) their arena.
				b = &batch{arena: make([]byte, 0, hint.arena), cells: make([]cellSpan, 0, hint.cells), rows: make([]rowSpan, 0, hint.rows)}
			}
			b.reset()
			return b
		}
		b := newBatch()
		send := func() bool {
			hint.arena, hint.cells, hint.rows = max(hint.arena, cap(b.arena)), max(hint.cells, cap(b.cells)), max(hint.rows, cap(b.rows))
			select {
			case order <- b:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				return false
			}
			b = newBatch()
			return true
		}
		for {
			if ctx.Err() != nil {
				return
			}
			var line int
			var err error
			var rec []string
			c0 := len(b.cells)
			if cr != nil {
				if cr.err != nil {
					err = cr.err
				} else {
					b.arena, b.cells, line, err = cr.appendRecord(b.arena, b.cells)
					if err != nil {
						cr.err = err
					}
				}
			} else {
				rec, line, err = rows.Next()
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			if opts.MaxRows > 0 && read >= opts.MaxRows {
				limitHit = true
				break
			}
			read++
			if cr != nil {
				b.rows = append(b.rows, rowSpan{int32(c0), int32(len(b.cells) - c0), line})
			} else {
				b.add(rec, line)
			}
			if b.full() && !send() {
				return
			}
		}
		if len(b.rows) > 0 {
			send()
		}
	}()

	st := newTableState(p, opts.MaxKeys)
	var rows_, valid int64
	var ctxErr error
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			ctxErr = err
			break
		}
		for i := range b.res {
			rows_++
			if st.row(&b.res[i], col) {
				valid++
			}
			if opts.Progress != nil && rows_%every == 0 {
				opts.Progress(rows_, valid)
			}
		}
		select { // the batch's cells are no longer referenced: recycle it
		case free <- b:
		default:
		}
	}
	if ctxErr == nil {
		// The reader may have stopped on the cancellation with no batch
		// left in order: the rows were not all read.
		ctxErr = ctx.Err()
	}
	cancel()
	for range order { // drain so the reader exits
	}
	wg.Wait()
	if ctxErr != nil {
		return nil, fmt.Errorf("validate: %w", ctxErr)
	}
	if readErr != nil {
		var pe *ParseError
		if !errors.As(readErr, &pe) {
			return nil, fmt.Errorf("validate: read rows: %w", readErr)
		}
		col.addError(Issue{Type: TypeSourceError, Row: pe.Line, Message: pe.Message + " ; la validation s'est arrêtée à cette ligne"})
	}
	if limitHit {
		col.addError(Issue{Type: TypeTableDimensions, Message: fmt.Sprintf(
			"Le fichier compte plus de %d lignes, le maximum accepté : seules les %d premières ont été validées", opts.MaxRows, opts.MaxRows)})
	}
	st.finish(col)
	rep.Stats.Rows, rep.Stats.ValidRows = rows_, valid
	if opts.Progress != nil {
		opts.Progress(rows_, valid)
	}
	col.finish()
	return rep, nil
}

// buildPlan matches the header to the schema, as Validata does with
// schema_sync, and reports header issues.
func buildPlan(s *Schema, header []string, opts Options, col *collector) *plan {
	p := &plan{s: s, header: header, checks: s.checks, seed: maphash.MakeSeed()}
	n := len(s.Fields)
	p.fieldCol = make([]int, n)
	p.present = make([]bool, n)
	p.missing = make([][]string, n)
	p.emptyOnly = make([]bool, n)
	p.text = make([]textChecker, n)
	p.required = make([]bool, n)
	needValue := make([]bool, n) // values read by custom checks or keys
	for _, c := range s.checks {
		for _, i := range c.fields() {
			needValue[i] = true
		}
	}
	for _, names := range append(append([][]string{s.PrimaryKey}, s.UniqueKeys...), foreignKeyFields(s)...) {
		for _, name := range names {
			needValue[s.byName[name]] = true
		}
	}
	for i, f := range s.Fields {
		if f.Descriptor().Constraints.Unique {
			needValue[i] = true
		}
		if tc, ok := f.(textChecker); ok {
			switch f.(type) {
			case *StringField, *AnyField:
				p.text[i] = tc // their value is the cell: never boxed
			default:
				if !needValue[i] {
					p.text[i] = tc
				}
			}
		}
		p.required[i] = f.Descriptor().Constraints.Required
	}
	for _, w := range s.notes {
		col.addWarning(Issue{Type: TypeSchemaWarning, Message: "Avertissement sur le schéma : " + w})
	}
	for _, name := range s.unsupported {
		col.addWarning(Issue{Type: TypeCheckUnsupported, Message: fmt.Sprintf(
			"Le contrôle personnalisé « %s » n'est pas pris en charge : il n'a pas été effectué", name)})
	}
	seen := map[string]int{}
	for j, label := range header {
		key := label
		if opts.IgnoreHeaderCase {
			key = strings.ToLower(label)
		}
		switch {
		case strings.TrimSpace(label) == "":
			col.addError(Issue{Type: TypeBlankLabel, Column: j + 1, Message: fmt.Sprintf("La colonne n°%d n'a pas de nom dans l'en-tête", j+1)})
		default:
			if first, dup := seen[key]; dup {
				col.addError(Issue{Type: TypeDuplicateLabel, Field: label, Column: j + 1, Value: label, Message: fmt.Sprintf(
					"La colonne « %s » (n°%d) apparaît plusieurs fois dans l'en-tête (déjà en colonne n°%d)", label, j+1, first+1)})
				continue
			}
			seen[key] = j
		}
	}
	matched := map[int]bool{}
	for i, f := range s.Fields {
		key := f.Name()
		if opts.IgnoreHeaderCase {
			key = strings.ToLower(key)
		}
		j, ok := seen[key]
		p.fieldCol[i] = -1
		if ok {
			p.fieldCol[i], p.present[i] = j, true
			matched[j] = true
		}
		mv := f.Descriptor().MissingValues
		if mv == nil {
			mv = s.MissingValues
		}
		p.missing[i] = mv
		p.emptyOnly[i] = len(mv) == 1 && mv[0] == ""
		if f.Descriptor().Constraints.Unique {
			p.unique = append(p.unique, i)
		}
		if ok {
			continue
		}
		if f.Descriptor().Constraints.Required {
			col.addError(Issue{Type: TypeMissingRequired, Field: f.Name(), Message: fmt.Sprintf(
				"La colonne obligatoire « %s » est absente de l'en-tête", f.Name())})
		} else {
			col.addWarning(Issue{Type: TypeMissingHeader, Field: f.Name(), Message: fmt.Sprintf(
				"La colonne facultative « %s » est absente de l'en-tête", f.Name())})
		}
	}
	for j, label := range header {
		if !matched[j] && strings.TrimSpace(label) != "" {
			if first, ok := seen[keyOf(label, opts)]; ok && first != j {
				continue // duplicate, already an error
			}
			col.addWarning(Issue{Type: TypeExtraHeader, Field: label, Column: j + 1, Value: label, Message: fmt.Sprintf(
				"La colonne « %s » (n°%d) ne fait pas partie du schéma : elle est ignorée", label, j+1)})
		}
	}
	last, disordered := -1, false
	for i := range s.Fields {
		if c := p.fieldCol[i]; c >= 0 {
			if c < last {
				disordered = true
			}
			last = c
		}
	}
	if disordered {
		var expected []string
		for i, f := range s.Fields {
			if p.present[i] {
				expected = append(expected, f.Name())
			}
		}
		col.addWarning(Issue{Type: TypeDisorderedHeader, Message: "Les colonnes ne sont pas dans l'ordre du schéma ; ordre attendu : " + strings.Join(expected, ", ")})
	}
	name := func(i int) string { return s.Fields[i].Name() }
	for _, c := range p.checks {
		if hc, ok := c.(headerChecker); ok {
			if msg, bad := hc.headerIssue(p.present, name); bad {
				col.addError(Issue{Type: c.Name(), Message: msg})
			}
		}
	}
	idx := func(names []string) []int {
		out := make([]int, len(names))
		for k, n := range names {
			out[k] = s.byName[n]
		}
		return out
	}
	if len(s.PrimaryKey) > 0 {
		p.pk = idx(s.PrimaryKey)
	}
	for _, uk := range s.UniqueKeys {
		p.uks = append(p.uks, idx(uk))
	}
	for _, fk := range s.ForeignKeys {
		p.fks = append(p.fks, fkPlan{from: idx(fk.Fields), to: idx(fk.ReferenceFields), label: strings.Join(fk.Fields, ", ")})
	}
	return p
}

func foreignKeyFields(s *Schema) [][]string {
	var out [][]string
	for _, fk := range s.ForeignKeys {
		out = append(out, fk.Fields, fk.ReferenceFields)
	}
	return out
}

func keyOf(label string, opts Options) string {
	if opts.IgnoreHeaderCase {
		return strings.ToLower(label)
	}
	return label
}

// worker casts and checks rows; it keeps scratch buffers between rows.
type worker struct {
	p    *plan
	rec  []string // cells of the current row (point into the batch arena)
	view rowView
	h    maphash.Hash
	// current row and check, for add
	res   *rowResult
	check rowCheck
	addFn func(field int, value, message string)
}

func newWorker(p *plan) *worker {
	n := len(p.s.Fields)
	w := &worker{p: p}
	w.view = rowView{p: p, cells: make([]string, n), values: make([]any, n), missing: make([]bool, n),
		invalid: make([]bool, n), present: p.present}
	w.h.SetSeed(p.seed)
	w.addFn = w.add
	return w
}

// add records an issue raised by the current custom check.
func (w *worker) add(field int, value, message string) {
	w.res.issues = append(w.res.issues, Issue{Type: w.check.Name(), Row: w.res.line, Field: w.p.s.Fields[field].Name(),
		Column: w.p.fieldCol[field] + 1, Value: value, Message: message})
}

func (p *plan) isMissing(i int, cell string) bool {
	if p.emptyOnly[i] {
		return cell == ""
	}
	for _, m := range p.missing[i] {
		if cell == m {
			return true
		}
	}
	return false
}

func (w *worker) row(rec []string, line int, res *rowResult) {
	p := w.p
	res.line = line
	blank := true
	for _, c := range rec {
		if c != "" && !isGlobalMissing(p.s, c) {
			blank = false
			break
		}
	}
	if blank {
		res.blank = true
		res.issues = append(res.issues, Issue{Type: TypeBlankRow, Row: line, Message: fmt.Sprintf("La ligne %d est vide", line)})
		return
	}
	nCols := len(p.header)
	for j := nCols; j < len(rec); j++ {
		res.issues = append(res.issues, Issue{Type: TypeExtraCell, Row: line, Column: j + 1, Value: rec[j], Message: fmt.Sprintf(
			"La ligne %d compte %d cellules alors que l'en-tête a %d colonnes : la cellule n°%d « %s » est en trop", line, len(rec), nCols, j+1, short(rec[j]))})
	}
	for j := len(rec); j < nCols; j++ {
		res.issues = append(res.issues, Issue{Type: TypeMissingCell, Row: line, Field: p.header[j], Column: j + 1, Message: fmt.Sprintf(
			"La ligne %d compte %d cellules alors que l'en-tête a %d colonnes : la cellule de la colonne « %s » manque", line, len(rec), nCols, p.header[j])})
	}
	v := &w.view
	for i, f := range p.s.Fields {
		c := p.fieldCol[i]
		v.values[i], v.invalid[i] = nil, false
		if c < 0 || c >= len(rec) {
			v.cells[i], v.missing[i] = "", true
			continue
		}
		cell := rec[c]
		v.cells[i] = cell
		if p.isMissing(i, cell) {
			v.missing[i] = true
			if p.required[i] {
				res.issues = append(res.issues, Issue{Type: TypeConstraintError, Row: line, Field: f.Name(), Column: c + 1, Value: cell, Constraint: "required",
					Message: fmt.Sprintf("La colonne « %s » est obligatoire : la cellule ne doit pas être vide", f.Name())})
			}
			continue
		}
		v.missing[i] = false
		var cv *ConstraintViolation
		if tc := p.text[i]; tc != nil {
			var err error
			if cv, err = tc.checkText(cell); err != nil {
				v.invalid[i] = true
				res.issues = append(res.issues, Issue{Type: TypeTypeError, Row: line, Field: f.Name(), Column: c + 1, Value: cell, Message: err.Error()})
				continue
			}
		} else {
			val, err := f.Cast(cell)
			if err != nil {
				v.invalid[i] = true
				res.issues = append(res.issues, Issue{Type: TypeTypeError, Row: line, Field: f.Name(), Column: c + 1, Value: cell, Message: err.Error()})
				continue
			}
			v.values[i] = val
			cv = f.CheckValue(val, cell)
		}
		if cv != nil {
			res.issues = append(res.issues, Issue{Type: TypeConstraintError, Row: line, Field: f.Name(), Column: c + 1, Value: cell, Constraint: cv.Constraint, Message: cv.Message})
		}
	}
	w.res = res
	for _, ch := range p.checks {
		w.check = ch
		ch.run(v, w.addFn)
	}
	// Keys for the table-wide checks, hashed here to spare the collector (the
	// caller hashes the whole record).
	for _, i := range p.unique {
		res.unique = append(res.unique, w.key([]int{i}))
	}
	if p.pk != nil {
		res.pk = w.key(p.pk)
	}
	for _, uk := range p.uks {
		res.uks = append(res.uks, w.key(uk))
	}
	for _, fk := range p.fks {
		res.fkFrom = append(res.fkFrom, w.key(fk.from))
		res.fkTo = append(res.fkTo, w.key(fk.to))
	}
}

func isGlobalMissing(s *Schema, c string) bool {
	for _, m := range s.MissingValues {
		if c == m {
			return true
		}
	}
	return false
}

// key hashes the logical values of fields; ok is false when one is null or invalid.
func (w *worker) key(fields []int) keyHash {
	v := &w.view
	w.h.Reset()
	var text []string
	for _, i := range fields {
		if v.missing[i] || v.invalid[i] {
			return keyHash{}
		}
		k := v.cells[i]
		if v.values[i] != nil {
			k = canonical(v.values[i])
		}
		w.h.WriteString(k)
		w.h.WriteByte(0)
		text = append(text, v.cells[i])
	}
	return keyHash{h: w.h.Sum64(), ok: true, value: strings.Join(text, ", ")}
}

// canonical renders a logical value so that equal values hash equally ("1.0" and "1").
func canonical(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// tableState holds the table-wide checks, run in file order by the collector.
type tableState struct {
	p       *plan
	maxKeys int
	capped  map[string]bool // checks that hit maxKeys
	rows    *lineSet
	unique  []*lineSet
	pk      *lineSet
	uks     []*lineSet
	fkRefs  []map[uint64]struct{}
	fkPend  [][]fkPending
}

type fkPending struct {
	h     uint64
	line  int
	value string
}

func newTableState(p *plan, maxKeys int) *tableState {
	if maxKeys <= 0 {
		maxKeys = 1_000_000
	}
	st := &tableState{p: p, rows: &lineSet{}, maxKeys: maxKeys, capped: map[string]bool{}}
	for range p.unique {
		st.unique = append(st.unique, &lineSet{})
	}
	if p.pk != nil {
		st.pk = &lineSet{}
	}
	for range p.uks {
		st.uks = append(st.uks, &lineSet{})
	}
	for range p.fks {
		st.fkRefs = append(st.fkRefs, map[uint64]struct{}{})
		st.fkPend = append(st.fkPend, nil)
	}
	return st
}

// seen looks h up in m and remembers it (with line) while m is under the cap.
func (st *tableState) seen(m *lineSet, h uint64, line int, check string) (int32, bool) {
	if m.len() >= st.maxKeys {
		st.capped[check] = true
		return 0, false // capped: lookups stop too, to keep the cost flat
	}
	return m.seen(h, line)
}

// row records one row result and reports whether the row has no error.
func (st *tableState) row(r *rowResult, col *collector) bool {
	errs := len(r.issues)
	for _, is := range r.issues {
		col.addError(is)
	}
	if r.blank {
		return false
	}
	p := st.p
	if first, dup := st.seen(st.rows, r.hash, r.line, TypeDuplicateRow); dup {
		col.addError(Issue{Type: TypeDuplicateRow, Row: r.line, Message: fmt.Sprintf("La ligne %d est identique à la ligne %d", r.line, first)})
		errs++
	}
	for k, kh := range r.unique {
		if !kh.ok {
			continue
		}
		if first, dup := st.seen(st.unique[k], kh.h, r.line, "unique"); dup {
			f := p.s.Fields[p.unique[k]]
			col.addError(Issue{Type: TypeUniqueError, Row: r.line, Field: f.Name(), Column: p.fieldCol[p.unique[k]] + 1, Value: kh.value, Constraint: "unique",
				Message: fmt.Sprintf("La valeur « %s » de la colonne « %s » doit être unique : elle apparaît déjà ligne %d", short(kh.value), f.Name(), first)})
			errs++
		}
	}
	if st.pk != nil && r.pk.ok {
		if first, dup := st.seen(st.pk, r.pk.h, r.line, "primaryKey"); dup {
			col.addError(Issue{Type: TypePrimaryKey, Row: r.line, Field: strings.Join(p.s.PrimaryKey, ", "), Value: r.pk.value,
				Message: fmt.Sprintf("La clé primaire « %s » (%s) est déjà utilisée ligne %d", short(r.pk.value), strings.Join(p.s.PrimaryKey, ", "), first)})
			errs++
		}
	}
	for k, kh := range r.uks {
		if !kh.ok {
			continue
		}
		if first, dup := st.seen(st.uks[k], kh.h, r.line, "uniqueKeys"); dup {
			names := p.s.UniqueKeys[k]
			col.addError(Issue{Type: TypeUniqueError, Row: r.line, Field: strings.Join(names, ", "), Value: kh.value,
				Message: fmt.Sprintf("Les valeurs « %s » des colonnes %s doivent être uniques : elles apparaissent déjà ligne %d", short(kh.value), strings.Join(quoteAll(names), ", "), first)})
			errs++
		}
	}
	for k := range p.fks {
		if r.fkTo[k].ok {
			if len(st.fkRefs[k]) < st.maxKeys {
				st.fkRefs[k][r.fkTo[k].h] = struct{}{}
			} else {
				st.capped["foreignKeys"] = true
			}
		}
		if r.fkFrom[k].ok {
			if len(st.fkPend[k]) < st.maxKeys {
				st.fkPend[k] = append(st.fkPend[k], fkPending{r.fkFrom[k].h, r.line, strings.Clone(r.fkFrom[k].value)})
			} else {
				st.capped["foreignKeys"] = true
			}
		}
	}
	return errs == 0
}

// finish reports the foreign keys that reference no row.
func (st *tableState) finish(col *collector) {
	for _, check := range []string{TypeDuplicateRow, "unique", "primaryKey", "uniqueKeys", "foreignKeys"} {
		if st.capped[check] {
			col.addWarning(Issue{Type: TypeCheckLimit, Message: fmt.Sprintf(
				"Le contrôle %s a été limité aux %d premières valeurs distinctes : au-delà, les doublons ne sont plus détectés", check, st.maxKeys)})
		}
	}
	if st.capped["foreignKeys"] {
		return // incomplete reference set: reporting would give false errors
	}
	for k, fk := range st.p.fks {
		ref := st.p.s.ForeignKeys[k].ReferenceFields
		for _, pend := range st.fkPend[k] {
			if _, ok := st.fkRefs[k][pend.h]; !ok {
				col.addError(Issue{Type: TypeForeignKey, Row: pend.line, Field: fk.label, Value: pend.value, Message: fmt.Sprintf(
					"La valeur « %s » de %s ne correspond à aucune valeur de %s dans le fichier", short(pend.value), strings.Join(quoteAll(st.p.s.ForeignKeys[k].Fields), ", "), strings.Join(quoteAll(ref), ", "))})
			}
		}
	}
}
