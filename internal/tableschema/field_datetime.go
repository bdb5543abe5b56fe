package tableschema

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

func init() {
	Fields["date"] = func() Field { return &DateField{} }
	Fields["time"] = func() Field { return &TimeField{} }
	Fields["datetime"] = func() Field { return &DateTimeField{} }
	Fields["year"] = func() Field { return &YearField{} }
	Fields["yearmonth"] = func() Field { return &YearMonthField{} }
}

var (
	_ Field = (*DateField)(nil)
	_ Field = (*TimeField)(nil)
	_ Field = (*DateTimeField)(nil)
	_ Field = (*YearField)(nil)
	_ Field = (*YearMonthField)(nil)
)

// temporal holds the format of date, time and datetime fields.
type temporal struct {
	mode    string // "default", "any" or "pattern"
	layout  *strptime
	expects string // French description of the expected form
}

func (t *temporal) configure(d *FieldDescriptor, defaultForm string) error {
	t.mode, t.expects = "default", defaultForm
	switch d.Format {
	case "default", "":
	case "any":
		t.mode, t.expects = "any", "une valeur lisible (par exemple "+defaultForm+")"
	default:
		l, err := compileStrptime(d.Format)
		if err != nil {
			return err
		}
		t.mode, t.layout, t.expects = "pattern", l, humanPattern(d.Format)
	}
	return nil
}

func compareTime(a, b any) int { return a.(time.Time).Compare(b.(time.Time)) }

// DateField is a "date" column: ISO YYYY-MM-DD, "any", or a strptime pattern.
type DateField struct {
	baseField
	temporal
}

