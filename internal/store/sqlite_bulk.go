package store

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// bulkConn is a SQLite connection of its own, driven through SQLite's C
// API (modernc's translation, the very library under the database/sql
// driver), for loading release tables. The driver binds each parameter
// with a C allocation and searches the arguments for every placeholder,
// which makes bulk inserts 2–3× slower than SQLite itself; here a row's
// text is copied once into one reused buffer and bound in place.
//
// A bulkConn belongs to one goroutine. It writes to the same database file
// as the store's pools: SQLite's file locks order it with them, and the
// store holds its write connection while a bulkConn transaction is open so
// that other writers queue in Go instead of polling SQLite's busy handler.
type bulkConn struct {
	tls *libc.TLS
	db  uintptr
	buf uintptr // reused C buffer for bound text
	cap int
}

// cmem views n bytes of C memory at p. The memory comes from libc's
// allocator, outside Go's heap, so the garbage collector never moves it.
func cmem(p uintptr, n int) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&p))), n)
}

// cptr reads the pointer stored at p (an out-parameter of the C API).
func cptr(p uintptr) uintptr {
	return *(*uintptr)(*(*unsafe.Pointer)(unsafe.Pointer(&p)))
}

const ptrSize = int(unsafe.Sizeof(uintptr(0)))

// openBulk opens path with the pragmas of a bulk load: temporary b-trees
// of index builds in memory, and the same durability as the store's pools
// (WAL, synchronous NORMAL: a process crash loses nothing committed). The
// page cache keeps its default size: modernc's allocator maps and unmaps
// each cached page, so a large cache costs more than the writes it saves.
func openBulk(path string) (*bulkConn, error) {
	c := &bulkConn{tls: libc.NewTLS()}
	name, err := libc.CString("file:" + path)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	out := libc.Xmalloc(c.tls, types.Size_t(ptrSize))
	if out == 0 {
		c.tls.Close()
		return nil, errors.New("sqlite bulk: out of memory")
	}
	defer libc.Xfree(c.tls, out)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, out, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_URI|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = cptr(out)
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, fmt.Errorf("open %s for a bulk load: %w", path, err)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 10_000)
	for _, p := range []string{"PRAGMA synchronous = NORMAL", "PRAGMA temp_store = MEMORY", "PRAGMA foreign_keys = ON"} {
		if err := c.exec(p); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *bulkConn) close() {
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	if c.buf != 0 {
		libc.Xfree(c.tls, c.buf)
		c.buf, c.cap = 0, 0
	}
	c.tls.Close()
}

// err is the error of result code rc, with SQLite's message (the same words
// as the driver's errors, so IsUniqueViolation recognises them).
func (c *bulkConn) err(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if m := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)); m != "" && m != msg {
			msg += ": " + m
		}
	}
	return fmt.Errorf("sqlite: %s (%d)", msg, rc)
}

// exec runs SQL without parameters (DDL, BEGIN, COMMIT).
func (c *bulkConn) exec(query string) error {
	q, err := libc.CString(query)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, q)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, q, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return c.err(rc)
	}
	return nil
}

// bulkStmt is a prepared statement of a bulkConn.
type bulkStmt struct {
	c *bulkConn
	p uintptr
	n int // parameters
}

func (c *bulkConn) prepare(query string) (*bulkStmt, error) {
	q, err := libc.CString(query)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, q)
	out := libc.Xmalloc(c.tls, types.Size_t(ptrSize))
	if out == 0 {
		return nil, errors.New("sqlite bulk: out of memory")
	}
	defer libc.Xfree(c.tls, out)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, q, -1, out, 0); rc != sqlite3.SQLITE_OK {
		return nil, c.err(rc)
	}
	p := cptr(out)
	return &bulkStmt{c: c, p: p, n: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, p))}, nil
}

func (s *bulkStmt) close() {
	if s.p != 0 {
		sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
		s.p = 0
	}
}

// reserve makes the text buffer at least n bytes long.
func (c *bulkConn) reserve(n int) error {
	if n <= c.cap {
		return nil
	}
	size := max(n, 64<<10)
	size += size / 2
	p := libc.Xmalloc(c.tls, types.Size_t(size))
	if p == 0 {
		return fmt.Errorf("sqlite bulk: cannot allocate %d bytes", size)
	}
	if c.buf != 0 {
		libc.Xfree(c.tls, c.buf)
	}
	c.buf, c.cap = p, size
	return nil
}

// bind binds args (nil, string, []byte, int64, int, float64 or bool) to the
// statement's parameters. Text is copied into the connection's buffer and
// bound without a copy by SQLite (SQLITE_STATIC): it must stay untouched
// until the statement is reset, which step does.
func (s *bulkStmt) bind(args []any) error {
	if len(args) != s.n {
		return fmt.Errorf("sqlite bulk: %d arguments for %d parameters", len(args), s.n)
	}
	c := s.c
	size := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			size += len(v)
		case []byte:
			size += len(v)
		}
	}
	if size > math.MaxInt32 {
		return errors.New("sqlite bulk: row too large")
	}
	if err := c.reserve(size); err != nil {
		return err
	}
	mem := cmem(c.buf, c.cap)
	off := 0
	for i, a := range args {
		idx := int32(i + 1)
		var rc int32
		switch v := a.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(c.tls, s.p, idx)
		case string:
			copy(mem[off:], v)
			rc = sqlite3.Xsqlite3_bind_text(c.tls, s.p, idx, c.buf+uintptr(off), int32(len(v)), 0)
			off += len(v)
		case []byte:
			copy(mem[off:], v)
			rc = sqlite3.Xsqlite3_bind_blob(c.tls, s.p, idx, c.buf+uintptr(off), int32(len(v)), 0)
			off += len(v)
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, s.p, idx, v)
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, s.p, idx, int64(v))
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(c.tls, s.p, idx, v)
		case bool:
			b := int32(0)
			if v {
				b = 1
			}
			rc = sqlite3.Xsqlite3_bind_int(c.tls, s.p, idx, b)
		default:
			return fmt.Errorf("sqlite bulk: cannot bind a %T", a)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
	}
	return nil
}

// exec binds args, runs the statement to completion and returns the number
// of rows it changed.
func (s *bulkStmt) exec(args ...any) (int64, error) {
	if err := s.bind(args); err != nil {
		return 0, err
	}
	rc := sqlite3.Xsqlite3_step(s.c.tls, s.p)
	for rc == sqlite3.SQLITE_ROW {
		rc = sqlite3.Xsqlite3_step(s.c.tls, s.p)
	}
	var err error
	if rc != sqlite3.SQLITE_DONE {
		err = s.c.err(rc)
	}
	sqlite3.Xsqlite3_reset(s.c.tls, s.p)
	if err != nil {
		return 0, err
	}
	return int64(sqlite3.Xsqlite3_changes64(s.c.tls, s.c.db)), nil
}
