package web_test

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store/storetest"
)

// TestExploreRandomQueriesNever500 sends queries assembled at random from
// ODSQL's tokens (well-formed or not, well-typed or not) to the records
// API of both databases: the answer is 200 or 400, never a 500.
func TestExploreRandomQueriesNever500(t *testing.T) {
	tokens := []string{"id", "commune", "montant", "nb", "date", "inconnu", "`commune`", "`x y`",
		"=", "!=", "<>", "<", "<=", ">", ">=", "and", "or", "not", "in", "like", "is", "null", "true", "false",
		"(", ")", ",", "*", "1", "-2.5", "1e3", "99999999999999999999", `"Lyon"`, `'Bron'`, `"V*"`, `"%_\\"`,
		"date'2024-01-10'", "date'2024-02-30'", `"2024-03-01"`, `search("lyon")`, `"rue"`, "count(*)", "sum(montant)",
		"avg(nb)", "min(date)", "max(commune)", "as", "asc", "desc", ";", "--", "'", `"`, "\\"}
	rnd := rand.New(rand.NewPCG(12, 2026))
	phrase := func(max int) string {
		n := 1 + rnd.IntN(max)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = tokens[rnd.IntN(len(tokens))]
		}
		return strings.Join(parts, " ")
	}
	pick := func(xs ...string) string { return xs[rnd.IntN(len(xs))] }
	fields := []string{"id", "commune", "montant", "nb", "date", "`commune`"}
	lits := []string{"1", "-2.5", "1e3", "0", `"Lyon"`, `'Bron'`, `"r001"`, "date'2024-01-10'", `"2024-03-01"`, "true", "null", `"it's"`, `'\\'`}
	var pred func(depth int) string
	pred = func(depth int) string {
		if depth > 0 && rnd.IntN(2) == 0 {
			switch rnd.IntN(3) {
			case 0:
				return "(" + pred(depth-1) + " and " + pred(depth-1) + ")"
			case 1:
				return pred(depth-1) + " or " + pred(depth-1)
			default:
				return "not " + pred(depth-1)
			}
		}
		f := pick(fields...)
		switch rnd.IntN(6) {
		case 0:
			return f + " in (" + pick(lits...) + ", " + pick(lits...) + ")"
		case 1:
			return f + " like " + pick(`"L*"`, `"*on"`, `"%"`, `"_*"`)
		case 2:
			return f + pick(" is null", " is not null")
		case 3:
			return pick(`search("lyon")`, `"bron"`, `search(commune, "V")`)
		}
		return f + " " + pick("=", "!=", "<", "<=", ">", ">=") + " " + pick(lits...)
	}
	var queries []url.Values
	for range 300 {
		q := url.Values{"where": {pred(3)}, "limit": {pick("0", "10", "100")}}
		if rnd.IntN(2) == 0 {
			g := pick("commune", "nb", "date")
			q.Set("group_by", g)
			q.Set("select", g+", "+pick("count(*)", "sum(montant) as s", "avg(nb)", "min(date)", "max(montant)", "sum(commune)"))
			q.Set("order_by", pick(g+" desc", "count(*) desc", g, "id"))
		} else {
			q.Set("select", pick("", "id", "id, montant as m", "count(*) as n", "*"))
			q.Set("order_by", pick("", "montant desc, id", "m", "date asc, nb desc"))
		}
		queries = append(queries, q)
	}
	for range 300 {
		q := url.Values{"where": {phrase(9)}}
		if rnd.IntN(3) == 0 {
			q.Set("select", phrase(4))
		}
		if rnd.IntN(3) == 0 {
			q.Set("group_by", phrase(2))
		}
		if rnd.IntN(3) == 0 {
			q.Set("order_by", phrase(3))
		}
		queries = append(queries, q)
	}
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := exploreServer(t, d.URL(t))
			ok := 0
			for _, q := range queries {
				rec := get(h, base+"/travaux/records", q)
				require.Contains(t, []int{200, 400}, rec.Code, "%v: %s", q, rec.Body.String())
				if rec.Code == 200 {
					ok++
				}
			}
			t.Logf("%d of %d random queries were valid", ok, len(queries))
		})
	}
}
