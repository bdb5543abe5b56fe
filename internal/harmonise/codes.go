package harmonise

import (
	"strconv"
	"strings"
)

var trueWords = map[string]bool{"oui": true, "o": true, "vrai": true, "v": true, "yes": true, "y": true, "true": true, "1": true, "x": true}
var falseWords = map[string]bool{"non": true, "n": true, "faux": true, "f": true, "no": true, "false": true, "0": true}

func (c *cell) boolean() {
	v := c.value
	if v == c.h.opts.TrueValue || v == c.h.opts.FalseValue {
		return
	}
	l := strings.ToLower(v)
	switch {
	case trueWords[l]:
		c.fix(RuleBoolean, c.h.opts.TrueValue)
	case falseWords[l]:
		c.fix(RuleBoolean, c.h.opts.FalseValue)
	default:
		c.issue(IssueInvalidBoolean, "not a recognised boolean")
	}
}

// floatDigits turns an integer written in float notation (45032466000000.0,
// 4.5032466E13, 4,5032466E+13) into its digits. ok is false when s is not in
// float notation or is not a non-negative integer below 10^15.
func floatDigits(s string) (string, bool) {
	if !strings.ContainsAny(s, ".,eE") {
		return "", false
	}
	s = strings.Replace(s, ",", ".", 1)
	if !isPlainNumber(s) || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f >= 1e15 || f != float64(int64(f)) {
		return "", false
	}
	return strconv.FormatInt(int64(f), 10), true
}

// siret repairs SIRET (n = 14) and SIREN (n = 9) values: float notation,
// spaces, and lost leading zeros (1 or 2), the latter only when the padded
// value is valid. Checksum failures are reported, never repaired.
func (c *cell) siret(n int, ruleFloat, ruleSpaces, rulePad, issueLen, issueSum Rule, valid func(string) bool) {
	if d, ok := floatDigits(c.value); ok {
		c.fix(ruleFloat, d)
	} else if strings.ContainsFunc(c.value, isSpace) {
		stripped := strings.Map(func(r rune) rune {
			if isSpace(r) {
				return -1
			}
			return r
		}, c.value)
		if allDigits(stripped) {
			c.fix(ruleSpaces, stripped)
		}
	}
	v := c.value
	if !allDigits(v) {
		c.issue(issueLen, "not digits")
		return
	}
	if len(v) < n && len(v) >= n-2 {
		padded := strings.Repeat("0", n-len(v)) + v
		if valid(padded) {
			c.fix(rulePad, padded)
			return
		}
	}
	switch {
	case len(v) != n && n == 14 && len(v) == 9:
		c.issue(issueLen, "9 digits: a SIREN in a SIRET column")
	case len(v) != n && n == 9 && len(v) == 14:
		c.issue(issueLen, "14 digits: a SIRET in a SIREN column")
	case len(v) != n:
		c.issue(issueLen, "%d digits, want %d", len(v), n)
	case !valid(v):
		c.issue(issueSum, "fails the Luhn checksum")
	}
}

// insee repairs INSEE commune codes (COG): 1004 → 01004, 2a004 → 2A004,
// 1004.0 → 01004. The result must match ^([013-9]\d|2[AB1-9])\d{3}$.
func (c *cell) insee() {
	if d, ok := floatDigits(c.value); ok {
		c.fix(RuleINSEEFloat, d)
	}
	if up := strings.ToUpper(c.value); up != c.value && (strings.HasPrefix(up, "2A") || strings.HasPrefix(up, "2B")) {
		c.fix(RuleINSEECase, up)
	}
	if len(c.value) == 4 && allDigits(c.value) && c.value[0] != '0' {
		c.fix(RuleINSEELeadingZero, "0"+c.value)
	}
	if !validINSEECommune(c.value) {
		c.issue(IssueInvalidINSEE, "not a COG commune code")
	}
}

// validINSEECommune reports whether s matches ^([013-9]\d|2[AB1-9])\d{3}$.
func validINSEECommune(s string) bool {
	if len(s) != 5 || !allDigits(s[2:]) {
		return false
	}
	switch {
	case s[0] == '2':
		return s[1] == 'A' || s[1] == 'B' || (s[1] >= '1' && s[1] <= '9')
	case s[0] >= '0' && s[0] <= '9':
		return s[1] >= '0' && s[1] <= '9'
	}
	return false
}
