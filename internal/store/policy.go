package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// CasbinRule is one row of casbin_rule, the usual Casbin adapter table
// (ptype, v0…v5). civicflow keeps only "p" rules there: the role links
// ("g") come from the memberships table.
type CasbinRule struct {
	ID    int64  `db:"id" json:"-"`
	PType string `db:"ptype" json:"ptype"`
	V0    string `db:"v0" json:"v0"`
	V1    string `db:"v1" json:"v1"`
	V2    string `db:"v2" json:"v2"`
	V3    string `db:"v3" json:"v3"`
	V4    string `db:"v4" json:"v4,omitempty"`
	V5    string `db:"v5" json:"v5,omitempty"`
}

// NewCasbinRule builds a rule from Casbin's (ptype, values) form.
func NewCasbinRule(ptype string, values []string) CasbinRule {
	r := CasbinRule{PType: ptype}
	dst := []*string{&r.V0, &r.V1, &r.V2, &r.V3, &r.V4, &r.V5}
	for i, v := range values {
		if i < len(dst) {
			*dst[i] = v
		}
	}
	return r
}

// Values returns v0…v5 without the trailing empty ones.
func (r CasbinRule) Values() []string {
	vs := []string{r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
	for len(vs) > 0 && vs[len(vs)-1] == "" {
		vs = vs[:len(vs)-1]
	}
	return vs
}

// AuthzVersionKey is the settings key bumped on every change to rules,
// memberships, delegations or disabled users; authorizers in every process
// poll it to know when to rebuild.
const AuthzVersionKey = "authz_version"

const policySeededKey = "policy_seeded"

// CasbinRules returns every rule in id order.
func (s *Store) CasbinRules(ctx context.Context) ([]CasbinRule, error) {
	rs := []CasbinRule{}
	if err := s.rdb.SelectContext(ctx, &rs, `SELECT id, ptype, v0, v1, v2, v3, v4, v5 FROM casbin_rule ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list policy rules: %w", err)
	}
	return rs, nil
}

func insertRules(ctx context.Context, tx *sqlx.Tx, rules []CasbinRule) (int64, error) {
	var n int64
	for _, r := range rules {
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			r.PType, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5)
		if err != nil {
			return n, fmt.Errorf("add policy rule %s %v: %w", r.PType, r.Values(), err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// AddCasbinRules inserts rules (existing ones are kept) and returns how many were new.
func (s *Store) AddCasbinRules(ctx context.Context, rules []CasbinRule) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		n, err = insertRules(ctx, tx, rules)
		if err != nil || n == 0 {
			return err
		}
		return bumpAuthzVersion(ctx, tx)
	})
	return n, err
}

// RemoveCasbinRule deletes exactly that rule; ErrNotFound if absent.
func (s *Store) RemoveCasbinRule(ctx context.Context, r CasbinRule) error {
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM casbin_rule WHERE ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ? AND v4 = ? AND v5 = ?`),
			r.PType, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5)
		if err != nil {
			return fmt.Errorf("remove policy rule: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("policy rule %s %v: %w", r.PType, r.Values(), ErrNotFound)
		}
		return bumpAuthzVersion(ctx, tx)
	})
}

// RemoveFilteredCasbinRules deletes the rules of ptype whose fields from
// fieldIndex on equal values (an empty value matches anything), as Casbin's
// RemoveFilteredPolicy does.
func (s *Store) RemoveFilteredCasbinRules(ctx context.Context, ptype string, fieldIndex int, values ...string) error {
	if fieldIndex < 0 || fieldIndex+len(values) > 6 {
		return errors.New("remove policy rules: field index out of range")
	}
	q := `DELETE FROM casbin_rule WHERE ptype = ?`
	args := []any{ptype}
	for i, v := range values {
		if v == "" {
			continue
		}
		q += ` AND v` + strconv.Itoa(fieldIndex+i) + ` = ?`
		args = append(args, v)
	}
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
			return fmt.Errorf("remove policy rules: %w", err)
		}
		return bumpAuthzVersion(ctx, tx)
	})
}

// ReplaceCasbinRules replaces the whole rule set (Casbin's SavePolicy).
func (s *Store) ReplaceCasbinRules(ctx context.Context, rules []CasbinRule) error {
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM casbin_rule`); err != nil {
			return fmt.Errorf("clear policy rules: %w", err)
		}
		if _, err := insertRules(ctx, tx, rules); err != nil {
			return err
		}
		return bumpAuthzVersion(ctx, tx)
	})
}

// SeedCasbinRules loads rules once in the life of the database (first
// start); later calls do nothing, so that rules an administrator removed
// stay removed. It reports whether it loaded them.
func (s *Store) SeedCasbinRules(ctx context.Context, rules []CasbinRule) (bool, error) {
	seeded := false
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`),
			policySeededKey, ts(time.Now()).Format(time.RFC3339), ts(time.Now()))
		if err != nil {
			return fmt.Errorf("seed policy rules: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := insertRules(ctx, tx, rules); err != nil {
			return err
		}
		seeded = true
		return bumpAuthzVersion(ctx, tx)
	})
	return seeded, err
}

// AuthzVersion returns the current authorisation version (0 if never bumped).
func (s *Store) AuthzVersion(ctx context.Context) (int64, error) {
	v, err := s.Setting(ctx, AuthzVersionKey)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("setting %s=%q is not a number", AuthzVersionKey, v)
	}
	return n, nil
}

// BumpAuthzVersion tells every process that permissions changed.
func (s *Store) BumpAuthzVersion(ctx context.Context) error {
	return s.Tx(ctx, func(tx *sqlx.Tx) error { return bumpAuthzVersion(ctx, tx) })
}

func bumpAuthzVersion(ctx context.Context, tx *sqlx.Tx) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO settings (key, value, updated_at) VALUES (?, '1', ?)
		ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT), updated_at = excluded.updated_at`),
		AuthzVersionKey, ts(time.Now()))
	if err != nil {
		return fmt.Errorf("bump authorisation version: %w", err)
	}
	return nil
}

// ts normalises a time for storage: UTC (so that SQLite's text times sort
// and compare correctly) and microseconds (PostgreSQL's precision).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// forUpdate is the row-lock suffix of a SELECT in a transaction. SQLite
// needs none: its write transactions are exclusive (BEGIN IMMEDIATE).
func (s *Store) forUpdate() string {
	if s.dialect == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}
