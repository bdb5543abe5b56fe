// Package harmonise repairs the values of a tabular stream so that they match
// their declared kind (number, date, SIRET, INSEE commune code…), and records
// every repair: nothing is changed silently.
//
// A Harmoniser is built from the columns of a file (name + Kind, mapped by the
// caller from Table Schema types and patterns) and is applied row by row with
// Apply, or around a row stream with Wrap. Each repair increments a per-rule
// counter and, up to a cap, keeps an example (line, field, from, to, rule).
// Values that look wrong but cannot be repaired without guessing (a SIRET that
// fails Luhn, an ambiguous date, "SEM" in an amount column) are left as they are
// and reported as issues, for the validator and the data steward to decide.
//
// The package also exports ValidSIRET and ValidSIREN (see siret.go), which the
// validator may reuse.
package harmonise

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the logical kind of a column, which selects the repairs applied to it.
type Kind int

// Column kinds. Text only gets trimmed.
const (
	Text Kind = iota
	Number
	Integer
	Date
	Datetime
	Boolean
	SIRET
	SIREN
	INSEECommune
	Year
	DatePeriod
)

var kindNames = [...]string{"text", "number", "integer", "date", "datetime", "boolean", "siret", "siren", "insee_commune", "year", "date_period"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ParseKind returns the Kind named s (as returned by Kind.String).
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), nil
		}
	}
	return Text, fmt.Errorf("harmonise: unknown kind %q", s)
}

// Rule names one kind of repair or one kind of reported problem.
type Rule string

// Repairs (counted in Summary.Fixes).
const (
	RuleTrim             Rule = "trim"                // leading/trailing spaces, NBSP, thin spaces, BOM
	RuleDecimalComma     Rule = "decimal_comma"       // 12,5 → 12.5
	RuleThousands        Rule = "thousands_separator" // 40 000 / 1.234.567,89 / 1,234,567.89 → grouping removed
	RuleIntegerFraction  Rule = "integer_fraction"    // 12,0 / 12.0 → 12 in an integer column
	RuleDateFormat       Rule = "date_format"         // 30/01/2018, 2018/01/30, 20180130, 2018-1-3… → ISO 8601
	RuleDatetimeFormat   Rule = "datetime_format"     // 30/01/2018 14:05, 2018-01-30 14:05 → 2018-01-30T14:05:00
	RulePeriodSeparator  Rule = "period_separator"    // 2018-01-01_2018-03-31 → 2018-01-01/2018-03-31
	RuleSIRETFloat       Rule = "siret_float"         // 45032466000000.0, 4.5032466E13 → digits
	RuleSIRETSpaces      Rule = "siret_spaces"        // 443 061 841 00047 → 44306184100047
	RuleSIRETPad         Rule = "siret_pad"           // lost leading zeros restored (only when the result is valid)
	RuleSIRENFloat       Rule = "siren_float"
	RuleSIRENSpaces      Rule = "siren_spaces"
	RuleSIRENPad         Rule = "siren_pad"
	RuleINSEELeadingZero Rule = "insee_leading_zero" // 1004 → 01004
	RuleINSEECase        Rule = "insee_case"         // 2a004 → 2A004
	RuleINSEEFloat       Rule = "insee_float"        // 1004.0 → 1004
	RuleBoolean          Rule = "boolean"            // oui/non/vrai/faux/yes/no/1/0/x → target values
	RuleYearFloat        Rule = "year_float"         // 2018.0 → 2018
)

// Problems (counted in Summary.Issues; the value is left unchanged).
const (
	IssueInvalidNumber   Rule = "invalid_number"
	IssueInvalidInteger  Rule = "invalid_integer"
	IssueInvalidDate     Rule = "invalid_date"
	IssueAmbiguousDate   Rule = "ambiguous_date"
	IssueInvalidDatetime Rule = "invalid_datetime"
	IssueInvalidPeriod   Rule = "invalid_period"
	IssueSIRETLength     Rule = "siret_length"
	IssueSIRETChecksum   Rule = "siret_checksum"
	IssueSIRENLength     Rule = "siren_length"
	IssueSIRENChecksum   Rule = "siren_checksum"
	IssueInvalidINSEE    Rule = "invalid_insee"
	IssueInvalidBoolean  Rule = "invalid_boolean"
	IssueInvalidYear     Rule = "invalid_year"
)

