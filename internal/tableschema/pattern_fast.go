package tableschema

import (
	"encoding/binary"
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// fastPattern matches a pattern constraint with a deterministic automaton
// over bytes (a DFA), built once when the schema is compiled. Matching
// reads each byte of the cell once and does one table look-up per byte: it
// runs in time linear in the cell, whatever the pattern, and never
// backtracks (a steward's `[A-Z0-9]+[A-Z0-9 ]*[A-Z0-9]+` took 13 s on a
// 2,000-character cell with the backtracking matcher this replaces).
//
// The DFA is the subset construction of the pattern's Thompson automaton
// (regexp/syntax's Prog, the one Go's regexp runs), each rune class turned
// into the byte sequences of its UTF-8 encodings. Go's regexp reads an
// invalid UTF-8 byte as U+FFFD; when a class of the pattern holds U+FFFD
// ("." or [^/] do), only valid UTF-8 cells go through the DFA (needValid)
// and the others through regexp. Patterns the DFA does not cover keep
// using Go's regexp, which is linear in the cell too (RE2): word
// boundaries, multi-line anchors, and patterns whose DFA would exceed the
// limits below (compileFast returns nil). FuzzFastPatternMatchesRegexp
// and TestFastPatternMatchesRegexp check that both agree.
type fastPattern struct {
	class       [256]uint8 // byte → equivalence class
	ncls        int
	trans       []int32 // row offset (state×ncls) + class → next row offset; row 0 is the dead state
	accept      []bool  // per state: the whole cell matches when it ends here
	start       int32   // row offset of the start state
	acceptEmpty bool    // the empty cell matches
	needValid   bool    // a class holds U+FFFD: invalid UTF-8 cells must use regexp
}

// Limits of compileFast: past them the pattern keeps using regexp. The
// table is at most 1 MiB and building it stops after maxFastStates DFA
// states or maxFastWork NFA states visited: at worst some 30 ms of CPU
// (then regexp), a few microseconds to a few milliseconds for real
// patterns.
const (
	maxFastInsts     = 5000    // instructions of the regexp program
	maxFastNFAStates = 1 << 14 // with the intermediate states of UTF-8 sequences
	maxFastStates    = 10_000  // DFA states
	maxFastTable     = 1 << 18 // DFA states × byte classes
	maxFastWork      = 1 << 20 // NFA states visited while building the DFA
)

// nfa is the byte-level Thompson automaton: one state per program
// instruction, plus the intermediate states of multi-byte UTF-8 sequences.
type nfa struct {
	states    []nstate
	start     int
	work      int
	needValid bool
	// mark[s] == gen: s is already in the closure being computed (a new
	// generation starts each closure, without clearing the slice).
	mark []uint32
	gen  uint32
}

// fresh starts a new closure.
func (a *nfa) fresh() {
	if a.mark == nil {
		a.mark = make([]uint32, len(a.states))
	}
	a.gen++
	if a.gen == 0 {
		clear(a.mark)
		a.gen = 1
	}
}

type nstate struct {
	kind  nkind
	out   []int32        // epsilon successors (nEps), or the successor of an assertion (nAssert)
	op    syntax.EmptyOp // nAssert: EmptyBeginText and/or EmptyEndText
	bytes []brange       // nByte: transitions
}

type nkind uint8

const (
	nFail nkind = iota
	nEps
	nAssert
	nByte
	nMatch
)

type brange struct {
	lo, hi byte
	to     int32
}

// compileFast returns the DFA of pattern, or nil when the pattern is not
// covered (see fastPattern).
func compileFast(pattern string) *fastPattern {
	re, err := syntax.Parse("^(?:"+translatePattern(pattern)+")$", syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil || len(prog.Inst) > maxFastInsts {
		return nil
	}
	a, ok := buildNFA(prog)
	if !ok {
		return nil
	}
	return a.determinize()
}

// buildNFA turns prog into a byte automaton; false when an instruction is
// not covered.
func buildNFA(prog *syntax.Prog) (*nfa, bool) {
	a := &nfa{states: make([]nstate, len(prog.Inst)), start: prog.Start}
	for pc := range prog.Inst {
		in := &prog.Inst[pc]
		s := &a.states[pc]
		switch in.Op {
		case syntax.InstFail:
			s.kind = nFail
		case syntax.InstMatch:
			s.kind = nMatch
		case syntax.InstNop, syntax.InstCapture:
			s.kind, s.out = nEps, []int32{int32(in.Out)}
		case syntax.InstAlt, syntax.InstAltMatch:
			s.kind, s.out = nEps, []int32{int32(in.Out), int32(in.Arg)}
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			if op&^(syntax.EmptyBeginText|syntax.EmptyEndText) != 0 {
				return nil, false // word boundaries, multi-line anchors: regexp
			}
			s.kind, s.op, s.out = nAssert, op, []int32{int32(in.Out)}
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			s.kind = nByte
			for _, r := range instRanges(in) {
				if r[0] <= utf8.RuneError && utf8.RuneError <= r[1] {
					a.needValid = true
				}
				ok := utf8Sequences(r[0], r[1], func(seq []brange) bool { return a.chain(pc, seq, int32(in.Out)) })
				if !ok {
					return nil, false
				}
			}
		default:
			return nil, false
		}
	}
	return a, true
}

// instRanges returns the runes an instruction matches as [lo, hi] pairs,
// case folding expanded as syntax.Inst.MatchRune does.
func instRanges(in *syntax.Inst) [][2]rune {
	switch in.Op {
	case syntax.InstRuneAny:
		return [][2]rune{{0, unicode.MaxRune}}
	case syntax.InstRuneAnyNotNL:
		return [][2]rune{{0, '\n' - 1}, {'\n' + 1, unicode.MaxRune}}
	}
	var out [][2]rune
	if len(in.Rune) == 1 {
		r0 := in.Rune[0]
		out = append(out, [2]rune{r0, r0})
		if in.Op == syntax.InstRune && syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
			for r := unicode.SimpleFold(r0); r != r0; r = unicode.SimpleFold(r) {
				out = append(out, [2]rune{r, r})
			}
		}
		return out
	}
	for i := 0; i+1 < len(in.Rune); i += 2 {
		out = append(out, [2]rune{in.Rune[i], in.Rune[i+1]})
	}
	return out
}

// utf8Sequences calls emit with sequences of byte ranges that together
// match exactly the UTF-8 encodings of the runes lo..hi (surrogate halves,
// which have none, excluded); each sequence is one to four byte ranges.
// It is the splitting of RE2 and Rust's regex-syntax (utf8.rs): split the
// range until both ends encode to the same length and every continuation
// byte spans its whole 0x80-0xBF range below the first differing one.
func utf8Sequences(lo, hi rune, emit func([]brange) bool) bool {
	maxOf := [...]rune{0x7F, 0x7FF, 0xFFFF}
	stack := [][2]rune{{lo, hi}}
outer:
	for len(stack) > 0 {
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
	inner:
		for {
			if r[0] < 0xE000 && r[1] > 0xD7FF { // cut out the surrogates
				stack = append(stack, [2]rune{0xE000, r[1]})
				r[1] = 0xD7FF
			}
			if r[0] > r[1] {
				continue outer
			}
			for _, m := range maxOf {
				if r[0] <= m && m < r[1] {
					stack = append(stack, [2]rune{m + 1, r[1]})
					r[1] = m
					continue inner
				}
			}
			if r[1] < utf8.RuneSelf {
				if !emit([]brange{{lo: byte(r[0]), hi: byte(r[1])}}) {
					return false
				}
				continue outer
			}
			for i := 1; i < utf8.UTFMax; i++ {
				m := rune(1)<<(6*i) - 1
				if r[0]&^m != r[1]&^m {
					if r[0]&m != 0 {
						stack = append(stack, [2]rune{r[0] | m + 1, r[1]})
						r[1] = r[0] | m
						continue inner
					}
					if r[1]&m != m {
						stack = append(stack, [2]rune{r[1] &^ m, r[1]})
						r[1] = r[1]&^m - 1
						continue inner
					}
				}
			}
			var a, b [utf8.UTFMax]byte
			n := utf8.EncodeRune(a[:], r[0])
			utf8.EncodeRune(b[:], r[1])
			seq := make([]brange, n)
			for i := range n {
				seq[i] = brange{lo: a[i], hi: b[i]}
			}
			if !emit(seq) {
				return false
			}
			continue outer
		}
	}
	return true
}

// chain adds to state from the byte ranges of seq, one after the other
// through new intermediate states, ending in to.
func (a *nfa) chain(from int, seq []brange, to int32) bool {
	cur := from
	for i, r := range seq {
		next := to
		if i < len(seq)-1 {
			if len(a.states) >= maxFastNFAStates {
				return false
			}
			a.states = append(a.states, nstate{kind: nByte})
			next = int32(len(a.states) - 1)
		}
		a.states[cur].bytes = append(a.states[cur].bytes, brange{r.lo, r.hi, next})
		cur = int(next)
	}
	return true
}

// closure adds to set the states reachable from s without reading a byte,
// given whether the position is the beginning and the end of the cell.
// It keeps the byte and match states, and the end-of-text assertions not
// yet satisfied (needed to decide acceptance at the end).
// Call fresh before a new closure.
func (a *nfa) closure(set []int32, s int32, atBegin, atEnd bool) []int32 {
	stack := []int32{s}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if a.mark[s] == a.gen {
			continue
		}
		a.mark[s] = a.gen
		a.work++
		st := &a.states[s]
		switch st.kind {
		case nByte, nMatch:
			set = append(set, s)
		case nEps:
			for i := len(st.out) - 1; i >= 0; i-- {
				stack = append(stack, st.out[i])
			}
		case nAssert:
			begin, end := st.op&syntax.EmptyBeginText != 0, st.op&syntax.EmptyEndText != 0
			switch {
			case (begin && !atBegin) || (end && !atEnd):
				if end && !begin {
					set = append(set, s) // may hold at the end of the cell
				}
			default:
				stack = append(stack, st.out[0])
			}
		}
	}
	return set
}

