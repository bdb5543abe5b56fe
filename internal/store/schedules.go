package store

import (
	"context"
	"fmt"
	"time"
)

// FlowSchedule holds the parameters of the instances that a flow's timer
// start events launch: their department and start variables (for a nightly
// collection, the dataset and the source URL). Every deployed version's
// schedule uses them.
type FlowSchedule struct {
	FlowKey    string    `db:"flow_key" json:"flow"`
	Department string    `db:"department" json:"department"`
	Variables  JSONText  `db:"variables" json:"variables"`
	UpdatedBy  string    `db:"updated_by" json:"updatedBy"`
	UpdatedAt  time.Time `db:"updated_at" json:"updatedAt"`
}

// SetFlowSchedule creates or replaces the schedule parameters of a flow.
func (s *Store) SetFlowSchedule(ctx context.Context, fs *FlowSchedule) error {
	fs.UpdatedAt = ts(time.Now())
	if len(fs.Variables) == 0 {
		fs.Variables = JSONText("{}")
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO flow_schedules (flow_key, department, variables, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (flow_key) DO UPDATE SET department = excluded.department, variables = excluded.variables,
		updated_by = excluded.updated_by, updated_at = excluded.updated_at`),
		fs.FlowKey, fs.Department, fs.Variables, fs.UpdatedBy, fs.UpdatedAt)
	if err != nil {
		return fmt.Errorf("set schedule of flow %q: %w", fs.FlowKey, err)
	}
	return nil
}

// FlowSchedule returns the schedule parameters of a flow, or ErrNotFound.
func (s *Store) FlowSchedule(ctx context.Context, key string) (FlowSchedule, error) {
	return getOne[FlowSchedule](ctx, s, fmt.Sprintf("schedule of flow %q", key),
		`SELECT flow_key, department, variables, updated_by, updated_at FROM flow_schedules WHERE flow_key = ?`, key)
}

// DeleteFlowSchedule forgets the schedule parameters of a flow (no error
// when there were none).
func (s *Store) DeleteFlowSchedule(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM flow_schedules WHERE flow_key = ?`), key); err != nil {
		return fmt.Errorf("delete schedule of flow %q: %w", key, err)
	}
	return nil
}