// DateOrder tells how to read dates whose day and month are both written as
// 1–2 digits (30/01/2018, 01.02.2018…).
type DateOrder int

const (
	// DayFirst reads d/m/y, the French convention (default).
	DayFirst DateOrder = iota
	// MonthFirst reads m/d/y.
	MonthFirst
	// Strict repairs only dates where the order is evident (day > 12); others
	// such as 01/02/2018 are reported as ambiguous_date.
	Strict
)

// Column is one column of the stream: its name (used in reports) and kind.
type Column struct {
	Name string
	Kind Kind
}

// Options tune a Harmoniser. The zero value is usable.
type Options struct {
	// TrueValue and FalseValue are written for recognised booleans; default
	// "true" and "false" (Table Schema defaults). Use the schema's first
	// trueValues / falseValues, e.g. "oui" / "non" for SCDL subventions.
	TrueValue, FalseValue string
	// DateOrder reads ambiguous numeric dates; default DayFirst.
	DateOrder DateOrder
	// MaxExamples caps the examples kept per rule (fixes and issues alike);
	// default 5, negative keeps none.
	MaxExamples int
	// MissingValues are left untouched and never reported (after trimming);
	// the empty string always is.
	MissingValues []string
}

// Fix is one repair, or, in Summary.IssueExamples, one unrepaired problem
// (then To is empty and Message explains).
type Fix struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	From    string `json:"from"`
	To      string `json:"to,omitempty"`
	Rule    Rule   `json:"rule"`
	Message string `json:"message,omitempty"`
}

// Summary counts the repairs and problems seen so far.
type Summary struct {
	Rows          int          `json:"rows"`
	Fixes         map[Rule]int `json:"fixes"`
	Issues        map[Rule]int `json:"issues"`
	Examples      []Fix        `json:"examples"`
	IssueExamples []Fix        `json:"issue_examples"`
}

// Harmoniser repairs records column by column. It is not safe for concurrent
// use; use one per stream.
type Harmoniser struct {
	cols    []Column
	opts    Options
	missing map[string]bool
	sum     Summary
	perRule map[Rule]int // examples kept per rule
}

// New returns a Harmoniser for records whose i-th value belongs to columns[i].
// Values beyond len(columns) are passed through unchanged.
func New(columns []Column, opts Options) *Harmoniser {
	if opts.TrueValue == "" {
		opts.TrueValue = "true"
	}
	if opts.FalseValue == "" {
		opts.FalseValue = "false"
	}
	if opts.MaxExamples == 0 {
		opts.MaxExamples = 5
	}
	h := &Harmoniser{
		cols:    append([]Column(nil), columns...),
		opts:    opts,
		missing: map[string]bool{"": true},
		sum:     Summary{Fixes: map[Rule]int{}, Issues: map[Rule]int{}},
		perRule: map[Rule]int{},
	}
	for _, m := range opts.MissingValues {
		h.missing[m] = true
	}
	return h
}

// ColumnsFor builds the column list for a header from a name → kind map;
// unknown names are Text.
func ColumnsFor(header []string, kinds map[string]Kind) []Column {
	cols := make([]Column, len(header))
	for i, name := range header {
		cols[i] = Column{Name: name, Kind: kinds[name]}
	}
	return cols
}

// Summary returns a copy of the counters and examples gathered so far.
func (h *Harmoniser) Summary() Summary {
	s := Summary{
		Rows:          h.sum.Rows,
		Fixes:         make(map[Rule]int, len(h.sum.Fixes)),
		Issues:        make(map[Rule]int, len(h.sum.Issues)),
		Examples:      append([]Fix(nil), h.sum.Examples...),
		IssueExamples: append([]Fix(nil), h.sum.IssueExamples...),
	}
	for k, v := range h.sum.Fixes {
		s.Fixes[k] = v
	}
	for k, v := range h.sum.Issues {
		s.Issues[k] = v
	}
	return s
}

