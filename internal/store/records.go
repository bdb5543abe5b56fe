package store

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Column kinds of a release table, from the Table Schema field types.
const (
	KindText      = "text"
	KindNumeric   = "numeric"
	KindInteger   = "integer"
	KindBoolean   = "boolean"
	KindDate      = "date"
	KindTimestamp = "timestamp"
)

// ReleaseColumn is one typed column of a release table. Field is the
// Table Schema field (or header) name, Column the SQL column derived from
// it (never user text verbatim).
type ReleaseColumn struct {
	Field  string `json:"field"`
	Column string `json:"column"`
	Kind   string `json:"kind"`
}

// ReleaseColumns is stored as JSON.
type ReleaseColumns []ReleaseColumn

// Value implements driver.Valuer.
func (c ReleaseColumns) Value() (driver.Value, error) {
	if c == nil {
		return "[]", nil
	}
	return jsonValue([]ReleaseColumn(c))
}

// Scan implements sql.Scanner.
func (c *ReleaseColumns) Scan(src any) error { return scanJSON(src, (*[]ReleaseColumn)(c)) }

// ReleaseRow is one row to store: Values aligned with the columns (nil,
// string, int64, float64, bool or time.Time by kind), Key the primary-key
// text (not stored when the release has no primary key), Hash a digest of
// the whole row.
type ReleaseRow struct {
	Values []any
	Key    string
	Hash   string
}

// RowSource yields rows until io.EOF.
type RowSource func() (ReleaseRow, error)

// Internal columns of every release table.
const (
	colLine = "_row"
	colKey  = "_key"
	colHash = "_hash"
)

// releaseTableName is the table holding the release of a dataset made under
// an idempotency key: derived from digests of both, so that no user text
// reaches SQL and every attempt of the same activity finds the table its
// predecessors began to load.
func releaseTableName(datasetID, key string) string {
	ds := sha256.Sum256([]byte(datasetID))
	k := sha256.Sum256([]byte(key))
	return "rel_" + hex.EncodeToString(ds[:6]) + "_" + hex.EncodeToString(k[:6])
}

// quoteIdent quotes an identifier for SQLite and PostgreSQL.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// columnName derives a SQL column from a field name: "f_" + lower-case
// ASCII letters, digits and underscores, at most 48 characters.
func columnName(field string) string {
	var b strings.Builder
	b.WriteString("f_")
	for _, r := range strings.ToLower(field) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == 'é' || r == 'è' || r == 'ê' || r == 'ë':
			b.WriteByte('e')
		case r == 'à' || r == 'â' || r == 'ä':
			b.WriteByte('a')
		case r == 'ô' || r == 'ö':
			b.WriteByte('o')
		case r == 'î' || r == 'ï':
			b.WriteByte('i')
		case r == 'û' || r == 'ù' || r == 'ü':
			b.WriteByte('u')
		case r == 'ç':
			b.WriteByte('c')
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 48 {
			break
		}
	}
	return b.String()
}

func assignColumns(in []ReleaseColumn) (ReleaseColumns, error) {
	if len(in) == 0 {
		return nil, errors.New("a release needs at least one column")
	}
	out := make(ReleaseColumns, len(in))
	used := map[string]bool{}
	for i, c := range in {
		switch c.Kind {
		case KindText, KindNumeric, KindInteger, KindBoolean, KindDate, KindTimestamp, KindGeopoint:
		case "":
			c.Kind = KindText
		default:
			return nil, fmt.Errorf("column %q: unknown kind %q", c.Field, c.Kind)
		}
		name := columnName(c.Field)
		taken := func(name string) bool {
			for _, s := range storedColumns(ReleaseColumn{Column: name, Kind: c.Kind}) {
				if used[s] {
					return true
				}
			}
			return used[name]
		}
		for n := 2; taken(name); n++ {
			name = columnName(c.Field) + "_" + strconv.Itoa(n)
		}
		c.Column = name
		used[name] = true
		for _, s := range storedColumns(c) {
			used[s] = true
		}
		out[i] = c
	}
	return out, nil
}

