package store_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/odsql"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// exploreRow is one source row of the contract tests; expectations are
// computed from these in Go, independently of SQL.
type exploreRow struct {
	id      string
	commune string
	montant float64
	nb      int64
	actif   bool
	date    string
	note    *string
}

func notep(s string) *string { return &s }

var exploreSource = []exploreRow{
	{"r01", "Lyon", 1500.5, 3, true, "2024-01-15", notep("Rue de la République")},
	{"r02", "Lyon", 200, 1, false, "2024-02-01", nil},
	{"r03", "Villeurbanne", 980, 7, true, "2023-12-31", notep("Avenue Henri Barbusse")},
	{"r04", "Vénissieux", 0, 0, false, "2024-03-10", notep("it's 100% \"quoted\"")},
	{"r05", "Bron", 45000, 12, true, "2022-06-30", notep("Rond-point")},
	{"r06", "Lyon", 1500.5, 2, true, "2024-01-15", notep("Quai Saint-Antoine")},
	{"r07", "Caluire-et-Cuire", -12.25, 5, false, "2021-01-01", notep(`back\slash`)},
	{"r08", "Bron", 300, 4, true, "2024-12-24", nil},
	{"r09", "Villeurbanne", 75.75, 9, false, "2020-02-29", notep("rue Francis de Pressensé")},
	{"r10", "Lyon", 10000, 1, true, "2024-07-14", notep("Place Bellecour")},
}

var exploreCols = []store.ReleaseColumn{
	{Field: "id", Kind: store.KindText},
	{Field: "commune", Kind: store.KindText},
	{Field: "montant", Kind: store.KindNumeric},
	{Field: "nb", Kind: store.KindInteger},
	{Field: "actif", Kind: store.KindBoolean},
	{Field: "date", Kind: store.KindDate},
	{Field: "note", Kind: store.KindText},
}

func exploreRelease(t *testing.T, s *store.Store) store.Release {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
	require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "travaux", Title: "Travaux", Department: "voirie"}))
	i := 0
	rel, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "travaux", Key: "k1", NormalizedSHA: "x", Columns: exploreCols, PrimaryKey: []string{"id"}},
		func() (store.ReleaseRow, error) {
			if i == len(exploreSource) {
				return store.ReleaseRow{}, io.EOF
			}
			r := exploreSource[i]
			i++
			d, _ := time.Parse(time.DateOnly, r.date)
			var note any
			if r.note != nil {
				note = *r.note
			}
			return store.ReleaseRow{Values: []any{r.id, r.commune, r.montant, r.nb, r.actif, d, note}, Key: r.id, Hash: r.id}, nil
		})
	require.NoError(t, err)
	return rel
}

func mustQuery(t *testing.T, sel, where, group, order string) store.ExploreQuery {
	t.Helper()
	var q store.ExploreQuery
	var err error
	q.Select, err = odsql.ParseSelect(sel)
	require.NoError(t, err)
	q.Where, err = odsql.ParseWhere(where)
	require.NoError(t, err)
	q.GroupBy, err = odsql.ParseGroupBy(group)
	require.NoError(t, err)
	q.OrderBy, err = odsql.ParseOrderBy(order)
	require.NoError(t, err)
	q.Limit = 100
	return q
}

func ids(rows []exploreRow) []any {
	out := []any{}
	for _, r := range rows {
		out = append(out, r.id)
	}
	return out
}

