package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// A release table is loaded in chunks, each committed in its own
// transaction together with release_loads.rows_loaded:
//
//   - a crash loses at most the chunk in flight: the next attempt of the
//     activity finds the table and the count, skips that many rows of its
//     source and goes on;
//   - a chunk moves rows_loaded from the value its loader last wrote, so two
//     attempts that overlap (a worker thought dead that is not) cannot both
//     write: the second to commit gets ErrConflict;
//   - on SQLite, whose database has one writer at a time, a chunk holds the
//     write lock for at most chunkTime, and the other writers of the
//     process (task inbox, instance list…) take their turn between chunks.
//
// Reading, converting and hashing the rows runs in a goroutine of its own,
// beside the inserts (SQLite: through bulkConn; PostgreSQL: COPY).
var (
	batchRows = 512
	// chunkTime bounds a SQLite chunk: the longest another writer waits.
	chunkTime = 200 * time.Millisecond
	// pgChunkTime bounds a PostgreSQL chunk (no lock is held on others).
	pgChunkTime = 2 * time.Second
	// pgIdle ends a PostgreSQL chunk when the reader has no rows for that
	// long (it is slower than COPY, or stalled).
	pgIdle = 50 * time.Millisecond
	// chunkMaxRows bounds any chunk.
	chunkMaxRows int64 = 200_000
)

// loadBatch is a run of consecutive source rows, numbered from first.
type loadBatch struct {
	rows  []ReleaseRow
	first int64
}

// feed is the consumer side of the reading goroutine.
type feed struct {
	ch   <-chan loadBatch
	errc <-chan error
	done bool
}

// produce reads the source into batches: the first skip rows (already
// loaded by an earlier attempt) are read and dropped, so that stateful
// sources (anonymisation reports, counters) see every row. It ends at EOF,
// on a source error (sent on errc), or when stop is closed.
func produce(src RowSource, skip int64, width int, noKeys bool, stop <-chan struct{}, out chan<- loadBatch, errc chan<- error) {
	defer close(out)
	var n int64
	batch := loadBatch{first: skip + 1}
	for {
		row, err := src()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errc <- err
			return
		}
		n++
		if len(row.Values) != width {
			errc <- fmt.Errorf("release row %d has %d values for %d columns", n, len(row.Values), width)
			return
		}
		if n <= skip {
			continue
		}
		if noKeys { // without a primary key, diffs match rows by hash
			row.Key = ""
		}
		batch.rows = append(batch.rows, row)
		if len(batch.rows) == batchRows {
			select {
			case out <- batch:
			case <-stop:
				return
			}
			batch = loadBatch{first: n + 1, rows: make([]ReleaseRow, 0, batchRows)}
		}
	}
	if len(batch.rows) > 0 {
		select {
		case out <- batch:
		case <-stop:
		}
	}
}

// take returns the next batch; with wait false only one already read.
// ok is false at the end of the source (err says whether it failed).
func (f *feed) take(ctx context.Context, wait bool) (b loadBatch, ok bool, err error) {
	if !wait {
		return f.takeWithin(ctx, 0)
	}
	return f.takeWithin(ctx, -1)
}

// takeWithin is take waiting at most d (0: not at all, < 0: until a batch
// comes); ok false with no error when nothing came in time.
func (f *feed) takeWithin(ctx context.Context, d time.Duration) (b loadBatch, ok bool, err error) {
	if f.done {
		return b, false, nil
	}
	switch {
	case d == 0:
		select {
		case b, ok = <-f.ch:
		default:
			return b, false, nil
		}
	case d < 0:
		select {
		case b, ok = <-f.ch:
		case <-ctx.Done():
			return b, false, ctx.Err()
		}
	default:
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case b, ok = <-f.ch:
		case <-ctx.Done():
			return b, false, ctx.Err()
		case <-t.C:
			return b, false, nil
		}
	}
	if !ok {
		f.done = true
		select {
		case err = <-f.errc:
		default:
		}
		return b, false, err
	}
	return b, true, nil
}

