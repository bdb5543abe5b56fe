package odsql

import (
	"errors"
	"strings"
	"testing"
)

func TestParseWhere(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // rendered AST
	}{
		{`a = 1`, `(= a 1)`},
		{`montant >= 1000.5 and commune = "Lyon"`, `(and (>= montant 1000.5) (= commune "Lyon"))`},
		{`a = 'it''s'`, `(= a "it's")`},
		{`a = "say \"hi\""`, `(= a "say \"hi\"")`},
		{"`my field` != -3", "(!= `my field` -3)"},
		{`a <> 2`, `(!= a 2)`},
		{`not (a = 1 or b = 2) and c`, ``},
		{`d > date'2020-01-01'`, `(> d date'2020-01-01')`},
		{`a in (1, 2, 3)`, `(in a 1 2 3)`},
		{`a not in ("x")`, `(not-in a "x")`},
		{`a like "Ly*"`, `(like a "Ly*")`},
		{`a is null or b is not null`, `(or (is-null a) (is-not-null b))`},
		{`"voirie"`, `(search "voirie")`},
		{`search("voirie") and x = true`, `(and (search "voirie") (= x true))`},
		{`search(nom, "voirie")`, `(search nom "voirie")`},
		{`a = 1 or b = 2 and c = 3`, `(or (= a 1) (and (= b 2) (= c 3)))`},
		{`NOT a = null`, `(not (= a null))`},
		{`a=-1`, `(= a -1)`},
		{`year(d) = 2024 and month(d) >= 6`, `(and (= year(d) 2024) (>= month(d) 6))`},
		{"HOUR(`vu le`) < 12", "(< hour(`vu le`) 12)"},
		{`d >= date'2024-01-01T10:00:00Z'`, `(>= d date'2024-01-01T10:00:00Z')`},
		{`within_distance(geo, geom'POINT(4.83 45.76)', 10km)`, `(within_distance geo POINT(4.83 45.76) 10000m)`},
		{`within_distance(geo, GEOM'point( -1.5  47.2 )', 250)`, `(within_distance geo POINT(-1.5 47.2) 250m)`},
		{`within_distance(geo, geom'POINT(0 0)', 1.5 mi) or x = 1`, `(or (within_distance geo POINT(0 0) 2414.016m) (= x 1))`},
		{`in_bbox(geo, 45.7, 4.8, 45.8, 4.9)`, `(in_bbox geo 45.7 4.8 45.8 4.9)`},
		{`not in_bbox(geo, -10, -10, 10, 10)`, `(not (in_bbox geo -10 -10 10 10))`},
		{`within_distance(geo, geom'POINT(200 0)', 1km)`, ``},
		{`within_distance(geo, geom'LINESTRING(0 0, 1 1)', 1km)`, ``},
		{`within_distance(geo, 'POINT(0 0)', 1km)`, ``},
		{`within_distance(geo, geom'POINT(0 0)', 1 parsec)`, ``},
		{`within_distance(geo, geom'POINT(0 0)', -1km)`, ``},
		{`within_distance(geo, geom'POINT(0 0)', 0)`, ``},
		{`in_bbox(geo, 91, 0, 0, 0)`, ``},
		{`in_bbox(geo, 1, 2, 3)`, ``},
		{`in_bbox("geo", 1, 2, 3, 4)`, ``},
		{`year(1) = 2`, ``},
		{`year(d, e) = 2`, ``},
	} {
		x, err := ParseWhere(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: want an error, got %s", tc.in, Render(x))
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := Render(x); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in  string
		pos int
		msg string
	}{
		{`a =`, 4, "unexpected end"},
		{`a = 1 b`, 7, "unexpected 'b'"},
		{`a = "x`, 5, "unterminated string"},
		{`(a = 1`, 7, "expected ')'"},
		{`a ; DROP TABLE x`, 3, "unexpected character"},
		{`1=1; DROP TABLE datasets`, 4, "unexpected character"},
		{`a in ()`, 7, "unexpected ')'"},
		{`a like 3`, 8, "like expects a string"},
		{`a is 3`, 6, "expected 'null'"},
		{`d = date'2020-13-45'`, 9, "invalid date"},
		{`a ! b`, 3, "unexpected character"},
		{`a b`, 3, "expected an operator after field"},
		{`a = 1 and`, 10, "unexpected end"},
		{"`` = 1", 1, "empty field name"},
		{"a = \"x\x00\"", 7, "NUL character"},
		{"d = date'0000-01-01'", 9, "invalid date"},
		{"d = date'2024-02-30'", 9, "invalid date"},
		{strings.Repeat("(", 100) + "a=1" + strings.Repeat(")", 100), 0, "nested too deeply"},
		{strings.Repeat("not ", 100) + "a=1", 0, "nested too deeply"},
		{strings.Repeat("a", MaxLength+1), MaxLength + 1, "too long"},
	} {
		_, err := ParseWhere(tc.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: want *Error, got %v", tc.in, err)
			continue
		}
		if tc.pos != 0 && e.Pos != tc.pos || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%q: got %q at %d, want %q at %d", tc.in, e.Msg, e.Pos, tc.msg, tc.pos)
		}
		if !strings.Contains(e.Error(), "position") {
			t.Errorf("%q: the message names no position: %s", tc.in, e.Error())
		}
	}
}

func TestParseSelectGroupOrder(t *testing.T) {
	sel, err := ParseSelect(`commune, count(*) as n, sum(montant) AS total, avg(montant), *`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range sel {
		names = append(names, it.Name)
	}
	if got := strings.Join(names, "|"); got != "commune|n|total|avg(montant)|*" {
		t.Errorf("names: %s", got)
	}
	if c, ok := sel[1].Expr.(*Call); !ok || c.Name != "count" || c.Arg != nil {
		t.Errorf("count(*): %#v", sel[1].Expr)
	}
	gb, err := ParseGroupBy("commune as c, `année`")
	if err != nil || len(gb) != 2 || gb[0].Name != "c" || gb[1].Name != "année" {
		t.Errorf("group_by: %v %v", gb, err)
	}
	ob, err := ParseOrderBy(`montant desc, commune, count(*) ASC`)
	if err != nil || len(ob) != 3 || !ob[0].Desc || ob[1].Desc || ob[2].Desc {
		t.Errorf("order_by: %v %v", ob, err)
	}
	for _, bad := range []string{`count(*) x`, `sum(*)`, `1`, `a as`, `a,`, `sum(a`} {
		if _, err := ParseSelect(bad); err == nil {
			t.Errorf("select %q: want an error", bad)
		}
	}
	if _, err := ParseGroupBy(`count(*)`); err == nil {
		t.Error("group_by count(*): want an error")
	}
	if _, err := ParseOrderBy(`a desc desc`); err == nil {
		t.Error("order_by a desc desc: want an error")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`a = 1`, `a in (1,"2")`, `not (a like "x*") or b is not null`, `search("x")`,
		`d >= date'2020-01-01'`, "`x y` != 'z'", `year(d) = 2024`, `within_distance(g, geom'POINT(1 2)', 3km)`, `in_bbox(g, 1, 2, 3, 4)`, `count(*) as n, sum(a)`, `a desc, b`, `((((`, `"\`, `-.5e`, `1=1; DROP TABLE x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) error{
			func(s string) error { _, err := ParseWhere(s); return err },
			func(s string) error { _, err := ParseSelect(s); return err },
			func(s string) error { _, err := ParseGroupBy(s); return err },
			func(s string) error { _, err := ParseOrderBy(s); return err },
		} {
			if err := parse(s); err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%q: error of type %T", s, err)
				}
			}
		}
	})
}