// Apply returns the repaired copy of record (line is its physical line number,
// used in the examples) and records each repair and problem. The input slice is
// not modified.
func (h *Harmoniser) Apply(record []string, line int) []string {
	out := make([]string, len(record))
	copy(out, record)
	h.Repair(out, line)
	return out
}

// Repair is Apply in place: it repairs the values of record itself (for a
// caller that owns the slice and saves the copy).
func (h *Harmoniser) Repair(record []string, line int) {
	h.sum.Rows++
	for i := 0; i < len(record) && i < len(h.cols); i++ {
		record[i] = h.value(h.cols[i], record[i], line)
	}
}

// cell carries one value through its repairs.
type cell struct {
	h     *Harmoniser
	col   Column
	line  int
	value string
}

func (c *cell) fix(rule Rule, to string) {
	if to == c.value {
		return
	}
	c.h.sum.Fixes[rule]++
	if c.h.keepExample(rule) {
		c.h.sum.Examples = append(c.h.sum.Examples, Fix{Line: c.line, Field: c.col.Name, From: c.value, To: to, Rule: rule})
	}
	c.value = to
}

func (c *cell) issue(rule Rule, format string, args ...any) {
	c.h.sum.Issues[rule]++
	if c.h.keepExample(rule) {
		c.h.sum.IssueExamples = append(c.h.sum.IssueExamples, Fix{Line: c.line, Field: c.col.Name, From: c.value, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
}

func (h *Harmoniser) keepExample(rule Rule) bool {
	if h.opts.MaxExamples < 0 || h.perRule[rule] >= h.opts.MaxExamples {
		return false
	}
	h.perRule[rule]++
	return true
}

func (h *Harmoniser) value(col Column, v string, line int) string {
	c := &cell{h: h, col: col, line: line, value: v}
	c.fix(RuleTrim, trimSpace(v))
	if h.missing[c.value] {
		return c.value
	}
	switch col.Kind {
	case Number:
		c.number()
	case Integer:
		c.integer()
	case Date:
		c.date()
	case Datetime:
		c.datetime()
	case DatePeriod:
		c.period()
	case Boolean:
		c.boolean()
	case SIRET:
		c.siret(14, RuleSIRETFloat, RuleSIRETSpaces, RuleSIRETPad, IssueSIRETLength, IssueSIRETChecksum, ValidSIRET)
	case SIREN:
		c.siret(9, RuleSIRENFloat, RuleSIRENSpaces, RuleSIRENPad, IssueSIRENLength, IssueSIRENChecksum, ValidSIREN)
	case INSEECommune:
		c.insee()
	case Year:
		c.year()
	}
	return c.value
}

// isSpace reports the characters trimmed from values: Unicode White_Space
// (space, tab, NBSP U+00A0, thin space U+2009, narrow NBSP U+202F…) plus the
// zero-width no-break space / BOM U+FEFF and zero-width space U+200B.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\uFEFF' || r == '\u200B'
}

func trimSpace(s string) string {
	if s == "" {
		return s
	}
	// Fast path: ASCII ends that are not spaces.
	if first, last := s[0], s[len(s)-1]; first < utf8.RuneSelf && last < utf8.RuneSelf && first > ' ' && last > ' ' {
		return s
	}
	return strings.TrimFunc(s, isSpace)
}

// Rows is the row-stream interface of the product (tableschema.Rows), repeated
// here so that this package does not import tableschema.
type Rows interface {
	Header() []string
	// Next returns the next record and its 1-based physical line number
	// (header = 1); io.EOF at the end.
	Next() (record []string, line int, err error)
}

// Wrap returns a stream that applies h to every record of rows.
func Wrap(rows Rows, h *Harmoniser) Rows {
	return &wrapped{rows: rows, h: h}
}

type wrapped struct {
	rows Rows
	h    *Harmoniser
}

func (w *wrapped) Header() []string { return w.rows.Header() }

func (w *wrapped) Next() ([]string, int, error) {
	rec, line, err := w.rows.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, line, io.EOF
		}
		return nil, line, fmt.Errorf("harmonise: read line %d: %w", line, err)
	}
	return w.h.Apply(rec, line), line, nil
}
