package harmonise

import (
	"strings"
)

// groupSpace reports the characters accepted as thousands separators between
// digit groups: space, NBSP U+00A0, narrow NBSP U+202F, thin space U+2009.
func groupSpace(r rune) bool {
	return r == ' ' || r == '\u00A0' || r == '\u202F' || r == '\u2009'
}

// normaliseNumber rewrites a French or English formatted number into the Table
// Schema form (digits, optional '.', optional exponent). It returns the result,
// whether a decimal comma and whether a grouping separator were removed, and ok
// = false when s is not a number or is ambiguous beyond repair.
func normaliseNumber(s string) (out string, comma, grouped, ok bool) {
	if isPlainNumber(s) {
		return s, false, false, true
	}
	// Remove space-like grouping: only between digits, groups of 3 after it.
	if strings.ContainsFunc(s, groupSpace) {
		var b strings.Builder
		rs := []rune(s)
		for i, r := range rs {
			if groupSpace(r) {
				if i == 0 || i+1 >= len(rs) || !isDigit(rs[i-1]) || !isDigit(rs[i+1]) || !threeDigitsThenEnd(rs[i+1:]) {
					return s, false, false, false
				}
				grouped = true
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	sign := ""
	if s != "" && (s[0] == '-' || s[0] == '+') {
		sign, s = s[:1], s[1:]
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i:]
	}
	nc, nd := strings.Count(mant, ","), strings.Count(mant, ".")
	lc, ld := strings.LastIndexByte(mant, ','), strings.LastIndexByte(mant, '.')
	switch {
	case nc == 0 && nd <= 1:
		// nothing to do
	case nc == 1 && nd == 0:
		mant = strings.Replace(mant, ",", ".", 1)
		comma = true
	case nc == 0 && nd > 1: // 1.234.567
		if !groupsOfThree(mant, '.') {
			return s, false, false, false
		}
		mant = strings.ReplaceAll(mant, ".", "")
		grouped = true
	case nd == 0 && nc > 1: // 1,234,567
		if !groupsOfThree(mant, ',') {
			return s, false, false, false
		}
		mant = strings.ReplaceAll(mant, ",", "")
		grouped = true
	case lc > ld && nc == 1: // 1.234.567,89
		if !groupsOfThree(mant[:lc], '.') {
			return s, false, false, false
		}
		mant = strings.ReplaceAll(mant[:lc], ".", "") + "." + mant[lc+1:]
		grouped, comma = true, true
	case ld > lc && nd == 1: // 1,234,567.89
		if !groupsOfThree(mant[:ld], ',') {
			return s, false, false, false
		}
		mant = strings.ReplaceAll(mant[:ld], ",", "") + mant[ld:]
		grouped = true
	default:
		return s, false, false, false
	}
	out = sign + mant + exp
	if !isPlainNumber(out) {
		return s, false, false, false
	}
	return out, comma, grouped, true
}

// threeDigitsThenEnd reports whether rs starts with exactly three digits
// followed by the end, a separator or a decimal mark.
func threeDigitsThenEnd(rs []rune) bool {
	if len(rs) < 3 || !isDigit(rs[0]) || !isDigit(rs[1]) || !isDigit(rs[2]) {
		return false
	}
	return len(rs) == 3 || !isDigit(rs[3])
}

// groupsOfThree reports whether s (digits and sep only) is 1–3 digits followed
// by groups of exactly 3 digits, each introduced by sep.
func groupsOfThree(s string, sep byte) bool {
	parts := strings.Split(s, string(sep))
	if len(parts[0]) == 0 || len(parts[0]) > 3 || !allDigits(parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 || !allDigits(p) {
			return false
		}
	}
	return true
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isPlainNumber reports whether s matches the Table Schema number lexical form
// [+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?, or NaN/INF/-INF.
func isPlainNumber(s string) bool {
	switch s {
	case "NaN", "INF", "-INF":
		return true
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ed := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			ed++
		}
		if ed == 0 {
			return false
		}
	}
	return i == len(s)
}

func (c *cell) number() {
	out, comma, grouped, ok := normaliseNumber(c.value)
	if !ok {
		c.issue(IssueInvalidNumber, "not a number")
		return
	}
	c.numberFixes(out, comma, grouped)
}

// groupRemover drops every grouping character, for the intermediate example of
// a value that had both grouping and a decimal comma.
var groupRemover = strings.NewReplacer(" ", "", "\u00A0", "", "\u202F", "", "\u2009", "", ".", "")

func (c *cell) numberFixes(out string, comma, grouped bool) {
	switch {
	case grouped && comma:
		// Record the repair once per rule, the second with the final value.
		mid := groupRemover.Replace(c.value)
		c.fix(RuleThousands, mid)
		c.fix(RuleDecimalComma, out)
	case grouped:
		c.fix(RuleThousands, out)
	case comma:
		c.fix(RuleDecimalComma, out)
	}
}

func (c *cell) integer() {
	out, comma, grouped, ok := normaliseNumber(c.value)
	if !ok || strings.ContainsAny(out, "eE") || out == "NaN" || out == "INF" || out == "-INF" {
		c.issue(IssueInvalidInteger, "not an integer")
		return
	}
	intPart, frac, hasFrac := strings.Cut(out, ".")
	if hasFrac && strings.Trim(frac, "0") != "" {
		c.issue(IssueInvalidInteger, "has a non-zero fractional part")
		return
	}
	if intPart == "" || intPart == "-" || intPart == "+" {
		c.issue(IssueInvalidInteger, "not an integer")
		return
	}
	c.numberFixes(out, comma, grouped)
	if hasFrac {
		c.fix(RuleIntegerFraction, intPart)
	}
}
