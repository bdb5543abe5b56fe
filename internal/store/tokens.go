package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// APIToken is a personal access token for /api/v1. Only the sha256 of the
// secret is stored; Prefix (the first characters) helps users recognise it.
type APIToken struct {
	ID         int64      `db:"id" json:"id"`
	UserID     int64      `db:"user_id" json:"user_id"`
	Name       string     `db:"name" json:"name"`
	Prefix     string     `db:"prefix" json:"prefix"`
	Hash       string     `db:"token_hash" json:"-"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `db:"expires_at" json:"expires_at,omitempty"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
}

const tokenColumns = `id, user_id, name, prefix, token_hash, created_at, last_used_at, expires_at, revoked_at`

// CreateAPIToken inserts t and sets its ID.
func (s *Store) CreateAPIToken(ctx context.Context, t *APIToken) error {
	t.CreatedAt = ts(t.CreatedAt)
	var exp *time.Time
	if t.ExpiresAt != nil {
		e := ts(*t.ExpiresAt)
		exp = &e
	}
	err := s.db.GetContext(ctx, &t.ID, s.q(`INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), t.UserID, t.Name, t.Prefix, t.Hash, t.CreatedAt, exp)
	if err != nil {
		return fmt.Errorf("create API token: %w", err)
	}
	return nil
}

// APITokenByHash returns the token with that hash, or ErrNotFound.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (APIToken, error) {
	var t APIToken
	err := s.rdb.GetContext(ctx, &t, s.q(`SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ?`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("API token: %w", ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("read API token: %w", err)
	}
	return t, nil
}

// APITokensOf lists a user's tokens, newest first.
func (s *Store) APITokensOf(ctx context.Context, userID int64) ([]APIToken, error) {
	ts := []APIToken{}
	if err := s.rdb.SelectContext(ctx, &ts, s.q(`SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY id DESC`), userID); err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return ts, nil
}

// RevokeAPIToken revokes one of userID's tokens; ErrNotFound if it is not
// theirs or already revoked.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`), ts(at), id, userID)
	if err != nil {
		return fmt.Errorf("revoke API token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("API token %d: %w", id, ErrNotFound)
	}
	return nil
}

// TouchAPIToken records the last use of a token.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`), ts(at), id); err != nil {
		return fmt.Errorf("touch API token %d: %w", id, err)
	}
	return nil
}
