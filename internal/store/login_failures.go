package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LoginFailures are the consecutive failed sign-ins with one username,
// known or not (NameHash is the sha256 of the normalised username). They
// drive the progressive delay of the next attempts; there is no lock.
type LoginFailures struct {
	NameHash     string    `db:"name_hash"`
	Failures     int       `db:"failures"`
	LastFailedAt time.Time `db:"last_failed_at"`
}

// LoginFailuresOf returns the failures counted for nameHash (zero, and no
// error, when there are none).
func (s *Store) LoginFailuresOf(ctx context.Context, nameHash string) (LoginFailures, error) {
	var f LoginFailures
	err := s.rdb.GetContext(ctx, &f, s.q(`SELECT name_hash, failures, last_failed_at FROM login_failures WHERE name_hash = ?`), nameHash)
	if errors.Is(err, sql.ErrNoRows) {
		return LoginFailures{NameHash: nameHash}, nil
	}
	if err != nil {
		return f, fmt.Errorf("read login failures: %w", err)
	}
	return f, nil
}

// RecordLoginFailure counts one more failure for nameHash at now and
// returns the count. A count whose last failure is older than forgetBefore
// starts again from one.
func (s *Store) RecordLoginFailure(ctx context.Context, nameHash string, now, forgetBefore time.Time) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.q(`INSERT INTO login_failures (name_hash, failures, last_failed_at) VALUES (?, 1, ?)
		ON CONFLICT (name_hash) DO UPDATE SET
			failures = CASE WHEN login_failures.last_failed_at < ? THEN 1 ELSE login_failures.failures + 1 END,
			last_failed_at = excluded.last_failed_at
		RETURNING failures`), nameHash, ts(now), ts(forgetBefore))
	if err != nil {
		return 0, fmt.Errorf("record login failure: %w", err)
	}
	return n, nil
}

// ClearLoginFailures forgets the failures of nameHash (a successful
// sign-in, a password reset).
func (s *Store) ClearLoginFailures(ctx context.Context, nameHash string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM login_failures WHERE name_hash = ?`), nameHash); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// PruneLoginFailures deletes the counts whose last failure is older than
// before, and returns how many.
func (s *Store) PruneLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM login_failures WHERE last_failed_at < ?`), ts(before))
	if err != nil {
		return 0, fmt.Errorf("prune login failures: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