// Configure implements Field.
func (f *DateField) Configure(d *FieldDescriptor) error {
	if err := f.temporal.configure(d, "aaaa-mm-jj"); err != nil {
		return err
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *DateField) Cast(cell string) (any, error) {
	var t time.Time
	ok := false
	switch f.mode {
	case "default":
		t, ok = parseISODate(cell)
	case "any":
		t, ok = parseAnyDate(cell)
		if ok {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
	default:
		t, ok = f.layout.parse(cell)
		if ok {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
	}
	if ok {
		return t, nil
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas une date valide : la forme attendue est %s", short(cell), f.expects)
}

func (f *DateField) compare(a, b any) int { return compareTime(a, b) }

// checkText implements textChecker.
func (f *DateField) checkText(cell string) (*ConstraintViolation, error) {
	if f.mode == "default" && f.enum == nil && !f.hasBounds() && validISODate(cell) {
		return f.checkCommon(nil, cell, f), nil
	}
	var t time.Time
	ok := false
	if f.mode == "default" {
		t, ok = parseISODate(cell)
	}
	if !ok || f.enum != nil {
		v, err := f.Cast(cell)
		if err != nil {
			return nil, err
		}
		return f.CheckValue(v, cell), nil
	}
	if cv := f.checkCommon(nil, cell, f); cv != nil {
		return cv, nil
	}
	if f.hasBounds() {
		return f.checkBounds(func(bound any) int { return t.Compare(bound.(time.Time)) }, cell), nil
	}
	return nil, nil
}

// CheckValue implements Field.
func (f *DateField) CheckValue(v any, cell string) *ConstraintViolation { return f.check(v, cell, f) }

// SQLType implements Field.
func (f *DateField) SQLType() string { return "DATE" }

// TimeField is a "time" column: ISO hh:mm:ss, "any", or a strptime pattern.
type TimeField struct {
	baseField
	temporal
}

// Configure implements Field.
func (f *TimeField) Configure(d *FieldDescriptor) error {
	if err := f.temporal.configure(d, "hh:mm:ss"); err != nil {
		return err
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *TimeField) Cast(cell string) (any, error) {
	var t time.Time
	ok := false
	switch f.mode {
	case "default":
		t, ok = parseISOTime(cell)
	case "any":
		t, ok = parseISOTime(cell)
		if !ok {
			t, ok = parseAnyTime(cell)
		}
	default:
		t, ok = f.layout.parse(cell)
		if ok {
			t = time.Date(0, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
		}
	}
	if ok {
		return t, nil
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas une heure valide : la forme attendue est %s", short(cell), f.expects)
}

func (f *TimeField) compare(a, b any) int { return compareTime(a, b) }

// CheckValue implements Field.
func (f *TimeField) CheckValue(v any, cell string) *ConstraintViolation { return f.check(v, cell, f) }

// SQLType implements Field.
func (f *TimeField) SQLType() string { return "TIME" }

// DateTimeField is a "datetime" column: ISO 8601, "any", or a strptime pattern.
type DateTimeField struct {
	baseField
	temporal
}

// Configure implements Field.
func (f *DateTimeField) Configure(d *FieldDescriptor) error {
	if err := f.temporal.configure(d, "aaaa-mm-jjThh:mm:ss[+hh:mm]"); err != nil {
		return err
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *DateTimeField) Cast(cell string) (any, error) {
	var t time.Time
	ok := false
	switch f.mode {
	case "default":
		t, ok = parseISODateTime(cell)
	case "any":
		t, ok = parseISODateTime(cell)
		if !ok {
			t, ok = parseAnyDate(cell)
		}
	default:
		t, ok = f.layout.parse(cell)
	}
	if ok {
		return t, nil
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas une date et heure valide : la forme attendue est %s", short(cell), f.expects)
}

func (f *DateTimeField) compare(a, b any) int { return compareTime(a, b) }

// CheckValue implements Field.
func (f *DateTimeField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

// SQLType implements Field.
func (f *DateTimeField) SQLType() string { return "TIMESTAMP" }

// parseISODate parses YYYY-MM-DD, accepting like Python's strptime("%Y-%m-%d")
// one-digit months and days.
// validISODate reports whether s is a valid YYYY-MM-DD date (the fast form
// of parseISODate), without building a time.Time.
func validISODate(s string) bool {
	if !(len(s) == 10 && s[4] == '-' && s[7] == '-' && digitsPrefix(s[:4]) == 4 && digitsPrefix(s[5:7]) == 2 && digitsPrefix(s[8:]) == 2) {
		return false
	}
	y, m, d := atoiDigits(s[:4]), atoiDigits(s[5:7]), atoiDigits(s[8:])
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

func parseISODate(s string) (time.Time, bool) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' && digitsPrefix(s[:4]) == 4 && digitsPrefix(s[5:7]) == 2 && digitsPrefix(s[8:]) == 2 {
		p := ptimeParts{year: atoiDigits(s[:4]), month: atoiDigits(s[5:7]), day: atoiDigits(s[8:])}
		if p.month < 1 || p.month > 12 || p.day < 1 || p.day > 31 {
			return time.Time{}, false
		}
		return p.time()
	}
	if len(s) < 8 || len(s) > 10 {
		return time.Time{}, false
	}
	return isoDateLayout.parse(s)
}

var (
	isoDateLayout, _ = compileStrptime("%Y-%m-%d")
	anyDateLayouts   []*strptime
	anyTimeLayouts   []*strptime
)

func init() {
	for _, p := range []string{"%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d", "%d/%m/%y",
		"%d %B %Y", "%B %d, %Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M"} {
		l, _ := compileStrptime(p)
		anyDateLayouts = append(anyDateLayouts, l)
	}
	for _, p := range []string{"%H:%M", "%Hh%M", "%Hh", "%I:%M %p", "%I:%M:%S %p", "%H:%M:%S"} {
		l, _ := compileStrptime(p)
		anyTimeLayouts = append(anyTimeLayouts, l)
	}
}

// parseAnyDate reads the forms found in French files, day first.
func parseAnyDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, ok := parseISODateTime(s); ok {
		return t, true
	}
	for _, l := range anyDateLayouts {
		if t, ok := l.parse(s); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseAnyTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range anyTimeLayouts {
		if t, ok := l.parse(s); ok {
			return time.Date(0, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location()), true
		}
	}
	return time.Time{}, false
}

// parseISODateTime parses YYYY-MM-DD[(T| )hh:mm[:ss[.f]]][Z|±hh[:mm]] like dateutil's isoparse.
func parseISODateTime(s string) (time.Time, bool) {
	if len(s) < 10 {
		return time.Time{}, false
	}
	d, ok := parseISODate(s[:10])
	if !ok {
		return time.Time{}, false
	}
	if len(s) == 10 {
		return d, true
	}
	if s[10] != 'T' && s[10] != ' ' && s[10] != 't' {
		return time.Time{}, false
	}
	tm, ok := parseISOTime(s[11:])
	if !ok {
		return time.Time{}, false
	}
	return time.Date(d.Year(), d.Month(), d.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), tm.Location()), true
}

// parseISOTime parses hh:mm[:ss[.f]][Z|±hh[:mm]].
func parseISOTime(s string) (time.Time, bool) {
	if len(s) < 5 || digitsPrefix(s) != 2 || s[2] != ':' || digitsPrefix(s[3:]) < 2 {
		return time.Time{}, false
	}
	h, m, sec, ns := atoiDigits(s[:2]), atoiDigits(s[3:5]), 0, 0
	r := s[5:]
	if len(r) >= 3 && r[0] == ':' && digitsPrefix(r[1:]) >= 2 {
		sec = atoiDigits(r[1:3])
		r = r[3:]
		if len(r) > 1 && (r[0] == '.' || r[0] == ',') {
			n := digitsPrefix(r[1:])
			if n == 0 {
				return time.Time{}, false
			}
			frac := r[1 : 1+min(n, 9)]
			ns = atoiDigits(frac)
			for k := len(frac); k < 9; k++ {
				ns *= 10
			}
			r = r[1+n:]
		}
	}
	if h > 24 || m > 59 || sec > 60 || (h == 24 && (m > 0 || sec > 0)) {
		return time.Time{}, false
	}
	loc := time.UTC
	switch {
	case r == "":
	case r == "Z" || r == "z":
	case r[0] == '+' || r[0] == '-':
		z := r[1:]
		if len(z) != 2 && len(z) != 4 && len(z) != 5 {
			return time.Time{}, false
		}
		if digitsPrefix(z) < 2 {
			return time.Time{}, false
		}
		off := atoiDigits(z[:2]) * 3600
		z = strings.TrimPrefix(z[2:], ":")
		if z != "" {
			if len(z) != 2 || digitsPrefix(z) != 2 {
				return time.Time{}, false
			}
			off += atoiDigits(z) * 60
		}
		if r[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return time.Time{}, false
	}
	if h == 24 {
		h = 0
	}
	return time.Date(0, 1, 1, h, m, sec, ns, loc), true
}

// YearField is a "year" column (four digits).
type YearField struct{ baseField }

// Configure implements Field.
func (f *YearField) Configure(d *FieldDescriptor) error { return f.setup(d, f) }

// Cast implements Field.
func (f *YearField) Cast(cell string) (any, error) {
	if len(cell) == 4 && digitsPrefix(cell) == 4 {
		return int64(atoiDigits(cell)), nil
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas une année valide : la forme attendue est aaaa", short(cell))
}

func (f *YearField) fromNumber(x float64) (any, bool) { return int64(x), x == float64(int64(x)) }
func (f *YearField) compare(a, b any) int             { return cmp.Compare(a.(int64), b.(int64)) }

// CheckValue implements Field.
func (f *YearField) CheckValue(v any, cell string) *ConstraintViolation { return f.check(v, cell, f) }

// SQLType implements Field.
func (f *YearField) SQLType() string { return "INTEGER" }

// YearMonth is the logical value of a yearmonth cell.
type YearMonth struct{ Year, Month int }

func (y YearMonth) String() string { return fmt.Sprintf("%04d-%02d", y.Year, y.Month) }

// YearMonthField is a "yearmonth" column (YYYY-MM).
type YearMonthField struct{ baseField }

// Configure implements Field.
func (f *YearMonthField) Configure(d *FieldDescriptor) error { return f.setup(d, f) }

// Cast implements Field.
func (f *YearMonthField) Cast(cell string) (any, error) {
	if len(cell) == 7 && cell[4] == '-' && digitsPrefix(cell) == 4 && digitsPrefix(cell[5:]) == 2 {
		m := atoiDigits(cell[5:])
		if m >= 1 && m <= 12 {
			return YearMonth{atoiDigits(cell[:4]), m}, nil
		}
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas une année-mois valide : la forme attendue est aaaa-mm", short(cell))
}

func (f *YearMonthField) compare(a, b any) int {
	x, y := a.(YearMonth), b.(YearMonth)
	if c := cmp.Compare(x.Year, y.Year); c != 0 {
		return c
	}
	return cmp.Compare(x.Month, y.Month)
}

// CheckValue implements Field.
func (f *YearMonthField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

// SQLType implements Field.
func (f *YearMonthField) SQLType() string { return "TEXT" }
