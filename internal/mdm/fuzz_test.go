package mdm

import "testing"

// FuzzNormalise checks Normalise is idempotent and never panics, and that the
// bounded edit distance agrees with the full one.
func FuzzNormalise(f *testing.F) {
	f.Add("Association « Écaussystème »", "ASSOCIATION ECAUSSYSTEME")
	f.Fuzz(func(t *testing.T, a, b string) {
		n := NewNormaliser(true)
		na := n.Normalise(a)
		if n.Normalise(na) != na {
			t.Fatalf("not idempotent: %q → %q → %q", a, na, n.Normalise(na))
		}
		ra, rb := []rune(a), []rune(b)
		if len(ra) > 64 || len(rb) > 64 {
			return
		}
		full := levenshtein(ra, rb)
		for k := 0; k <= 5; k++ {
			got := boundedLevenshtein(ra, rb, k)
			if (full <= k && got != full) || (full > k && got <= k) {
				t.Fatalf("k=%d full=%d bounded=%d for %q/%q", k, full, got, a, b)
			}
		}
	})
}
