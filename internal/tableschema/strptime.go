package tableschema

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// strptime is a compiled Python/C strptime pattern ("%d/%m/%Y"). It follows
// Python's rules: numeric directives accept fewer digits than their width
// ("5/3/2017" matches "%d/%m/%Y"), whitespace matches any run of whitespace,
// literals compare case-insensitively, and the whole cell must match.
type strptime struct {
	pattern string
	toks    []ptok
	hasDate bool
	hasTime bool
}

type ptok struct {
	dir byte   // directive letter, 0 for a literal, ' ' for whitespace
	lit string // literal text
}

// strptimeDirectives are those supported: %Y %y %m %d %H %I %M %S %f %p %z %Z %j %b %B %a %A %%.
const strptimeDirectives = "YymdHIMSfpzZjbBaA"

func compileStrptime(p string) (*strptime, error) {
	s := &strptime{pattern: p}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			s.toks = append(s.toks, ptok{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if i+1 >= len(p) {
				return nil, fmt.Errorf("format %q: stray %% at the end", p)
			}
			d := p[i+1]
			i++
			if d == '%' {
				lit.WriteByte('%')
				continue
			}
			if !strings.ContainsRune(strptimeDirectives, rune(d)) {
				return nil, fmt.Errorf("format %q: unsupported directive %%%c", p, d)
			}
			flush()
			s.toks = append(s.toks, ptok{dir: d})
			switch d {
			case 'Y', 'y', 'm', 'd', 'j', 'b', 'B':
				s.hasDate = true
			case 'H', 'I', 'M', 'S', 'f', 'p':
				s.hasTime = true
			}
		case c == ' ' || c == '\t':
			flush()
			for i+1 < len(p) && (p[i+1] == ' ' || p[i+1] == '\t') {
				i++
			}
			s.toks = append(s.toks, ptok{dir: ' '})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return s, nil
}

type ptimeParts struct {
	year, month, day, hour, min, sec, nsec, yday int
	pm, hasPM, hasYear, twelve                   bool
	loc                                          *time.Location
	// failures counts the failed (token, position) attempts; past
	// memoAfter they are remembered in failed, so that a format with many
	// directives cannot make the backtracking exponential.
	failures int
	failed   map[[2]int]struct{}
}

// memoAfter is the number of failed attempts after which match remembers
// them: real formats never get there, "%d%d%d…" on a long cell does.
const memoAfter = 64

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
var dayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// parse returns the time the cell denotes, or false.
func (s *strptime) parse(cell string) (time.Time, bool) {
	p := ptimeParts{month: 1, day: 1, year: 1900}
	if !s.match(cell, 0, &p) {
		return time.Time{}, false
	}
	return p.time()
}

func (p *ptimeParts) time() (time.Time, bool) {
	if p.hasPM {
		if p.hour < 1 || p.hour > 12 {
			return time.Time{}, false
		}
		p.hour %= 12
		if p.pm {
			p.hour += 12
		}
	}
	loc := p.loc
	if loc == nil {
		loc = time.UTC
	}
	if p.yday > 0 {
		t := time.Date(p.year, 1, 1, p.hour, p.min, p.sec, p.nsec, loc).AddDate(0, 0, p.yday-1)
		return t, t.Year() == p.year
	}
	t := time.Date(p.year, time.Month(p.month), p.day, p.hour, p.min, p.sec, p.nsec, loc)
	if t.Day() != p.day || int(t.Month()) != p.month {
		return time.Time{}, false // 31/02
	}
	return t, true
}

// match matches toks[ti:] against the rest of the cell, backtracking over the
// widths of numeric directives like Python's regular expression does. Its
// outcome depends only on (ti, len(rest)), so failures are remembered once
// they become numerous: each pair is then tried at most once, and the time
// is linear in the cell for a given format.
func (s *strptime) match(rest string, ti int, p *ptimeParts) bool {
	at := [2]int{ti, len(rest)}
	if p.failed != nil {
		if _, ok := p.failed[at]; ok {
			return false
		}
	}
	if s.try(rest, ti, p) {
		return true
	}
	if p.failures++; p.failures > memoAfter {
		if p.failed == nil {
			p.failed = map[[2]int]struct{}{}
		}
		p.failed[at] = struct{}{}
	}
	return false
}

func (s *strptime) try(rest string, ti int, p *ptimeParts) bool {
	if ti == len(s.toks) {
		return rest == ""
	}
	t := s.toks[ti]
	switch t.dir {
	case 0:
		if len(rest) < len(t.lit) || !strings.EqualFold(rest[:len(t.lit)], t.lit) {
			return false
		}
		return s.match(rest[len(t.lit):], ti+1, p)
	case ' ':
		n := len(rest) - len(strings.TrimLeftFunc(rest, unicode.IsSpace))
		if n == 0 {
			return false
		}
		return s.match(rest[n:], ti+1, p)
	}
	minW, maxW, lo, hi := 1, 2, 0, 0
	var dst *int
	switch t.dir {
	case 'Y':
		minW, maxW, lo, hi, dst = 4, 4, 0, 9999, &p.year
	case 'y':
		minW, maxW, lo, hi, dst = 2, 2, 0, 99, &p.year
	case 'm':
		lo, hi, dst = 1, 12, &p.month
	case 'd':
		lo, hi, dst = 1, 31, &p.day
	case 'H':
		lo, hi, dst = 0, 23, &p.hour
	case 'I':
		lo, hi, dst = 1, 12, &p.hour
	case 'M':
		lo, hi, dst = 0, 59, &p.min
	case 'S':
		lo, hi, dst = 0, 61, &p.sec
	case 'j':
		maxW, lo, hi, dst = 3, 1, 366, &p.yday
	case 'f':
		for w := min(6, digitsPrefix(rest)); w >= 1; w-- {
			n := atoiDigits(rest[:w])
			for k := w; k < 9; k++ {
				n *= 10
			}
			saved := p.nsec
			p.nsec = n
			if s.match(rest[w:], ti+1, p) {
				return true
			}
			p.nsec = saved
		}
		return false
	case 'p':
		for _, w := range []struct {
			s  string
			pm bool
		}{{"am", false}, {"pm", true}} {
			if len(rest) >= 2 && strings.EqualFold(rest[:2], w.s) {
				p.hasPM, p.pm = true, w.pm
				if s.match(rest[2:], ti+1, p) {
					return true
				}
			}
		}
		return false
	case 'z', 'Z':
		return s.matchZone(rest, ti, p)
	case 'b', 'B', 'a', 'A':
		names := monthNames
		if t.dir == 'a' || t.dir == 'A' {
			names = dayNames
		}
		for i, n := range names {
			for _, cand := range []string{n, n[:3]} {
				if len(rest) >= len(cand) && strings.EqualFold(rest[:len(cand)], cand) {
					saved := p.month
					if t.dir == 'b' || t.dir == 'B' {
						p.month = i + 1
					}
					if s.match(rest[len(cand):], ti+1, p) {
						return true
					}
					p.month = saved
				}
			}
		}
		return false
	}
	for w := min(maxW, digitsPrefix(rest)); w >= minW; w-- {
		n := atoiDigits(rest[:w])
		if n < lo || n > hi {
			continue
		}
		saved := *dst
		if t.dir == 'y' {
			if n < 69 {
				n += 2000
			} else {
				n += 1900
			}
		}
		*dst = n
		if s.match(rest[w:], ti+1, p) {
			return true
		}
		*dst = saved
	}
	return false
}

func (s *strptime) matchZone(rest string, ti int, p *ptimeParts) bool {
	if len(rest) >= 1 && (rest[0] == 'Z' || rest[0] == 'z') {
		p.loc = time.UTC
		return s.match(rest[1:], ti+1, p)
	}
	if strings.HasPrefix(rest, "UTC") || strings.HasPrefix(rest, "GMT") {
		p.loc = time.UTC
		return s.match(rest[3:], ti+1, p)
	}
	if len(rest) < 5 || (rest[0] != '+' && rest[0] != '-') {
		return false
	}
	hh := rest[1:3]
	r := rest[3:]
	if len(r) > 0 && r[0] == ':' {
		r = r[1:]
	}
	if len(r) < 2 || digitsPrefix(hh) != 2 || digitsPrefix(r) < 2 {
		return false
	}
	off := atoiDigits(hh)*3600 + atoiDigits(r[:2])*60
	if rest[0] == '-' {
		off = -off
	}
	p.loc = time.FixedZone("", off)
	return s.match(r[2:], ti+1, p)
}

func digitsPrefix(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// humanPattern renders a strptime pattern the French way for messages: "jj/mm/aaaa".
func humanPattern(p string) string {
	r := strings.NewReplacer("%Y", "aaaa", "%y", "aa", "%m", "mm", "%d", "jj", "%H", "hh", "%I", "hh",
		"%M", "mm", "%S", "ss", "%f", "ffffff", "%z", "±hh:mm", "%Z", "TZ", "%p", "AM/PM", "%j", "jjj",
		"%b", "mois", "%B", "mois", "%a", "jour", "%A", "jour", "%%", "%")
	return r.Replace(p)
}
