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
	// N is how many calls to take at once (a lease; 0 means 1), cut to the
	// burst and the quotas.
	N int64
}

// LimitState is a subject's row of api_limits.
type LimitState struct {
	Tokens     float64 `db:"tokens"`
	RefilledMS int64   `db:"refilled_ms"`
	DayStart   int64   `db:"day_start"`
	DayUsed    int64   `db:"day_used"`
	MonthStart int64   `db:"month_start"`
	MonthUsed  int64   `db:"month_used"`
	// Taken is how many calls the take got (N cut to the limits; 0 when refused).
	Taken int64 `db:"-"`
}

// TakeAPILimit takes N calls (one by default) from the subject's token
// bucket and its day and month counters, all or nothing, in one
// conditional upsert: the row is created full (minus this take) or, if it
// exists, refilled for the time elapsed, decremented and counted only
// WHERE enough tokens and quota are left. PostgreSQL's row lock (SQLite's
// single writer) serialises concurrent takes, so two processes can never
// both take the last token. It returns the state after the take and true,
// or the current state and false when the take is refused.
func (s *Store) TakeAPILimit(ctx context.Context, l LimitSpec) (LimitState, bool, error) {
	now := l.Now.UnixMilli()
	n := max(l.N, 1)
	if l.Rate > 0 {
		n = min(n, int64(max(l.Burst, 1)))
	}
	if l.PerDay > 0 {
		n = min(n, l.PerDay)
	}
	if l.PerMonth > 0 {
		n = min(n, l.PerMonth)
	}
	var b strings.Builder
	var args []any
	add := func(sql string, a ...any) { b.WriteString(sql); args = append(args, a...) }

	initTokens := 0.0
	if l.Rate > 0 {
		initTokens = float64(l.Burst) - float64(n)
	}
	add(`INSERT INTO api_limits (subject, tokens, refilled_ms, day_start, day_used, month_start, month_used) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (subject) DO UPDATE SET `, l.Subject, initTokens, now, l.DayStart, n, l.MonthStart, n)

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
		add(` - CAST(? AS DOUBLE PRECISION), `, float64(n))
	}
	add(`refilled_ms = CASE WHEN CAST(? AS BIGINT) > api_limits.refilled_ms THEN CAST(? AS BIGINT) ELSE api_limits.refilled_ms END, `, now, now)
	add(`day_used = `)
	dayUsed()
	add(` + CAST(? AS BIGINT), day_start = CASE WHEN api_limits.day_start >= CAST(? AS BIGINT) THEN api_limits.day_start ELSE CAST(? AS BIGINT) END, `, n, l.DayStart, l.DayStart)
	add(`month_used = `)
	monthUsed()
	add(` + CAST(? AS BIGINT), month_start = CASE WHEN api_limits.month_start >= CAST(? AS BIGINT) THEN api_limits.month_start ELSE CAST(? AS BIGINT) END`, n, l.MonthStart, l.MonthStart)
	add(` WHERE 1 = 1`)
	if l.Rate > 0 {
		add(` AND `)
		tokensNow()
		add(` >= CAST(? AS DOUBLE PRECISION)`, float64(n))
	}
	if l.PerDay > 0 {
		add(` AND `)
		dayUsed()
		add(` <= CAST(? AS BIGINT)`, l.PerDay-n)
	}
	if l.PerMonth > 0 {
		add(` AND `)
		monthUsed()
		add(` <= CAST(? AS BIGINT)`, l.PerMonth-n)
	}
	add(` RETURNING tokens, refilled_ms, day_start, day_used, month_start, month_used`)

	var st LimitState
	err := s.counters.GetContext(ctx, &st, s.q(b.String()), args...)
	if err == nil {
		st.Taken = n
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

// ReturnAPILimit gives back n calls taken by a lease and not used: the
// bucket gets its tokens back (up to burst), the counters of the windows
// still current go down.
func (s *Store) ReturnAPILimit(ctx context.Context, subject string, n int64, burst int, rateLimited bool, dayStart, monthStart int64) error {
	if n <= 0 {
		return nil
	}
	tokens := `tokens`
	var args []any
	if rateLimited {
		tokens = `CASE WHEN tokens + CAST(? AS DOUBLE PRECISION) > CAST(? AS DOUBLE PRECISION) THEN CAST(? AS DOUBLE PRECISION) ELSE tokens + CAST(? AS DOUBLE PRECISION) END`
		args = append(args, float64(n), float64(burst), float64(burst), float64(n))
	}
	args = append(args, dayStart, n, n, monthStart, n, n, subject)
	_, err := s.counters.ExecContext(ctx, s.q(`UPDATE api_limits SET tokens = `+tokens+`,
		day_used = CASE WHEN day_start = CAST(? AS BIGINT) AND day_used >= CAST(? AS BIGINT) THEN day_used - CAST(? AS BIGINT) ELSE day_used END,
		month_used = CASE WHEN month_start = CAST(? AS BIGINT) AND month_used >= CAST(? AS BIGINT) THEN month_used - CAST(? AS BIGINT) ELSE month_used END
		WHERE subject = ?`), args...)
	if err != nil {
		return fmt.Errorf("return API limit of %s: %w", subject, err)
	}
	return nil
}

// APILimitState reads the subject's limiter row, or ErrNotFound.
func (s *Store) APILimitState(ctx context.Context, subject string) (LimitState, error) {
	var st LimitState
	err := s.counters.GetContext(ctx, &st, s.q(`SELECT tokens, refilled_ms, day_start, day_used, month_start, month_used FROM api_limits WHERE subject = ?`), subject)
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
	res, err := s.counters.ExecContext(ctx, s.q(`DELETE FROM api_limits WHERE refilled_ms < ? AND month_start < ?`), before.UnixMilli(), before.Unix())
	if err != nil {
		return 0, fmt.Errorf("prune API limits: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
