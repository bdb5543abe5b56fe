package mdm

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Normaliser turns text into a comparison key: accents stripped (NFD, marks
// removed), case-folded, ligatures expanded (œ → oe, æ → ae), punctuation and
// spaces collapsed to single spaces; with TokenSort the words are sorted, so
// "Roques Tennis Club" and "Club de tennis, Roques" get closer. A Normaliser is
// not safe for concurrent use.
type Normaliser struct {
	TokenSort bool
	strip     transform.Transformer
	fold      cases.Caser
}

// NewNormaliser returns a Normaliser.
func NewNormaliser(tokenSort bool) *Normaliser {
	return &Normaliser{
		TokenSort: tokenSort,
		strip:     transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC),
		fold:      cases.Fold(),
	}
}

// ligatures expands the ligatures left after case folding (Ǣ → æ → ae).
var ligatures = strings.NewReplacer("œ", "oe", "æ", "ae")

// Normalise returns the comparison key of s.
func (n *Normaliser) Normalise(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		if out, _, err := transform.String(n.strip, s); err == nil {
			s = out
		}
		s = ligatures.Replace(n.fold.String(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			if r < utf8.RuneSelf && 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		space = true
	}
	out := b.String()
	if n.TokenSort && strings.IndexByte(out, ' ') >= 0 {
		words := strings.Fields(out)
		slices.Sort(words)
		out = strings.Join(words, " ")
	}
	return out
}

// Similarity returns 1 − LevenshteinDistance/maxLength over runes, in [0, 1].
func Similarity(a, b string) float64 {
	if a == b {
		return 1
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	maxLen := max(len(ra), len(rb))
	return 1 - float64(levenshtein(ra, rb))/float64(maxLen)
}

func levenshtein(a, b []rune) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
