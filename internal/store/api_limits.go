package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LimitSpec is one take from the limiter of a subject (see TakeAPILimit).
type LimitSpec struct {
	Subject    string
	Now        time.Time
	Rate       float64 // tokens per second; 0 = no rate limit (Burst ignored)
	Burst      int
	PerDay     int64 // 0 = no daily quota
	PerMonth   int64 // 0 = no monthly quota
	DayStart   int64 // Unix seconds of the current day window
	MonthStart int64 // Unix seconds of the current month window
}

// LimitState is a subject's row of api_limits.
type LimitState struct {
	Tokens     float64 `db:"tokens"`
	RefilledMS int64   `db:"refilled_ms"`
	DayStart   int64   `db:"day_start"`
	DayUsed    int64   `db:"day_used"`
	MonthStart int64   `db:"month_start"`
	MonthUsed  int64   `db:"month_used"`
}

// TakeAPILimit takes one call from the subject's token bucket and its day
// and month counters, all or nothing, in one conditional upsert: the row is
// created full (minus this call) or, if it exists, refilled for the time
// elapsed, decremented and counted only WHERE a token and both quotas are
// left. PostgreSQL's row lock (SQLite's single writer) serialises
// concurrent takes, so two processes can never both take the last token.
// It returns the state after the take and true, or the current state and
// false when the call is refused.
func (s *Store) TakeAPILimit(ctx context.Context, l LimitSpec) (LimitState, bool, error) {
	now := l.Now.UnixMilli()
	var b strings.Builder
	var args []any
	add := func(sql string, a ...any) { b.WriteString(sql); args = append(args, a...) }

	initTokens := 0.0
	if l.Rate > 0 {
		initTokens = float64(l.Burst) - 1
	}
	add(`INSERT INTO api_limits (subject, tokens, refilled_ms, day_start, day_used, month_start, month_used) VALUES (?, ?, ?, ?, 1, ?, 1)
		ON CONFLICT (subject) DO UPDATE SET `, l.Subject, initTokens, now, l.DayStart, l.MonthStart)

	// tokensNow is the bucket refilled for the elapsed time, capped at Burst.
	tokensNow := func() {
		perMS := l.Rate / 1000
		add(`(CASE WHEN api_limits.tokens + (CASE WHEN CAST(? AS BIGINT) > api_limits.refilled_ms THEN CAST(? AS BIGINT) - api_limits.refilled_ms ELSE 0 END) * CAST(? AS DOUBLE PRECISION) > CAST(? AS DOUBLE PRECISION)
			THEN CAST(? AS DOUBLE PRECISION)
			ELSE api_limits.tokens + (CASE WHEN CAST(? AS BIGINT) > api_limits.refilled_ms THEN CAST(? AS BIGINT) - api_limits.refilled_ms ELSE 0 END) * CAST(? AS DOUBLE PRECISION) END)`,
			now, now, perMS, float64(l.Burst), float64(l.Burst), now, now, perMS)
	}
	dayUsed := func() {
		add(`(CASE WHEN api_limits.day_start >= CAST(? AS BIGINT) THEN api_limits.day_used ELSE 0 END)`, l.DayStart)
	}
	monthUsed := func() {
		add(`(CASE WHEN api_limits.month_start >= CAST(? AS BIGINT) THEN api_limits.month_used ELSE 0 END)`, l.MonthStart)
	}
	if l.Rate > 0 {
		add(`tokens = `)
		tokensNow()
		add(` - 1, `)
	}
	add(`refilled_ms = CASE WHEN CAST(? AS BIGINT) > api_limits.refilled_ms THEN CAST(? AS BIGINT) ELSE api_limits.refilled_ms END, `, now, now)
	add(`day_used = `)
	dayUsed()
	add(` + 1, day_start = CASE WHEN api_limits.day_start >= CAST(? AS BIGINT) THEN api_limits.day_start ELSE CAST(? AS BIGINT) END, `, l.DayStart, l.DayStart)
	add(`month_used = `)
	monthUsed()
	add(` + 1, month_start = CASE WHEN api_limits.month_start >= CAST(? AS BIGINT) THEN api_limits.month_start ELSE CAST(? AS BIGINT) END`, l.MonthStart, l.MonthStart)
	add(` WHERE 1 = 1`)
	if l.Rate > 0 {
		add(` AND `)
		tokensNow()
		add(` >= 1`)
	}
	if l.PerDay > 0 {
		add(` AND `)
		dayUsed()
		add(` < CAST(? AS BIGINT)`, l.PerDay)
	}
	if l.PerMonth > 0 {
		add(` AND `)
		monthUsed()
		add(` < CAST(? AS BIGINT)`, l.PerMonth)
	}
	add(` RETURNING tokens, refilled_ms, day_start, day_used, month_start, month_used`)

	var st LimitState
	err := s.db.GetContext(ctx, &st, s.q(b.String()), args...)
	if err == nil {
		return st, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return st, false, fmt.Errorf("take API limit of %s: %w", l.Subject, err)
	}
	st, err = s.APILimitState(ctx, l.Subject)
	if err != nil {
		return st, false, err
	}
	return st, false, nil
}

// APILimitState reads the subject's limiter row, or ErrNotFound.
func (s *Store) APILimitState(ctx context.Context, subject string) (LimitState, error) {
	var st LimitState
	err := s.db.GetContext(ctx, &st, s.q(`SELECT tokens, refilled_ms, day_start, day_used, month_start, month_used FROM api_limits WHERE subject = ?`), subject)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("API limit of %s: %w", subject, ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("read API limit of %s: %w", subject, err)
	}
	return st, nil
}

// PruneAPILimits deletes the limiter rows untouched since before (their
// buckets are full and their windows over).
func (s *Store) PruneAPILimits(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM api_limits WHERE refilled_ms < ? AND month_start < ?`), before.UnixMilli(), before.Unix())
	if err != nil {
		return 0, fmt.Errorf("prune API limits: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
