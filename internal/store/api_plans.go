package store

import (
	"context"
	"fmt"
	"time"
)

// APIPlan is what a caller of the public API may do: a token bucket (rate
// per second, burst) and daily and monthly quotas. Zero means "no limit"
// for RatePerSecond (and then Burst is ignored), PerDay and PerMonth.
type APIPlan struct {
	ID            string    `db:"id" json:"id"`
	Label         string    `db:"label" json:"label"`
	RatePerSecond float64   `db:"rate_per_second" json:"ratePerSecond"`
	Burst         int       `db:"burst" json:"burst"`
	PerDay        int64     `db:"per_day" json:"perDay"`
	PerMonth      int64     `db:"per_month" json:"perMonth"`
	UpdatedAt     time.Time `db:"updated_at" json:"updatedAt"`
}

// Seeded plans.
const (
	PlanAnonymous  = "anonymous"
	PlanRegistered = "registered"
	PlanPartner    = "partner"
	PlanInternal   = "internal"
)

const apiPlanCols = `id, label, rate_per_second, burst, per_day, per_month, updated_at`

// APIPlans lists the plans by id.
func (s *Store) APIPlans(ctx context.Context) ([]APIPlan, error) {
	var ps []APIPlan
	if err := s.rdb.SelectContext(ctx, &ps, `SELECT `+apiPlanCols+` FROM api_plans ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list API plans: %w", err)
	}
	return ps, nil
}

// APIPlan returns one plan, or ErrNotFound.
func (s *Store) APIPlan(ctx context.Context, id string) (APIPlan, error) {
	return getOne[APIPlan](ctx, s, fmt.Sprintf("API plan %q", id), `SELECT `+apiPlanCols+` FROM api_plans WHERE id = ?`, id)
}

// CreateAPIPlan inserts p; an existing id is ErrConflict.
func (s *Store) CreateAPIPlan(ctx context.Context, p *APIPlan) error {
	p.UpdatedAt = ts(time.Now())
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO api_plans (`+apiPlanCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		p.ID, p.Label, p.RatePerSecond, p.Burst, p.PerDay, p.PerMonth, p.UpdatedAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("API plan %q: %w", p.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create API plan %q: %w", p.ID, err)
	}
	return nil
}

// UpdateAPIPlan replaces the limits and label of plan p.ID, or ErrNotFound.
func (s *Store) UpdateAPIPlan(ctx context.Context, p *APIPlan) error {
	p.UpdatedAt = ts(time.Now())
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE api_plans SET label = ?, rate_per_second = ?, burst = ?, per_day = ?, per_month = ?, updated_at = ? WHERE id = ?`),
		p.Label, p.RatePerSecond, p.Burst, p.PerDay, p.PerMonth, p.UpdatedAt, p.ID)
	if err != nil {
		return fmt.Errorf("update API plan %q: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("API plan %q: %w", p.ID, ErrNotFound)
	}
	return nil
}

// DeleteAPIPlan deletes a plan that no key uses: ErrNotFound, or
// ErrConflict when keys still use it.
func (s *Store) DeleteAPIPlan(ctx context.Context, id string) error {
	var n int
	if err := s.rdb.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM api_keys WHERE plan_id = ?`), id); err != nil {
		return fmt.Errorf("count keys of API plan %q: %w", id, err)
	}
	if n > 0 {
		return fmt.Errorf("API plan %q is used by %d key(s): %w", id, n, ErrConflict)
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM api_plans WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete API plan %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("API plan %q: %w", id, ErrNotFound)
	}
	return nil
}
