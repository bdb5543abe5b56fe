// Package anonymise applies RGPD protections to a tabular stream before
// publication: per field, drop the column, pseudonymise (keyed HMAC-SHA256),
// generalise (date → year, coordinates → rounded or commune centroid, age →
// bracket, postcode → département), mask (keep the last characters) or redact
// free text (e-mails, French phone numbers, NIR).
//
// The fields come from a Config (the flow's activity parameters) or from
// Propose, which suggests personal fields from column names and sample values
// for a steward to confirm. Every run yields a Report per field (how many
// values were changed, how many could not be generalised and were blanked) for
// the dataset release to record. A value that a method cannot handle is never
// published as it was: it is blanked and counted as suppressed.
package anonymise

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Method is an anonymisation method.
type Method string

// Methods.
const (
	Drop           Method = "drop"
	Pseudonymise   Method = "pseudonymise"
	Generalise     Method = "generalise"
	Mask           Method = "mask"
	RedactFreeText Method = "redact_free_text"
)

// What a generalise field holds (Field.As).
const (
	AsDate       = "date"       // YYYY-MM-DD or dd/mm/yyyy → year (To "year", default) or YYYY-MM (To "month")
	AsDatetime   = "datetime"   // → date (To "date", default) or year (To "year")
	AsCoordinate = "coordinate" // one number (latitude or longitude) → rounded to Decimals
	AsGeopoint   = "geopoint"   // "lon, lat" → commune centroid (Config.Centroid) or rounded to Decimals
	AsAge        = "age"        // integer → bracket ("25-34", "<18", "75+")
	AsPostcode   = "postcode"   // postcode or INSEE code → département ("75", "2A", "974")
)

// Field configures the anonymisation of one column.
type Field struct {
	Name   string `json:"field"`
	Method Method `json:"method"`
	// Length is the pseudonym length in characters; default 16 (64 bits in
	// hex, 80 in base32), at most 64 (hex) / 52 (base32).
	Length int `json:"length,omitempty"`
	// Encoding is "hex" (default) or "base32" (lower case, no padding).
	Encoding string `json:"encoding,omitempty"`
	// As tells what a generalised field holds (see the As* constants).
	As string `json:"as,omitempty"`
	// To refines the target of date/datetime generalisation.
	To string `json:"to,omitempty"`
	// Decimals for coordinates; default 2 (about 1 km). Negative is invalid.
	Decimals *int `json:"decimals,omitempty"`
	// Brackets are the lower bounds of age brackets after the first;
	// default 18, 25, 35, 45, 55, 65, 75.
	Brackets []int `json:"brackets,omitempty"`
	// Keep is the number of trailing characters a mask keeps; default 4.
	// Values not longer than Keep are masked entirely.
	Keep *int `json:"keep,omitempty"`
}

// Config lists the fields to anonymise.
type Config struct {
	// Key is the HMAC key for pseudonymise (at least 16 bytes). Pseudonyms
	// are stable for a key: the same value gives the same pseudonym in every
	// dataset and column, so that records stay linkable; rotate the key to
	// break linkage.
	Key    []byte
	Fields []Field
	// Centroid, if set, maps a point to the centroid of its commune for
	// geopoint generalisation.
	Centroid func(lon, lat float64) (clon, clat float64, ok bool)
}

// Report tells what was done to one field.
type Report struct {
	Field  string `json:"field"`
	Method Method `json:"method"`
	// Count is the number of non-empty values changed or removed.
	Count int `json:"count"`
	// Suppressed counts values that could not be generalised (unreadable
	// date, non-numeric age…) and were blanked instead.
	Suppressed int `json:"suppressed,omitempty"`
}

// ErrConfig reports an invalid configuration.
var ErrConfig = errors.New("invalid anonymisation config")

// Anonymiser applies a Config to the records of one header. It is not safe
// for concurrent use.
type Anonymiser struct {
	cfg     Config
	in      []string
	out     []string
	keep    []int      // input indexes kept, in output order
	ops     []*fieldOp // per input index, nil when untouched
	reports []*Report
}

type fieldOp struct {
	f      Field
	report *Report
}

const defaultPseudoLen = 16

// New checks cfg against header and returns an Anonymiser.
func New(header []string, cfg Config) (*Anonymiser, error) {
	a := &Anonymiser{cfg: cfg, in: header, ops: make([]*fieldOp, len(header))}
	seen := map[string]bool{}
	for _, f := range cfg.Fields {
		i := slices.Index(header, f.Name)
		if i < 0 {
			return nil, fmt.Errorf("anonymise: field %q not in header: %w", f.Name, ErrConfig)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("anonymise: field %q configured twice: %w", f.Name, ErrConfig)
		}
		seen[f.Name] = true
		if err := checkField(&f, cfg); err != nil {
			return nil, fmt.Errorf("anonymise: field %q: %w", f.Name, err)
		}
		r := &Report{Field: f.Name, Method: f.Method}
		a.ops[i] = &fieldOp{f: f, report: r}
		a.reports = append(a.reports, r)
	}
	for i, name := range header {
		if op := a.ops[i]; op != nil && op.f.Method == Drop {
			continue
		}
		a.keep = append(a.keep, i)
		a.out = append(a.out, name)
	}
	return a, nil
}

