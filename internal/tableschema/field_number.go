package tableschema

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

func init() {
	Fields["number"] = func() Field { return &NumberField{} }
	Fields["integer"] = func() Field { return &IntegerField{} }
}

var (
	_ Field = (*NumberField)(nil)
	_ Field = (*IntegerField)(nil)
)

// numberSyntax holds the settings shared by number and integer.
type numberSyntax struct {
	decimalChar string
	groupChar   string
	bareNumber  bool
}

func (n *numberSyntax) configure(d *FieldDescriptor, allowDecimal bool) error {
	n.decimalChar, n.groupChar, n.bareNumber = ".", "", true
	if raw, ok := d.Extra["decimalChar"]; ok && allowDecimal {
		if err := json.Unmarshal(raw, &n.decimalChar); err != nil || n.decimalChar == "" {
			return fmt.Errorf("decimalChar: want a non-empty string")
		}
	}
	if raw, ok := d.Extra["groupChar"]; ok {
		if err := json.Unmarshal(raw, &n.groupChar); err != nil {
			return fmt.Errorf("groupChar: want a string")
		}
	}
	if raw, ok := d.Extra["bareNumber"]; ok {
		b, err := looseBool(raw)
		if err != nil {
			return fmt.Errorf("bareNumber: %w", err)
		}
		n.bareNumber = b
	}
	return nil
}

// normalize applies groupChar, decimalChar and bareNumber to a cell.
func (n *numberSyntax) normalize(cell string) string {
	s := cell
	if !n.bareNumber {
		s = strings.TrimFunc(s, func(r rune) bool {
			return !(r >= '0' && r <= '9') && r != '-' && r != '+' && r != '.' && r != ','
		})
		// keep a leading sign only if it is followed by a digit
	}
	if n.groupChar != "" && strings.Contains(s, n.groupChar) {
		s = strings.ReplaceAll(s, n.groupChar, "")
	}
	if n.decimalChar != "." && strings.Contains(s, n.decimalChar) {
		s = strings.Replace(s, n.decimalChar, ".", 1)
	}
	return s
}

// NumberField is a "number" column: decimals with decimalChar, groupChar,
// bareNumber, exponents, NaN and INF.
type NumberField struct {
	baseField
	numberSyntax
}

