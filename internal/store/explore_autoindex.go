package store

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Indexes that observed queries call for (SQLite). The release loader
// builds no field index on SQLite (see exploreIndexSQL: two of them put the
// load at 2.7× sqlite3 .import, over its 2× target), so a filter or a sort
// on a field of a large release scans the table. Instead, the store counts
// the fields that the public API's queries filter (where, refine, exclude)
// and sort (order_by) on, per release table; once a field was used
// AutoIndexAfter times, one background goroutine builds its index (CREATE
// INDEX IF NOT EXISTS, on a connection of its own), after the release was
// published and outside any load. Readers keep reading during the build
// (WAL: the build holds the write lock only; other writers wait behind it,
// up to busy_timeout). The planner uses the index from the next query on.
//
// The counts live in memory: a restart counts again, and the index, once
// built, stays with the table (IF NOT EXISTS makes a second build free).
// PostgreSQL indexes the loader's IndexFields at load instead and gets
// none of these.

// AutoIndexAfter is how many queries on a field of a release call for its
// index.
const AutoIndexAfter = 3

// AutoIndexMinRows: smaller releases scan fast enough without an index.
const AutoIndexMinRows = 10_000

// AutoIndexMax bounds the indexes built this way per release table.
const AutoIndexMax = 4

type autoIndexer struct {
	mu     sync.Mutex
	counts map[string]map[string]int // table → column → queries
	built  map[string]int            // table → indexes asked
	queue  []autoIndexJob
	busy   bool
	wg     sync.WaitGroup
	ctx    context.Context
	stop   context.CancelFunc
}

type autoIndexJob struct {
	table, name, column string
}

func newAutoIndexer() *autoIndexer {
	ctx, cancel := context.WithCancel(context.Background())
	return &autoIndexer{counts: map[string]map[string]int{}, built: map[string]int{}, ctx: ctx, stop: cancel}
}

// noteQuery counts the fields a query on rel used (SQLite only) and
// starts the index builds they call for.
func (s *Store) noteQuery(rel Release, used []ReleaseColumn) {
	ai := s.autoIdx
	if ai == nil || len(used) == 0 || rel.Rows < AutoIndexMinRows || rel.Table == "" {
		return
	}
	ai.mu.Lock()
	defer ai.mu.Unlock()
	if ai.ctx.Err() != nil || ai.built[rel.Table] >= AutoIndexMax {
		return
	}
	m := ai.counts[rel.Table]
	if m == nil {
		m = map[string]int{}
		ai.counts[rel.Table] = m
	}
	for _, col := range used {
		if col.Kind == KindGeopoint || col.Kind == kindRecordID || col.Column == "" {
			continue
		}
		m[col.Column]++
		if m[col.Column] != AutoIndexAfter || ai.built[rel.Table] >= AutoIndexMax {
			continue
		}
		j := slices.IndexFunc(rel.Columns, func(c ReleaseColumn) bool { return c.Column == col.Column })
		if j < 0 {
			continue
		}
		ai.built[rel.Table]++
		// The name PostgreSQL's load-time index of the same field has.
		ai.queue = append(ai.queue, autoIndexJob{table: rel.Table, name: rel.Table + "_f" + strconv.Itoa(j+1), column: col.Column})
	}
	if len(ai.queue) > 0 && !ai.busy {
		ai.busy = true
		ai.wg.Add(1)
		go s.buildAutoIndexes()
	}
}

// buildAutoIndexes builds the queued indexes one after the other.
func (s *Store) buildAutoIndexes() {
	ai := s.autoIdx
	defer ai.wg.Done()
	for {
		ai.mu.Lock()
		if len(ai.queue) == 0 || ai.ctx.Err() != nil {
			ai.busy = false
			ai.mu.Unlock()
			return
		}
		job := ai.queue[0]
		ai.queue = ai.queue[1:]
		ai.mu.Unlock()
		t0 := time.Now()
		if err := s.createIndex(ai.ctx, job); err != nil {
			slog.Warn("public API: index not built", "table", job.table, "column", job.column, "err", err)
			continue
		}
		slog.Info("public API: index built for observed queries", "table", job.table, "column", job.column,
			"elapsed", time.Since(t0).Round(time.Millisecond))
	}
}

func (s *Store) createIndex(ctx context.Context, job autoIndexJob) error {
	stmt := "CREATE INDEX IF NOT EXISTS " + quoteIdent(job.name) + " ON " + quoteIdent(job.table) + " (" + quoteIdent(job.column) + ")"
	if s.path == "" || s.path == ":memory:" {
		_, err := s.db.ExecContext(ctx, stmt)
		return err
	}
	// A connection of its own: the store's write connection stays free for
	// short writes until the build takes the write lock.
	db, err := sqlx.Open("sqlite", sqliteDSN(s.path))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// WaitAutoIndexes waits for the index builds under way (benchmarks, tests).
func (s *Store) WaitAutoIndexes() {
	if s.autoIdx != nil {
		s.autoIdx.wg.Wait()
	}
}

// closeAutoIndexes interrupts the builds under way and waits for them.
func (s *Store) closeAutoIndexes() {
	if s.autoIdx != nil {
		s.autoIdx.stop()
		s.autoIdx.wg.Wait()
	}
}