func checkField(f *Field, cfg Config) error {
	switch f.Method {
	case Drop, RedactFreeText:
	case Pseudonymise:
		if len(cfg.Key) < 16 {
			return fmt.Errorf("pseudonymise needs a key of at least 16 bytes: %w", ErrConfig)
		}
		if f.Length == 0 {
			f.Length = defaultPseudoLen
		}
		switch f.Encoding {
		case "", "hex":
			f.Encoding = "hex"
			if f.Length < 8 || f.Length > 64 {
				return fmt.Errorf("hex pseudonym length %d not in 8..64: %w", f.Length, ErrConfig)
			}
		case "base32":
			if f.Length < 8 || f.Length > 52 {
				return fmt.Errorf("base32 pseudonym length %d not in 8..52: %w", f.Length, ErrConfig)
			}
		default:
			return fmt.Errorf("unknown encoding %q (hex, base32): %w", f.Encoding, ErrConfig)
		}
	case Mask:
		if f.Keep == nil {
			k := 4
			f.Keep = &k
		}
		if *f.Keep < 0 {
			return fmt.Errorf("mask keep %d is negative: %w", *f.Keep, ErrConfig)
		}
	case Generalise:
		if f.Decimals == nil {
			d := 2
			f.Decimals = &d
		}
		if *f.Decimals < 0 || *f.Decimals > 6 {
			return fmt.Errorf("decimals %d not in 0..6: %w", *f.Decimals, ErrConfig)
		}
		switch f.As {
		case AsDate:
			if f.To == "" {
				f.To = "year"
			}
			if f.To != "year" && f.To != "month" {
				return fmt.Errorf("date generalises to year or month, not %q: %w", f.To, ErrConfig)
			}
		case AsDatetime:
			if f.To == "" {
				f.To = "date"
			}
			if f.To != "date" && f.To != "year" {
				return fmt.Errorf("datetime generalises to date or year, not %q: %w", f.To, ErrConfig)
			}
		case AsAge:
			if len(f.Brackets) == 0 {
				f.Brackets = []int{18, 25, 35, 45, 55, 65, 75}
			}
			if !slices.IsSorted(f.Brackets) || f.Brackets[0] <= 0 {
				return fmt.Errorf("age brackets must be positive and ascending: %w", ErrConfig)
			}
		case AsCoordinate, AsGeopoint, AsPostcode:
		default:
			return fmt.Errorf("generalise needs as = date, datetime, coordinate, geopoint, age or postcode, not %q: %w", f.As, ErrConfig)
		}
	default:
		return fmt.Errorf("unknown method %q: %w", f.Method, ErrConfig)
	}
	return nil
}

// Header returns the output header (dropped fields removed).
func (a *Anonymiser) Header() []string { return a.out }

// Reports returns one report per configured field, in configuration order.
func (a *Anonymiser) Reports() []Report {
	out := make([]Report, len(a.reports))
	for i, r := range a.reports {
		out[i] = *r
	}
	return out
}

// Apply returns the anonymised copy of record (aligned with the input
// header; missing trailing cells count as empty).
func (a *Anonymiser) Apply(record []string) []string {
	out := make([]string, len(a.keep))
	for o, i := range a.keep {
		v := ""
		if i < len(record) {
			v = record[i]
		}
		if op := a.ops[i]; op != nil {
			v = a.apply(op, v)
		}
		out[o] = v
	}
	for i, op := range a.ops {
		if op != nil && op.f.Method == Drop && i < len(record) && strings.TrimSpace(record[i]) != "" {
			op.report.Count++
		}
	}
	return out
}

func (a *Anonymiser) apply(op *fieldOp, v string) string {
	t := strings.TrimSpace(v)
	if t == "" {
		return v
	}
	var out string
	ok := true
	switch op.f.Method {
	case Pseudonymise:
		out = pseudonym(a.cfg.Key, t, op.f.Encoding, op.f.Length)
	case Mask:
		out = mask(t, *op.f.Keep)
	case RedactFreeText:
		out = Redact(v)
		if out == v {
			return v
		}
	case Generalise:
		out, ok = generalise(op.f, t, a.cfg.Centroid)
	}
	if !ok {
		op.report.Suppressed++
		return ""
	}
	if out != v {
		op.report.Count++
	}
	return out
}

// Pseudonym returns the pseudonym of value under key: HMAC-SHA256, encoded in
// hex or lower-case base32 and truncated to length characters.
func Pseudonym(key []byte, value, encoding string, length int) string {
	return pseudonym(key, strings.TrimSpace(value), encoding, length)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func pseudonym(key []byte, value, encoding string, length int) string {
	m := hmac.New(sha256.New, key)
	_, _ = m.Write([]byte(value))
	sum := m.Sum(nil)
	var s string
	if encoding == "base32" {
		s = strings.ToLower(b32.EncodeToString(sum))
	} else {
		s = hex.EncodeToString(sum)
	}
	if length > 0 && length < len(s) {
		s = s[:length]
	}
	return s
}

// mask replaces all but the last keep runes with '*'; values of keep runes or
// fewer are masked entirely.
func mask(v string, keep int) string {
	r := []rune(v)
	if len(r) <= keep {
		return strings.Repeat("*", len(r))
	}
	for i := 0; i < len(r)-keep; i++ {
		r[i] = '*'
	}
	return string(r)
}

// Rows is the product's row-stream interface (tableschema.Rows), repeated so
// that this package does not import tableschema.
type Rows interface {
	Header() []string
	Next() (record []string, line int, err error)
}

// Wrap returns a stream of anonymised records; its header is a.Header().
func Wrap(rows Rows, a *Anonymiser) Rows { return &wrapped{rows: rows, a: a} }

type wrapped struct {
	rows Rows
	a    *Anonymiser
}

func (w *wrapped) Header() []string { return w.a.Header() }

func (w *wrapped) Next() ([]string, int, error) {
	rec, line, err := w.rows.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, line, io.EOF
		}
		return nil, line, fmt.Errorf("anonymise: read line %d: %w", line, err)
	}
	return w.a.Apply(rec), line, nil
}
