package tableschema

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Error and warning types of a Report (frictionless and Validata codes).
const (
	TypeTypeError        = "type-error"
	TypeConstraintError  = "constraint-error"
	TypeMissingCell      = "missing-cell"
	TypeExtraCell        = "extra-cell"
	TypeBlankRow         = "blank-row"
	TypeDuplicateRow     = "duplicate-row"
	TypeUniqueError      = "unique-error"
	TypePrimaryKey       = "primary-key"
	TypeForeignKey       = "foreign-key"
	TypeBlankLabel       = "blank-label"
	TypeDuplicateLabel   = "duplicate-label"
	TypeMissingRequired  = "missing-required-header"
	TypeMissingHeader    = "missing-header-warn"
	TypeExtraHeader      = "extra-header-warn"
	TypeDisorderedHeader = "disordered-header-warn"
	TypeSourceError      = "source-error"
	TypeTableDimensions  = "table-dimensions"
	TypeEncodingWarn     = "encoding-warn"
	TypeSchemaWarning    = "schema-warning"
	TypeCheckUnsupported = "check-not-supported"
	TypeCheckLimit       = "check-limit-warn"
)

// Report is the result of a validation. Its JSON form is the external
// contract of POST /api/v1/validate.
type Report struct {
	Valid     bool       `json:"valid"`
	Encoding  string     `json:"encoding"`
	Delimiter string     `json:"delimiter"`
	BOM       bool       `json:"bom,omitempty"`
	Schema    SchemaInfo `json:"schema"`
	Header    []string   `json:"header,omitempty"`
	Stats     Stats      `json:"stats"`
	Errors    []Issue    `json:"errors"`
	Warnings  []Issue    `json:"warnings"`
	// Truncated is set when more errors (or warnings) were found than
	// Options.MaxErrors: the counts in Stats stay exact.
	Truncated bool `json:"truncated"`
}

// SchemaInfo names the schema a report was made against.
type SchemaInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Stats counts rows and issues.
type Stats struct {
	Rows         int64            `json:"rows"`
	ValidRows    int64            `json:"validRows"`
	Errors       int64            `json:"errors"`
	Warnings     int64            `json:"warnings"`
	ErrorsByType map[string]int64 `json:"errorsByType,omitempty"`
}

// Issue is one error or warning. Row is the physical line of the record in
// the file (header = 1), 0 for header- or table-level issues.
type Issue struct {
	Type       string `json:"type"`
	Row        int    `json:"row"`
	Field      string `json:"field"`
	Column     int    `json:"column,omitempty"` // 1-based column in the file, 0 when none
	Value      string `json:"value"`
	Message    string `json:"message"`
	Constraint string `json:"constraint,omitempty"`
}

const maxValueBytes = 500

// clip bounds a value copied into a report.
func clip(s string) string {
	if len(s) <= maxValueBytes {
		return s
	}
	cut := maxValueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// collector accumulates issues with the MaxErrors cap.
type collector struct {
	r   *Report
	max int
}

func (c *collector) addError(is Issue) {
	c.r.Stats.Errors++
	c.r.Stats.ErrorsByType[is.Type]++
	if len(c.r.Errors) >= c.max {
		c.r.Truncated = true
		return
	}
	is.Value, is.Message = strings.Clone(clip(is.Value)), strings.Clone(is.Message) // may point into a recycled batch
	c.r.Errors = append(c.r.Errors, is)
}

func (c *collector) addWarning(is Issue) {
	c.r.Stats.Warnings++
	if len(c.r.Warnings) >= c.max {
		c.r.Truncated = true
		return
	}
	is.Value, is.Message = strings.Clone(clip(is.Value)), strings.Clone(is.Message)
	c.r.Warnings = append(c.r.Warnings, is)
}

func (c *collector) finish() {
	slices.SortStableFunc(c.r.Errors, func(a, b Issue) int { return cmp.Compare(a.Row, b.Row) })
	c.r.Valid = c.r.Stats.Errors == 0
	if len(c.r.Stats.ErrorsByType) == 0 {
		c.r.Stats.ErrorsByType = nil
	}
}