func filter(keep func(exploreRow) bool) []exploreRow {
	var out []exploreRow
	for _, r := range exploreSource {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func TestExploreWhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rel := exploreRelease(t, s)
		for _, tc := range []struct {
			where string
			keep  func(exploreRow) bool
		}{
			{`commune = "Lyon"`, func(r exploreRow) bool { return r.commune == "Lyon" }},
			{`commune = 'Vénissieux'`, func(r exploreRow) bool { return r.commune == "Vénissieux" }},
			{`commune != "Lyon"`, func(r exploreRow) bool { return r.commune != "Lyon" }},
			{`montant > 1000`, func(r exploreRow) bool { return r.montant > 1000 }},
			{`montant <= 1500.5 and montant >= -12.25`, func(r exploreRow) bool { return r.montant <= 1500.5 && r.montant >= -12.25 }},
			{`1000 < montant`, func(r exploreRow) bool { return r.montant > 1000 }},
			{`nb = 1`, func(r exploreRow) bool { return r.nb == 1 }},
			{`nb < 2.5`, func(r exploreRow) bool { return float64(r.nb) < 2.5 }},
			{`actif = true`, func(r exploreRow) bool { return r.actif }},
			{`not actif = true`, func(r exploreRow) bool { return !r.actif }},
			{`date >= date'2024-01-01'`, func(r exploreRow) bool { return r.date >= "2024-01-01" }},
			{`date < "2022-01-01"`, func(r exploreRow) bool { return r.date < "2022-01-01" }},
			{`date = date'2024-01-15' or commune = "Bron"`, func(r exploreRow) bool { return r.date == "2024-01-15" || r.commune == "Bron" }},
			{`(commune = "Lyon" or commune = "Bron") and not (montant > 1000)`, func(r exploreRow) bool {
				return (r.commune == "Lyon" || r.commune == "Bron") && !(r.montant > 1000)
			}},
			{`commune in ("Bron", "Villeurbanne")`, func(r exploreRow) bool { return r.commune == "Bron" || r.commune == "Villeurbanne" }},
			{`nb not in (1, 2, 3)`, func(r exploreRow) bool { return r.nb > 3 || r.nb < 1 }},
			{`commune like "V*"`, func(r exploreRow) bool { return strings.HasPrefix(r.commune, "V") }},
			{`commune like "*on"`, func(r exploreRow) bool { return strings.HasSuffix(r.commune, "on") }},
			{`note like "*100%*"`, func(r exploreRow) bool { return r.note != nil && strings.Contains(*r.note, "100%") }},
			{`note like "*_*"`, func(r exploreRow) bool { return r.note != nil && strings.Contains(*r.note, "_") }},
			{`note is null`, func(r exploreRow) bool { return r.note == nil }},
			{`note is not null and nb > 4`, func(r exploreRow) bool { return r.note != nil && r.nb > 4 }},
			{`note = null`, func(r exploreRow) bool { return r.note == nil }},
			{`note = "it's 100% \"quoted\""`, func(r exploreRow) bool { return r.note != nil && *r.note == `it's 100% "quoted"` }},
			{`note = 'back\\slash'`, func(r exploreRow) bool { return r.note != nil && *r.note == `back\slash` }},
			{`"rue"`, func(r exploreRow) bool { return r.note != nil && strings.Contains(strings.ToLower(*r.note), "rue") }},
			{`search("lyon")`, func(r exploreRow) bool { return r.commune == "Lyon" }},
			{`search(note, "place bellecour")`, func(r exploreRow) bool { return r.id == "r10" }},
			{`commune = "Lyon'; DROP TABLE datasets; --"`, func(r exploreRow) bool { return false }},
			{"`commune` = \"Bron\"", func(r exploreRow) bool { return r.commune == "Bron" }},
		} {
			res, err := s.ExploreRecords(context.Background(), rel, mustQuery(t, "id", tc.where, "", ""))
			require.NoError(t, err, tc.where)
			want := filter(tc.keep)
			var got []any
			for _, row := range res.Rows {
				got = append(got, row[0])
			}
			require.Equal(t, ids(want), append([]any{}, got...), tc.where)
			require.EqualValues(t, len(want), res.Total, tc.where)
		}
		// The release table is still there.
		res, err := s.ExploreRecords(context.Background(), rel, mustQuery(t, "", "", "", ""))
		require.NoError(t, err)
		require.EqualValues(t, len(exploreSource), res.Total)
	})
}

func TestExploreSelectGroupOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rel := exploreRelease(t, s)

		// order_by on several fields, nulls last.
		res, err := s.ExploreRecords(ctx, rel, mustQuery(t, "id, commune as ville", "", "", "commune desc, montant, id desc"))
		require.NoError(t, err)
		require.Equal(t, []string{"id", "ville"}, res.Names)
		want := slices.Clone(exploreSource)
		slices.SortStableFunc(want, func(a, b exploreRow) int {
			return cmp.Or(-strings.Compare(a.commune, b.commune), cmp.Compare(a.montant, b.montant), -strings.Compare(a.id, b.id))
		})
		var got []any
		for _, r := range res.Rows {
			got = append(got, r[0])
		}
		require.Equal(t, ids(want), got)

		// group_by with aggregates, sorted by an aggregate's alias.
		res, err = s.ExploreRecords(ctx, rel, mustQuery(t, "commune, count(*) as n, sum(montant) as total, avg(nb), min(date), max(montant)", "", "commune", "n desc, commune"))
		require.NoError(t, err)
		require.Equal(t, []string{"commune", "n", "total", "avg(nb)", "min(date)", "max(montant)"}, res.Names)
		type agg struct {
			n          int64
			sum, max   float64
			nbs        float64
			minDate    string
			commune    string
			firstIndex int
		}
		groups := map[string]*agg{}
		for _, r := range exploreSource {
			g := groups[r.commune]
			if g == nil {
				g = &agg{commune: r.commune, minDate: r.date, max: r.montant}
				groups[r.commune] = g
			}
			g.n++
			g.sum += r.montant
			g.nbs += float64(r.nb)
			g.minDate = min(g.minDate, r.date)
			g.max = max(g.max, r.montant)
		}
		var gs []*agg
		for _, g := range groups {
			gs = append(gs, g)
		}
		slices.SortFunc(gs, func(a, b *agg) int { return cmp.Or(-cmp.Compare(a.n, b.n), strings.Compare(a.commune, b.commune)) })
		require.EqualValues(t, len(gs), res.Total)
		require.Len(t, res.Rows, len(gs))
		for i, g := range gs {
			row := res.Rows[i]
			require.Equal(t, g.commune, row[0])
			require.EqualValues(t, g.n, row[1])
			require.InDelta(t, g.sum, row[2], 1e-6)
			require.InDelta(t, g.nbs/float64(g.n), row[3], 1e-6)
			require.Equal(t, g.minDate, row[4])
			require.InDelta(t, g.max, row[5], 1e-6)
		}

		// Aggregates without group_by: one row.
		res, err = s.ExploreRecords(ctx, rel, mustQuery(t, "count(*) as n, sum(nb) as s", `actif = true`, "", ""))
		require.NoError(t, err)
		var n, sum int64
		for _, r := range filter(func(r exploreRow) bool { return r.actif }) {
			n++
			sum += r.nb
		}
		require.Len(t, res.Rows, 1)
		require.EqualValues(t, n, res.Rows[0][0])
		require.InDelta(t, float64(sum), res.Rows[0][1], 1e-9)

		// Paging and refine/exclude.
		q := mustQuery(t, "id", "", "", "id")
		q.Limit, q.Offset = 3, 8
		res, err = s.ExploreRecords(ctx, rel, q)
		require.NoError(t, err)
		require.EqualValues(t, 10, res.Total)
		require.Equal(t, [][]any{{"r09"}, {"r10"}}, res.Rows)
		q = mustQuery(t, "id", "", "", "")
		q.Refine = []store.FieldValue{{Field: "commune", Value: "Lyon"}}
		q.Exclude = []store.FieldValue{{Field: "montant", Value: "200"}}
		res, err = s.ExploreRecords(ctx, rel, q)
		require.NoError(t, err)
		require.Equal(t, ids(filter(func(r exploreRow) bool { return r.commune == "Lyon" && r.montant != 200 })), column0(res.Rows))

		// Typed values.
		res, err = s.ExploreRecords(ctx, rel, mustQuery(t, "", `id = "r01"`, "", ""))
		require.NoError(t, err)
		require.Equal(t, []any{"r01", "Lyon", 1500.5, int64(3), true, "2024-01-15", "Rue de la République"}, res.Rows[0])
	})
}

