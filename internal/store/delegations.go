package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Delegation is a délégation de signature: the delegator lends one of their
// roles (Role in Department) to the delegate for [ValidFrom, ValidUntil).
type Delegation struct {
	ID          int64      `db:"id" json:"id"`
	DelegatorID int64      `db:"delegator_id" json:"delegator_id"`
	Delegator   string     `db:"delegator" json:"delegator"`
	DelegateID  int64      `db:"delegate_id" json:"delegate_id"`
	Delegate    string     `db:"delegate" json:"delegate"`
	Role        string     `db:"role" json:"role"`
	Department  string     `db:"department" json:"department"`
	ValidFrom   time.Time  `db:"valid_from" json:"valid_from"`
	ValidUntil  time.Time  `db:"valid_until" json:"valid_until"`
	Reason      string     `db:"reason" json:"reason"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	RevokedAt   *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
}

// ActiveAt reports whether d gives its role at t.
func (d Delegation) ActiveAt(t time.Time) bool {
	return d.RevokedAt == nil && !t.Before(d.ValidFrom) && t.Before(d.ValidUntil)
}

// CreateDelegation inserts d and sets its ID.
func (s *Store) CreateDelegation(ctx context.Context, d *Delegation) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	d.CreatedAt, d.ValidFrom, d.ValidUntil = ts(d.CreatedAt), ts(d.ValidFrom), ts(d.ValidUntil)
	err := s.db.GetContext(ctx, &d.ID, s.q(`INSERT INTO delegations (delegator_id, delegate_id, role, department, valid_from, valid_until, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		d.DelegatorID, d.DelegateID, d.Role, d.Department, d.ValidFrom, d.ValidUntil, d.Reason, d.CreatedAt)
	if err != nil {
		return fmt.Errorf("create delegation: %w", err)
	}
	return s.BumpAuthzVersion(ctx)
}

// RevokeDelegation ends a delegation now; ErrNotFound if absent or already revoked.
func (s *Store) RevokeDelegation(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE delegations SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), ts(at), id)
	if err != nil {
		return fmt.Errorf("revoke delegation %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delegation %d: %w", id, ErrNotFound)
	}
	return s.BumpAuthzVersion(ctx)
}

const delegationSelect = `SELECT d.id, d.delegator_id, a.username AS delegator, d.delegate_id, b.username AS delegate,
	d.role, d.department, d.valid_from, d.valid_until, d.reason, d.created_at, d.revoked_at
	FROM delegations d JOIN users a ON a.id = d.delegator_id JOIN users b ON b.id = d.delegate_id`

// Delegation returns one delegation or ErrNotFound.
func (s *Store) Delegation(ctx context.Context, id int64) (Delegation, error) {
	var d Delegation
	err := s.rdb.GetContext(ctx, &d, s.q(delegationSelect+` WHERE d.id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("delegation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("read delegation %d: %w", id, err)
	}
	return d, nil
}

// DelegationsInvolving lists the delegations given or received by userID
// (0: every delegation), newest first.
func (s *Store) DelegationsInvolving(ctx context.Context, userID int64) ([]Delegation, error) {
	ds := []Delegation{}
	var err error
	if userID == 0 {
		err = s.rdb.SelectContext(ctx, &ds, delegationSelect+` ORDER BY d.id DESC`)
	} else {
		err = s.rdb.SelectContext(ctx, &ds, s.q(delegationSelect+` WHERE d.delegator_id = ? OR d.delegate_id = ? ORDER BY d.id DESC`), userID, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("list delegations: %w", err)
	}
	return ds, nil
}

// CurrentDelegations lists the unrevoked delegations that are valid at t or
// later (for one delegate, or everyone when delegateID is 0). Callers check
// ActiveAt at the moment of use.
func (s *Store) CurrentDelegations(ctx context.Context, delegateID int64, t time.Time) ([]Delegation, error) {
	ds := []Delegation{}
	q := delegationSelect + ` WHERE d.revoked_at IS NULL AND d.valid_until > ? AND a.disabled = ?`
	args := []any{ts(t), false}
	if delegateID != 0 {
		q += ` AND d.delegate_id = ?`
		args = append(args, delegateID)
	}
	if err := s.rdb.SelectContext(ctx, &ds, s.q(q+` ORDER BY d.id`), args...); err != nil {
		return nil, fmt.Errorf("list current delegations: %w", err)
	}
	return ds, nil
}
