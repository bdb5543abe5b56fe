package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/civicflow/civicflow/internal/odsql"
)

var fuzzRelease = Release{DatasetID: "d", Table: "rel_x", Columns: ReleaseColumns{
	{Field: "id", Column: "f_id", Kind: KindText}, {Field: "montant", Column: "f_montant", Kind: KindNumeric},
	{Field: "nb", Column: "f_nb", Kind: KindInteger}, {Field: "ok", Column: "f_ok", Kind: KindBoolean},
	{Field: "d", Column: "f_d", Kind: KindDate}, {Field: "t", Column: "f_t", Kind: KindTimestamp},
	{Field: "g", Column: "f_g", Kind: KindGeopoint},
}}

// FuzzCompileExplore: whatever the clauses, parsing and compiling never
// panic, fail only with query errors, and no literal text of the query
// reaches the SQL (values are bind parameters).
func FuzzCompileExplore(f *testing.F) {
	for _, s := range [][4]string{
		{"", `id = "x" and montant > 3`, "", "montant desc"},
		{"id as i, count(*) as n", "", "id", "n desc, i"},
		{"sum(montant), avg(nb), min(d), max(t)", `ok = true or d >= date'2024-01-01'`, "", ""},
		{"*", `search("rue") and id like "A*" and nb in (1, 2) and t is not null`, "", "id"},
		{"", `not (id = 'x'' OR 1=1 --')`, "", ""},
		{"id, g", `year(d) = 2024 and hour(t) < 12 and within_distance(g, geom'POINT(4.8 45.7)', 2km)`, "", "t desc"},
		{"", `in_bbox(g, 45.7, 4.8, 45.8, 4.9) or second(t) >= 30 or t > date'2024-01-01T10:00:00Z'`, "", ""},
		{"_id", `_id = "abc" and search(id, "rue")`, "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, sel, where, group, order string) {
		var q ExploreQuery
		var err error
		if q.Select, err = odsql.ParseSelect(sel); err != nil {
			return
		}
		if q.Where, err = odsql.ParseWhere(where); err != nil {
			return
		}
		if q.GroupBy, err = odsql.ParseGroupBy(group); err != nil {
			return
		}
		if q.OrderBy, err = odsql.ParseOrderBy(order); err != nil {
			return
		}
		for _, d := range []string{"sqlite", "postgres"} {
			cq, err := compileExplore(d, fuzzRelease, q)
			if err != nil {
				var e *odsql.Error
				if !errors.As(err, &e) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			sql := strings.Join(cq.exprs, ",") + cq.from + cq.order
			for _, a := range cq.args {
				if s, ok := a.(string); ok && len(s) > 3 && strings.Contains(sql, s) && !strings.Contains(fuzzSQLWords, s) {
					t.Fatalf("the value %q is in the SQL: %s", s, sql)
				}
			}
		}
	})
}

// fuzzSQLWords: text the SQL holds anyway (a value equal to one is no leak).
const fuzzSQLWords = `SELECT COUNT(*) SUM AVG MIN MAX FROM "rel_x" WHERE GROUP BY ORDER CASE WHEN IS NULL THEN 1 ELSE 0 END ASC DESC AND OR NOT IN LIKE LOWER ESCAPE CAST AS NUMERIC TEXT DATE TIMESTAMPTZ BOOLEAN "f_id" "f_montant" "f_nb" "f_ok" "f_d" "f_t" "_row"`
