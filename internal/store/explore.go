package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civicflow/civicflow/internal/odsql"
)

// ExploreQuery is a records query of the public API (Opendatasoft Explore
// v2.1) over a release table: ODSQL clauses parsed by package odsql, plus
// refine/exclude facets and paging. It is compiled to parameterised SQL:
// field names are resolved against the release's columns (never pasted),
// every value is a bind parameter.
type ExploreQuery struct {
	Select  []odsql.SelectItem
	Where   odsql.Expr
	GroupBy []odsql.SelectItem
	OrderBy []odsql.OrderItem
	// Refine keeps rows whose field equals the value; Exclude drops them.
	Refine, Exclude []FieldValue
	// Limit < 0: every row (exports).
	Limit, Offset int
	// Location renders timestamps (nil: UTC), as Opendatasoft's timezone
	// parameter does.
	Location *time.Location
}

// FieldValue is a field and a value as text (refine=field:value).
type FieldValue struct {
	Field, Value string
}

// ExploreResult is a page of results: Names are the output names in
// order, each row's values aligned with them (string, int64, float64,
// bool or nil; dates as YYYY-MM-DD, timestamps as RFC 3339).
type ExploreResult struct {
	Total int64
	Names []string
	Rows  [][]any
}

// exploreSQL is a compiled query.
type exploreSQL struct {
	names   []string
	kinds   []string
	exprs   []string
	from    string // FROM … WHERE … GROUP BY … (without ORDER BY)
	args    []any
	order   string
	grouped bool // GROUP BY, or aggregates without it (one row)
	oneRow  bool
	loc     *time.Location
	used    []ReleaseColumn // the fields filtered on (see noteQuery)
}

type compiler struct {
	dialect string
	table   string
	fts     bool // the release table has its full-text index
	cols    map[string]ReleaseColumn
	order   []ReleaseColumn
	args    []any
	used    []ReleaseColumn // the fields filtered on (where, refine, exclude)
}

func cerr(clause string, pos int, format string, a ...any) error {
	return &odsql.Error{Clause: clause, Pos: pos, Msg: fmt.Sprintf(format, a...)}
}

func (c *compiler) pg() bool { return c.dialect == "postgres" }

// read is the SQL reading a column (see readSQL).
func (c *compiler) read(col ReleaseColumn) string { return readSQL(c.dialect, col) }

func (c *compiler) field(clause string, f *odsql.Field) (ReleaseColumn, error) {
	col, ok := c.cols[f.Name]
	if !ok {
		return ReleaseColumn{}, cerr(clause, f.Pos, "unknown field %q", f.Name)
	}
	if clause == "where" {
		c.used = append(c.used, col)
	}
	return col, nil
}

// bind adds a value; on PostgreSQL it is cast to the column's type so that
// the driver never guesses.
func (c *compiler) bind(kind string, v any) string {
	c.args = append(c.args, v)
	if !c.pg() {
		return "?"
	}
	switch kind {
	case KindNumeric, KindInteger:
		return "CAST(? AS NUMERIC)"
	case KindDate:
		return "CAST(? AS DATE)"
	case KindTimestamp:
		return "CAST(? AS TIMESTAMPTZ)"
	case KindBoolean:
		return "CAST(? AS BOOLEAN)"
	}
	return "CAST(? AS TEXT)"
}

func kindName(k string) string {
	switch k {
	case KindNumeric:
		return "double"
	case KindInteger:
		return "int"
	case KindGeopoint:
		return "geo_point_2d"
	case kindRecordID:
		return "text (_id)"
	}
	return k
}

