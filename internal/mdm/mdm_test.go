package mdm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		in        string
		tokenSort bool
		want      string
	}{
		{"Association « Écaussystème »", false, "association ecaussysteme"},
		{"  ASSOCIATION   ECAUSSYSTEME. ", false, "association ecaussysteme"},
		{"Fédération des Œuvres laïques", false, "federation des oeuvres laiques"},
		{"L'Élan-Sportif\u00a0de\tRoques", false, "l elan sportif de roques"},
		{"Straße", false, "strasse"},
		{"Roques Tennis Club", true, "club roques tennis"},
		{"Club, tennis ; Roques", true, "club roques tennis"},
		{"", false, ""},
		{"--", false, ""},
	}
	n := NewNormaliser(false)
	ts := NewNormaliser(true)
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			nn := n
			if tt.tokenSort {
				nn = ts
			}
			require.Equal(t, tt.want, nn.Normalise(tt.in))
		})
	}
}

func TestSimilarity(t *testing.T) {
	require.Equal(t, 1.0, Similarity("abc", "abc"))
	require.Equal(t, 0.0, Similarity("", "abc"))
	require.InDelta(t, 0.75, Similarity("abcd", "abce"), 1e-9)
	require.InDelta(t, 1-3.0/7, Similarity("kitten", "sitting"), 1e-9)
}

func recs(source string, names ...string) []Record {
	out := make([]Record, len(names))
	for i, n := range names {
		out[i] = Record{Source: source, Line: i + 2, Values: []string{n}}
	}
	return out
}

func memberSets(res Result) [][]int {
	var out [][]int
	for _, c := range res.Clusters {
		out = append(out, c.Members)
	}
	return out
}

func TestDeduplicateNames(t *testing.T) {
	header := []string{"nom"}
	tests := []struct {
		name     string
		names    []string
		opts     Options
		clusters [][]int
		exact    int
		near     int
	}{
		{
			name:     "accents, case, spacing and punctuation variants cluster",
			names:    []string{"Association Écaussystème", "ASSOCIATION  ECAUSSYSTEME", "association écaussystème.", "Tennis Club de Roques"},
			opts:     Options{Match: header},
			clusters: [][]int{{0, 1, 2}, {3}},
			exact:    2,
		},
		{
			name:     "typo within threshold is a near-duplicate",
			names:    []string{"Tennis Roques Olympic Club", "Karaté Roques", "Tennis Roques Olympik Club"},
			opts:     Options{Match: header},
			clusters: [][]int{{0, 2}, {1}},
			near:     1,
		},
		{
			name:     "numbers must agree",
			names:    []string{"École maternelle 1 de Roques", "Ecole maternelle 2 de Roques", "École maternelle 1 de Roque"},
			opts:     Options{Match: header},
			clusters: [][]int{{0, 2}, {1}},
			near:     1,
		},
		{
			name:     "different entities stay apart",
			names:    []string{"Commune de Roques", "Commune de Rouen", "Comité des fêtes de Roques", "Club de couture de Roques"},
			opts:     Options{Match: header},
			clusters: [][]int{{0}, {1}, {2}, {3}},
		},
		{
			name:     "threshold 1 only groups equal normalised text",
			names:    []string{"Tennis Roques Olympic Club", "tennis roques olympic club", "Tennis Roques Olympik Club"},
			opts:     Options{Match: header, Threshold: 1},
			clusters: [][]int{{0, 1}, {2}},
			exact:    1,
		},
		{
			name:     "word order ignored with token sort",
			names:    []string{"Club Tennis Roques", "Roques, club tennis", "Roques Karaté"},
			opts:     Options{Match: header, TokenSort: true},
			clusters: [][]int{{0, 1}, {2}},
			exact:    1,
		},
		{
			name:     "word order matters without token sort",
			names:    []string{"Club Tennis Roques", "Roques, club tennis"},
			opts:     Options{Match: header},
			clusters: [][]int{{0}, {1}},
		},
		{
			name:     "empty names are never grouped",
			names:    []string{"", " ", "-", "AGORA"},
			opts:     Options{Match: header},
			clusters: [][]int{{0}, {1}, {2}, {3}},
		},
		{
			name:     "full-row duplicates without key or match",
			names:    []string{"AGORA", "AGORA ", "agora"},
			clusters: [][]int{{0, 1}, {2}},
			exact:    1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Header = header
			res, err := Deduplicate(recs("a", tt.names...), tt.opts)
			require.NoError(t, err)
			require.Equal(t, tt.clusters, memberSets(res))
			require.Equal(t, len(tt.names), res.Records)
			require.Equal(t, tt.exact, res.ExactDuplicates)
			require.Equal(t, tt.near, res.NearDuplicates)
			require.Equal(t, tt.exact+tt.near, res.Duplicates)
		})
	}
}