// Configure implements Field.
func (f *NumberField) Configure(d *FieldDescriptor) error {
	if err := f.numberSyntax.configure(d, true); err != nil {
		return err
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *NumberField) Cast(cell string) (any, error) {
	s := cell
	if f.groupChar != "" || f.decimalChar != "." || !f.bareNumber {
		s = f.normalize(cell)
	}
	if v, ok := parseDecimal(s); ok {
		return v, nil
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas un nombre décimal valide%s", short(cell), f.hint(cell))
}

// checkText implements textChecker.
func (f *NumberField) checkText(cell string) (*ConstraintViolation, error) {
	s := cell
	if f.groupChar != "" || f.decimalChar != "." || !f.bareNumber {
		s = f.normalize(cell)
	}
	if f.enum == nil && !f.hasBounds() {
		// Only the syntax matters: no need for the value.
		if !decimalSyntax(s) {
			return nil, fmt.Errorf("La valeur « %s » n'est pas un nombre décimal valide%s", short(cell), f.hint(cell))
		}
		return f.checkCommon(nil, cell, f), nil
	}
	x, ok := parseDecimal(s)
	if !ok {
		return nil, fmt.Errorf("La valeur « %s » n'est pas un nombre décimal valide%s", short(cell), f.hint(cell))
	}
	var v any
	if f.enum != nil {
		v = x
	}
	if cv := f.checkCommon(v, cell, f); cv != nil {
		return cv, nil
	}
	if f.hasBounds() {
		return f.checkBounds(func(bound any) int { return cmp.Compare(x, bound.(float64)) }, cell), nil
	}
	return nil, nil
}

func (f *NumberField) hint(cell string) string {
	switch {
	case f.decimalChar == "." && strings.Contains(cell, ","):
		return " : utilisez le point comme séparateur décimal (exemple : 1234.56)"
	case f.groupChar == "" && strings.ContainsAny(cell, " \u00a0\u202f"):
		return " : les séparateurs de milliers ne sont pas autorisés (exemple : 1234.56)"
	case f.bareNumber && strings.ContainsAny(cell, "€%$"):
		return " : le nombre ne doit pas contenir d'unité ni de symbole"
	}
	return ""
}

func (f *NumberField) fromNumber(x float64) (any, bool) { return x, true }

func (f *NumberField) compare(a, b any) int { return cmp.Compare(a.(float64), b.(float64)) }

// CheckValue implements Field.
func (f *NumberField) CheckValue(v any, cell string) *ConstraintViolation { return f.check(v, cell, f) }

// SQLType implements Field.
func (f *NumberField) SQLType() string { return "NUMERIC" }

// decimalSyntax reports whether parseDecimal accepts s, without computing the value.
func decimalSyntax(s string) bool {
	if _, _, ok := simpleDecimal(s); ok {
		return true
	}
	_, ok := parseDecimal(s)
	return ok
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// simpleDecimal reads the common form [-+]digits[.digits] with at most 15
// digits as mantissa and fraction digits: the value is then exactly
// mantissa / 10^frac, correctly rounded like strconv.ParseFloat.
func simpleDecimal(s string) (float64, int, bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		i++
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, 0, false
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, frac, true
}

// parseDecimal parses the syntax Python's Decimal accepts (digits, one dot,
// exponent, NaN, Infinity), without Go's hexadecimal or underscore forms.
func parseDecimal(s string) (float64, bool) {
	if v, _, ok := simpleDecimal(s); ok {
		return v, true
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if digits == 0 {
		switch strings.ToLower(strings.TrimLeft(s, "+-")) {
		case "nan":
			return math.NaN(), true
		case "inf", "infinity":
			if s[0] == '-' {
				return math.Inf(-1), true
			}
			return math.Inf(1), true
		}
		return 0, false
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return 0, false
		}
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 || i != len(s) {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return v, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// IntegerField is an "integer" column, with groupChar and bareNumber.
type IntegerField struct {
	baseField
	numberSyntax
}

// Configure implements Field.
func (f *IntegerField) Configure(d *FieldDescriptor) error {
	if err := f.numberSyntax.configure(d, false); err != nil {
		return err
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *IntegerField) Cast(cell string) (any, error) {
	s := cell
	if f.groupChar != "" || !f.bareNumber {
		s = f.normalize(cell)
	}
	s = strings.TrimSpace(s)
	if isInteger(s) {
		v, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return v, nil
		}
		return nil, fmt.Errorf("La valeur « %s » est un nombre entier hors des limites acceptées", short(cell))
	}
	hint := ""
	if _, ok := parseDecimal(s); ok {
		hint = " : un nombre sans partie décimale est attendu"
	} else if strings.ContainsAny(s, " \u00a0\u202f") {
		hint = " : les séparateurs de milliers ne sont pas autorisés"
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas un nombre entier valide%s", short(cell), hint)
}

// checkText implements textChecker.
func (f *IntegerField) checkText(cell string) (*ConstraintViolation, error) {
	if f.groupChar == "" && f.bareNumber && f.enum == nil && isInteger(cell) && len(cell) < 19 {
		if !f.hasBounds() {
			return f.checkCommon(nil, cell, f), nil
		}
		x, _ := strconv.ParseInt(cell, 10, 64)
		if cv := f.checkCommon(nil, cell, f); cv != nil {
			return cv, nil
		}
		return f.checkBounds(func(bound any) int { return cmp.Compare(x, bound.(int64)) }, cell), nil
	}
	v, err := f.Cast(cell)
	if err != nil {
		return nil, err
	}
	return f.CheckValue(v, cell), nil
}

func isInteger(s string) bool {
	i := 0
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		i++
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (f *IntegerField) fromNumber(x float64) (any, bool) {
	if x != math.Trunc(x) || math.Abs(x) > 1<<62 {
		return nil, false
	}
	return int64(x), true
}

func (f *IntegerField) compare(a, b any) int { return cmp.Compare(a.(int64), b.(int64)) }

// CheckValue implements Field.
func (f *IntegerField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

// SQLType implements Field.
func (f *IntegerField) SQLType() string { return "BIGINT" }
