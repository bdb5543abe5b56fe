package tableschema

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestFastPatternMatchesRegexp checks the fast matcher against Go's regexp on
// every pattern of the shipped schemas, on their examples and on mutations.
func TestFastPatternMatchesRegexp(t *testing.T) {
	patterns := map[string][]string{
		`\d{14}`: {"23350001600040", "2335000160004", "233500016000400", "", "2335000160004a"},
		`W\d{9}`: {"W380475558", "w380475558", "W38047555"},
		`[0-9]{4}\-[0-9]{2}\-[0-9]{2}(\/[0-9]{4}\-[0-9]{2}\-[0-9]{2})?`: {"2017-03-14/2018-03-14", "2017-03-14", "2017-03-14_2018-03-14", "2017-03-14/"},
		`^([013-9]\d|2[AB1-9])\d{3}$`:                                   {"35238", "2A004", "20000", "3238", "97411"},
		`(^[0-9]{8,8}(\-[0-9])?)$`:                                      {"12345678", "12345678-1", "1234567", "12345678-"},
		`a*b+c?`:                                                        {"", "b", "aabbc", "ac", "abcc"},
		`x|xy|xyz`:                                                      {"x", "xy", "xyz", "xyzz"},
		`é\d`:                                                           {"é1", "e1"},
		`(a|ab)(c|bcd)?(d*)e`:                                           {"ae", "abe", "acde", "abcde", "abcdde", "abbcde", "ade", "e"},
		`((a|ab)c|x)?y+z?`:                                              {"y", "acy", "abcyyz", "xyz", "xz", "abyz"},
		`[A-Z0-9]+[A-Z0-9 ]*[A-Z0-9]+`:                                  {"AB", "A B", "A", "A  B", "AB "},
		`(a|aa)*b`:                                                      {"b", "aab", "aaaa", "ab"},
		`(a+)+$`:                                                        {"a", "aaaa", "aab", ""},
		`(?:(?:^|\|)(Fixe|Itinérant))+$`:                                {"Fixe", "Fixe|Itinérant", "|Fixe", "Fixe|", "Itinérant|Itinérant"},
		`(?i)k[éa]\d`:                                                   {"ké1", "KÉ1", "\u212aa2", "kA3", "k1"},
		`[\u00C0-\u00FF]+x`:                                             {"éx", "ÿÀx", "x", "\xc3x"},
		`^a$|^$`:                                                        {"", "a", "aa"},
		`[^/]+/.{2}`:                                                    {"ab/cd", "é/€x", "/ab", "a/\xffx", "a/b"},
		`[\x{0}-\x{10FFFF}]{3}`:                                         {"abc", "a\U0001F600c", "ab", "\xed\xa0\x80"},
		`[\x{7F}-\x{801}\x{FFFF}-\x{10000}]+`:                           {"\x7f\u0080\u07ff\u0800\u0801", "\uffff\U00010000", "\u0802", "\xc0\x80"},
	}
	for _, s := range Shipped() {
		sc, err := LoadShipped(s.Name)
		require.NoError(t, err)
		for _, f := range sc.Fields {
			if p := f.Descriptor().Constraints.Pattern; p != "" {
				ex := []string{}
				if e, ok := f.Descriptor().Example.(string); ok {
					ex = append(ex, e)
				}
				patterns[p] = append(patterns[p], ex...)
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := "0123456789AWBZaz-/_|é. \xff\x80"
	fastCount := 0
	for p, inputs := range patterns {
		re, err := compilePattern(p)
		require.NoError(t, err, p)
		fast := compileFast(p)
		if fast == nil {
			continue
		}
		fastCount++
		for _, in := range inputs {
			cands := []string{in}
			for k := 0; k < 200; k++ { // mutations
				b := []rune(in)
				if len(b) > 0 {
					b[r.IntN(len(b))] = rune(alphabet[r.IntN(len(alphabet)-3)])
				}
				if r.IntN(3) == 0 && len(b) > 0 {
					b = b[:r.IntN(len(b))]
				}
				cands = append(cands, string(b), string(b)+"0", strings.Repeat(string(b), 2))
			}
			for _, c := range cands {
				if fast.needValid && !utf8.ValidString(c) {
					continue // regexp's business (matchPattern)
				}
				require.Equal(t, re.MatchString(c), fast.MatchString(c), "pattern %q input %q", p, c)
			}
		}
	}
	require.Greater(t, fastCount, 20)
	require.NotNil(t, compileFast(`(?i)abc`))
	require.NotNil(t, compileFast(`[^/]+`))
	require.NotNil(t, compileFast(`a.b`))
	require.True(t, compileFast(`a.b`).needValid)
	require.False(t, compileFast(`[a-zé]+`).needValid)
	require.Nil(t, compileFast(`\bx\b`))          // word boundary: regexp
	require.Nil(t, compileFast(`(?m)^x$`))        // multi-line anchors: regexp
	require.Nil(t, compileFast(`[ab]*a[ab]{20}`)) // 2^21 DFA states: regexp
	require.NotNil(t, regexp.MustCompile(`x`))

	// A pattern must parse on its own: wrapped, ")|(" would match anything.
	for _, p := range []string{`)|(`, `a)|(b`, `(a`, `a\Qb`} {
		_, err := compilePattern(p)
		require.Error(t, err, p)
	}
}

// pathologicalPatterns make a backtracking matcher explode (cubic or
// exponential in the cell length); cells are the inputs that trigger it.
var pathologicalPatterns = []struct {
	name, pattern string
	cell          func(n int) string
}{
	{"overlapping-classes", `[A-Z0-9]+[A-Z0-9 ]*[A-Z0-9]+`, func(n int) string { return strings.Repeat("A", n-1) + "!" }},
	{"alternation-star", `(a|aa)*b`, func(n int) string { return strings.Repeat("a", n) }},
	{"nested-plus", `(a+)+b`, func(n int) string { return strings.Repeat("a", n) }},
	{"nested-star-classes", `([a-z0-9]+\s?)*[a-z0-9]+!`, func(n int) string { return strings.Repeat("ab ", n/3) }},
	{"counted-groups", `((x|xy)+y?){2,5}z`, func(n int) string { return strings.Repeat("xy", n/2) }},
	{"any-char-groups", `(.*a){12}`, func(n int) string { return strings.Repeat("a", n-1) + "b" }},
	{"word-boundaries", `(\b\w+\b\s?)+!`, func(n int) string { return strings.Repeat("ab ", n/3) }}, // regexp path
	{"kth-from-last", `[ab]*a[ab]{20}`, func(n int) string { return strings.Repeat("ab", n/2) }},    // regexp path: 2^21 DFA states
	{"accented-words", `([A-ZÉÈa-zéè]+[ -]?)+\.`, func(n int) string { return strings.Repeat("é ", n/3) }},
}

// TestSecurityPatternLinear is the regression test of issue 8, point 3: a
// pattern constraint runs in time linear in the cell, whatever the
// pattern. The backtracking matcher took 13 s on the first pattern with a
// 2,000-character cell (and grew with its cube); here each 10 KB cell is
// checked in well under a millisecond (BenchmarkPathologicalPatterns), so
// the generous bound below only catches a return of super-linear matching.
func TestSecurityPatternLinear(t *testing.T) {
	for _, tt := range pathologicalPatterns {
		t.Run(tt.name, func(t *testing.T) {
			sch, err := Parse([]byte(`{"fields":[{"name":"c","type":"string","constraints":{"pattern":` + strconv.Quote(tt.pattern) + `}}]}`))
			require.NoError(t, err)
			f := sch.Fields[0].(*StringField)
			re, err := compilePattern(tt.pattern)
			require.NoError(t, err)
			regexpPath := tt.name == "word-boundaries" || tt.name == "kth-from-last"
			require.Equal(t, !regexpPath, f.fast != nil, "the pattern runs on the DFA")
			for _, n := range []int{2_000, 10_000, 20_000} {
				cell := tt.cell(n)
				start := time.Now()
				got := f.matchPattern(cell)
				took := time.Since(start)
				require.Equal(t, re.MatchString(cell), got, "n=%d", n)
				require.Less(t, took, 250*time.Millisecond, "n=%d", n)
			}
		})
	}
}

// TestSecurityDateFormatLinear: a date format is a pattern too. The
// strptime matcher backtracks over the widths of numeric directives, so
// "%d" × 24 took 1.3 s on a 37-character cell (×13 per 4 directives); its
// failures are now remembered, which bounds it by directives × cell length.
func TestSecurityDateFormatLinear(t *testing.T) {
	format := strings.Repeat("%d", 40)
	sch, err := Parse([]byte(`{"fields":[{"name":"d","type":"date","format":"` + format + `"}]}`))
	require.NoError(t, err)
	f := sch.Fields[0]
	for _, cell := range []string{strings.Repeat("1", 60) + "x", strings.Repeat("1", 10_000), strings.Repeat("12", 39) + "1x"} {
		start := time.Now()
		_, err := f.Cast(cell)
		require.Error(t, err)
		require.Less(t, time.Since(start), 250*time.Millisecond, "%d bytes", len(cell))
	}
	p, err := compileStrptime("%d/%m/%Y %H:%M")
	require.NoError(t, err)
	got, ok := p.parse("5/3/2017 9:07")
	require.True(t, ok)
	require.Equal(t, "2017-03-05 09:07", got.Format("2006-01-02 15:04"))
}

// FuzzFastPatternMatchesRegexp checks the DFA against Go's regexp on
// arbitrary patterns and cells: whenever compileFast accepts a pattern,
// both must say the same for every cell.
//
//	go test -run XXX -fuzz FuzzFastPatternMatchesRegexp -fuzztime 60s ./internal/tableschema
func FuzzFastPatternMatchesRegexp(f *testing.F) {
	for _, s := range Shipped() {
		sc, err := LoadShipped(s.Name)
		require.NoError(f, err)
		for _, fd := range sc.Fields {
			if p := fd.Descriptor().Constraints.Pattern; p != "" {
				ex, _ := fd.Descriptor().Example.(string)
				f.Add(p, ex)
			}
		}
	}
	for _, tt := range pathologicalPatterns {
		f.Add(tt.pattern, tt.cell(30))
	}
	f.Add(`(?i)straße|\x{212a}`, "STRASSE")
	f.Add(`[\x{80}-\x{10FFFF}]+`, "\xc3\xa9\xff")
	f.Add(`a{2,3}(b|)$|^c`, "aab")
	f.Fuzz(func(t *testing.T, pattern, cell string) {
		if len(pattern) > 200 || len(cell) > 1000 {
			return
		}
		re, err := compilePattern(pattern)
		if err != nil {
			return
		}
		fast := compileFast(pattern)
		if fast == nil || fast.needValid && !utf8.ValidString(cell) {
			return
		}
		if got, want := fast.MatchString(cell), re.MatchString(cell); got != want {
			t.Fatalf("pattern %q cell %q: DFA says %v, regexp says %v", pattern, cell, got, want)
		}
	})
}

// BenchmarkPathologicalPatterns matches 10 KB cells against patterns that
// make a backtracking matcher explode; the target is < 50 ms per cell.
//
//	go test -run XXX -bench PathologicalPatterns -benchtime 20x ./internal/tableschema
func BenchmarkPathologicalPatterns(b *testing.B) {
	for _, tt := range pathologicalPatterns {
		b.Run(tt.name, func(b *testing.B) {
			var f baseField
			d := &FieldDescriptor{Name: "c", Type: "string"}
			d.Constraints.Pattern = tt.pattern
			if err := f.setup(d, &StringField{}); err != nil {
				b.Fatal(err)
			}
			cell := tt.cell(10_000)
			b.SetBytes(int64(len(cell)))
			b.ResetTimer()
			for b.Loop() {
				f.matchPattern(cell)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/cell")
		})
	}
}