func TestDeduplicateKey(t *testing.T) {
	header := []string{"siret", "nom", "montant"}
	records := []Record{
		{Source: "a", Line: 2, Values: []string{"44306184100047", "AGORA", "100"}},
		{Source: "a", Line: 3, Values: []string{"44306184100047", "Agora association", "200"}},
		{Source: "a", Line: 4, Values: []string{"", "COSDEN", "300"}},
		{Source: "a", Line: 5, Values: []string{"", "E-BOURGOGNE", "400"}},
		{Source: "a", Line: 6, Values: []string{"", "E-BOURGOGNE", "400"}},
		{Source: "b", Line: 2, Values: []string{"73282932000074", "AGORA", "100"}},
	}
	t.Run("exact key, empty keys not grouped, full rows counted", func(t *testing.T) {
		res, err := Deduplicate(records, Options{Header: header, Key: []string{"siret"}})
		require.NoError(t, err)
		require.Equal(t, [][]int{{0, 1}, {2}, {3, 4}, {5}}, memberSets(res))
		require.Equal(t, 1, res.FullRowDuplicates)
		require.Equal(t, 2, res.Duplicates)
	})
	t.Run("key and match combined", func(t *testing.T) {
		res, err := Deduplicate(records, Options{Header: header, Key: []string{"siret"}, Match: []string{"nom"}})
		require.NoError(t, err)
		require.Equal(t, [][]int{{0, 1, 5}, {2}, {3, 4}}, memberSets(res))
		require.Equal(t, "agora", res.Clusters[0].Key)
	})
	t.Run("unknown column", func(t *testing.T) {
		_, err := Deduplicate(records, Options{Header: header, Key: []string{"nope"}})
		require.ErrorIs(t, err, ErrOptions)
		_, err = Deduplicate(records, Options{Header: header, Match: []string{"nope"}})
		require.ErrorIs(t, err, ErrOptions)
		_, err = Deduplicate(records, Options{Header: header, Threshold: 2})
		require.ErrorIs(t, err, ErrOptions)
	})
}

func TestBoundedLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		k    int
		want int // exact distance when ≤ k, else k+1
	}{
		{"kitten", "sitting", 3, 3},
		{"kitten", "sitting", 2, 3},
		{"abc", "abc", 0, 0},
		{"abc", "abd", 0, 1},
		{"", "abc", 3, 3},
		{"association sportive", "association sportiv", 2, 1},
		{"flaw", "lawn", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			got := boundedLevenshtein([]rune(tt.a), []rune(tt.b), tt.k)
			require.Equal(t, tt.want, got)
			full := levenshtein([]rune(tt.a), []rune(tt.b))
			if full <= tt.k {
				require.Equal(t, full, got)
			}
		})
	}
}

func TestWindowBoundsComparisons(t *testing.T) {
	// Typos at the start are found through the reversed order, typos at the
	// end through the forward order, even among many similar names.
	var names []string
	for i := 0; i < 200; i++ {
		names = append(names, fmt.Sprintf("association sportive %03d de roques", i))
	}
	names = append(names, "asociation sportive 042 de roques", "association sportive 042 de roquez")
	res, err := Deduplicate(recs("a", names...), Options{Header: []string{"nom"}, Match: []string{"nom"}, Window: 3})
	require.NoError(t, err)
	require.Len(t, res.Clusters, 200)
	require.Equal(t, []int{42, 200, 201}, res.Clusters[42].Members)
}

