package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/jmoiron/sqlx"
)

// Indexes that serve the public records API, built on PostgreSQL once a
// release table is loaded (after the bulk load, beside the key indexes of
// indexSQL; SQLite gets none of these, see exploreIndexSQL):
//
//   - one single-column index per field of NewRelease.IndexFields (the
//     loader names the facet candidates — enumerated and boolean fields —
//     and the dates that sorts use), at most MaxIndexFields of them;
//   - on PostgreSQL, a full-text index for search(): a GIN index on the
//     tsvector of the text columns ('simple' configuration). SQLite has
//     none (see exploreIndexSQL): search() runs on LIKE there.
//
// Releases older than these indexes keep working: search() falls back to
// LIKE when the full-text index is absent.

// MaxIndexFields bounds the single-field indexes of a release (each costs
// about a second per million rows at load on SQLite).
const MaxIndexFields = 2

// maxFTSColumns bounds the text columns of a full-text index: PostgreSQL
// refuses to build one over the widest releases ("row is too big"), whose
// search() then runs on LIKE.
const maxFTSColumns = 32

// ftsName is the full-text index (table on SQLite) of a release table.
func ftsName(table string) string { return table + "_fts" }

// textColumns are the text columns of a release, in field order.
func textColumns(cols ReleaseColumns) []ReleaseColumn {
	var out []ReleaseColumn
	for _, c := range cols {
		if c.Kind == KindText {
			out = append(out, c)
		}
	}
	return out
}

// tsvectorSQL is the document of a row on PostgreSQL: the text columns
// joined by spaces. The GIN index is on this very expression, which
// search() repeats to use it.
func tsvectorSQL(cols []ReleaseColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "COALESCE(" + quoteIdent(c.Column) + ", '')"
	}
	return "to_tsvector('simple'::regconfig, " + strings.Join(parts, " || ' ' || ") + ")"
}

// exploreIndexSQL indexes a loaded release table for the public API.
func exploreIndexSQL(dialect, table string, cols ReleaseColumns, fields []string) []string {
	if dialect != "postgres" {
		// None on SQLite: three indexes (the row digests and two fields) took
		// 21 CPU-seconds for a million rows of bench/run.sh release, the load
		// going from 1.35× to 5.3× sqlite3 .import (target ≤ 2×). Its
		// queries filter and sort on the table.
		return nil
	}
	var stmts []string
	n := 0
	for _, f := range fields {
		j := slices.IndexFunc(cols, func(c ReleaseColumn) bool { return c.Field == f })
		if j < 0 || n == MaxIndexFields {
			continue
		}
		n++
		var cs []string
		for _, name := range storedColumns(cols[j]) {
			cs = append(cs, quoteIdent(name))
		}
		stmts = append(stmts, "CREATE INDEX IF NOT EXISTS "+quoteIdent(table+"_f"+strconv.Itoa(j+1))+" ON "+quoteIdent(table)+" ("+strings.Join(cs, ", ")+")")
	}
	// No FTS5 table on SQLite either: its build ran 82 s for a million rows
	// of three text columns on the project's machine (modernc.org/sqlite),
	// ten times the whole release load; search() stays on LIKE there.
	text := textColumns(cols)
	if len(text) == 0 || len(text) > maxFTSColumns {
		return stmts
	}
	return append(stmts, "CREATE INDEX IF NOT EXISTS "+quoteIdent(ftsName(table))+" ON "+quoteIdent(table)+" USING GIN ("+tsvectorSQL(text)+")")
}

type ftsKey struct {
	db    *sqlx.DB
	table string
}

// ftsKnown caches whether a release table has its full-text index
// (releases are immutable: the answer does not change once the release is
// recorded).
var ftsKnown sync.Map

// hasFTS reports whether the release table has a full-text index (only
// PostgreSQL's have).
func (s *Store) hasFTS(ctx context.Context, table string) bool {
	if s.dialect != "postgres" {
		return false
	}
	k := ftsKey{s.rdb, table}
	if v, ok := ftsKnown.Load(k); ok {
		return v.(bool)
	}
	var n int
	q := `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?`
	if err := s.rdb.GetContext(ctx, &n, s.q(q), ftsName(table)); err != nil {
		return false // not cached: asked again next time
	}
	ftsKnown.Store(k, n > 0)
	return n > 0
}

// searchWords are the words of a search text: runs of letters and digits,
// lower case. Nothing else reaches a full-text query.
func searchWords(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(out) == 32 {
			break
		}
		out = append(out, w)
	}
	return out
}

// ftsSearch compiles search() on PostgreSQL's full-text index: every word,
// as a prefix, in one of the columns (all text columns when all; named
// columns are read without the index).
func (c *compiler) ftsSearch(cols []ReleaseColumn, all bool, text string) string {
	words := searchWords(text)
	if len(words) == 0 {
		return "(1=1)"
	}
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = "'" + w + "':*"
	}
	doc := tsvectorSQL(textColumns(c.order))
	if !all {
		doc = tsvectorSQL(cols)
	}
	return "(" + doc + " @@ to_tsquery('simple'::regconfig, " + c.bind(KindText, strings.Join(terms, " & ")) + "))"
}

// PublicRelease is a public dataset with its exposed release.
type PublicRelease struct {
	Dataset Dataset
	Release Release
}

// PublicReleases lists, by id, the public datasets whose exposed release
// exists, with those releases, and their total count: two queries whatever
// the page (datasets, then their releases), and a count only when the page
// does not tell it (a full page, or an empty one past the first).
// limit < 0: every one.
func (s *Store) PublicReleases(ctx context.Context, limit, offset int) (int, []PublicRelease, error) {
	from := ` FROM datasets d WHERE visibility = ? AND exposed_release IS NOT NULL
		AND EXISTS (SELECT 1 FROM releases r WHERE r.dataset_id = d.id AND r.number = d.exposed_release)`
	q, args := `SELECT `+datasetColumns+from+` ORDER BY id`, []any{VisibilityPublic}
	if limit >= 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, limit, max(offset, 0))
	}
	ds := []Dataset{}
	if err := s.rdb.SelectContext(ctx, &ds, s.q(q), args...); err != nil {
		return 0, nil, fmt.Errorf("list public datasets: %w", err)
	}
	total := max(offset, 0) + len(ds)
	if limit >= 0 && (len(ds) == limit && limit > 0 || len(ds) == 0 && offset > 0 || limit == 0) {
		if err := s.rdb.GetContext(ctx, &total, s.q(`SELECT COUNT(*)`+from), VisibilityPublic); err != nil {
			return 0, nil, fmt.Errorf("count public datasets: %w", err)
		}
	}
	out := make([]PublicRelease, 0, len(ds))
	if len(ds) == 0 {
		return total, out, nil
	}
	var cond []string
	args = args[:0]
	for _, d := range ds {
		cond = append(cond, "(dataset_id = ? AND number = ?)")
		args = append(args, d.ID, *d.ExposedRelease)
	}
	rels := []Release{}
	if err := s.rdb.SelectContext(ctx, &rels, s.q(`SELECT `+releaseColumns+` FROM releases WHERE `+strings.Join(cond, " OR ")), args...); err != nil {
		return 0, nil, fmt.Errorf("read exposed releases: %w", err)
	}
	byID := make(map[string]Release, len(rels))
	for _, r := range rels {
		byID[r.DatasetID] = r
	}
	for _, d := range ds {
		if r, ok := byID[d.ID]; ok {
			out = append(out, PublicRelease{Dataset: d, Release: r})
		}
	}
	return total, out, nil
}
