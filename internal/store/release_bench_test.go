package store_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// BenchmarkReleaseLoad loads the same rows into a release table with
// CreateRelease (SQLite: chunks through SQLite's C API; PostgreSQL: COPY)
// and, in the same iteration, with plain multi-row INSERT statements
// through database/sql in one transaction (how releases were loaded
// before), on each dialect. CIVICFLOW_BENCH_ROWS rows (default 200,000)
// of 16 typed columns, made in memory: the figures are the database's.
func BenchmarkReleaseLoad(b *testing.B) {
	n := 200_000
	if v := os.Getenv("CIVICFLOW_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("CIVICFLOW_BENCH_ROWS=%q: not a positive number", v)
		}
	}
	rows := benchRows(n)
	for _, d := range storetest.Dialects() {
		b.Run(d.Name, func(b *testing.B) {
			s := storetest.Open(b, d.URL(b))
			ctx := context.Background()
			if err := s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}); err != nil {
				b.Fatal(err)
			}
			var ours, plain []float64
			i := 0
			for b.Loop() {
				i++
				ds := fmt.Sprintf("bench-%d", i)
				if err := s.CreateDataset(ctx, &store.Dataset{ID: ds, Title: ds, Department: "voirie"}); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				rel, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: ds, Key: ds, Columns: benchCols}, sliceSource(rows))
				if err != nil {
					b.Fatal(err)
				}
				ours = append(ours, time.Since(start).Seconds())
				if rel.Rows != int64(n) {
					b.Fatalf("%d rows loaded, want %d", rel.Rows, n)
				}
				start = time.Now()
				plainInsert(b, s, fmt.Sprintf("plain_%d", i), rows)
				plain = append(plain, time.Since(start).Seconds())
			}
			name := "chunked-bulk"
			if d.Name == "postgres" {
				name = "copy"
			}
			b.ReportMetric(medianOf(ours), name+"-s")
			b.ReportMetric(medianOf(plain), "plain-insert-s")
			b.ReportMetric(float64(n)/medianOf(ours), name+"-rows/s")
			b.ReportMetric(float64(n)/medianOf(plain), "plain-insert-rows/s")
			b.ReportMetric(medianOf(plain)/medianOf(ours), "speedup")
		})
	}
}

var benchCols = func() []store.ReleaseColumn {
	kinds := []string{store.KindText, store.KindText, store.KindDate, store.KindText, store.KindText, store.KindText, store.KindText,
		store.KindText, store.KindNumeric, store.KindText, store.KindText, store.KindText, store.KindText, store.KindBoolean,
		store.KindNumeric, store.KindInteger}
	cols := make([]store.ReleaseColumn, len(kinds))
	for i, k := range kinds {
		cols[i] = store.ReleaseColumn{Field: fmt.Sprintf("c%02d", i), Kind: k}
	}
	return cols
}()

// benchRows makes rows shaped like a scdl-subventions file.
func benchRows(n int) []store.ReleaseRow {
	rows := make([]store.ReleaseRow, n)
	day := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		vals := []any{"Ville de Poitiers", "21860194600013", day.AddDate(0, 0, i%2000), fmt.Sprintf("DEL-%d", i),
			fmt.Sprintf("Association n°%d", i), fmt.Sprintf("%014d", 10000000000000+i), "", "Soutien au fonctionnement de l'association",
			float64(100+i%500000) + 0.25, "aide en numéraire", "unique", day.AddDate(0, 0, i%2000).Format(time.DateOnly), "",
			i%11 == 0, 0.5, int64(i)}
		h := fmt.Sprintf("%032x", i)
		rows[i] = store.ReleaseRow{Values: vals, Key: h, Hash: h}
	}
	return rows
}

func sliceSource(rows []store.ReleaseRow) store.RowSource {
	i := 0
	return func() (store.ReleaseRow, error) {
		if i == len(rows) {
			return store.ReleaseRow{}, io.EOF
		}
		i++
		return rows[i-1], nil
	}
}

// plainInsert is the baseline: the same table filled with INSERT … VALUES
// (…), (…) statements of at most 8,000 parameters, in one transaction.
func plainInsert(b *testing.B, s *store.Store, table string, rows []store.ReleaseRow) {
	b.Helper()
	pg := s.Dialect() == "postgres"
	defs := []string{"_row BIGINT NOT NULL", "_key TEXT NOT NULL", "_hash TEXT NOT NULL"}
	names := []string{"_row", "_key", "_hash"}
	for _, c := range benchCols {
		t := map[string]string{store.KindText: "TEXT", store.KindNumeric: "NUMERIC", store.KindInteger: "BIGINT",
			store.KindBoolean: "BOOLEAN", store.KindDate: "TEXT"}[c.Kind]
		if pg && c.Kind == store.KindDate {
			t = "DATE"
		}
		defs = append(defs, c.Field+" "+t)
		names = append(names, c.Field)
	}
	db := s.DB()
	if _, err := db.Exec("CREATE TABLE " + table + " (" + strings.Join(defs, ", ") + ")"); err != nil {
		b.Fatal(err)
	}
	tx, err := db.Beginx()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	width := len(names)
	per := 8000 / width
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	args := make([]any, 0, per*width)
	flush := func(count int) {
		if count == 0 {
			return
		}
		q := "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", count), ", ")
		if _, err := tx.Exec(tx.Rebind(q), args...); err != nil {
			b.Fatal(err)
		}
		args = args[:0]
	}
	count := 0
	for i, r := range rows {
		args = append(args, int64(i+1), r.Key, r.Hash)
		for j, v := range r.Values {
			if t, ok := v.(time.Time); ok && !pg && benchCols[j].Kind == store.KindDate {
				v = t.Format(time.DateOnly)
			}
			args = append(args, v)
		}
		if count++; count == per {
			flush(count)
			count = 0
		}
	}
	flush(count)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