// load fills table with the rows of src after the first loaded ones and
// returns the row count. progress gets the rows committed so far.
func (s *Store) load(ctx context.Context, key, table string, cols ReleaseColumns, loaded int64, src RowSource, noKeys bool, progress func(int64)) (int64, error) {
	ch := make(chan loadBatch, 64)
	errc := make(chan error, 1)
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		produce(src, loaded, len(cols), noKeys, stop, ch, errc)
	}()
	defer func() {
		close(stop)
		for range ch { // drain, so that the reader ends
		}
		<-finished
	}()
	f := &feed{ch: ch, errc: errc}
	if s.dialect == "postgres" {
		return s.loadPostgres(ctx, key, table, cols, loaded, f, progress)
	}
	return s.loadSQLite(ctx, key, table, cols, loaded, f, progress)
}

const fenceSQL = `UPDATE release_loads SET rows_loaded = ?, updated_at = ? WHERE idem_key = ? AND rows_loaded = ?`

// errOverlap is the error of a chunk whose release_loads row moved under it.
func errOverlap(key string) error {
	return fmt.Errorf("release %q is being loaded by another attempt: %w", key, ErrConflict)
}

func (s *Store) loadSQLite(ctx context.Context, key, table string, cols ReleaseColumns, done int64, f *feed, progress func(int64)) (int64, error) {
	if s.path == "" || strings.Contains(s.path, ":memory:") {
		return done, errors.New("release tables need a SQLite database file")
	}
	bc, err := openBulk(s.path)
	if err != nil {
		return done, err
	}
	defer bc.close()
	names := columnNames(cols)
	for i := range names {
		names[i] = quoteIdent(names[i])
	}
	// One prepared single-row INSERT: SQLite runs it as fast as a
	// multi-row one, which also makes modernc's allocator map and unmap
	// memory at each run.
	ins, err := bc.prepare("INSERT INTO " + quoteIdent(table) + " (" + strings.Join(names, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")")
	if err != nil {
		return done, fmt.Errorf("insert release rows: %w", err)
	}
	defer ins.close()
	fence, err := bc.prepare(fenceSQL)
	if err != nil {
		return done, err
	}
	defer fence.close()
	args := make([]any, len(names))
	insert := func(b loadBatch) error {
		for i, row := range b.rows {
			args = append(args[:0], b.first+int64(i), row.Key, row.Hash)
			for j, v := range row.Values {
				args = appendStored(args, cols[j].Kind, sqliteValue(cols[j].Kind, v))
			}
			if _, err := ins.exec(args...); err != nil {
				if IsUniqueViolation(err) { // another attempt loaded this row
					return errOverlap(key)
				}
				return fmt.Errorf("insert release row %d: %w", b.first+int64(i), err)
			}
		}
		return nil
	}
	for {
		b, ok, err := f.take(ctx, true) // wait for rows before taking the lock
		if err != nil || !ok {
			return done, err
		}
		n, err := s.sqliteChunk(ctx, bc, func() (int64, error) {
			if err := insert(b); err != nil {
				return 0, err
			}
			n := int64(len(b.rows))
			for start := time.Now(); time.Since(start) < chunkTime && n < chunkMaxRows; {
				b, ok, err := f.take(ctx, false) // never wait for rows while holding the lock
				if err != nil {
					return 0, err
				}
				if !ok {
					break
				}
				if err := insert(b); err != nil {
					return 0, err
				}
				n += int64(len(b.rows))
			}
			changed, err := fence.exec(done+n, sqliteTime(time.Now()), key, done)
			if err != nil {
				return 0, err
			}
			if changed != 1 {
				return 0, errOverlap(key)
			}
			return n, nil
		})
		if err != nil {
			return done, err
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
}

// sqliteChunk runs fn in a write transaction of bc, holding the store's
// write connection meanwhile: the process's other writers wait in line for
// it (database/sql hands it over in turn) rather than in SQLite's busy loop,
// where a loader that commits and begins again could starve them.
func (s *Store) sqliteChunk(ctx context.Context, bc *bulkConn, fn func() (int64, error)) (int64, error) {
	gate, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("wait for the database: %w", err)
	}
	defer gate.Close()
	if err := bc.exec("BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	n, err := fn()
	if err == nil {
		err = bc.exec("COMMIT")
	}
	if err != nil {
		_ = bc.exec("ROLLBACK")
		return 0, err
	}
	return n, nil
}

// sqliteTime formats t as the database/sql driver does (it reads it back).
func sqliteTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999999-07:00")
}

// indexSQLite builds the indexes through bc, each in its own transaction
// holding the store's write connection (one index of a million rows takes
// the lock for about a second).
func (s *Store) indexSQLite(ctx context.Context, stmts []string) error {
	bc, err := openBulk(s.path)
	if err != nil {
		return err
	}
	defer bc.close()
	for _, q := range stmts {
		if _, err := s.sqliteChunk(ctx, bc, func() (int64, error) { return 0, bc.exec(q) }); err != nil {
			return fmt.Errorf("index release table: %w", err)
		}
	}
	return nil
}

// copySource streams a chunk into COPY: the batches the reader gives,
// until the chunk is full or the reader has had nothing for pgIdle. It
// never waits long for the reader inside the transaction, which would keep
// the table locked against the index build of an attempt that took the
// load over.
type copySource struct {
	ctx   context.Context
	f     *feed
	b     loadBatch
	i     int
	n     int64
	start time.Time
	err   error
	vals  []any
	cols  ReleaseColumns
}

func (c *copySource) Next() bool {
	c.i++
	if c.i < len(c.b.rows) {
		return true
	}
	if c.n >= chunkMaxRows || time.Since(c.start) >= pgChunkTime {
		return false
	}
	b, ok, err := c.f.takeWithin(c.ctx, pgIdle)
	if err != nil {
		c.err = err
		return false
	}
	if !ok {
		return false
	}
	c.b, c.i = b, 0
	c.n += int64(len(b.rows))
	return true
}

func (c *copySource) Values() ([]any, error) {
	row := c.b.rows[c.i]
	c.vals = append(c.vals[:0], c.b.first+int64(c.i), row.Key, row.Hash)
	for j, v := range row.Values {
		c.vals = appendStored(c.vals, c.cols[j].Kind, v)
	}
	return c.vals, nil
}

func (c *copySource) Err() error { return c.err }

func (s *Store) loadPostgres(ctx context.Context, key, table string, cols ReleaseColumns, done int64, f *feed, progress func(int64)) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return done, err
	}
	defer conn.Close()
	names := columnNames(cols)
	for {
		b, ok, err := f.take(ctx, true) // wait for rows outside the transaction
		if err != nil || !ok {
			return done, err
		}
		src := &copySource{ctx: ctx, f: f, b: b, i: -1, n: int64(len(b.rows)), start: time.Now(), cols: cols}
		var n int64
		err = conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			tx, err := pc.Begin(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
			if n, err = tx.CopyFrom(ctx, pgx.Identifier{table}, names, src); err != nil {
				if src.err != nil {
					return src.err
				}
				if cerr := ctx.Err(); cerr != nil {
					// pgx closes the connection of a cancelled COPY: say why.
					return cerr
				}
				if IsUniqueViolation(err) { // another attempt loaded these rows
					return errOverlap(key)
				}
				return fmt.Errorf("copy release rows: %w", err)
			}
			tag, err := tx.Exec(ctx, s.q(fenceSQL), done+n, time.Now().UTC(), key, done)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return errOverlap(key)
			}
			// Once the chunk is copied and fenced, its commit is not
			// cancelled halfway: a cancelled COMMIT may still commit, and the
			// progress reported would then lag behind what the table holds.
			return tx.Commit(context.WithoutCancel(ctx))
		})
		if err != nil {
			return done, err
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
}

