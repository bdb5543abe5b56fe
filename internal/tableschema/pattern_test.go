package tableschema

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

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
	alphabet := "0123456789AWBZaz-/_|é. "
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
				require.Equal(t, re.MatchString(c), fast.MatchString(c), "pattern %q input %q", p, c)
			}
		}
	}
	require.Greater(t, fastCount, 10)
	require.Nil(t, compileFast(`(?i)abc`))
	require.Nil(t, compileFast(`[^/]+`)) // matches non-ASCII runes: regexp
	require.NotNil(t, regexp.MustCompile(`x`))
}
