package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Reuser token purposes: an e-mail verification link, a sign-in link, a
// reuser's session (the /developers pages; never a staff session).
const (
	ReuserVerify  = "verify"
	ReuserSignIn  = "signin"
	ReuserSession = "session"
)

// ReuserProfile is what the self-service adds to an API consumer: the use
// it declared at sign-up and its suspension by staff.
type ReuserProfile struct {
	ConsumerID  int64      `db:"consumer_id" json:"consumer"`
	IntendedUse string     `db:"intended_use" json:"intendedUse"`
	SuspendedAt *time.Time `db:"suspended_at" json:"suspendedAt,omitempty"`
}

// Reuser is a consumer with its profile (zero profile for consumers that
// staff registered).
type Reuser struct {
	APIConsumer
	IntendedUse string     `db:"intended_use" json:"intendedUse"`
	SuspendedAt *time.Time `db:"suspended_at" json:"suspendedAt,omitempty"`
}

const reuserCols = `c.id, c.name, c.email, c.organisation, c.verified, c.created_at, COALESCE(p.intended_use, '') AS intended_use, p.suspended_at`

// Reuser returns consumer id with its profile, or ErrNotFound.
func (s *Store) Reuser(ctx context.Context, id int64) (Reuser, error) {
	return getOne[Reuser](ctx, s, fmt.Sprintf("reuser %d", id),
		`SELECT `+reuserCols+` FROM api_consumers c LEFT JOIN reuser_profiles p ON p.consumer_id = c.id WHERE c.id = ?`, id)
}

// Reusers lists the consumers with their profiles, newest first.
func (s *Store) Reusers(ctx context.Context) ([]Reuser, error) {
	var out []Reuser
	if err := s.rdb.SelectContext(ctx, &out, `SELECT `+reuserCols+` FROM api_consumers c LEFT JOIN reuser_profiles p ON p.consumer_id = c.id ORDER BY c.id DESC`); err != nil {
		return nil, fmt.Errorf("list reusers: %w", err)
	}
	return out, nil
}

// SetReuserProfile writes the profile of consumer p.ConsumerID.
func (s *Store) SetReuserProfile(ctx context.Context, p ReuserProfile) error {
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE reuser_profiles SET intended_use = ?, suspended_at = ? WHERE consumer_id = ?`), p.IntendedUse, tsPtr(p.SuspendedAt), p.ConsumerID)
		if err != nil {
			return fmt.Errorf("reuser profile %d: %w", p.ConsumerID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO reuser_profiles (consumer_id, intended_use, suspended_at) VALUES (?, ?, ?)`), p.ConsumerID, p.IntendedUse, tsPtr(p.SuspendedAt)); err != nil {
			return fmt.Errorf("reuser profile %d: %w", p.ConsumerID, err)
		}
		return nil
	})
}

// CreateReuserToken stores the hash of a token of consumerID for purpose,
// valid until expires.
func (s *Store) CreateReuserToken(ctx context.Context, hash string, consumerID int64, purpose string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO reuser_tokens (hash, consumer_id, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		hash, consumerID, purpose, ts(time.Now()), ts(expires))
	if IsUniqueViolation(err) {
		return fmt.Errorf("reuser token: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create reuser token: %w", err)
	}
	return nil
}

// UseReuserToken spends the single-use token of that hash and purpose at
// now and returns its consumer: an unknown, expired or already used token
// is ErrNotFound (one conditional UPDATE: two clicks cannot both win).
func (s *Store) UseReuserToken(ctx context.Context, hash, purpose string, now time.Time) (int64, error) {
	var id int64
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE reuser_tokens SET used_at = ? WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`),
			ts(now), hash, purpose, ts(now))
		if err != nil {
			return fmt.Errorf("use reuser token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("reuser token: %w", ErrNotFound)
		}
		if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT consumer_id FROM reuser_tokens WHERE hash = ?`), hash); err != nil {
			return fmt.Errorf("use reuser token: %w", err)
		}
		return nil
	})
	return id, err
}

// ReuserTokenValid reports whether an unused token of that hash and
// purpose is valid at now, and whose it is (sessions; ErrNotFound).
func (s *Store) ReuserTokenValid(ctx context.Context, hash, purpose string, now time.Time) (int64, error) {
	return getOne[int64](ctx, s, "reuser token", `SELECT consumer_id FROM reuser_tokens WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`, hash, purpose, ts(now))
}

// DeleteReuserTokens deletes consumerID's tokens of purpose (all purposes
// with ""), and every expired token of anyone.
func (s *Store) DeleteReuserTokens(ctx context.Context, consumerID int64, purpose string) error {
	q, args := `DELETE FROM reuser_tokens WHERE consumer_id = ?`, []any{consumerID}
	if purpose != "" {
		q += ` AND purpose = ?`
		args = append(args, purpose)
	}
	if _, err := s.db.ExecContext(ctx, s.q(q), args...); err != nil {
		return fmt.Errorf("delete reuser tokens: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM reuser_tokens WHERE expires_at < ?`), ts(time.Now().Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("delete expired reuser tokens: %w", err)
	}
	return nil
}

// DeleteReuserToken deletes one token (sign-out).
func (s *Store) DeleteReuserToken(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM reuser_tokens WHERE hash = ?`), hash); err != nil {
		return fmt.Errorf("delete reuser token: %w", err)
	}
	return nil
}

// CountRecentReuserTokens counts consumerID's tokens of purpose made since
// (anti-abuse: a few e-mails per hour).
func (s *Store) CountRecentReuserTokens(ctx context.Context, consumerID int64, purpose string, since time.Time) (int, error) {
	var n int
	if err := s.rdb.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM reuser_tokens WHERE consumer_id = ? AND purpose = ? AND created_at >= ?`), consumerID, purpose, ts(since)); err != nil {
		return 0, fmt.Errorf("count reuser tokens: %w", err)
	}
	return n, nil
}

