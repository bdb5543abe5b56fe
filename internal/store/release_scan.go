package store

import (
	"context"
	"fmt"
	"strings"
)

// EachReleaseRow calls fn with every row of a release, in row order: its
// key (the primary key's cells joined by U+001F, "" without a key) and its
// values normalised as ReleaseRows gives them (numbers, booleans, dates as
// YYYY-MM-DD, times in RFC 3339, nil for NULL), in the order of
// rel.Columns. The rows are streamed: memory does not grow with the table.
func (s *Store) EachReleaseRow(ctx context.Context, rel Release, fn func(key string, values []any) error) error {
	names := []string{quoteIdent(colKey)}
	for _, c := range rel.Columns {
		names = append(names, readSQL(s.dialect, c))
	}
	q := "SELECT " + strings.Join(names, ", ") + " FROM " + quoteIdent(rel.Table) + " ORDER BY " + quoteIdent(colLine)
	rows, err := s.rdb.QueryxContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read release %d of %q: %w", rel.Number, rel.DatasetID, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			return fmt.Errorf("read release rows: %w", err)
		}
		key, _ := normaliseValue(KindText, vals[0]).(string)
		vals = vals[1:]
		for i, c := range rel.Columns {
			vals[i] = normaliseValue(c.Kind, vals[i])
		}
		if err := fn(key, vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read release rows: %w", err)
	}
	return nil
}

// NormaliseValue is a value of a release column of kind as the release
// reads it back: a cast cell (int64, float64, bool, time.Time or string)
// compares equal to the stored one once both are normalised.
func NormaliseValue(kind string, v any) any { return normaliseValue(kind, v) }
