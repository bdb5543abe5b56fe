package tableschema

import (
	"regexp/syntax"
	"unicode/utf8"
)

// fastPattern matches the simple patterns schemas use most (`\d{14}`,
// `W\d{9}`, dates, `([013-9]\d|2[AB1-9])\d{3}`) without the regexp engine:
// byte classes with repetition, alternation, optional groups. Patterns with
// anything else (non-ASCII classes, case folding, repeated groups…) keep
// using regexp; TestFastPatternMatchesRegexp checks both agree.
type fastPattern struct{ seq []fnode }

type fkind uint8

const (
	fRep fkind = iota
	fAlt
	fBegin
	fEnd
)

type fnode struct {
	kind     fkind
	cls      *[256]bool
	min, max int // max < 0: unbounded
	alts     [][]fnode
}

// compileFast returns nil when the pattern is not simple enough.
func compileFast(pattern string) *fastPattern {
	re, err := syntax.Parse("^(?:"+translatePattern(pattern)+")$", syntax.Perl)
	if err != nil {
		return nil
	}
	seq, ok := flatten(re)
	if !ok {
		return nil
	}
	budget := maxExpandedNodes
	if seq, ok = expandAlts(seq, &budget); !ok {
		return nil
	}
	return &fastPattern{seq: seq}
}

// maxExpandedNodes bounds expandAlts: past it the pattern keeps using regexp.
const maxExpandedNodes = 512

// expandAlts rewrites seq so that an alternation is always its last node:
// what follows an alternation is copied at the end of each alternative. The
// matcher then needs no continuation stack (which cost an allocation per
// match). budget bounds the copies (sequences of optional groups multiply).
func expandAlts(seq []fnode, budget *int) ([]fnode, bool) {
	if *budget -= len(seq); *budget < 0 {
		return nil, false
	}
	for p, n := range seq {
		if n.kind != fAlt {
			continue
		}
		out := append([]fnode(nil), seq[:p]...)
		alt := fnode{kind: fAlt}
		for _, a := range n.alts {
			cont := append(append([]fnode(nil), a...), seq[p+1:]...)
			e, ok := expandAlts(cont, budget)
			if !ok {
				return nil, false
			}
			alt.alts = append(alt.alts, e)
		}
		return append(out, alt), true
	}
	return seq, true
}

func flatten(re *syntax.Regexp) ([]fnode, bool) {
	switch re.Op {
	case syntax.OpConcat:
		var out []fnode
		for _, sub := range re.Sub {
			s, ok := flatten(sub)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	case syntax.OpCapture:
		return flatten(re.Sub[0])
	case syntax.OpEmptyMatch:
		return nil, true
	case syntax.OpBeginText:
		return []fnode{{kind: fBegin}}, true
	case syntax.OpEndText:
		return []fnode{{kind: fEnd}}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		var out []fnode
		var buf [utf8.UTFMax]byte
		for _, r := range re.Rune {
			n := utf8.EncodeRune(buf[:], r)
			for _, b := range buf[:n] {
				cls := new([256]bool)
				cls[b] = true
				out = append(out, fnode{kind: fRep, cls: cls, min: 1, max: 1})
			}
		}
		return out, true
	case syntax.OpCharClass:
		cls, ok := asciiClass(re)
		if !ok {
			return nil, false
		}
		return []fnode{{kind: fRep, cls: cls, min: 1, max: 1}}, true
	case syntax.OpRepeat, syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		min, max := re.Min, re.Max
		switch re.Op {
		case syntax.OpStar:
			min, max = 0, -1
		case syntax.OpPlus:
			min, max = 1, -1
		case syntax.OpQuest:
			min, max = 0, 1
		}
		sub := re.Sub[0]
		if sub.Op == syntax.OpCharClass || sub.Op == syntax.OpLiteral && len(sub.Rune) == 1 && sub.Rune[0] < utf8.RuneSelf && sub.Flags&syntax.FoldCase == 0 {
			s, ok := flatten(sub)
			if !ok || len(s) != 1 {
				return nil, false
			}
			s[0].min, s[0].max = min, max
			return s, true
		}
		if re.Op == syntax.OpQuest { // optional group: alternation with empty
			s, ok := flatten(sub)
			if !ok {
				return nil, false
			}
			return []fnode{{kind: fAlt, alts: [][]fnode{s, nil}}}, true
		}
		return nil, false
	case syntax.OpAlternate:
		n := fnode{kind: fAlt}
		for _, sub := range re.Sub {
			s, ok := flatten(sub)
			if !ok {
				return nil, false
			}
			n.alts = append(n.alts, s)
		}
		return []fnode{n}, true
	}
	return nil, false
}

func asciiClass(re *syntax.Regexp) (*[256]bool, bool) {
	cls := new([256]bool)
	for i := 0; i+1 < len(re.Rune); i += 2 {
		lo, hi := re.Rune[i], re.Rune[i+1]
		if hi >= utf8.RuneSelf {
			return nil, false
		}
		for r := lo; r <= hi; r++ {
			cls[r] = true
		}
	}
	return cls, true
}

// MatchString reports whether the whole s matches.
func (p *fastPattern) MatchString(s string) bool { return matchSeq(p.seq, s, 0) }

// matchSeq matches seq at s[i:] to the end of s; an alternation is always the
// last node of a sequence (expandAlts).
func matchSeq(seq []fnode, s string, i int) bool {
	for {
		if len(seq) == 0 {
			return i == len(s)
		}
		n := &seq[0]
		switch n.kind {
		case fBegin:
			if i != 0 {
				return false
			}
			seq = seq[1:]
		case fEnd:
			if i != len(s) {
				return false
			}
			seq = seq[1:]
		case fAlt:
			for _, alt := range n.alts {
				if matchSeq(alt, s, i) {
					return true
				}
			}
			return false
		case fRep:
			j, limit := i, len(s)
			if n.max >= 0 && i+n.max < limit {
				limit = i + n.max
			}
			for j < limit && n.cls[s[j]] {
				j++
			}
			if j-i < n.min {
				return false
			}
			if j-i == n.min || len(seq) == 1 {
				i, seq = j, seq[1:]
				continue
			}
			for c := j; c >= i+n.min; c-- {
				if matchSeq(seq[1:], s, c) {
					return true
				}
			}
			return false
		}
	}
}
