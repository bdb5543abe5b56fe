package store

import (
	"context"
	"fmt"
	"time"
)

// AllDepartments is the department of a membership that holds in every
// department (the DGS is approver in "*").
const AllDepartments = "*"

// Membership gives a user a role in a department (or in AllDepartments).
// Memberships are the role links ("g" rules) of the permission model.
type Membership struct {
	UserID     int64     `db:"user_id" json:"user_id"`
	Username   string    `db:"username" json:"username"`
	Role       string    `db:"role" json:"role"`
	Department string    `db:"department" json:"department"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// GrantMembership gives userID the role in department; granting twice is a
// no-op. It bumps the authorisation version.
func (s *Store) GrantMembership(ctx context.Context, userID int64, role, department string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO memberships (user_id, role, department, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, role, department) DO NOTHING`), userID, role, department, ts(time.Now()))
	if err != nil {
		return fmt.Errorf("grant %s@%s to user %d: %w", role, department, userID, err)
	}
	return s.BumpAuthzVersion(ctx)
}

// RevokeMembership removes the role; ErrNotFound if the user did not hold it.
func (s *Store) RevokeMembership(ctx context.Context, userID int64, role, department string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM memberships WHERE user_id = ? AND role = ? AND department = ?`), userID, role, department)
	if err != nil {
		return fmt.Errorf("revoke %s@%s from user %d: %w", role, department, userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %d has no role %s@%s: %w", userID, role, department, ErrNotFound)
	}
	return s.BumpAuthzVersion(ctx)
}

const membershipSelect = `SELECT m.user_id, u.username, m.role, m.department, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id`

// MembershipsOf lists the roles of one user.
func (s *Store) MembershipsOf(ctx context.Context, userID int64) ([]Membership, error) {
	ms := []Membership{}
	err := s.rdb.SelectContext(ctx, &ms, s.q(membershipSelect+` WHERE m.user_id = ? ORDER BY m.department, m.role`), userID)
	if err != nil {
		return nil, fmt.Errorf("list memberships of user %d: %w", userID, err)
	}
	return ms, nil
}

// Memberships lists the memberships of every enabled user (the role links
// the authorizer indexes).
func (s *Store) Memberships(ctx context.Context) ([]Membership, error) {
	ms := []Membership{}
	err := s.rdb.SelectContext(ctx, &ms, s.q(membershipSelect+` WHERE u.disabled = ? ORDER BY u.username, m.department, m.role`), false)
	if err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	return ms, nil
}
