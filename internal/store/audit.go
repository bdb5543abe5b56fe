package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// AuditEntry is one row of the append-only, hash-chained audit log. Hash is
// computed by internal/audit over the other fields and PrevHash.
type AuditEntry struct {
	ID         int64     `db:"id" json:"id"`
	At         time.Time `db:"at" json:"at"`
	Actor      string    `db:"actor" json:"actor"`
	OnBehalfOf string    `db:"on_behalf_of" json:"on_behalf_of,omitempty"`
	Action     string    `db:"action" json:"action"`
	ObjectType string    `db:"object_type" json:"object_type,omitempty"`
	ObjectID   string    `db:"object_id" json:"object_id,omitempty"`
	Department string    `db:"department" json:"department,omitempty"`
	Outcome    string    `db:"outcome" json:"outcome"`
	IP         string    `db:"ip" json:"ip,omitempty"`
	Detail     string    `db:"detail" json:"detail"` // canonical JSON object
	PrevHash   string    `db:"prev_hash" json:"prev_hash"`
	Hash       string    `db:"hash" json:"hash"`
}

// AuditMark is a position in the chain: an entry id and its hash.
type AuditMark struct {
	ID   int64
	Hash string
}

// GenesisHash is the prev_hash of the first entry of a chain.
var GenesisHash = strings.Repeat("0", 64)

const (
	auditAnchorKey = "audit_anchor" // the last pruned entry
	auditHeadKey   = "audit_head"   // the last appended entry
	// auditLockKey is the PostgreSQL advisory lock serialising appends
	// across processes (any constant unique to this use).
	auditLockKey = 0x63666175646974 // "cfaudit"
)

const auditColumns = `id, at, actor, on_behalf_of, action, object_type, object_id, department, outcome, ip, detail, prev_hash, hash`

// AppendAudit appends e to the chain. Under a lock that serialises writers
// (also across processes: BEGIN IMMEDIATE on SQLite, an advisory
// transaction lock on PostgreSQL) it assigns e.ID = previous id + 1 and
// e.PrevHash = previous hash, then calls seal to compute e.Hash.
func (s *Store) AppendAudit(ctx context.Context, e *AuditEntry, seal func(*AuditEntry) error) error {
	e.At = ts(e.At)
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == "postgres" {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
				return fmt.Errorf("lock audit chain: %w", err)
			}
		}
		head, err := auditTail(ctx, tx)
		if err != nil {
			return err
		}
		e.ID, e.PrevHash = head.ID+1, head.Hash
		if err := seal(e); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			e.ID, e.At, e.Actor, e.OnBehalfOf, e.Action, e.ObjectType, e.ObjectID, e.Department, e.Outcome, e.IP, e.Detail, e.PrevHash, e.Hash)
		if err != nil {
			return fmt.Errorf("append audit entry: %w", err)
		}
		return putMark(ctx, tx, auditHeadKey, AuditMark{e.ID, e.Hash})
	})
}

// auditTail is the last entry of the chain, else the prune anchor, else genesis.
func auditTail(ctx context.Context, tx *sqlx.Tx) (AuditMark, error) {
	var m AuditMark
	err := tx.QueryRowxContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&m.ID, &m.Hash)
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("read audit chain head: %w", err)
	}
	return getMark(ctx, tx, auditAnchorKey)
}

// rebindQueryer is *sqlx.DB or *sqlx.Tx.
type rebindQueryer interface {
	sqlx.QueryerContext
	Rebind(string) string
}

func getMark(ctx context.Context, q rebindQueryer, key string) (AuditMark, error) {
	var v string
	err := sqlx.GetContext(ctx, q, &v, q.Rebind(`SELECT value FROM settings WHERE key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditMark{0, GenesisHash}, nil
	}
	if err != nil {
		return AuditMark{}, fmt.Errorf("read %s: %w", key, err)
	}
	id, hash, ok := strings.Cut(v, " ")
	n, perr := strconv.ParseInt(id, 10, 64)
	if !ok || perr != nil {
		return AuditMark{}, fmt.Errorf("setting %s=%q is not \"ID HASH\"", key, v)
	}
	return AuditMark{n, hash}, nil
}

func putMark(ctx context.Context, tx *sqlx.Tx, key string, m AuditMark) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		key, strconv.FormatInt(m.ID, 10)+" "+m.Hash, ts(time.Now()))
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// AuditAnchor is the last pruned entry ({0, GenesisHash} if none was pruned).
func (s *Store) AuditAnchor(ctx context.Context) (AuditMark, error) {
	return getMark(ctx, s.rdb, auditAnchorKey)
}

// AuditHead is the last appended entry as recorded at append time
// ({0, GenesisHash} for an empty chain).
func (s *Store) AuditHead(ctx context.Context) (AuditMark, error) {
	return getMark(ctx, s.rdb, auditHeadKey)
}

// AuditAfter returns up to limit entries with id > afterID, in id order.
func (s *Store) AuditAfter(ctx context.Context, afterID int64, limit int) ([]AuditEntry, error) {
	es := []AuditEntry{}
	err := s.rdb.SelectContext(ctx, &es, s.q(`SELECT `+auditColumns+` FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return es, nil
}

// AuditFilter selects entries for the admin list.
type AuditFilter struct {
	Actor    string
	Action   string
	Outcome  string
	BeforeID int64 // page: entries with id < BeforeID (0: from the newest)
	Limit    int   // default 100, at most 1000
}

// AuditEntries lists entries newest first.
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"action", f.Action}, {"outcome", f.Outcome}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if f.BeforeID > 0 {
		q += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	es := []AuditEntry{}
	if err := s.rdb.SelectContext(ctx, &es, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return es, nil
}

// PruneAudit deletes the entries older than before and records the last
// deleted one as the anchor from which the chain is verified. It returns
// how many entries it deleted.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == "postgres" {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
				return fmt.Errorf("lock audit chain: %w", err)
			}
		}
		var last AuditMark
		err := tx.QueryRowxContext(ctx, tx.Rebind(`SELECT id, hash FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log WHERE at < ?)`), ts(before)).
			Scan(&last.ID, &last.Hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find audit entries to prune: %w", err)
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM audit_log WHERE id <= ?`), last.ID)
		if err != nil {
			return fmt.Errorf("prune audit log: %w", err)
		}
		n, _ = res.RowsAffected()
		return putMark(ctx, tx, auditAnchorKey, last)
	})
	return n, err
}
