package store

import (
	"context"
	"fmt"
	"time"
)

// AuditQuery is what the audit page searches: AuditFilter's fields, a
// department and a period.
type AuditQuery struct {
	AuditFilter
	Department string
	From, To   time.Time // at ≥ From and at < To; zero: no bound
}

// AuditSearch lists the entries matching q, newest first, q.Limit at most
// (default 100, at most 1000).
func (s *Store) AuditSearch(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var w where
	w.eq("actor", q.Actor)
	w.eq("action", q.Action)
	w.eq("outcome", q.Outcome)
	w.eq("department", q.Department)
	if !q.From.IsZero() {
		w.conds = append(w.conds, "at >= ?")
		w.args = append(w.args, ts(q.From))
	}
	if !q.To.IsZero() {
		w.conds = append(w.conds, "at < ?")
		w.args = append(w.args, ts(q.To))
	}
	if q.BeforeID > 0 {
		w.conds = append(w.conds, "id < ?")
		w.args = append(w.args, q.BeforeID)
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	es := []AuditEntry{}
	err := s.rdb.SelectContext(ctx, &es, s.q(`SELECT `+auditColumns+` FROM audit_log`+w.sql()+` ORDER BY id DESC LIMIT ?`), append(w.args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("search audit log: %w", err)
	}
	return es, nil
}
