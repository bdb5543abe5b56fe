package mdm

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Strategy is a survivorship rule: how one attribute of a golden record is
// chosen among the members of a cluster. Ties always go to the earliest
// member (lowest record index), so results are deterministic.
type Strategy string

// Survivorship strategies. Every strategy considers only members whose value
// for the attribute is not empty (after trimming).
const (
	// First takes the first member with a value.
	First Strategy = "first"
	// MostRecent takes the value of the member whose DateColumn is the latest
	// (ISO date/datetime, or dd/mm/yyyy); unreadable dates rank oldest.
	MostRecent Strategy = "most_recent"
	// MostComplete takes the longest value (in runes).
	MostComplete Strategy = "most_complete"
	// SourcePriority takes the value from the first source in Sources that
	// has one; sources not listed come last, in record order.
	SourcePriority Strategy = "source_priority"
)

// Rule configures the survivorship of one attribute.
type Rule struct {
	Strategy Strategy `json:"strategy"`
	// DateColumn is required by MostRecent.
	DateColumn string `json:"date_column,omitempty"`
	// Sources orders sources for SourcePriority, most trusted first.
	Sources []string `json:"sources,omitempty"`
}

// Rules configure consolidation.
type Rules struct {
	// Header names the columns of Record.Values.
	Header []string
	// Default applies to attributes without their own rule; zero is First.
	Default Rule
	// Attributes holds per-column rules.
	Attributes map[string]Rule
}

// RecordRef points at one input record.
type RecordRef struct {
	Source string `json:"source"`
	Index  int    `json:"index"` // index in the records given to Consolidate
	Line   int    `json:"line"`
}

// Provenance tells where one attribute of a golden record came from. When no
// member had a value, Index is −1 and Value is empty.
type Provenance struct {
	RecordRef
	Rule Strategy `json:"rule"`
}

// GoldenRecord is the consolidated view of one cluster.
type GoldenRecord struct {
	ID      int                   `json:"id"` // the cluster ID
	Values  map[string]string     `json:"values"`
	Lineage map[string]Provenance `json:"lineage"`
	Members []RecordRef           `json:"members"`
}

// Consolidate builds one golden record per cluster from the member records.
// records must be the slice whose indexes the clusters refer to.
func Consolidate(records []Record, clusters []Cluster, rules Rules) ([]GoldenRecord, error) {
	if rules.Default.Strategy == "" {
		rules.Default.Strategy = First
	}
	perCol := make([]Rule, len(rules.Header))
	dateIdx := make([]int, len(rules.Header))
	for i, name := range rules.Header {
		r, ok := rules.Attributes[name]
		if !ok {
			r = rules.Default
		}
		perCol[i] = r
		dateIdx[i] = -1
		if err := checkRule(r); err != nil {
			return nil, fmt.Errorf("mdm: rule for %q: %w", name, err)
		}
		if r.Strategy == MostRecent {
			dateIdx[i] = slices.Index(rules.Header, r.DateColumn)
			if dateIdx[i] < 0 {
				return nil, fmt.Errorf("mdm: rule for %q: date column %q not in header: %w", name, r.DateColumn, ErrOptions)
			}
		}
	}
	for name := range rules.Attributes {
		if !slices.Contains(rules.Header, name) {
			return nil, fmt.Errorf("mdm: rule for %q: column not in header: %w", name, ErrOptions)
		}
	}
	out := make([]GoldenRecord, 0, len(clusters))
	for _, c := range clusters {
		g := GoldenRecord{
			ID:      c.ID,
			Values:  make(map[string]string, len(rules.Header)),
			Lineage: make(map[string]Provenance, len(rules.Header)),
			Members: make([]RecordRef, 0, len(c.Members)),
		}
		for _, m := range c.Members {
			if m < 0 || m >= len(records) {
				return nil, fmt.Errorf("mdm: cluster %d: member %d out of range (%d records): %w", c.ID, m, len(records), ErrOptions)
			}
			g.Members = append(g.Members, ref(records, m))
		}
		for col, name := range rules.Header {
			best := choose(records, c.Members, col, perCol[col], dateIdx[col])
			p := Provenance{RecordRef: RecordRef{Index: -1}, Rule: perCol[col].Strategy}
			if best >= 0 {
				p.RecordRef = ref(records, best)
				g.Values[name] = strings.TrimSpace(value(records[best], col))
			} else {
				g.Values[name] = ""
			}
			g.Lineage[name] = p
		}
		out = append(out, g)
	}
	return out, nil
}

func checkRule(r Rule) error {
	switch r.Strategy {
	case First, MostComplete:
	case MostRecent:
		if r.DateColumn == "" {
			return fmt.Errorf("most_recent needs a date column: %w", ErrOptions)
		}
	case SourcePriority:
		if len(r.Sources) == 0 {
			return fmt.Errorf("source_priority needs sources: %w", ErrOptions)
		}
	default:
		return fmt.Errorf("unknown strategy %q: %w", r.Strategy, ErrOptions)
	}
	return nil
}

func ref(records []Record, i int) RecordRef {
	return RecordRef{Source: records[i].Source, Index: i, Line: records[i].Line}
}

func value(r Record, col int) string {
	if col < len(r.Values) {
		return r.Values[col]
	}
	return ""
}

// choose returns the winning member for one attribute, or −1.
func choose(records []Record, members []int, col int, r Rule, dateCol int) int {
	best := -1
	var bestDate time.Time
	bestLen, bestRank := -1, 0
	for _, m := range members {
		v := strings.TrimSpace(value(records[m], col))
		if v == "" {
			continue
		}
		switch r.Strategy {
		case First:
			return m
		case MostComplete:
			if l := utf8.RuneCountInString(v); l > bestLen {
				best, bestLen = m, l
			}
		case MostRecent:
			t := parseDate(value(records[m], dateCol))
			if best < 0 || t.After(bestDate) {
				best, bestDate = m, t
			}
		case SourcePriority:
			rank := slices.Index(r.Sources, records[m].Source)
			if rank < 0 {
				rank = len(r.Sources)
			}
			if best < 0 || rank < bestRank {
				best, bestRank = m, rank
			}
		}
	}
	return best
}

var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "02/01/2006", "2006"}

// parseDate reads a date; unreadable ones are the zero time (oldest).
func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
