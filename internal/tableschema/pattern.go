package tableschema

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// compilePattern compiles a pattern constraint anchored like frictionless
// (`^(?:pattern)$`), after translating the XML-Schema/Python escapes that Go's
// RE2 syntax spells differently (\uXXXX, \Z). The pattern must parse on its
// own: otherwise ")|(" would pass, wrapped as "^(?:)|()$", and match
// every cell.
func compilePattern(p string) (*regexp.Regexp, error) {
	t := translatePattern(p)
	if _, err := syntax.Parse(t, syntax.Perl); err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	re, err := regexp.Compile("^(?:" + t + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	return re, nil
}

func translatePattern(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '\\' || i+1 >= len(p) {
			b.WriteByte(c)
			continue
		}
		n := p[i+1]
		switch {
		case n == 'u' && i+5 < len(p) && isHex(p[i+2:i+6]):
			b.WriteString(`\x{` + p[i+2:i+6] + `}`)
			i += 5
		case n == 'Z':
			b.WriteString(`\z`)
			i++
		default:
			b.WriteByte(c)
			b.WriteByte(n)
			i++
		}
	}
	return b.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
