// Package audit is civicflow's tamper-evident audit trail: every
// state-changing action and every refused access is appended to a hash
// chain (each entry's hash covers its fields and the previous entry's
// hash), which Verify walks to find the first altered, deleted or
// reordered entry. Prune drops old entries and keeps the chain verifiable
// from an anchor.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civicflow/civicflow/internal/store"
)

// Entry is one audit record.
type Entry = store.AuditEntry

// Outcomes.
const (
	OK     = "ok"
	Denied = "denied"
	Error  = "error"
)

// Recorder is what the web layer and activities depend on.
type Recorder interface {
	Record(ctx context.Context, e Entry) error
}

// Logger appends entries to the store's chain.
type Logger struct {
	st  *store.Store
	now func() time.Time
}

// NewLogger returns a Logger over st.
func NewLogger(st *store.Store) *Logger { return &Logger{st: st, now: time.Now} }

var _ Recorder = (*Logger)(nil)

// Record appends e. At defaults to now, Outcome to OK, Detail to {}; a
// non-empty Detail must be a JSON object (it is stored compacted).
func (l *Logger) Record(ctx context.Context, e Entry) error {
	if e.Action == "" {
		return errors.New("audit: entry without action")
	}
	switch e.Outcome {
	case "":
		e.Outcome = OK
	case OK, Denied, Error:
	default:
		return fmt.Errorf("audit: outcome %q is not ok, denied or error", e.Outcome)
	}
	if e.At.IsZero() {
		e.At = l.now()
	}
	d, err := canonicalDetail(e.Detail)
	if err != nil {
		return err
	}
	e.Detail = d
	return l.st.AppendAudit(ctx, &e, func(e *Entry) error {
		e.Hash = Hash(e)
		return nil
	})
}

// Detail encodes v (a map or struct) as an entry's detail.
func Detail(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return "{}"
	}
	return string(b)
}

func canonicalDetail(d string) (string, error) {
	if d == "" {
		return "{}", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(d)); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return "", fmt.Errorf("audit: detail is not a JSON object: %.80q", d)
	}
	return buf.String(), nil
}

// Hash is the entry's hash: sha256 over a canonical encoding (a JSON array
// of the fields in a fixed order, times in UTC RFC 3339 with nanoseconds)
// that ends with the previous entry's hash.
func Hash(e *Entry) string {
	fields := []string{
		"civicflow-audit-v1",
		strconv.FormatInt(e.ID, 10),
		e.At.UTC().Format(time.RFC3339Nano),
		e.Actor, e.OnBehalfOf, e.Action, e.ObjectType, e.ObjectID, e.Department,
		e.Outcome, e.IP, e.Detail,
		e.PrevHash,
	}
	b, _ := json.Marshal(fields)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BrokenError says where and why the chain breaks.
type BrokenError struct {
	ID     int64
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at entry #%d: %s", e.ID, e.Reason)
}

// Verify walks the chain in id order from the prune anchor and returns the
// first bad entry with a *BrokenError: an id that does not follow the
// previous one (deleted or reordered rows), a prev_hash that is not the
// previous entry's hash, a hash that does not match the entry's fields
// (altered row), or a chain that stops before the recorded head (deleted
// last entries). An intact chain gives (nil, nil).
func (l *Logger) Verify(ctx context.Context) (*Entry, error) { return Verify(ctx, l.st) }

// Verify is Logger.Verify on a store.
func Verify(ctx context.Context, st *store.Store) (*Entry, error) {
	prev, err := st.AuditAnchor(ctx)
	if err != nil {
		return nil, err
	}
	head, err := st.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	for {
		page, err := st.AuditAfter(ctx, prev.ID, 1000)
		if err != nil {
			return nil, err
		}
		for i := range page {
			e := &page[i]
			switch {
			case e.ID != prev.ID+1:
				return e, &BrokenError{e.ID, fmt.Sprintf("expected entry #%d next (entries deleted or reordered)", prev.ID+1)}
			case e.PrevHash != prev.Hash:
				return e, &BrokenError{e.ID, fmt.Sprintf("prev_hash does not match the hash of entry #%d (entries deleted, inserted or reordered)", prev.ID)}
			case Hash(e) != e.Hash:
				return e, &BrokenError{e.ID, "its content does not match its hash (entry altered)"}
			}
			prev = store.AuditMark{ID: e.ID, Hash: e.Hash}
		}
		if len(page) < 1000 {
			break
		}
	}
	if head.ID > prev.ID {
		missing := &Entry{ID: prev.ID + 1}
		return missing, &BrokenError{missing.ID, fmt.Sprintf("the chain ends at #%d but #%d was appended (last entries deleted)", prev.ID, head.ID)}
	}
	return nil, nil
}

// Prune deletes entries older than before (retention) and anchors the
// chain at the last deleted entry; it returns how many it deleted.
func (l *Logger) Prune(ctx context.Context, before time.Time) (int64, error) {
	return l.st.PruneAudit(ctx, before)
}

// List returns entries newest first (admin view).
func (l *Logger) List(ctx context.Context, f store.AuditFilter) ([]Entry, error) {
	return l.st.AuditEntries(ctx, f)
}
