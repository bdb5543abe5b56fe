package anonymise

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholders written by Redact.
const (
	RedactedEmail = "[courriel]"
	RedactedNIR   = "[NIR]"
	RedactedPhone = "[téléphone]"
)

var (
	reEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// NIR (numéro de sécurité sociale): sex, year, month (01–12, or 20–99 for
	// unknown/special), département (2 digits or 2A/2B), commune, order, and
	// an optional 2-digit key; separators space or dot.
	reNIR = regexp.MustCompile(`(?i)[12][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])[ .]?\d{3}[ .]?\d{3}(?:[ .]?\d{2})?`)
	// French phone numbers: 0X XX XX XX XX or +33 / 0033 (optionally (0)),
	// separators space, dot or dash.
	rePhone = regexp.MustCompile(`(?:(?:\+|00)33[ .\-]?(?:\(0\)[ .\-]?)?|0)[1-9](?:[ .\-]?\d{2}){4}`)
)

// Redact replaces e-mail addresses, NIRs and French phone numbers in free
// text with placeholders. Matches glued to other digits or letters (part of a
// longer number or word) are left alone.
func Redact(s string) string {
	if s == "" {
		return s
	}
	s = reEmail.ReplaceAllString(s, RedactedEmail)
	s = replaceBounded(reNIR, s, RedactedNIR)
	s = replaceBounded(rePhone, s, RedactedPhone)
	return s
}

// Contains reports which kinds of personal data Redact would remove from s.
func Contains(s string) (email, nir, phone bool) {
	return reEmail.MatchString(s), boundedMatch(reNIR, s), boundedMatch(rePhone, s)
}

func replaceBounded(re *regexp.Regexp, s, repl string) string {
	locs := re.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		if !bounded(s, l[0], l[1]) {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(repl)
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func boundedMatch(re *regexp.Regexp, s string) bool {
	for _, l := range re.FindAllStringIndex(s, -1) {
		if bounded(s, l[0], l[1]) {
			return true
		}
	}
	return false
}

// bounded reports whether s[i:j] is not glued to a letter or digit.
func bounded(s string, i, j int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