// beginLoad returns the rows already loaded under nr.Key, creating the
// table and its release_loads row on the first attempt. released is true
// when the release was recorded meanwhile.
func (s *Store) beginLoad(ctx context.Context, nr NewRelease, table string, cols ReleaseColumns) (loaded int64, released bool, err error) {
	err = s.Tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &loaded, s.q(`SELECT rows_loaded FROM release_loads WHERE idem_key = ?`+s.forUpdate()), nr.Key)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read release load %q: %w", nr.Key, err)
		}
		var n int
		if err := tx.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM releases WHERE idem_key = ?`), nr.Key); err != nil {
			return fmt.Errorf("read release %q: %w", nr.Key, err)
		}
		if n > 0 {
			released = true
			return nil
		}
		// Neither loading nor released: a table of that name is a leftover.
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(table)); err != nil {
			return fmt.Errorf("drop stale release table: %w", err)
		}
		if _, err := tx.ExecContext(ctx, createTableSQL(s.dialect, table, cols)); err != nil {
			return fmt.Errorf("create release table: %w", err)
		}
		now := ts(time.Now())
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO release_loads (idem_key, dataset_id, table_name, rows_loaded, started_at, updated_at, instance_id)
			VALUES (?, ?, ?, 0, ?, ?, ?)`), nr.Key, nr.DatasetID, table, now, now, nr.InstanceID)
		if err != nil {
			if IsUniqueViolation(err) {
				return errOverlap(nr.Key)
			}
			return fmt.Errorf("record release load %q: %w", nr.Key, err)
		}
		return nil
	})
	return loaded, released, err
}