func TestConsolidate(t *testing.T) {
	header := []string{"siret", "nom", "adresse", "maj"}
	records := []Record{
		{Source: "finances", Line: 10, Values: []string{"44306184100047", "AGORA", "", "2017-01-01"}},
		{Source: "culture", Line: 4, Values: []string{"44306184100047", "Association AGORA de Nevers", "3 rue X", "2018-06-30"}},
		{Source: "voirie", Line: 7, Values: []string{"44306184100047", "Agora", "3, rue X, 58000 Nevers", "2016-05-05"}},
	}
	clusters := []Cluster{{ID: 1, Members: []int{0, 1, 2}}}
	tests := []struct {
		name      string
		rule      Rule
		wantNom   string
		wantIndex int
	}{
		{"first", Rule{Strategy: First}, "AGORA", 0},
		{"most recent", Rule{Strategy: MostRecent, DateColumn: "maj"}, "Association AGORA de Nevers", 1},
		{"most complete", Rule{Strategy: MostComplete}, "Association AGORA de Nevers", 1},
		{"source priority", Rule{Strategy: SourcePriority, Sources: []string{"voirie", "finances"}}, "Agora", 2},
		{"source priority, unlisted last", Rule{Strategy: SourcePriority, Sources: []string{"urbanisme"}}, "AGORA", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden, err := Consolidate(records, clusters, Rules{Header: header, Attributes: map[string]Rule{"nom": tt.rule}})
			require.NoError(t, err)
			require.Len(t, golden, 1)
			g := golden[0]
			require.Equal(t, tt.wantNom, g.Values["nom"])
			require.Equal(t, Provenance{RecordRef: RecordRef{Source: records[tt.wantIndex].Source, Index: tt.wantIndex, Line: records[tt.wantIndex].Line}, Rule: tt.rule.Strategy}, g.Lineage["nom"])
			// Default rule (first non-empty) for the others.
			require.Equal(t, "3 rue X", g.Values["adresse"])
			require.Equal(t, Provenance{RecordRef: RecordRef{Source: "culture", Index: 1, Line: 4}, Rule: First}, g.Lineage["adresse"])
			require.Len(t, g.Members, 3)
			require.Equal(t, RecordRef{Source: "voirie", Index: 2, Line: 7}, g.Members[2])
		})
	}
	t.Run("no value at all", func(t *testing.T) {
		golden, err := Consolidate(records[:1], []Cluster{{ID: 1, Members: []int{0}}}, Rules{Header: header, Default: Rule{Strategy: MostComplete}})
		require.NoError(t, err)
		require.Equal(t, "", golden[0].Values["adresse"])
		require.Equal(t, -1, golden[0].Lineage["adresse"].Index)
		require.Equal(t, MostComplete, golden[0].Lineage["adresse"].Rule)
	})
	errTests := []struct {
		name  string
		rules Rules
	}{
		{"unknown strategy", Rules{Header: header, Default: Rule{Strategy: "best"}}},
		{"most recent without column", Rules{Header: header, Default: Rule{Strategy: MostRecent}}},
		{"most recent unknown column", Rules{Header: header, Default: Rule{Strategy: MostRecent, DateColumn: "date"}}},
		{"source priority without sources", Rules{Header: header, Attributes: map[string]Rule{"nom": {Strategy: SourcePriority}}}},
		{"rule for unknown attribute", Rules{Header: header, Attributes: map[string]Rule{"x": {Strategy: First}}}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Consolidate(records, clusters, tt.rules)
			require.ErrorIs(t, err, ErrOptions)
		})
	}
	_, err := Consolidate(records, []Cluster{{ID: 1, Members: []int{5}}}, Rules{Header: header})
	require.ErrorIs(t, err, ErrOptions)
}

func TestDedupThenConsolidate(t *testing.T) {
	header := []string{"nom", "ville"}
	records := []Record{
		{Source: "a", Line: 2, Values: []string{"Tennis Roques Olympic Club", ""}},
		{Source: "b", Line: 2, Values: []string{"TENNIS ROQUES OLYMPIC CLUB", "Roques"}},
		{Source: "a", Line: 3, Values: []string{"Karaté Roques", "Roques"}},
	}
	res, err := Deduplicate(records, Options{Header: header, Match: []string{"nom"}})
	require.NoError(t, err)
	golden, err := Consolidate(records, res.Clusters, Rules{Header: header, Default: Rule{Strategy: SourcePriority, Sources: []string{"b", "a"}}})
	require.NoError(t, err)
	require.Len(t, golden, 2)
	require.Equal(t, map[string]string{"nom": "TENNIS ROQUES OLYMPIC CLUB", "ville": "Roques"}, golden[0].Values)
	require.Equal(t, "b", golden[0].Lineage["nom"].Source)
}
