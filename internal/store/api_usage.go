package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// APIUsage is one call of the public API in the usage log.
type APIUsage struct {
	ID         int64     `db:"id" json:"-"`
	At         time.Time `db:"at" json:"at"`
	KeyID      *int64    `db:"key_id" json:"key,omitempty"`
	ConsumerID *int64    `db:"consumer_id" json:"consumer,omitempty"`
	ClientAddr string    `db:"client_addr" json:"clientAddr,omitempty"`
	Dataset    string    `db:"dataset" json:"dataset,omitempty"`
	Endpoint   string    `db:"endpoint" json:"endpoint"`
	Query      string    `db:"query" json:"query,omitempty"`
	Status     int       `db:"status" json:"status"`
	Bytes      int64     `db:"bytes" json:"bytes"`
	LatencyUS  int64     `db:"latency_us" json:"latencyUs"`
}

// usageBatch is the most rows of one INSERT (PostgreSQL's limit is 65535
// parameters; SQLite's 32766).
const usageBatch = 500

// InsertAPIUsage writes rows in one transaction (multi-row INSERTs).
func (s *Store) InsertAPIUsage(ctx context.Context, rows []APIUsage) error {
	if len(rows) == 0 {
		return nil
	}
	return s.Tx(ctx, func(tx *sqlx.Tx) error {
		for start := 0; start < len(rows); start += usageBatch {
			end := min(start+usageBatch, len(rows))
			var b strings.Builder
			b.WriteString(`INSERT INTO api_usage (at, key_id, consumer_id, client_addr, dataset, endpoint, query, status, bytes, latency_us) VALUES `)
			args := make([]any, 0, (end-start)*10)
			for i, r := range rows[start:end] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, ts(r.At), r.KeyID, r.ConsumerID, r.ClientAddr, r.Dataset, r.Endpoint, r.Query, r.Status, r.Bytes, r.LatencyUS)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
				return fmt.Errorf("write API usage: %w", err)
			}
		}
		return nil
	})
}

// UsageFilter selects usage rows: zero fields do not filter.
type UsageFilter struct {
	ConsumerID int64
	KeyFamily  int64 // the keys of one rotation chain
	Dataset    string
	From, To   time.Time // [From, To)
}

func (f UsageFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.ConsumerID > 0 {
		conds = append(conds, "consumer_id = ?")
		args = append(args, f.ConsumerID)
	}
	if f.KeyFamily > 0 {
		conds = append(conds, "key_id IN (SELECT id FROM api_keys WHERE COALESCE(family_id, id) = ?)")
		args = append(args, f.KeyFamily)
	}
	if f.Dataset != "" {
		conds = append(conds, "dataset = ?")
		args = append(args, f.Dataset)
	}
	if !f.From.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, ts(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "at < ?")
		args = append(args, ts(f.To))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// UsageDay is the calls of one day (UTC) on one dataset.
type UsageDay struct {
	Day     string `db:"day" json:"day"` // YYYY-MM-DD
	Dataset string `db:"dataset" json:"dataset"`
	Calls   int64  `db:"calls" json:"calls"`
	Errors  int64  `db:"errors" json:"errors"` // status >= 400
	Bytes   int64  `db:"bytes" json:"bytes"`
}

// APIUsageByDay sums the selected calls per day and dataset, newest day
// first, at most limit rows.
func (s *Store) APIUsageByDay(ctx context.Context, f UsageFilter, limit int) ([]UsageDay, error) {
	day := `substr(CAST(at AS TEXT), 1, 10)`
	if s.dialect == "postgres" {
		day = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
	}
	where, args := f.where()
	q := `SELECT ` + day + ` AS day, dataset, COUNT(*) AS calls, SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors, COALESCE(SUM(bytes), 0) AS bytes
		FROM api_usage` + where + ` GROUP BY 1, 2 ORDER BY 1 DESC, 2 LIMIT ?`
	args = append(args, limit)
	var out []UsageDay
	if err := s.rdb.SelectContext(ctx, &out, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("API usage by day: %w", err)
	}
	return out, nil
}

// EachAPIUsage calls fn for each selected row, oldest first (CSV export).
func (s *Store) EachAPIUsage(ctx context.Context, f UsageFilter, fn func(APIUsage) error) error {
	where, args := f.where()
	rows, err := s.rdb.QueryxContext(ctx, s.q(`SELECT id, at, key_id, consumer_id, client_addr, dataset, endpoint, query, status, bytes, latency_us FROM api_usage`+where+` ORDER BY id`), args...)
	if err != nil {
		return fmt.Errorf("read API usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u APIUsage
		if err := rows.StructScan(&u); err != nil {
			return fmt.Errorf("read API usage: %w", err)
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CountAPIUsage counts the selected rows.
func (s *Store) CountAPIUsage(ctx context.Context, f UsageFilter) (int64, error) {
	where, args := f.where()
	var n int64
	if err := s.rdb.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM api_usage`+where), args...); err != nil {
		return 0, fmt.Errorf("count API usage: %w", err)
	}
	return n, nil
}

// PurgeAPIUsage deletes the usage older than before, in chunks, and returns
// how many rows went.
func (s *Store) PurgeAPIUsage(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM api_usage WHERE id IN (SELECT id FROM api_usage WHERE at < ? ORDER BY id LIMIT 5000)`), ts(before))
		if err != nil {
			return total, fmt.Errorf("purge API usage: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 {
			return total, nil
		}
	}
}