func sqlType(dialect, kind string) string {
	pg := dialect == "postgres"
	switch kind {
	case KindNumeric:
		return "NUMERIC"
	case KindInteger:
		if pg {
			return "BIGINT"
		}
		return "INTEGER"
	case KindBoolean:
		return "BOOLEAN"
	case KindDate:
		if pg {
			return "DATE"
		}
		return "TEXT"
	case KindTimestamp:
		if pg {
			return "TIMESTAMPTZ"
		}
		return "TEXT"
	case KindGeopoint:
		if pg {
			return "DOUBLE PRECISION"
		}
		return "REAL"
	}
	return "TEXT"
}

// createTableSQL creates a release table: row number, key and hash, then
// the typed columns. On SQLite the row number is the rowid: rows are
// appended in its order, read back in it without sorting, and a row cannot
// be loaded twice (PostgreSQL gets the same primary key once loaded).
func createTableSQL(dialect, table string, cols ReleaseColumns) string {
	line := quoteIdent(colLine) + " INTEGER PRIMARY KEY"
	if dialect == "postgres" {
		line = quoteIdent(colLine) + " BIGINT NOT NULL"
	}
	defs := []string{line, quoteIdent(colKey) + " TEXT NOT NULL", quoteIdent(colHash) + " TEXT NOT NULL"}
	for _, c := range cols {
		for _, name := range storedColumns(c) {
			defs = append(defs, quoteIdent(name)+" "+sqlType(dialect, c.Kind))
		}
	}
	return "CREATE TABLE " + quoteIdent(table) + " (" + strings.Join(defs, ", ") + ")"
}

// columnNames are the columns of a release table, in insert order (a
// geopoint has two: see storedColumns).
func columnNames(cols ReleaseColumns) []string {
	names := []string{colLine, colKey, colHash}
	for _, c := range cols {
		names = append(names, storedColumns(c)...)
	}
	return names
}

