package harmonise

import "testing"

// FuzzApply checks that no value, in any column kind, makes Apply panic, and
// that a repaired value is stable (repairing it again changes nothing).
func FuzzApply(f *testing.F) {
	for _, s := range []string{"40 000,00", "1.234.567,89", "30/01/2018 00:00", "2018/01/30_2022/01/29", "4.5032466E13", "2a004", "oui", "2018-01-30T14:05:07+0100", "-,", "1 2", "..", "1e", "\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for k := Text; k <= DatePeriod; k++ {
			h := New([]Column{{Name: "f", Kind: k}}, Options{})
			once := h.Apply([]string{v}, 2)[0]
			if h.Summary().Issues[IssueAmbiguousDate] > 0 {
				continue
			}
			h2 := New([]Column{{Name: "f", Kind: k}}, Options{})
			if twice := h2.Apply([]string{once}, 2)[0]; twice != once {
				t.Fatalf("kind %s: %q → %q → %q", k, v, once, twice)
			}
		}
	})
}
