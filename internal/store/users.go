package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// User is a member of staff. PasswordHash is nil for users who sign in only
// through OIDC (ProConnect); Email is how OIDC identities are matched.
type User struct {
	ID           int64      `db:"id" json:"id"`
	Username     string     `db:"username" json:"username"`
	DisplayName  string     `db:"display_name" json:"display_name"`
	Email        *string    `db:"email" json:"email,omitempty"`
	PasswordHash *string    `db:"password_hash" json:"-"`
	Disabled     bool       `db:"disabled" json:"disabled"`
	FailedLogins int        `db:"failed_logins" json:"-"`
	LockedUntil  *time.Time `db:"locked_until" json:"locked_until,omitempty"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at" json:"updated_at"`
}

const userColumns = `id, username, display_name, email, password_hash, disabled, failed_logins, locked_until, created_at, updated_at`

// CreateUser inserts u and sets its ID; ErrConflict if the username or the
// e-mail (case-insensitive) is taken.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	now := ts(time.Now())
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.UpdatedAt = now
	err := s.db.GetContext(ctx, &u.ID, s.q(`INSERT INTO users (username, display_name, email, password_hash, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		u.Username, u.DisplayName, u.Email, u.PasswordHash, u.Disabled, ts(u.CreatedAt), u.UpdatedAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("user %q: username or e-mail already used: %w", u.Username, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return nil
}

func (s *Store) getUser(ctx context.Context, what, where string, arg any) (User, error) {
	var u User
	err := s.rdb.GetContext(ctx, &u, s.q(`SELECT `+userColumns+` FROM users WHERE `+where), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("read user %s: %w", what, err)
	}
	return u, nil
}

// UserByID returns a user or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return s.getUser(ctx, fmt.Sprint(id), `id = ?`, id)
}

// UserByUsername returns a user or ErrNotFound (usernames are stored lower-case).
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	return s.getUser(ctx, fmt.Sprintf("%q", username), `username = ?`, username)
}

// UserByEmail matches the e-mail case-insensitively, or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.getUser(ctx, fmt.Sprintf("with e-mail %q", email), `lower(email) = lower(?)`, email)
}

// Users lists every user by username.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	us := []User{}
	if err := s.rdb.SelectContext(ctx, &us, `SELECT `+userColumns+` FROM users ORDER BY username`); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// UpdateUserProfile sets the display name and e-mail.
func (s *Store) UpdateUserProfile(ctx context.Context, id int64, displayName string, email *string) error {
	return s.updateUser(ctx, id, `display_name = ?, email = ?`, displayName, email)
}

// SetUserDisabled disables or re-enables a user (a disabled user cannot sign
// in and loses every permission at once).
func (s *Store) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	if err := s.updateUser(ctx, id, `disabled = ?`, disabled); err != nil {
		return err
	}
	return s.BumpAuthzVersion(ctx)
}

// SetPasswordHash replaces the password hash (nil: OIDC only).
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash *string) error {
	return s.updateUser(ctx, id, `password_hash = ?`, hash)
}

func (s *Store) updateUser(ctx context.Context, id int64, set string, args ...any) error {
	args = append(args, ts(time.Now()), id)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET `+set+`, updated_at = ? WHERE id = ?`), args...)
	if IsUniqueViolation(err) {
		return fmt.Errorf("user %d: e-mail already used: %w", id, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update user %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return nil
}

// RecordLoginFailure counts a failed login. On the max-th consecutive
// failure the account is locked until now+lockFor and the counter restarts.
// It returns the user as updated.
func (s *Store) RecordLoginFailure(ctx context.Context, id int64, max int, lockFor time.Duration, now time.Time) (User, error) {
	var u User
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &u, s.q(`SELECT `+userColumns+` FROM users WHERE id = ?`+s.forUpdate()), id); err != nil {
			return err
		}
		u.FailedLogins++
		if u.FailedLogins >= max {
			until := ts(now.Add(lockFor))
			u.LockedUntil = &until
			u.FailedLogins = 0
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?`), u.FailedLogins, u.LockedUntil, id)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("record login failure of user %d: %w", id, err)
	}
	return u, nil
}

// RecordLoginSuccess clears the failure counter and any lock.
func (s *Store) RecordLoginSuccess(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ? AND (failed_logins <> 0 OR locked_until IS NOT NULL)`), id)
	if err != nil {
		return fmt.Errorf("record login success of user %d: %w", id, err)
	}
	return nil
}