// sqliteValue converts a Go value for a SQLite column of the kind: dates
// and timestamps are stored as ISO text (PostgreSQL takes time.Time).
func sqliteValue(kind string, v any) any {
	t, ok := v.(time.Time)
	if !ok {
		return v
	}
	if kind == KindDate {
		return t.Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// indexSQL indexes a loaded release table: its row numbers on PostgreSQL
// (SQLite's are the rowid), the primary key and the unique keys. The key
// and hash columns, which only diffs read, are indexed by diffIndexSQL when
// a later release is compared with this one. IF NOT EXISTS: an attempt that crashed
// while indexing is resumed by the next.
// A key wider than the database can index (maxKeys > 0) goes without an
// index.
func indexSQL(dialect, table string, cols ReleaseColumns, pk []string, unique [][]string, maxKeys int) []string {
	var stmts []string
	if dialect == "postgres" {
		stmts = append(stmts, "CREATE UNIQUE INDEX IF NOT EXISTS "+quoteIdent(table+"_row")+" ON "+quoteIdent(table)+" ("+quoteIdent(colLine)+")")
	}
	sets := append([][]string{}, unique...)
	if len(pk) > 0 {
		sets = append([][]string{pk}, sets...)
	}
	for i, set := range sets {
		var cs []string
		for _, f := range set {
			j := slices.IndexFunc(cols, func(c ReleaseColumn) bool { return c.Field == f })
			if j < 0 {
				cs = nil
				break
			}
			for _, name := range storedColumns(cols[j]) {
				cs = append(cs, quoteIdent(name))
			}
		}
		if len(cs) == 0 || maxKeys > 0 && len(cs) > maxKeys {
			continue
		}
		stmts = append(stmts, "CREATE INDEX IF NOT EXISTS "+quoteIdent(table+"_i"+strconv.Itoa(i+1))+" ON "+quoteIdent(table)+" ("+strings.Join(cs, ", ")+")")
	}
	return stmts
}

// diffColumn is the column a diff of cur with prev matches rows on: the
// key when both have the same primary key, else the row hash.
func diffColumn(prev, cur Release) string {
	if len(cur.PrimaryKey) > 0 && slices.Equal(prev.PrimaryKey, cur.PrimaryKey) {
		return colKey
	}
	return colHash
}

// diffIndexSQL indexes the column a diff looks rows up by, in both tables.
func diffIndexSQL(prev, cur Release) []string {
	c := diffColumn(prev, cur)
	var out []string
	for _, t := range []string{prev.Table, cur.Table} {
		out = append(out, "CREATE INDEX IF NOT EXISTS "+quoteIdent(t+c)+" ON "+quoteIdent(t)+" ("+quoteIdent(c)+")")
	}
	return out
}

// diffReleases compares cur with prev (see Diff), reading through q.
func diffReleases(ctx context.Context, q sqlx.QueryerContext, prev, cur Release) (Diff, error) {
	d := Diff{Previous: prev.Number}
	d.ByKey = diffColumn(prev, cur) == colKey
	key := quoteIdent(diffColumn(prev, cur))
	p, c, h := quoteIdent(prev.Table), quoteIdent(cur.Table), quoteIdent(colHash)
	queries := []struct {
		dst *int64
		q   string
	}{
		{&d.Added, "SELECT COUNT(*) FROM " + c + " c WHERE NOT EXISTS (SELECT 1 FROM " + p + " p WHERE p." + key + " = c." + key + ")"},
		{&d.Removed, "SELECT COUNT(*) FROM " + p + " p WHERE NOT EXISTS (SELECT 1 FROM " + c + " c WHERE c." + key + " = p." + key + ")"},
		{&d.Unchanged, "SELECT COUNT(*) FROM " + c + " c WHERE EXISTS (SELECT 1 FROM " + p + " p WHERE p." + key + " = c." + key + " AND p." + h + " = c." + h + ")"},
	}
	if d.ByKey {
		queries = append(queries, struct {
			dst *int64
			q   string
		}{&d.Changed, "SELECT COUNT(*) FROM " + c + " c WHERE EXISTS (SELECT 1 FROM " + p + " p WHERE p." + key + " = c." + key + ") AND NOT EXISTS (SELECT 1 FROM " + p + " p WHERE p." + key + " = c." + key + " AND p." + h + " = c." + h + ")"})
	}
	for _, qq := range queries {
		if err := sqlx.GetContext(ctx, q, qq.dst, qq.q); err != nil {
			return d, fmt.Errorf("diff release %d with %d: %w", cur.Number, prev.Number, err)
		}
	}
	return d, nil
}

// ReleaseRows returns rows of a release in file order, as field → value
// (string, int64, float64, bool, or nil; dates as YYYY-MM-DD, timestamps
// as RFC 3339), with "_row" the row number.
func (s *Store) ReleaseRows(ctx context.Context, rel Release, limit, offset int) ([]map[string]any, error) {
	if limit <= 0 {
		limit = 100
	}
	names := []string{quoteIdent(colLine)}
	for _, c := range rel.Columns {
		names = append(names, readSQL(s.dialect, c))
	}
	q := "SELECT " + strings.Join(names, ", ") + " FROM " + quoteIdent(rel.Table) + " ORDER BY " + quoteIdent(colLine) + " LIMIT ? OFFSET ?"
	rows, err := s.rdb.QueryxContext(ctx, s.q(q), limit, max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("read release %d of %q: %w", rel.Number, rel.DatasetID, err)
	}
	defer rows.Close()
	out := []map[string]any{}
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			return nil, fmt.Errorf("read release rows: %w", err)
		}
		m := make(map[string]any, len(vals))
		m[colLine] = toInt64(vals[0])
		for i, c := range rel.Columns {
			m[c.Field] = normaliseValue(c.Kind, vals[i+1])
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read release rows: %w", err)
	}
	return out, nil
}

func toInt64(v any) any {
	switch x := v.(type) {
	case int64:
		return x
	case []byte:
		n, _ := strconv.ParseInt(string(x), 10, 64)
		return n
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return v
}

func normaliseValue(kind string, v any) any {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		if kind == KindDate {
			return x.Format(time.DateOnly)
		}
		return x.UTC().Format(time.RFC3339Nano)
	case string:
		switch kind {
		case KindGeopoint:
			if p, ok := parseGeoPoint(x); ok {
				return p
			}
		case KindNumeric:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f
			}
		case KindInteger:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n
			}
		case KindBoolean:
			if b, err := strconv.ParseBool(x); err == nil {
				return b
			}
		}
		return x
	case GeoPoint:
		return x
	case int64:
		switch kind {
		case KindBoolean:
			return x != 0
		case KindNumeric:
			return float64(x)
		}
		return x
	}
	if kind == KindGeopoint {
		if p, ok := AsGeoPoint(v); ok {
			return p
		}
	}
	return v
}