// value converts a literal for a column of the kind, or says why not.
func (c *compiler) value(col ReleaseColumn, lit *odsql.Literal) (any, error) {
	bad := func(what string) error {
		return cerr("where", lit.Pos, "field %q is of type %s: it cannot be compared with %s", col.Field, kindName(col.Kind), what)
	}
	switch col.Kind {
	case KindText:
		if lit.Kind == litString {
			return lit.Text, nil
		}
	case KindNumeric, KindInteger:
		if lit.Kind == odsql.LitNumber {
			if lit.Int && col.Kind == KindInteger {
				if n, err := strconv.ParseInt(lit.Text, 10, 64); err == nil {
					return n, nil
				}
			}
			return lit.Num, nil
		}
	case KindBoolean:
		if lit.Kind == odsql.LitBool {
			return lit.Bool, nil
		}
	case KindDate, KindTimestamp:
		if lit.Kind == odsql.LitDate || lit.Kind == litString {
			if !odsql.ValidDate(lit.Text) {
				return nil, cerr("where", lit.Pos, "invalid date %q for field %q (YYYY-MM-DD or RFC 3339 expected)", lit.Text, col.Field)
			}
			return dateValue(col.Kind, lit.Text), nil
		}
	}
	switch lit.Kind {
	case odsql.LitString:
		return nil, bad("a string")
	case odsql.LitNumber:
		return nil, bad("a number")
	case odsql.LitBool:
		return nil, bad("a boolean")
	case odsql.LitDate:
		return nil, bad("a date")
	}
	return nil, bad("null (use is null)")
}

// litString is odsql.LitString (shorter in switches).
const litString = odsql.LitString