// RedactMail replaces the body of outbox message key once it went out (it
// held a single-use link): the outbox keeps no usable secret.
func (s *Store) RedactMail(ctx context.Context, key, body string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE mail_outbox SET body = ? WHERE idem_key = ? AND status IN (?, ?)`), body, key, MailSent, MailUnconfirmed); err != nil {
		return fmt.Errorf("redact mail %q: %w", key, err)
	}
	return nil
}

// LatestMailTo is the newest outbox message whose recipients include addr
// (tests and the development mode without SMTP read links there).
func (s *Store) LatestMailTo(ctx context.Context, addr string) (MailMessage, error) {
	var ms []MailMessage
	if err := s.rdb.SelectContext(ctx, &ms, s.q(`SELECT `+mailColumns+` FROM mail_outbox WHERE recipients LIKE ? ORDER BY id DESC LIMIT 20`), "%"+addr+"%"); err != nil {
		return MailMessage{}, fmt.Errorf("mail to %s: %w", addr, err)
	}
	for _, m := range ms {
		for _, r := range m.Recipients() {
			if r == addr {
				return m, nil
			}
		}
	}
	return MailMessage{}, fmt.Errorf("mail to %s: %w", addr, ErrNotFound)
}

// EndpointLatency is the response times of one endpoint over a window.
type EndpointLatency struct {
	Endpoint string
	Calls    int64
	Errors   int64 // status >= 500: the API's own failures
	MedianUS int64
	P95US    int64
}

// APILatency measures each endpoint's calls, server errors, median and
// 95th percentile latency since since (nearest-rank percentiles), the 50
// busiest endpoints first. One pass over the window's rows (the at index),
// sorted here: the same on both dialects, and ~8 bytes of memory a call.
func (s *Store) APILatency(ctx context.Context, since time.Time) ([]EndpointLatency, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT endpoint, status, latency_us FROM api_usage WHERE at >= ?`), ts(since))
	if err != nil {
		return nil, fmt.Errorf("API latency: %w", err)
	}
	defer rows.Close()
	type acc struct {
		errors int64
		lat    []int64
	}
	by := map[string]*acc{}
	var (
		endpoint []byte
		status   int
		lat      int64
	)
	for rows.Next() {
		if err := rows.Scan(&endpoint, &status, &lat); err != nil {
			return nil, fmt.Errorf("API latency: %w", err)
		}
		a := by[string(endpoint)] // no allocation for the lookup
		if a == nil {
			a = &acc{}
			by[string(endpoint)] = a
		}
		a.lat = append(a.lat, lat)
		if status >= 500 {
			a.errors++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("API latency: %w", err)
	}
	out := make([]EndpointLatency, 0, len(by))
	for e, a := range by {
		slices.Sort(a.lat)
		n := int64(len(a.lat))
		rank := func(pct int64) int64 { return a.lat[max((n*pct+99)/100, 1)-1] }
		out = append(out, EndpointLatency{Endpoint: e, Calls: n, Errors: a.errors, MedianUS: rank(50), P95US: rank(95)})
	}
	slices.SortFunc(out, func(x, y EndpointLatency) int {
		if x.Calls != y.Calls {
			return cmp.Compare(y.Calls, x.Calls)
		}
		return strings.Compare(x.Endpoint, y.Endpoint)
	})
	if len(out) > 50 {
		out = out[:50]
	}
	return out, nil
}

// UsageConsumer is the calls of one consumer (0: calls without a consumer:
// anonymous or keys of no consumer).
type UsageConsumer struct {
	ConsumerID int64  `db:"consumer_id"`
	Name       string `db:"name"`
	Calls      int64  `db:"calls"`
	Errors     int64  `db:"errors"`
}

// APIUsageByConsumer sums the selected calls per consumer, most calls
// first, at most limit rows.
func (s *Store) APIUsageByConsumer(ctx context.Context, f UsageFilter, limit int) ([]UsageConsumer, error) {
	where, args := f.where()
	q := `SELECT COALESCE(u.consumer_id, 0) AS consumer_id, COALESCE(MAX(c.name), '') AS name, COUNT(*) AS calls, SUM(CASE WHEN u.status >= 400 THEN 1 ELSE 0 END) AS errors
		FROM (SELECT consumer_id, status FROM api_usage` + where + `) u LEFT JOIN api_consumers c ON c.id = u.consumer_id
		GROUP BY COALESCE(u.consumer_id, 0) ORDER BY COUNT(*) DESC LIMIT ?`
	args = append(args, limit)
	var out []UsageConsumer
	if err := s.rdb.SelectContext(ctx, &out, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("API usage by consumer: %w", err)
	}
	return out, nil
}

// CountUnverifiedSignUps counts the reusers who signed up since since and
// have not confirmed their address (anti-abuse of the sign-up form).
func (s *Store) CountUnverifiedSignUps(ctx context.Context, since time.Time) (int, error) {
	var n int
	if err := s.rdb.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM api_consumers c JOIN reuser_profiles p ON p.consumer_id = c.id WHERE c.created_at >= ? AND c.verified = ?`), ts(since), false); err != nil {
		return 0, fmt.Errorf("count sign-ups: %w", err)
	}
	return n, nil
}