// abandonLoad drops a load that cannot go on (its source is bad): the next
// attempt starts over. Only while the load is still the caller's (done, the
// rows it knows loaded, is still the count): an attempt that took it over
// keeps it.
func (s *Store) abandonLoad(key, table string, done int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM release_loads WHERE idem_key = ? AND table_name = ? AND rows_loaded = ?`), key, table, done)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // someone else owns it now
		}
		_, err = tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(table))
		return err
	})
}

// ReleaseLoad is a release table being loaded.
type ReleaseLoad struct {
	Key        string    `db:"idem_key"`
	DatasetID  string    `db:"dataset_id"`
	InstanceID string    `db:"instance_id"` // the owner; "" when unknown (loads older than migration 00010)
	Table      string    `db:"table_name"`
	RowsLoaded int64     `db:"rows_loaded"`
	StartedAt  time.Time `db:"started_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

// ReleaseLoads lists the loads in progress (or abandoned) of a dataset.
func (s *Store) ReleaseLoads(ctx context.Context, datasetID string) ([]ReleaseLoad, error) {
	out := []ReleaseLoad{}
	err := s.rdb.SelectContext(ctx, &out, s.q(`SELECT `+releaseLoadCols+`
		FROM release_loads WHERE dataset_id = ? ORDER BY started_at`), datasetID)
	if err != nil {
		return nil, fmt.Errorf("list release loads of %q: %w", datasetID, err)
	}
	return out, nil
}

const releaseLoadCols = `idem_key, dataset_id, instance_id, table_name, rows_loaded, started_at, updated_at`

// DropInstanceReleaseLoads drops the partial release tables that an
// instance left (cancelled, terminated or failed for good: its publication
// will never resume) with their release_loads rows. It returns the loads
// dropped. A loader still writing into one fails on its next chunk.
func (s *Store) DropInstanceReleaseLoads(ctx context.Context, instanceID string) ([]ReleaseLoad, error) {
	if instanceID == "" {
		return nil, nil
	}
	return s.dropLoads(ctx, `instance_id = ?`, instanceID)
}

// SweepReleaseLoads drops the partial release tables of the loads that
// have not moved since before and whose owner is not running (ended, or
// unknown): what a crash between the end of an instance and its
// bookkeeping, or a version without DropInstanceReleaseLoads, left. An
// instance in incident still owns its load (a retry resumes it). It
// returns the loads dropped.
func (s *Store) SweepReleaseLoads(ctx context.Context, before time.Time) ([]ReleaseLoad, error) {
	return s.dropLoads(ctx, `updated_at < ? AND NOT EXISTS (SELECT 1 FROM instances i
		WHERE i.id = release_loads.instance_id AND i.status IN ('running', 'incident'))`, ts(before))
}

// dropLoads drops the loads matching cond, each with its table in a
// transaction of its own, and only while the load has not moved since it
// was read (rows_loaded, as the loader's own fence): a load that a live
// attempt is writing is left alone.
func (s *Store) dropLoads(ctx context.Context, cond string, args ...any) ([]ReleaseLoad, error) {
	var found []ReleaseLoad
	if err := s.db.SelectContext(ctx, &found, s.q(`SELECT `+releaseLoadCols+` FROM release_loads WHERE `+cond+` ORDER BY started_at`), args...); err != nil {
		return nil, fmt.Errorf("list release loads to drop: %w", err)
	}
	dropped := []ReleaseLoad{}
	for _, l := range found {
		gone := false
		err := s.Tx(ctx, func(tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, s.q(`DELETE FROM release_loads WHERE idem_key = ? AND table_name = ? AND rows_loaded = ?`), l.Key, l.Table, l.RowsLoaded)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // it moved or ended meanwhile
			}
			_, err = tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(l.Table))
			gone = err == nil
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("drop release load %q (table %s): %w", l.Key, l.Table, err)
		}
		if gone {
			dropped = append(dropped, l)
		}
	}
	return dropped, nil
}