func column0(rows [][]any) []any {
	out := []any{}
	for _, r := range rows {
		out = append(out, r[0])
	}
	return out
}

func TestExploreQueryErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rel := exploreRelease(t, s)
		for _, tc := range []struct{ sel, where, group, order, msg string }{
			{where: `montant = "1000"`, msg: `field "montant" is of type double: it cannot be compared with a string`},
			{where: `commune = 3`, msg: `cannot be compared with a number`},
			{where: `actif = "oui"`, msg: `cannot be compared with a string`},
			{where: `date > "hier"`, msg: `invalid date "hier"`},
			{where: `inconnu = 1`, msg: `unknown field "inconnu"`},
			{where: `1 = 1`, msg: `a comparison needs a field`},
			{where: `montant like "1*"`, msg: `like applies to text fields`},
			{where: `commune > montant`, msg: `cannot be compared`},
			{sel: `sum(commune)`, msg: `sum() applies to numeric fields`},
			{sel: `commune, count(*)`, msg: `must be in group_by`},
			{sel: `id, count(*)`, group: `commune`, msg: `must be in group_by`},
			{sel: `id, id`, msg: `selected twice`},
			{sel: `nope`, msg: `unknown field "nope"`},
			{order: `nope desc`, msg: `unknown field "nope"`},
			{order: `count(*)`, msg: `aggregates sort grouped results only`},
			{group: `nope`, msg: `unknown field "nope"`},
		} {
			var q store.ExploreQuery
			var err error
			q.Select, err = odsql.ParseSelect(tc.sel)
			require.NoError(t, err)
			q.Where, err = odsql.ParseWhere(tc.where)
			require.NoError(t, err)
			q.GroupBy, err = odsql.ParseGroupBy(tc.group)
			require.NoError(t, err)
			q.OrderBy, err = odsql.ParseOrderBy(tc.order)
			require.NoError(t, err)
			q.Limit = 10
			_, err = s.ExploreRecords(context.Background(), rel, q)
			require.Error(t, err, fmt.Sprint(tc))
			require.True(t, store.IsQueryError(err), "%v: %v", tc, err)
			require.Contains(t, err.Error(), tc.msg)
			require.Contains(t, err.Error(), "position")
		}
	})
}

// TestExploreStreamConstantMemory: an export reads its rows one by one:
// the live heap does not grow with the number of rows.
func TestExploreStreamConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100,000 rows")
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "gros", Title: "Gros", Department: "voirie"}))
		const total = 100_000
		rel, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "gros", Key: "k", NormalizedSHA: "x", Columns: loadCols}, numbered(total, nil))
		require.NoError(t, err)
		q := mustQuery(t, "", `montant >= 0`, "", "")
		q.Limit = -1
		var base, peak uint64
		n := 0
		heap := func() uint64 {
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		err = s.ExploreStream(ctx, rel, q, func([]string) error { return nil }, func(row []any) error {
			n++
			switch {
			case n == 1000:
				base = heap()
			case n%25_000 == 0:
				peak = max(peak, heap())
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, total, n)
		growth := int64(peak) - int64(base)
		t.Logf("live heap after 1,000 rows %d KiB, at most %d KiB later (growth %d KiB)", base>>10, peak>>10, growth>>10)
		require.Less(t, growth, int64(4<<20), "the export holds rows in memory")

		// Throughput of the same read, without the heap checks (a figure, not a gate).
		start := time.Now()
		n = 0
		require.NoError(t, s.ExploreStream(ctx, rel, q, func([]string) error { return nil }, func([]any) error { n++; return nil }))
		t.Logf("streamed %d rows in %v (%.0f rows/s)", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	})
}
