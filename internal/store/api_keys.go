package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// APIKey is a key of the public API. Only the hex SHA-256 of the key is
// stored (Hash), with a short non-secret Prefix for lists. A rotation
// creates a new key of the same family (FamilyID, the chain's first key)
// and sets ReplacedBy and an earlier ExpiresAt on the old one.
type APIKey struct {
	ID         int64      `db:"id" json:"id"`
	FamilyID   int64      `db:"family_id" json:"familyId"`
	Name       string     `db:"name" json:"name"`
	Prefix     string     `db:"prefix" json:"prefix"`
	Hash       string     `db:"hash" json:"-"`
	PlanID     string     `db:"plan_id" json:"plan"`
	ConsumerID *int64     `db:"consumer_id" json:"consumer,omitempty"`
	CreatedBy  string     `db:"created_by" json:"createdBy"`
	CreatedAt  time.Time  `db:"created_at" json:"createdAt"`
	ExpiresAt  *time.Time `db:"expires_at" json:"expiresAt,omitempty"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revokedAt,omitempty"`
	ReplacedBy *int64     `db:"replaced_by" json:"replacedBy,omitempty"`
}

// ValidAt reports whether the key may be used at t: not revoked, not expired.
func (k APIKey) ValidAt(t time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || t.Before(*k.ExpiresAt))
}

const apiKeyCols = `id, COALESCE(family_id, id) AS family_id, name, prefix, hash, plan_id, consumer_id, created_by, created_at, expires_at, revoked_at, replaced_by`

// apiNoRows maps sql.ErrNoRows to ErrNotFound.
func apiNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

func (s *Store) insertAPIKey(ctx context.Context, tx *sqlx.Tx, k *APIKey) error {
	k.CreatedAt = ts(time.Now())
	k.ExpiresAt = tsPtr(k.ExpiresAt)
	var fam *int64
	if k.FamilyID != 0 {
		fam = &k.FamilyID
	}
	err := tx.GetContext(ctx, &k.ID, tx.Rebind(`INSERT INTO api_keys (family_id, name, prefix, hash, plan_id, consumer_id, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		fam, k.Name, k.Prefix, k.Hash, k.PlanID, k.ConsumerID, k.CreatedBy, k.CreatedAt, k.ExpiresAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("API key: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	if k.FamilyID == 0 {
		k.FamilyID = k.ID
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE api_keys SET family_id = ? WHERE id = ?`), k.ID, k.ID); err != nil {
			return fmt.Errorf("create API key: %w", err)
		}
	}
	return nil
}

// CreateAPIKey inserts k (Hash, Prefix, PlanID, Name set by the caller) and
// sets its id and family.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	return s.Tx(ctx, func(tx *sqlx.Tx) error { return s.insertAPIKey(ctx, tx, k) })
}

// RotateAPIKey creates next as the successor of key oldID (same family) and
// makes the old key expire at oldUntil (or keep an earlier expiry). A
// revoked or already replaced key is ErrConflict; an unknown one ErrNotFound.
func (s *Store) RotateAPIKey(ctx context.Context, oldID int64, next *APIKey, oldUntil time.Time) error {
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		var old APIKey
		if err := tx.GetContext(ctx, &old, tx.Rebind(`SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`), oldID); err != nil {
			return fmt.Errorf("API key %d: %w", oldID, apiNoRows(err))
		}
		if old.RevokedAt != nil || old.ReplacedBy != nil {
			return fmt.Errorf("API key %d is revoked or already rotated: %w", oldID, ErrConflict)
		}
		next.FamilyID = old.FamilyID
		if err := s.insertAPIKey(ctx, tx, next); err != nil {
			return err
		}
		until := ts(oldUntil)
		if old.ExpiresAt != nil && old.ExpiresAt.Before(until) {
			until = *old.ExpiresAt
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE api_keys SET replaced_by = ?, expires_at = ? WHERE id = ? AND replaced_by IS NULL AND revoked_at IS NULL`), next.ID, until, oldID)
		if err != nil {
			return fmt.Errorf("rotate API key %d: %w", oldID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("API key %d was rotated meanwhile: %w", oldID, ErrConflict)
		}
		return nil
	})
}

// RevokeAPIKey revokes key id at now (idempotent: an already revoked key
// keeps its first revocation time). Unknown: ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`), ts(now), id)
	if err != nil {
		return fmt.Errorf("revoke API key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("API key %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetAPIKeyExpiry sets (or clears, with nil) the expiry of key id.
func (s *Store) SetAPIKeyExpiry(ctx context.Context, id int64, at *time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE api_keys SET expires_at = ? WHERE id = ?`), tsPtr(at), id)
	if err != nil {
		return fmt.Errorf("set expiry of API key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("API key %d: %w", id, ErrNotFound)
	}
	return nil
}

// APIKey returns one key, or ErrNotFound.
func (s *Store) APIKey(ctx context.Context, id int64) (APIKey, error) {
	return getOne[APIKey](ctx, s, fmt.Sprintf("API key %d", id), `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, id)
}

// APIKeyByHash returns the key whose hash is hash, or ErrNotFound.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	return getOne[APIKey](ctx, s, "API key", `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash)
}

// APIKeys lists keys, newest first; consumerID > 0 keeps that consumer's.
func (s *Store) APIKeys(ctx context.Context, consumerID int64) ([]APIKey, error) {
	q := `SELECT ` + apiKeyCols + ` FROM api_keys`
	var args []any
	if consumerID > 0 {
		q += ` WHERE consumer_id = ?`
		args = append(args, consumerID)
	}
	var ks []APIKey
	if err := s.rdb.SelectContext(ctx, &ks, s.q(q+` ORDER BY id DESC`), args...); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return ks, nil
}
