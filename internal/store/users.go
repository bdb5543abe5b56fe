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
	ID           int64     `db:"id" json:"id"`
	Username     string    `db:"username" json:"username"`
	DisplayName  string    `db:"display_name" json:"display_name"`
	Email        *string   `db:"email" json:"email,omitempty"`
	PasswordHash *string   `db:"password_hash" json:"-"`
	Disabled     bool      `db:"disabled" json:"disabled"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time `db:"updated_at" json:"updated_at"`
}

const userColumns = `id, username, display_name, email, password_hash, disabled, created_at, updated_at`

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

// SetUserDisabled disables or re-enables a user. A disabled user cannot
// sign in and loses every permission at once; disabling also ends their
// sessions and revokes their personal API tokens, in the same transaction
// (re-enabling gives none of them back).
func (s *Store) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := updateUserTx(ctx, tx, id, `disabled = ?`, disabled); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		return revokeCredentialsTx(ctx, tx, id, true, time.Now())
	})
	if err != nil {
		return err
	}
	return s.BumpAuthzVersion(ctx)
}

// SetPasswordHash replaces the password hash (nil: OIDC only) and nothing
// else (rehashing with new parameters).
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash *string) error {
	return s.updateUser(ctx, id, `password_hash = ?`, hash)
}

// ReplacePassword sets a new password hash and, in the same transaction,
// ends every session of the user and, when revokeTokens is set (a reset by
// an administrator), revokes their personal API tokens as of at.
func (s *Store) ReplacePassword(ctx context.Context, id int64, hash string, revokeTokens bool, at time.Time) error {
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := updateUserTx(ctx, tx, id, `password_hash = ?`, hash); err != nil {
			return err
		}
		return revokeCredentialsTx(ctx, tx, id, revokeTokens, at)
	})
}

// revokeCredentialsTx ends the sessions of a user and, with tokens, revokes
// their API tokens that are not revoked yet.
func revokeCredentialsTx(ctx context.Context, tx *sqlx.Tx, id int64, tokens bool, at time.Time) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM sessions WHERE user_id = ?`), id); err != nil {
		return fmt.Errorf("end the sessions of user %d: %w", id, err)
	}
	if !tokens {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`), ts(at), id); err != nil {
		return fmt.Errorf("revoke the API tokens of user %d: %w", id, err)
	}
	return nil
}

func updateUserTx(ctx context.Context, tx *sqlx.Tx, id int64, set string, args ...any) error {
	args = append(args, ts(time.Now()), id)
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET `+set+`, updated_at = ? WHERE id = ?`), args...)
	if err != nil {
		return fmt.Errorf("update user %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return nil
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