// dateValue is the stored form of a date or timestamp literal: the date
// part for dates, RFC 3339 UTC for timestamps (text on SQLite).
func dateValue(kind, s string) string {
	if kind == KindDate {
		return s[:10]
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return s[:10] + "T00:00:00Z"
}

var flipOp = map[string]string{"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

func (c *compiler) where(x odsql.Expr) (string, error) {
	switch v := x.(type) {
	case *odsql.Logical:
		l, err := c.where(v.L)
		if err != nil {
			return "", err
		}
		r, err := c.where(v.R)
		if err != nil {
			return "", err
		}
		op := " AND "
		if v.Op == "or" {
			op = " OR "
		}
		return "(" + l + op + r + ")", nil
	case *odsql.Not:
		s, err := c.where(v.X)
		if err != nil {
			return "", err
		}
		return "(NOT " + s + ")", nil
	case *odsql.Compare:
		return c.compare(v)
	case *odsql.In:
		f, ok := v.X.(*odsql.Field)
		if !ok {
			return "", cerr("where", v.Pos, "in (…) applies to a field")
		}
		col, err := c.field("where", f)
		if err != nil {
			return "", err
		}
		var ps []string
		for _, e := range v.List {
			val, err := c.value(col, e.(*odsql.Literal))
			if err != nil {
				return "", err
			}
			ps = append(ps, c.bind(col.Kind, val))
		}
		op := " IN ("
		if v.Not {
			op = " NOT IN ("
		}
		return "(" + c.read(col) + op + strings.Join(ps, ", ") + "))", nil
	case *odsql.Like:
		f, ok := v.X.(*odsql.Field)
		if !ok {
			return "", cerr("where", v.Pos, "like applies to a field")
		}
		col, err := c.field("where", f)
		if err != nil {
			return "", err
		}
		if col.Kind != KindText {
			return "", cerr("where", v.Pos, "like applies to text fields; %q is of type %s", col.Field, kindName(col.Kind))
		}
		s := c.likeSQL(col, likePattern(v.Pattern))
		if v.Not {
			s = "(NOT " + s + ")"
		}
		return s, nil
	case *odsql.IsNull:
		f, ok := v.X.(*odsql.Field)
		if !ok {
			return "", cerr("where", v.Pos, "is null applies to a field")
		}
		col, err := c.field("where", f)
		if err != nil {
			return "", err
		}
		if v.Not {
			return "(" + c.read(col) + " IS NOT NULL)", nil
		}
		return "(" + c.read(col) + " IS NULL)", nil
	case *odsql.Search:
		return c.search(v)
	case *odsql.Geo:
		return c.geo(v)
	case *odsql.Literal, *odsql.Field, *odsql.Call, *odsql.DatePart:
		return "", cerr("where", x.Position(), "a condition is expected here")
	}
	return "", cerr("where", x.Position(), "unsupported expression")
}

func (c *compiler) likeSQL(col ReleaseColumn, pattern string) string {
	return "(LOWER(" + c.read(col) + ") LIKE " + c.bind(KindText, strings.ToLower(pattern)) + ` ESCAPE '\')`
}

// likePattern turns an ODS pattern (* any characters) into a SQL LIKE one
// with \ as escape.
func likePattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '*':
			b.WriteByte('%')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// search: every word of the text appears (case-insensitively) in one of
// the text fields (all of them, or those named).
func (c *compiler) search(v *odsql.Search) (string, error) {
	var cols []ReleaseColumn
	if len(v.Fields) > 0 {
		for i := range v.Fields {
			col, err := c.field("where", &v.Fields[i])
			if err != nil {
				return "", err
			}
			if col.Kind != KindText {
				return "", cerr("where", v.Fields[i].Pos, "search() applies to text fields; %q is of type %s", col.Field, kindName(col.Kind))
			}
			cols = append(cols, col)
		}
	} else {
		for _, col := range c.order {
			if col.Kind == KindText {
				cols = append(cols, col)
			}
		}
	}
	words := strings.FieldsFunc(v.Text, unicode.IsSpace)
	if len(words) == 0 {
		return "(1=1)", nil
	}
	if len(cols) == 0 {
		return "(1=0)", nil
	}
	if c.fts {
		return c.ftsSearch(cols, len(v.Fields) == 0, v.Text), nil
	}
	var all []string
	for _, w := range words {
		var any []string
		for _, col := range cols {
			any = append(any, c.likeSQL(col, "%"+likePattern(strings.ReplaceAll(w, "*", ""))+"%"))
		}
		all = append(all, "("+strings.Join(any, " OR ")+")")
	}
	return "(" + strings.Join(all, " AND ") + ")", nil
}

func (c *compiler) compare(v *odsql.Compare) (string, error) {
	l, r, op := v.L, v.R, v.Op
	if _, ok := l.(*odsql.Literal); ok {
		l, r, op = r, l, flipOp[op]
	}
	switch l.(type) {
	case *odsql.Field:
	case *odsql.DatePart:
		return c.compareDatePart(v.Pos, l.(*odsql.DatePart), op, r)
	case *odsql.Literal:
		return "", cerr("where", v.Pos, "a comparison needs a field")
	default:
		return "", cerr("where", l.Position(), "a field is expected here")
	}
	col, err := c.field("where", l.(*odsql.Field))
	if err != nil {
		return "", err
	}
	if col.Kind == kindRecordID {
		return c.compareRecordID(v.Pos, op, r)
	}
	switch rv := r.(type) {
	case *odsql.Field:
		rc, err := c.field("where", rv)
		if err != nil {
			return "", err
		}
		if comparable(col.Kind) != comparable(rc.Kind) {
			return "", cerr("where", v.Pos, "fields %q (%s) and %q (%s) cannot be compared", col.Field, kindName(col.Kind), rc.Field, kindName(rc.Kind))
		}
		return "(" + c.read(col) + " " + sqlOp(op) + " " + c.read(rc) + ")", nil
	case *odsql.Literal:
		if rv.Kind == odsql.LitNull {
			switch op {
			case "=":
				return "(" + c.read(col) + " IS NULL)", nil
			case "!=":
				return "(" + c.read(col) + " IS NOT NULL)", nil
			}
			return "", cerr("where", v.Pos, "null can only be compared with = or !=")
		}
		val, err := c.value(col, rv)
		if err != nil {
			return "", err
		}
		return "(" + c.read(col) + " " + sqlOp(op) + " " + c.bind(col.Kind, val) + ")", nil
	}
	return "", cerr("where", r.Position(), "a value or a field is expected here")
}

// datePartSQL extracts a date part (year…second) of a date or timestamp
// column as an integer, in UTC.
func (c *compiler) datePartSQL(d *odsql.DatePart) (string, error) {
	col, err := c.field("where", &d.Field)
	if err != nil {
		return "", err
	}
	if col.Kind != KindDate && col.Kind != KindTimestamp {
		return "", cerr("where", d.Pos, "%s() applies to date and datetime fields; %q is of type %s", d.Name, col.Field, kindName(col.Kind))
	}
	q := c.read(col)
	if c.pg() {
		if col.Kind == KindTimestamp {
			q = "(" + q + " AT TIME ZONE 'UTC')"
		} else {
			q = "CAST(" + q + " AS TIMESTAMP)" // EXTRACT(HOUR FROM date) is an error
		}
		return "CAST(FLOOR(EXTRACT(" + strings.ToUpper(d.Name) + " FROM " + q + ")) AS INTEGER)", nil
	}
	f := map[string]string{"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S"}[d.Name]
	return "CAST(strftime('" + f + "', " + q + ") AS INTEGER)", nil
}

func (c *compiler) compareDatePart(pos int, d *odsql.DatePart, op string, r odsql.Expr) (string, error) {
	x, err := c.datePartSQL(d)
	if err != nil {
		return "", err
	}
	lit, ok := r.(*odsql.Literal)
	if !ok || lit.Kind != odsql.LitNumber || !lit.Int {
		return "", cerr("where", r.Position(), "%s() is compared with a whole number", d.Name)
	}
	n, err := strconv.ParseInt(lit.Text, 10, 32)
	if err != nil {
		return "", cerr("where", r.Position(), "%s() is compared with a whole number", d.Name)
	}
	return "(" + x + " " + sqlOp(op) + " " + c.bind(KindInteger, n) + ")", nil
}

// bindFloat adds a float parameter (double precision on PostgreSQL).
func (c *compiler) bindFloat(f float64) string {
	c.args = append(c.args, f)
	if c.pg() {
		return "CAST(? AS DOUBLE PRECISION)"
	}
	return "?"
}

// metersPerDegree is the length of a degree of latitude (mean Earth
// radius 6,371,008.8 m).
const metersPerDegree = 6371008.8 * math.Pi / 180

// geo compiles in_bbox and within_distance on a geopoint's stored
// longitude and latitude. within_distance keeps the points of a bounding
// box whose equirectangular distance to the centre (longitudes scaled by
// the cosine of the centre's latitude) is at most the radius: within
// 0.5 % of the great-circle distance up to ~100 km away from the poles,
// with plain arithmetic that SQLite and PostgreSQL compute alike.
func (c *compiler) geo(g *odsql.Geo) (string, error) {
	col, err := c.field("where", &g.Field)
	if err != nil {
		return "", err
	}
	if col.Kind != KindGeopoint {
		return "", cerr("where", g.Pos, "%s() applies to geo_point_2d fields; %q is of type %s", g.Name, col.Field, kindName(col.Kind))
	}
	lon, lat := quoteIdent(col.Column+"_lon"), quoteIdent(col.Column+"_lat")
	if g.Name == "in_bbox" {
		lat1, lat2 := min(g.BBox[0], g.BBox[2]), max(g.BBox[0], g.BBox[2])
		lon1, lon2 := min(g.BBox[1], g.BBox[3]), max(g.BBox[1], g.BBox[3])
		return "(" + lat + " BETWEEN " + c.bindFloat(lat1) + " AND " + c.bindFloat(lat2) + " AND " + lon + " BETWEEN " + c.bindFloat(lon1) + " AND " + c.bindFloat(lon2) + ")", nil
	}
	dlat := g.Meters / metersPerDegree
	k := math.Max(math.Cos(g.Lat*math.Pi/180), 1e-6)
	dlon := math.Min(dlat/k, 360)
	box := "(" + lat + " BETWEEN " + c.bindFloat(g.Lat-dlat) + " AND " + c.bindFloat(g.Lat+dlat) + " AND " + lon + " BETWEEN " + c.bindFloat(g.Lon-dlon) + " AND " + c.bindFloat(g.Lon+dlon) + ")"
	// Parameters are numbered in the order of the text: build it in order.
	var b strings.Builder
	b.WriteString("(" + box + " AND ")
	for i := 0; i < 2; i++ {
		if i > 0 {
			b.WriteString(" * ")
		}
		b.WriteString("((" + lon + " - " + c.bindFloat(g.Lon) + ") * " + c.bindFloat(k) + ")")
	}
	b.WriteString(" + ")
	for i := 0; i < 2; i++ {
		if i > 0 {
			b.WriteString(" * ")
		}
		b.WriteString("(" + lat + " - " + c.bindFloat(g.Lat) + ")")
	}
	b.WriteString(" <= " + c.bindFloat(dlat*dlat) + ")")
	return b.String(), nil
}

func comparable(kind string) string {
	if kind == KindInteger {
		return KindNumeric
	}
	return kind
}

func sqlOp(op string) string {
	if op == "!=" {
		return "<>"
	}
	return op
}

// output is a compiled select item.
type output struct {
	name, kind, sql string
	agg             bool
}

func (c *compiler) aggregate(clause string, v *odsql.Call) (output, error) {
	if v.Arg == nil {
		return output{kind: KindInteger, sql: "COUNT(*)", agg: true}, nil
	}
	col, err := c.field(clause, v.Arg.(*odsql.Field))
	if err != nil {
		return output{}, err
	}
	q := c.read(col)
	switch v.Name {
	case "count":
		return output{kind: KindInteger, sql: "COUNT(" + q + ")", agg: true}, nil
	case "sum", "avg":
		if col.Kind != KindNumeric && col.Kind != KindInteger {
			return output{}, cerr(clause, v.Pos, "%s() applies to numeric fields; %q is of type %s", v.Name, col.Field, kindName(col.Kind))
		}
		return output{kind: KindNumeric, sql: strings.ToUpper(v.Name) + "(" + q + ")", agg: true}, nil
	default: // min, max
		if col.Kind == KindBoolean || col.Kind == KindGeopoint {
			return output{}, cerr(clause, v.Pos, "%s() does not apply to boolean field %q", v.Name, col.Field)
		}
		return output{kind: col.Kind, sql: strings.ToUpper(v.Name) + "(" + q + ")", agg: true}, nil
	}
}

// compileExplore compiles q over rel for the dialect; with fts, search()
// uses the release's full-text index.
func compileExplore(dialect string, rel Release, q ExploreQuery, fts ...bool) (exploreSQL, error) {
	c := &compiler{dialect: dialect, cols: map[string]ReleaseColumn{}, order: rel.Columns, table: rel.Table, fts: len(fts) > 0 && fts[0]}
	for _, col := range rel.Columns {
		c.cols[col.Field] = col
	}
	if _, taken := c.cols[RecordIDField]; !taken {
		// The record id: selectable, filterable, never part of *.
		c.cols[RecordIDField] = ReleaseColumn{Field: RecordIDField, Column: colHash, Kind: kindRecordID}
	}
	var out exploreSQL

	// group_by: fields, by their names and aliases.
	groups := map[string]output{}
	var groupSQL []string
	for _, g := range q.GroupBy {
		col, err := c.field("group_by", g.Expr.(*odsql.Field))
		if err != nil {
			return out, err
		}
		o := output{name: g.Name, kind: col.Kind, sql: c.read(col)}
		groups[g.Name] = o
		groups[col.Field] = o
		groupSQL = append(groupSQL, o.sql)
	}
	grouped := len(q.GroupBy) > 0

	// select
	var outs []output
	items := q.Select
	if len(items) == 0 && grouped {
		items = q.GroupBy
	}
	hasAgg := false
	for _, it := range items {
		if it.Expr == nil { // *
			if grouped {
				return out, cerr("select", 1, "* cannot be selected with group_by")
			}
			for _, col := range rel.Columns {
				outs = append(outs, output{name: col.Field, kind: col.Kind, sql: c.read(col)})
			}
			continue
		}
		switch v := it.Expr.(type) {
		case *odsql.Field:
			if grouped {
				g, ok := groups[v.Name]
				if !ok {
					if _, known := c.cols[v.Name]; !known {
						return out, cerr("select", v.Pos, "unknown field %q", v.Name)
					}
					return out, cerr("select", v.Pos, "field %q must be in group_by or in an aggregate", v.Name)
				}
				g.name = it.Name
				outs = append(outs, g)
				continue
			}
			col, err := c.field("select", v)
			if err != nil {
				return out, err
			}
			outs = append(outs, output{name: it.Name, kind: col.Kind, sql: c.read(col)})
		case *odsql.Call:
			o, err := c.aggregate("select", v)
			if err != nil {
				return out, err
			}
			o.name = it.Name
			hasAgg = true
			outs = append(outs, o)
		}
	}
	if len(outs) == 0 {
		for _, col := range rel.Columns {
			outs = append(outs, output{name: col.Field, kind: col.Kind, sql: c.read(col)})
		}
	}
	if hasAgg && !grouped {
		for i, o := range outs {
			if !o.agg {
				return out, cerr("select", positionOf(items, i), "field %q must be in group_by or in an aggregate", o.name)
			}
		}
	}
	seen := map[string]bool{}
	for i, o := range outs {
		if seen[o.name] {
			return out, cerr("select", positionOf(items, i), "the name %q is selected twice (use an alias)", o.name)
		}
		seen[o.name] = true
		out.names = append(out.names, o.name)
		out.kinds = append(out.kinds, o.kind)
		out.exprs = append(out.exprs, o.sql)
	}

	// where, refine, exclude
	var conds []string
	if q.Where != nil {
		w, err := c.where(q.Where)
		if err != nil {
			return out, err
		}
		conds = append(conds, w)
	}
	for _, fv := range q.Refine {
		s, err := c.facet("refine", fv)
		if err != nil {
			return out, err
		}
		conds = append(conds, s)
	}
	for _, fv := range q.Exclude {
		s, err := c.facet("exclude", fv)
		if err != nil {
			return out, err
		}
		conds = append(conds, "(NOT "+s+" OR "+c.read(c.cols[fv.Field])+" IS NULL)")
	}
	from := " FROM " + quoteIdent(rel.Table)
	if len(conds) > 0 {
		from += " WHERE " + strings.Join(conds, " AND ")
	}
	if grouped {
		from += " GROUP BY " + strings.Join(groupSQL, ", ")
	}
	out.from = from
	out.grouped = grouped
	out.oneRow = hasAgg && !grouped

	// order_by: select names (aliases), then fields or aggregates.
	var keys []string
	for _, ob := range q.OrderBy {
		var expr string
		switch v := ob.Expr.(type) {
		case *odsql.Field:
			if i := indexOf(out.names, v.Name); i >= 0 {
				expr = out.exprs[i]
			} else if grouped {
				g, ok := groups[v.Name]
				if !ok {
					if _, known := c.cols[v.Name]; !known {
						return out, cerr("order_by", v.Pos, "unknown field %q", v.Name)
					}
					return out, cerr("order_by", v.Pos, "field %q must be in group_by to sort grouped results", v.Name)
				}
				expr = g.sql
			} else {
				if hasAgg {
					return out, cerr("order_by", v.Pos, "field %q cannot sort an aggregate", v.Name)
				}
				col, err := c.field("order_by", v)
				if err != nil {
					return out, err
				}
				expr = c.read(col)
			}
		case *odsql.Call:
			if !grouped && !hasAgg {
				return out, cerr("order_by", v.Pos, "aggregates sort grouped results only")
			}
			o, err := c.aggregate("order_by", v)
			if err != nil {
				return out, err
			}
			expr = o.sql
		}
		dir := " ASC"
		if ob.Desc {
			dir = " DESC"
		}
		// Nulls last on both databases.
		keys = append(keys, "CASE WHEN "+expr+" IS NULL THEN 1 ELSE 0 END", expr+dir)
	}
	switch {
	case grouped:
		keys = append(keys, groupSQL...)
	case !hasAgg:
		keys = append(keys, quoteIdent(colLine))
	}
	if len(keys) > 0 {
		out.order = " ORDER BY " + strings.Join(keys, ", ")
	}
	out.args = c.args
	out.loc = q.Location
	out.used = c.used
	return out, nil
}

func positionOf(items []odsql.SelectItem, i int) int {
	if i < len(items) && items[i].Expr != nil {
		return items[i].Expr.Position()
	}
	return 1
}

func indexOf(names []string, n string) int {
	for i, m := range names {
		if m == n {
			return i
		}
	}
	return -1
}

// facet compiles refine/exclude field:value as an equality.
func (c *compiler) facet(clause string, fv FieldValue) (string, error) {
	col, ok := c.cols[fv.Field]
	if !ok {
		return "", cerr(clause, 1, "unknown field %q", fv.Field)
	}
	c.used = append(c.used, col)
	var val any = fv.Value
	switch col.Kind {
	case KindGeopoint:
		return "", cerr(clause, 1, "field %q is a geopoint: filter it with within_distance() or in_bbox()", col.Field)
	case KindNumeric, KindInteger:
		f, err := strconv.ParseFloat(fv.Value, 64)
		if err != nil {
			return "", cerr(clause, 1, "field %q is of type %s: %q is not a number", col.Field, kindName(col.Kind), fv.Value)
		}
		val = f
	case KindBoolean:
		b, err := strconv.ParseBool(fv.Value)
		if err != nil {
			return "", cerr(clause, 1, "field %q is of type boolean: %q is not true or false", col.Field, fv.Value)
		}
		val = b
	case KindDate, KindTimestamp:
		if !odsql.ValidDate(fv.Value) {
			return "", cerr(clause, 1, "invalid date %q for field %q", fv.Value, col.Field)
		}
		val = dateValue(col.Kind, fv.Value)
	}
	return "(" + c.read(col) + " = " + c.bind(col.Kind, val) + ")", nil
}

// ExploreRecords runs q over rel: the total number of results (rows, or
// groups) and the page asked.
func (s *Store) ExploreRecords(ctx context.Context, rel Release, q ExploreQuery) (ExploreResult, error) {
	cq, err := compileExplore(s.dialect, rel, q, s.hasFTS(ctx, rel.Table))
	if err != nil {
		return ExploreResult{}, err
	}
	s.noteQuery(rel, cq.used)
	res := ExploreResult{Names: cq.names, Rows: [][]any{}}
	err = s.exploreRows(ctx, rel, cq, q.Limit, q.Offset, func(row []any) error {
		res.Rows = append(res.Rows, row)
		return nil
	})
	if err != nil {
		return res, err
	}
	// The page tells the total when it is not full and not past the end:
	// no COUNT then.
	n := len(res.Rows)
	switch {
	case cq.oneRow:
		res.Total = 1
	case q.Limit > 0 && n < q.Limit && (n > 0 || q.Offset == 0):
		res.Total = int64(max(q.Offset, 0) + n)
	default:
		count := "SELECT COUNT(*)" + cq.from
		if cq.grouped {
			count = "SELECT COUNT(*) FROM (SELECT 1 AS one" + cq.from + ") g"
		}
		if err := s.rdb.GetContext(ctx, &res.Total, s.q(count), cq.args...); err != nil {
			return ExploreResult{}, fmt.Errorf("count records of %q: %w", rel.DatasetID, err)
		}
	}
	return res, nil
}

// ExploreStream runs q over rel without paging when q.Limit < 0, calling
// names once with the output names, then row for each row (the slice is
// reused: copy what is kept). Memory does not grow with the rows.
func (s *Store) ExploreStream(ctx context.Context, rel Release, q ExploreQuery, names func([]string) error, row func([]any) error) error {
	return s.ExploreStreamColumns(ctx, rel, q, func(cols []ReleaseColumn) error {
		ns := make([]string, len(cols))
		for i, c := range cols {
			ns[i] = c.Field
		}
		return names(ns)
	}, row)
}

// ExploreStreamColumns is ExploreStream telling the output columns: their
// names (Field) and kinds (Kind; aggregates have the kind of their value).
func (s *Store) ExploreStreamColumns(ctx context.Context, rel Release, q ExploreQuery, cols func([]ReleaseColumn) error, row func([]any) error) error {
	cq, err := compileExplore(s.dialect, rel, q, s.hasFTS(ctx, rel.Table))
	if err != nil {
		return err
	}
	s.noteQuery(rel, cq.used)
	out := make([]ReleaseColumn, len(cq.names))
	for i := range cq.names {
		out[i] = ReleaseColumn{Field: cq.names[i], Kind: cq.kinds[i]}
	}
	if err := cols(out); err != nil {
		return err
	}
	return s.exploreRows(ctx, rel, cq, q.Limit, q.Offset, row)
}

func (s *Store) exploreRows(ctx context.Context, rel Release, cq exploreSQL, limit, offset int, fn func([]any) error) error {
	query := "SELECT " + strings.Join(cq.exprs, ", ") + cq.from + cq.order
	args := append([]any{}, cq.args...)
	if limit >= 0 {
		query += " LIMIT ? OFFSET ?"
		args = append(args, limit, max(offset, 0))
	}
	rows, err := s.rdb.QueryxContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("query records of %q: %w", rel.DatasetID, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		for i, v := range vals {
			if cq.kinds[i] == KindInteger {
				if v != nil {
					vals[i] = normaliseValue(KindInteger, toInt64(v))
					continue
				}
			}
			vals[i] = normaliseValue(cq.kinds[i], v)
			if cq.kinds[i] == KindTimestamp && cq.loc != nil && cq.loc != time.UTC {
				vals[i] = inZone(vals[i], cq.loc)
			}
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	return nil
}

// inZone renders a timestamp (RFC 3339 text) in loc.
func inZone(v any, loc *time.Location) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return v
	}
	return t.In(loc).Format(time.RFC3339Nano)
}

// RecordIDField is the pseudo-field of a record's id, as Opendatasoft
// names it. A record id is 40 hexadecimal characters, like Opendatasoft's
// SHA-1 ids: the digest of the row's cells that the loader stores in _hash
// (32 characters; rows loaded by other means may have other digests) then
// the row's number in its release as 8 hexadecimal digits. The row number
// makes it unique (identical rows differ) and finds it through the table's
// row index without an index of its own (an index on the digests cost
// ~7 CPU-seconds per million rows at load on SQLite); the digest makes an
// id from another release, whose row moved, fail rather than answer
// another row.
const RecordIDField = "_id"

// kindRecordID is the kind of the _id pseudo-column.
const kindRecordID = "recordid"

// recordIDSQL reads a row's id (see RecordIDField).
func recordIDSQL(dialect string) string {
	if dialect == "postgres" {
		return "(" + quoteIdent(colHash) + " || LPAD(TO_HEX(" + quoteIdent(colLine) + "), 8, '0'))"
	}
	return "(" + quoteIdent(colHash) + " || printf('%08x', " + quoteIdent(colLine) + "))"
}

// splitRecordID parses an id into its digest and row number.
func splitRecordID(id string) (hash string, row int64, ok bool) {
	if len(id) < 9 || len(id) > 128 || !utf8.ValidString(id) {
		return "", 0, false
	}
	n, err := strconv.ParseUint(id[len(id)-8:], 16, 32)
	if err != nil || strings.ToLower(id[len(id)-8:]) != id[len(id)-8:] {
		return "", 0, false
	}
	return id[:len(id)-8], int64(n), true
}

// compareRecordID compiles _id = "…" (or !=) to the row number and digest.
func (c *compiler) compareRecordID(pos int, op string, r odsql.Expr) (string, error) {
	lit, ok := r.(*odsql.Literal)
	if !ok || lit.Kind != odsql.LitString || (op != "=" && op != "!=") {
		return "", cerr("where", pos, "_id is compared with = or != to a string")
	}
	cond := "(1=0)"
	if hash, row, ok := splitRecordID(lit.Text); ok {
		cond = "(" + quoteIdent(colLine) + " = " + c.bind(KindInteger, row) + " AND " + quoteIdent(colHash) + " = " + c.bind(KindText, hash) + ")"
	}
	if op == "!=" {
		return "(NOT " + cond + ")", nil
	}
	return cond, nil
}

// ExploreRecord returns the record id of rel with its fields (names in
// field order, _id first), or ErrNotFound.
// Timestamps are rendered in loc (nil: UTC).
func (s *Store) ExploreRecord(ctx context.Context, rel Release, id string, loc *time.Location) ([]string, []any, error) {
	if id == "" || len(id) > 128 || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
		return nil, nil, fmt.Errorf("record %q of %q: %w", id, rel.DatasetID, ErrNotFound)
	}
	q := ExploreQuery{
		Select:   []odsql.SelectItem{{Expr: &odsql.Field{Pos: 1, Name: RecordIDField}, Name: RecordIDField}, {Name: "*"}},
		Where:    &odsql.Compare{Pos: 1, Op: "=", L: &odsql.Field{Pos: 1, Name: RecordIDField}, R: &odsql.Literal{Pos: 1, Kind: odsql.LitString, Text: id}},
		Limit:    1,
		Location: loc,
	}
	cq, err := compileExplore(s.dialect, rel, q, s.hasFTS(ctx, rel.Table))
	if err != nil {
		return nil, nil, err
	}
	var found []any
	err = s.exploreRows(ctx, rel, cq, 1, 0, func(row []any) error {
		found = append([]any{}, row...)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if found == nil {
		return nil, nil, fmt.Errorf("record %q of %q: %w", id, rel.DatasetID, ErrNotFound)
	}
	return cq.names, found, nil
}

// IsQueryError reports whether err is a mistake of the query (400), not
// of the database.
func IsQueryError(err error) bool {
	var e *odsql.Error
	return errors.As(err, &e)
}