// accepts reports whether the match state is reachable from set at the end
// of the cell.
func (a *nfa) accepts(set []int32, atBegin bool) bool {
	a.fresh()
	var all []int32
	for _, s := range set {
		all = a.closure(all, s, atBegin, true)
	}
	for _, s := range all {
		if a.states[s].kind == nMatch {
			return true
		}
	}
	return false
}

// determinize builds the DFA by subset construction, or returns nil past
// the limits.
func (a *nfa) determinize() *fastPattern {
	p := &fastPattern{needValid: a.needValid}
	// Byte classes: bytes that no transition tells apart share a class.
	var cut [257]bool
	cut[0], cut[256] = true, true
	for _, s := range a.states {
		for _, r := range s.bytes {
			cut[r.lo], cut[int(r.hi)+1] = true, true
		}
	}
	reps := []byte{} // one byte per class
	for b, c := 0, -1; b < 256; b++ {
		if cut[b] {
			c++
			reps = append(reps, byte(b))
		}
		p.class[b] = uint8(c)
	}
	p.ncls = len(reps)

	ids := map[string]int32{}
	var sets [][]int32
	key := func(set []int32) string {
		slices.Sort(set)
		b := make([]byte, 0, 4*len(set))
		for _, s := range set {
			b = binary.LittleEndian.AppendUint32(b, uint32(s))
		}
		return string(b)
	}
	add := func(set []int32) (int32, bool) {
		k := key(set)
		if id, ok := ids[k]; ok {
			return id, true
		}
		if len(sets) >= maxFastStates || (len(sets)+1)*p.ncls > maxFastTable {
			return 0, false
		}
		id := int32(len(sets))
		ids[k] = id
		sets = append(sets, set)
		return id, true
	}
	add(nil) // state 0: dead
	a.fresh()
	startSet := a.closure(nil, int32(a.start), true, false)
	start, _ := add(startSet)
	p.acceptEmpty = a.accepts([]int32{int32(a.start)}, true)

	var trans []int32
	for i := 0; i < len(sets); i++ {
		row := make([]int32, p.ncls)
		for c, b := range reps {
			a.fresh()
			var next []int32
			for _, s := range sets[i] {
				a.work += len(a.states[s].bytes)
				for _, r := range a.states[s].bytes {
					if r.lo <= b && b <= r.hi {
						next = a.closure(next, r.to, false, false)
					}
				}
			}
			if a.work > maxFastWork {
				return nil
			}
			id, ok := add(next)
			if !ok {
				return nil
			}
			row[c] = id * int32(p.ncls)
		}
		trans = append(trans, row...)
	}
	p.trans = trans
	p.start = start * int32(p.ncls)
	p.accept = make([]bool, len(sets))
	for i, set := range sets {
		p.accept[i] = i > 0 && a.accepts(set, false)
		if a.work > maxFastWork {
			return nil
		}
	}
	return p
}

// MatchString reports whether the whole s matches: one table look-up per
// byte. When needValid is set, s must be valid UTF-8 (see fastPattern).
func (p *fastPattern) MatchString(s string) bool {
	if len(s) == 0 {
		return p.acceptEmpty
	}
	st := p.start
	for i := 0; i < len(s); i++ {
		st = p.trans[st+int32(p.class[s[i]])]
		if st == 0 {
			return false
		}
	}
	return p.accept[st/int32(p.ncls)]
}
